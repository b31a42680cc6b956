"""Image backbones: the registry, random/ImageNet/file weights, and live features from a fresh build."""

import keras
import numpy as np
import pytest

import model_builder
from conftest import BACKBONE, embed
from vidseq.features import backbone_models, backbones


def test_registry_matches_design():
    assert set(model_builder.BACKBONES) == {
        "MobileNetV2", "EfficientNetB0", "EfficientNetB3", "Xception", "InceptionV3", "DenseNet121", "ResNet50"}
    assert model_builder.BACKBONES["EfficientNetB3"].input_size == (300, 300)
    assert model_builder.BACKBONES["Xception"].feature_dim == 2048


def test_unknown_backbone_lists_valid_names(good_paths):
    with pytest.raises(ValueError, match=r"img_model_name='VGG16'.*MobileNetV2"):
        model_builder.embed_videos(good_paths, 4, "VGG16")


def test_random_weights_give_live_features_and_rebuild_identically(good_paths, cache_dir):
    features, mask = embed(good_paths[:3], cache_dir=cache_dir)
    valid = features[mask]
    assert valid.std(axis=0).mean() > 1e-3, "features are (nearly) constant: nothing below would be tested"
    backbone_models.clear_cache()  # a fresh build with the same seed gives the same features
    again, _ = embed(good_paths[:3])
    np.testing.assert_allclose(again, features, rtol=1e-5, atol=1e-5)


def test_imagenet_unreachable_is_a_clear_error_and_auto_falls_back(monkeypatch, capsys):
    def offline(*args, **kwargs):
        raise Exception("URL fetch failure on https://example/weights.h5: None -- [Errno -2] Name or service not known")

    monkeypatch.setattr(keras.applications, "MobileNetV2", offline)
    backbone_models.clear_cache()
    with pytest.raises(backbone_models.ImageNetUnavailable, match="weights='random'"):
        backbone_models.build_backbone(BACKBONE, "imagenet")
    assert backbone_models.resolve_weights(BACKBONE, "auto") == "random"
    assert "using weights='random'" in capsys.readouterr().out


@pytest.mark.slow
def test_weights_file_path(tmp_path, good_paths):
    model = backbone_models.build_backbone(BACKBONE, "random")
    file = tmp_path / "mobilenet.weights.h5"
    model.save_weights(file)
    expected, _ = embed(good_paths[:1])
    from_file, _ = model_builder.embed_videos(good_paths[:1], 6, BACKBONE, weights=str(file))
    assert expected.std() > 1e-3
    np.testing.assert_allclose(from_file, expected, rtol=1e-5, atol=1e-5)
    assert backbones.weights_identity(str(file)).startswith("file-")


@pytest.mark.parametrize("weights,error", [("imagenet21k", ValueError), ("/no/such/file.h5", FileNotFoundError), (3, ValueError)])
def test_bad_weights(good_paths, weights, error):
    with pytest.raises(error, match="weights="):
        model_builder.embed_videos(good_paths, 4, BACKBONE, weights=weights)


def test_plain_init_warns_about_dead_features(monkeypatch):
    backbone_models.clear_cache()
    with pytest.warns(UserWarning, match="constant"):
        backbone_models.build_backbone(BACKBONE, None)
