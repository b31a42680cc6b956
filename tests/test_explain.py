"""Why a video was called fake: per-frame evidence, Grad-CAM heatmaps, explain.png and the app's view."""

import json

import keras
import numpy as np
import pytest
from conftest import NUM_FRAMES, require, train_tiny_run

import model_builder
from vidseq.models import coatnet
from vidseq.runs import explain
from vidseq.features.backbones import BACKBONES



@pytest.fixture(scope="module")
def run(dataset, cache_dir, tmp_path_factory):
    """A tiny trained GRU head on MobileNetV2 (random weights: live features) over 6 frames."""
    root = tmp_path_factory.mktemp("explain_runs")
    train_tiny_run(dataset, cache_dir, root, "gru", rnn="gru", epochs=2, explain=True)
    return root / "gru"


@pytest.fixture(scope="module")
def short_video(video_factory):
    """4 frames: a 6-frame run pads it with 2 frames its head cannot see (mask False)."""
    return video_factory(4, 64, 96, seed=3, name="short4.mp4")


# --------------------------------------------------------------------------- evidence


@pytest.mark.parametrize("rnn", ["gru", None, "attention"])
def test_occlusion_evidence_is_zero_for_frames_the_model_cannot_see(rnn):
    keras.utils.set_random_seed(0)
    head = model_builder.build_classifier(6, 8, rnn=rnn, rnn_units=(4,), dropout=0.0, num_heads=2, key_dim=8)
    features = np.random.default_rng(0).normal(size=(6, 8)).astype(np.float32)
    mask = np.array([True, True, False, True, True, False])
    evidence = explain.occlusion_evidence(head, features, mask)
    assert evidence.shape == (6,) and evidence[2] == 0 and evidence[5] == 0
    assert np.all(evidence[mask] != 0)
    # It is exactly P(fake) with the frame minus P(fake) with its row masked out (zeroed).
    seen = features * mask[:, None]
    without = seen.copy()
    without[3] = 0
    p = head.predict(np.stack([seen, without]), verbose=0).ravel()
    assert evidence[3] == pytest.approx(p[0] - p[1], abs=1e-5)
    # A masked frame's features never matter: changing them changes nothing.
    changed = features.copy()
    changed[2] += 100
    np.testing.assert_allclose(explain.occlusion_evidence(head, changed, mask), evidence, atol=1e-6)


def test_frame_classifier_evidence():
    scores = np.array([0.9, 0.5, 0.1, 0.5])
    evidence = explain.frame_classifier_evidence(scores, "mean", num_frames=6)
    assert evidence.shape == (6,) and evidence[4] == 0 and evidence[5] == 0
    np.testing.assert_allclose(evidence[:4], (scores - scores.mean()) / 3, atol=1e-6)
    assert explain.frame_classifier_evidence(np.array([0.8]), "mean")[0] == pytest.approx(0.3)


# --------------------------------------------------------------------------- Grad-CAM


@pytest.mark.slow
def test_every_backbone_names_its_gradcam_layer():
    """The named layer exists and is the 4-D feature map the average pooling reads."""
    for spec in BACKBONES.values():
        model = getattr(keras.applications, spec.constructor)(weights=None, include_top=False, pooling="avg",
                                                              input_shape=(96, 96, 3))
        layer = model.get_layer(spec.gradcam_layer)
        assert len(layer.output.shape) == 4 and layer.output.shape[-1] == spec.feature_dim, spec.name
        assert model.layers[-2].name == spec.gradcam_layer, spec.name


def patch_images(n: int, seed: int, size: int = 32, side: int = 8):
    """Noisy grey crops; half of them ("fake") carry a bright patch at a random place."""
    rng = np.random.default_rng(seed)
    images = rng.uniform(60, 120, size=(n, size, size, 3)).astype(np.float32)
    labels = np.arange(n) % 2
    corners = rng.integers(0, size - side + 1, size=(n, 2))
    for i in np.flatnonzero(labels):
        y, x = corners[i]
        images[i, y : y + side, x : x + side] = 250
    return images, labels, corners


def test_gradcam_peak_falls_in_the_fake_patch_of_a_trained_frame_classifier():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(x)
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="last_conv")(x)
    x = keras.layers.GlobalMaxPooling2D()(x)
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(x))
    model.compile(keras.optimizers.Adam(1e-2), "binary_crossentropy", metrics=["accuracy"])
    images, labels, _ = patch_images(256, seed=0)
    model.fit(images, labels, epochs=8, batch_size=32, verbose=0)
    test, test_labels, corners = patch_images(20, seed=1)
    assert model.evaluate(test, test_labels, verbose=0)[1] >= 0.9  # it learned the patch
    assert explain.find_gradcam_layer(model) == "last_conv"
    fakes = np.flatnonzero(test_labels)
    heatmaps = explain.gradcam_frames(model, test[fakes])
    assert heatmaps.shape == (len(fakes), 32, 32) and heatmaps.min() >= 0 and heatmaps.max() == pytest.approx(1)
    hits = 0
    for heatmap, (y, x) in zip(heatmaps, corners[fakes]):
        assert heatmap.std() > 0  # not constant
        py, px = np.unravel_index(heatmap.argmax(), heatmap.shape)
        hits += y - 1 <= py <= y + 8 and x - 1 <= px <= x + 8
    assert hits >= 0.9 * len(fakes)


def test_gradcam_sequence_reaches_the_patch_through_the_head_and_skips_masked_frames():
    """Backbone -> pooled feature -> head: a bright patch raises P(fake), so the map peaks there."""
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(2, 1, activation="relu", name="conv", kernel_initializer="ones",
                            bias_initializer=keras.initializers.Constant(-200.0))(inputs)
    backbone = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(x))
    head = model_builder.build_classifier(4, 2, rnn=None, dropout=0.0, normalize=False)
    head.get_layer("p_fake").set_weights([np.full((2, 1), 1e-3, np.float32), np.zeros(1, np.float32)])  # unsaturated
    images, _, corners = patch_images(4, seed=2)  # frames 1 and 3 carry the patch
    images[0] += 100  # bright enough everywhere to give a feature, so the row is not padding
    images[2] += 100
    mask = np.array([True, True, True, False])
    features = keras.ops.convert_to_numpy(backbone(images)) * mask[:, None]
    heatmaps = explain.gradcam_sequence(head, backbone, "conv", images, features, mask)
    assert heatmaps.shape == (4, 32, 32) and heatmaps.min() >= 0 and heatmaps.max() == pytest.approx(1)
    assert not heatmaps[3].any()  # masked: the head never sees it
    y, x = corners[1]
    py, px = np.unravel_index(heatmaps[1].argmax(), heatmaps[1].shape)
    assert y <= py < y + 8 and x <= px < x + 8 and heatmaps[1].std() > 0
    only = explain.gradcam_sequence(head, backbone, "conv", images, features, mask, frames=[1])
    assert only[0].max() == 0 and only[1].max() == pytest.approx(1)


# --------------------------------------------------------------------------- explain_video


def test_explain_video_evidence_and_heatmaps_for_a_sequence_head(run, short_video, tmp_path):
    plain = model_builder.explain_video(short_video, run, cache_dir=tmp_path)
    assert plain["score"] == pytest.approx(model_builder.predict_video(short_video, run), rel=1e-5)
    evidence, mask = plain["frame_evidence"], plain["mask"]
    assert evidence.shape == (NUM_FRAMES,) and mask.tolist() == [True] * 4 + [False] * 2
    assert np.all(evidence[4:] == 0) and np.any(evidence[:4] != 0)
    assert plain["heatmaps"] is None and plain["crops"] is None
    shown = model_builder.explain_video(short_video, run, cache_dir=tmp_path, heatmaps=True)
    np.testing.assert_allclose(shown["frame_evidence"], evidence, atol=1e-6)
    crops, heatmaps = shown["crops"], shown["heatmaps"]
    assert crops.shape == (NUM_FRAMES, 224, 224, 3) and crops.dtype == np.uint8
    assert heatmaps.shape == (NUM_FRAMES, 224, 224) and heatmaps.dtype == np.float32
    assert heatmaps.min() >= 0 and heatmaps.max() <= 1
    assert not heatmaps[4:].any()  # padded frames: nothing to show
    assert heatmaps[:4].std() > 0


def test_explain_video_without_heatmaps_runs_no_gradcam(run, good_paths, tmp_path, monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("Grad-CAM ran although heatmaps were not asked for")

    monkeypatch.setattr(explain, "gradcam_sequence", fail)
    monkeypatch.setattr(explain, "gradcam_frames", fail)
    result = model_builder.explain_video(good_paths[0], run, cache_dir=tmp_path)
    assert result["heatmaps"] is None and result["frame_evidence"].shape == (NUM_FRAMES,)
    with pytest.raises(AssertionError, match="Grad-CAM ran"):  # the patch is on the path heatmaps take
        model_builder.explain_video(good_paths[0], run, cache_dir=tmp_path, heatmaps=True)


@pytest.mark.slow
def test_explain_video_coatnet_evidence_and_heatmaps(good_paths, tmp_path):
    """A CoAtNet run folder (untrained: shapes and ranges only) explains every frame."""
    folder = tmp_path / "coat"
    folder.mkdir()
    coatnet.build_coatnet("CoAtNet-0", 64, num_classes=1, classifier_activation="sigmoid").save(folder / "model.keras")
    config = {"img_model_name": "CoAtNet-0", "num_frames": 4, "image_size": 64, "face_crop": False,
              "strategy": "uniform", "seed": 42, "batch_size": 8, "video_score": "mean", "cache_dir": str(tmp_path)}
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "metrics.json").write_text(json.dumps({"test": {"threshold": 0.5}}))
    result = model_builder.explain_video(good_paths[0], folder, heatmaps=True)
    scores = result["frame_scores"]
    np.testing.assert_allclose(result["frame_evidence"], (scores - scores.mean()) / 3, atol=1e-5)
    assert result["crops"].shape == (4, 64, 64, 3) and result["heatmaps"].shape == (4, 64, 64)
    assert 0 <= result["heatmaps"].min() and result["heatmaps"].max() <= 1


def test_every_new_run_folder_has_explain_png(run):
    from PIL import Image

    with Image.open(run / "explain.png") as image:
        assert image.size[0] > 800 and image.size[1] > 400


# --------------------------------------------------------------------------- the app


@pytest.mark.slow
def test_app_shows_evidence_track_and_heatmaps_on_demand(run, good_paths, monkeypatch):
    AppTest = require("streamlit.testing.v1").AppTest
    calls = []
    real = explain.gradcam_sequence
    monkeypatch.setattr(explain, "gradcam_sequence", lambda *a, **k: calls.append(1) or real(*a, **k))

    def page(save_dir, data_dir):
        from vidseq.app.streamlit_app import main

        main(save_dir, data_dir)

    at = AppTest.from_function(page, args=(str(run.parent), None), default_timeout=90).run()
    at.file_uploader(key="uploads").set_value([("v.mp4", open(good_paths[0], "rb").read(), "video/mp4")]).run()
    assert not at.exception and not at.error
    assert any("evidence" in c.value.lower() for c in at.caption) and not calls
    images = len(at.tabs[0].image)
    at.checkbox(key="heatmaps").check().run()
    assert not at.exception and calls  # computed only now
    assert len(at.tabs[0].image) > images  # the overlays


@pytest.mark.slow
def test_heatmaps_and_evidence_under_jax():
    """The same toy checks with KERAS_BACKEND=jax, in a fresh interpreter (the backend is fixed at import)."""
    require("jax")
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = ("import test_explain as t; t.test_gradcam_sequence_reaches_the_patch_through_the_head_and_skips_masked_frames(); "
            "t.test_gradcam_peak_falls_in_the_fake_patch_of_a_trained_frame_classifier(); "
            "t.test_occlusion_evidence_is_zero_for_frames_the_model_cannot_see('gru'); "
            "import keras; print('backend', keras.backend.backend())")
    here = Path(__file__).parent
    env = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": os.pathsep.join([str(here), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", code], cwd=here, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "backend jax" in done.stdout


def test_gradcam_frames_finds_the_feature_map_of_a_nested_backbone():
    """A fine-tuned frame classifier nests its backbone: preprocess -> backbone -> dropout -> dense."""
    keras.utils.set_random_seed(0)
    inner = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(2, 1, activation="relu", name="conv", kernel_initializer="ones",
                            bias_initializer=keras.initializers.Constant(-200.0))(inner)
    backbone = keras.Model(inner, keras.layers.GlobalAveragePooling2D()(x), name="backbone")
    inputs = keras.Input((32, 32, 3))
    pooled = backbone(keras.layers.Rescaling(1.0, name="preprocess")(inputs), training=False)
    dense = keras.layers.Dense(1, activation="sigmoid", name="head")
    model = keras.Model(inputs, dense(keras.layers.Dropout(0.2)(pooled)))
    dense.set_weights([np.full((2, 1), 1e-3, np.float32), np.zeros(1, np.float32)])
    assert explain.find_gradcam_layer(model) == "backbone/conv"
    images, labels, corners = patch_images(4, seed=4)
    heatmaps = explain.gradcam_frames(model, images[labels == 1])
    for heatmap, (y, x) in zip(heatmaps, corners[labels == 1]):
        py, px = np.unravel_index(heatmap.argmax(), heatmap.shape)
        assert y <= py < y + 8 and x <= px < x + 8
