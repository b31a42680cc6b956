"""Fine-tuning a backbone on face crops (issue #20): the two phases, the run, and the two-stage
path that embeds with the fine-tuned backbone."""

import json

import keras
import numpy as np
import pandas as pd
import pytest

import model_builder
from test_distribution import train_on_one_and_two_devices, twelve_videos  # noqa: F401 (fixture)
from vidseq.features import backbone_models, backbones, fine_tuned
from vidseq.cli import commands as cli
from vidseq.models import finetune
from vidseq.training.config import RunConfig
from vidseq.data.demo_data import make_demo_dataset
from vidseq.training.frame_dataset import FrameDataset
from vidseq.training.frames import fit_phases


# --------------------------------------------------------------------------- options


@pytest.mark.parametrize("options, match", [
    (dict(trainable_layers=0), "trainable_layers=0"),
    (dict(fine_tune_learning_rate=2.0), "fine_tune_learning_rate=2.0"),
    (dict(warmup_epochs=-1), "warmup_epochs=-1"),
    (dict(image_size=224), r"unknown option\(s\) \['image_size'\]"),
    (dict(rnn="gru"), r"unknown option\(s\) \['rnn'\]"),
    (dict(video_score="max"), "video_score='max'"),
    (dict(dropout=1.5), "dropout=1.5"),
    (dict(fine_tune="yes"), "fine_tune='yes'"),
])
def test_fine_tune_options_are_checked_before_any_video(tmp_path, options, match):
    with pytest.raises(ValueError, match=match):
        model_builder.train_test_classifier(tmp_path / "no-such-dir", 4, "MobileNetV2",
                                            **{"fine_tune": True, "weights": "random", **options})


def test_coatnet_cannot_be_fine_tuned(tmp_path):
    with pytest.raises(ValueError, match="fine_tune=True with img_model_name='CoAtNet-0'"):
        model_builder.train_test_classifier(tmp_path / "no-such-dir", 4, "CoAtNet-0", fine_tune=True)


def test_fine_tune_false_is_the_sequence_path(tmp_path):
    num_frames, name, opts = model_builder.check_run_options(4, "MobileNetV2", dict(fine_tune=False, weights="random"))
    assert "fine_tune" not in opts and "rnn" in opts  # not recorded: search names of old runs stay the same


def test_check_weights_wants_a_fine_tuned_run_folder(tmp_path):
    with pytest.raises(ValueError, match="without model.keras and config.json"):
        backbones.check_weights(tmp_path)
    (tmp_path / "model.keras").write_bytes(b"")
    (tmp_path / "config.json").write_text(json.dumps(dict(img_model_name="MobileNetV2", head="gru_256")))
    with pytest.raises(ValueError, match="did not fine-tune its backbone"):
        backbones.check_weights(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps(dict(img_model_name="MobileNetV2", fine_tune=True)))
    backbones.check_weights(tmp_path, "MobileNetV2")
    with pytest.raises(ValueError, match="a fine-tuned 'MobileNetV2', for img_model_name='ResNet50'"):
        backbones.check_weights(tmp_path, "ResNet50")
    with pytest.raises(ValueError, match="img_model_name='ResNet50'"):  # before any video is read
        model_builder.train_test_classifier(tmp_path / "no-such-dir", 4, "ResNet50", weights=str(tmp_path))


# --------------------------------------------------------------------------- the model and its phases


def test_preprocess_layer_matches_the_backbones_own():
    images = np.random.default_rng(0).integers(0, 256, (2, 16, 16, 3)).astype(np.float32)
    for name in ("MobileNetV2", "ResNet50", "DenseNet121", "EfficientNetB0"):
        layer = fine_tuned.BackbonePreprocess(name)
        np.testing.assert_allclose(np.asarray(layer(images)), backbones.BACKBONES[name].preprocess(images),
                                   rtol=1e-6, atol=1e-5)
        assert fine_tuned.BackbonePreprocess.from_config(layer.get_config()).backbone_name == name


def _weights_by_layer(backbone) -> dict[str, list[np.ndarray]]:
    return {layer.name: [w.numpy() for w in layer.weights] for layer in backbone.layers if layer.weights}


def _changed(before: dict, after: dict) -> set[str]:
    return {name for name in before if any(not np.array_equal(a, b) for a, b in zip(before[name], after[name]))}


@pytest.mark.slow
def test_phases_train_the_head_then_exactly_the_unfrozen_layers(tmp_path):
    rng = np.random.default_rng(0)
    files = []
    for v in range(4):
        files.append(tmp_path / f"video{v}.npy")
        np.save(files[-1], rng.integers(0, 256, (2, 224, 224, 3), dtype=np.uint8))
    train = FrameDataset(files, [0, 1, 0, 1], batch_size=4, shuffle=True, augment=True)
    val = FrameDataset(files[:2], [0, 1], batch_size=4)
    model = finetune.build_frame_classifier("MobileNetV2", "random", dropout=0.2)
    backbone = model.get_layer(finetune.BACKBONE_LAYER)
    snapshots = []  # backbone and head weights at the start of each phase (each compiles first)

    def compile(m, train):
        snapshots.append((_weights_by_layer(backbone), [w.numpy() for w in m.get_layer("head").weights],
                          train.learning_rate))
        m.compile(keras.optimizers.Adam(train.learning_rate), "binary_crossentropy")

    config = RunConfig.from_options(4, "MobileNetV2", fine_tune=True, weights="random", warmup_epochs=1, epochs=1,
                                    learning_rate=1e-2, fine_tune_learning_rate=None, trainable_layers=20)
    history = fit_phases(model, train, val, config, compile, callbacks=[])
    final = _weights_by_layer(backbone)
    (start, head0, rate1), (warm, head1, rate2) = snapshots
    assert (rate1, rate2) == (1e-2, 1e-3)  # the second phase at learning_rate / 10
    assert len(history["loss"]) == 2 and len(history["val_loss"]) == 2

    # Phase 1: the head learns, the backbone does not move.
    assert not _changed(start, warm)
    assert any(not np.array_equal(a, b) for a, b in zip(head0, head1))
    # Phase 2: exactly the top 20 layers that are not BatchNormalization change.
    top = {layer.name for layer in backbone.layers[-20:]
           if layer.weights and not isinstance(layer, keras.layers.BatchNormalization)}
    assert len(top) >= 5
    assert _changed(warm, final) == top
    # BatchNormalization: moving statistics (and scales) fixed in both phases.
    norms = [layer.name for layer in backbone.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert norms and not _changed({n: start[n] for n in norms}, {n: final[n] for n in norms})


def test_fine_tune_phase_with_all_layers_unfreezes_everything_but_batchnorm():
    model = finetune.build_frame_classifier("MobileNetV2", None)
    trainable = finetune.set_phase(model, "fine_tune")
    backbone = model.get_layer(finetune.BACKBONE_LAYER)
    expected = [layer.name for layer in backbone.layers
                if layer.weights and not isinstance(layer, keras.layers.BatchNormalization)]
    assert trainable == expected and len(expected) > 50
    assert all(not layer.trainable for layer in backbone.layers if isinstance(layer, keras.layers.BatchNormalization))
    assert finetune.set_phase(model, "head") == [] and not backbone.trainable_weights
    # The backbone is called in inference mode (BatchNorm on its moving statistics), also after reloading.
    node = next(layer for layer in model.get_config()["layers"] if layer["name"] == finetune.BACKBONE_LAYER)
    assert node["inbound_nodes"][0]["kwargs"]["training"] is False


# --------------------------------------------------------------------------- a run, and the two-stage path


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    make_demo_dataset(root, num_videos=8, num_frames=8)
    return root


@pytest.fixture(scope="module")
def fine_tuned_run(demo, tmp_path_factory):
    """A fine-tuned MobileNetV2 run, trained from the command line."""
    tmp = tmp_path_factory.mktemp("finetune")
    save_dir, cache = tmp / "runs", tmp / "cache"
    assert cli.main(["train", str(demo), "--model", "MobileNetV2", "--fine-tune", "--weights", "random",
                     "--num-frames", "2", "--warmup-epochs", "1", "--epochs", "1", "--batch-size", "4",
                     "--fine-tune-learning-rate", "0.0005", "--val-size", "0.25", "--test-size", "0.25",
                     "--cache-dir", str(cache), "--save-dir", str(save_dir), "--run-name", "ft"]) == 0
    return save_dir / "ft", cache


@pytest.mark.slow
def test_fine_tuned_run_records_its_options_and_reloads_with_the_same_scores(fine_tuned_run):
    run_dir, _ = fine_tuned_run
    config = json.loads((run_dir / "config.json").read_text())
    assert config["fine_tune"] is True and config["img_model_name"] == "MobileNetV2" and config["head"] == "finetune"
    assert config["warmup_epochs"] == 1 and config["epochs"] == 1 and config["trainable_layers"] is None
    assert config["fine_tune_learning_rate"] == 5e-4 and config["learning_rate"] == 1e-3
    assert config["image_size"] == 224 and config["weights"] == "random" and config["face_crop"]
    assert len(pd.read_csv(run_dir / "history.csv")) == 2  # one epoch per phase

    model = model_builder.load_classifier(run_dir)  # safe_mode
    assert isinstance(model.get_layer("preprocess"), fine_tuned.BackbonePreprocess)
    scores = pd.read_csv(run_dir / "scores.csv")
    test = scores[scores.split == "test"]
    assert len(test) == 2
    for row in test.itertuples():
        assert model_builder.predict_video(row.path, run_dir) == pytest.approx(row.score, rel=1e-4, abs=1e-6)

    # The backbone was fine-tuned: its weights moved away from the ones it started from.
    start = _weights_by_layer(backbone_models.new_backbone("MobileNetV2", "random"))
    tuned = _weights_by_layer(fine_tuned.load_backbone(run_dir))
    assert len(_changed(start, tuned)) > 50
    assert model_builder.compare_saved_models(run_dir.parent)["head"].tolist() == ["finetune"]


@pytest.mark.slow
def test_two_stage_embeds_with_the_fine_tuned_backbone_into_its_own_cache(fine_tuned_run, demo, tmp_path):
    run_dir, cache = fine_tuned_run
    paths = sorted(str(p) for p in demo.rglob("*.mp4"))[:3]
    base, base_mask = model_builder.embed_videos(paths, 2, "MobileNetV2", "random", cache, face_crop=True)
    before = set((cache / "embeddings").rglob("*.npz"))
    tuned, mask = model_builder.embed_videos(paths, 2, "MobileNetV2", str(run_dir), cache, face_crop=True)
    added = set((cache / "embeddings").rglob("*.npz")) - before
    assert tuned.shape == base.shape == (3, 2, 1280) and mask.all() and base_mask.all()
    assert len(added) == 3  # cached apart from the base weights' features
    assert tuned.reshape(-1, 1280).std(axis=0).max() > 1e-3  # live, not constant
    assert np.abs(tuned - base).max() > 1e-2  # the fine-tuned weights, not the base ones
    assert backbones.weights_identity(str(run_dir)).startswith("run-")
    assert backbones.weights_identity(str(run_dir)) != backbones.weights_identity("random")

    # A sequence head trains on those features and scores with them again.
    save_dir = tmp_path / "runs"
    model_builder.train_test_classifier(demo, 2, "MobileNetV2", weights=str(run_dir), rnn=None, epochs=1,
                                        batch_size=4, val_size=0.25, test_size=0.25, cache_dir=cache,
                                        face_crop=True, save_dir=save_dir, run_name="two-stage", verbose=0)
    config = json.loads((save_dir / "two-stage" / "config.json").read_text())
    assert config["weights"] == str(run_dir.resolve())
    assert config["weights_identity"] == backbones.weights_identity(str(run_dir))
    scores = pd.read_csv(save_dir / "two-stage" / "scores.csv")
    row = scores[scores.split == "test"].iloc[0]
    assert model_builder.predict_video(row.path, save_dir / "two-stage") == pytest.approx(row.score, rel=1e-4, abs=1e-6)


@pytest.mark.slow
def test_fine_tuning_on_two_devices_matches_one(twelve_videos, tmp_path):  # noqa: F811
    out = train_on_one_and_two_devices(twelve_videos, tmp_path, "MobileNetV2", dict(
        fine_tune=True, weights="random", batch_size=4, warmup_epochs=1, epochs=1, face_crop=False, augment=False,
        trainable_layers=10))
    np.testing.assert_allclose(out["scores"]["data_parallel"].score, out["scores"]["None"].score, atol=1e-3)
