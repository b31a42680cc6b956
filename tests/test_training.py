"""Training runs on a tiny generated dataset: the run folder, options, seeds, skipped videos, early errors."""

import json
import re
import warnings
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest

import model_builder
import util
from conftest import BACKBONE, RUN, embed, make_frames, write_folders_dataset
from vidseq.training import train_config as config
from vidseq.data import sampling
from vidseq.training.fit import compile_model
from vidseq.data.video_io import write_video


def test_run_folder_contents_and_test_split_metrics(finished_run):
    run_dir, labels, model, loss, acc = finished_run
    assert labels == ["real", "fake"]
    names = {p.name for p in run_dir.iterdir()}
    assert {"model.keras", "config.json", "metrics.json", "history.csv", "splits.csv", "scores.csv", "scores.png", "frames.png",
            "learning_curves.png", "roc.png"} <= names
    assert not [n for n in names if ".tmp" in n]
    listed = (Path(__file__).parents[1] / "saved_models" / "README.md").read_text()
    trained = {n for n in names if not n.startswith(("eval_", "robustness_"))}  # not those other tests evaluate
    assert {n for n in trained if f"`{n}`" not in listed} == set()  # the README says what every file is
    metrics = json.loads((run_dir / "metrics.json").read_text())
    splits = pd.read_csv(run_dir / "splits.csv")
    skipped = {s["path"] for s in metrics["skipped"]}
    assert [p.endswith("broken.mp4") for p in skipped] == [True]
    for split in ("val", "test"):
        kept = splits[(splits.split == split) & ~splits.path.isin(skipped)]
        assert metrics[split]["videos"] == len(kept)
        assert metrics[split]["fake"] == int(kept.label.sum())
    assert metrics["test_loss"] == pytest.approx(loss) and metrics["test_acc"] == pytest.approx(acc)
    test = splits[(splits.split == "test") & ~splits.path.isin(skipped)]
    features, _ = embed(test.path.tolist())
    assert features.std() > 1e-3
    keras_loss, keras_acc = model.evaluate(features, test.label.to_numpy(), verbose=0)[:2]
    assert loss == pytest.approx(keras_loss, rel=1e-4) and acc == pytest.approx(keras_acc)
    scores = pd.read_csv(run_dir / "scores.csv")
    test_scores = scores[scores.split == "test"]
    assert test_scores.path.tolist() == test.path.tolist() and test_scores.label.tolist() == test.label.tolist()
    np.testing.assert_allclose(test_scores.score, model.predict(features, verbose=0).ravel(), rtol=1e-4, atol=1e-6)
    assert (splits.groupby("group").split.nunique() == 1).all()
    config = json.loads((run_dir / "config.json").read_text())
    assert config["weights_identity"].startswith("random-seed0") and config["num_frames"] == 6
    assert config["learning_rate"] == 1e-3 and config["rnn_units"] == [8]


def test_options_reach_the_model(finished_run):
    run_dir, _, model, _, _ = finished_run
    reloaded = model_builder.load_classifier(run_dir)
    assert float(keras.ops.convert_to_numpy(reloaded.optimizer.learning_rate)) == pytest.approx(1e-3)
    gru = next(layer for layer in model.layers if isinstance(layer, keras.layers.GRU))
    assert gru.units == 8 and model.count_params() == reloaded.count_params()


def test_training_options_reach_the_optimizer_and_loss(dataset, cache_dir, tmp_path):
    options = dict(RUN, optimizer="sgd", schedule="cosine", warmup_epochs=1, weight_decay=0.01, label_smoothing=0.1,
                   recurrent_dropout=0.1, l2=1e-4, epochs=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, model, _ = model_builder.train_test_classifier(dataset, 6, BACKBONE, cache_dir=cache_dir, save_dir=tmp_path,
                                                          run_name="opts", **options)
    optimizer = model.optimizer
    assert isinstance(optimizer, keras.optimizers.SGD) and optimizer.momentum == 0.9 and optimizer.weight_decay == 0.01
    schedule = optimizer._learning_rate
    assert isinstance(schedule, keras.optimizers.schedules.CosineDecay) and schedule.warmup_target == 1e-3
    assert model.loss.label_smoothing == 0.1
    gru = next(layer for layer in model.layers if isinstance(layer, keras.layers.GRU))
    assert gru.recurrent_dropout == 0.1 and gru.kernel_regularizer.l2 == pytest.approx(1e-4)
    config = json.loads((tmp_path / "opts" / "config.json").read_text())
    assert {k: config[k] for k in ("optimizer", "schedule", "label_smoothing", "l2")} == dict(
        optimizer="sgd", schedule="cosine", label_smoothing=0.1, l2=1e-4)
    assert config["head"] == "gru8_rd0.1_l20.0001"


@pytest.mark.parametrize("optimizer", config.OPTIMIZERS)
@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
def test_every_optimizer_compiles_with_and_without_weight_decay(optimizer, weight_decay):
    model = model_builder.build_classifier(4, 6, rnn=None)
    train = config.TrainConfig(optimizer=optimizer, weight_decay=weight_decay, learning_rate=1e-3)
    compile_model(model, train, steps_per_epoch=3)
    assert (model.optimizer.weight_decay or 0.0) == weight_decay
    model.train_on_batch(np.ones((2, 4, 6), "float32"), np.array([0, 1]))


@pytest.mark.parametrize("option, value", [("optimizer", "adagrad"), ("schedule", "step"), ("label_smoothing", 1.0),
                                           ("weight_decay", -0.1), ("warmup_epochs", -1)])
def test_bad_training_option_is_named_before_any_video(tmp_path, option, value):
    with pytest.raises(ValueError, match=f"{option}={value!r}"):
        model_builder.train_test_classifier(tmp_path / "nowhere", 6, BACKBONE, **{option: value})


def test_same_seed_same_run(dataset, cache_dir, tmp_path, finished_run):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, model, (loss, _) = model_builder.train_test_classifier(
            dataset, 6, BACKBONE, cache_dir=cache_dir, save_dir=tmp_path, run_name="again", seed=3, **RUN)
    first = pd.read_csv(finished_run[0] / "history.csv")
    again = pd.read_csv(tmp_path / "again" / "history.csv")
    assert first.loss.nunique() > 1
    pd.testing.assert_frame_equal(first, again, rtol=1e-4)
    assert loss == pytest.approx(finished_run[3], rel=1e-4)


def test_run_prints_and_saves_its_split_report(finished_run):
    metrics = json.loads((finished_run[0] / "metrics.json").read_text())
    report = metrics["split_report"]
    assert set(report) == {"train", "val", "test", "excluded"}
    assert all(r["shared_identities"] == 0 for r in report.values())
    assert report["test"]["videos"] == metrics["test"]["videos"]  # counted after skipping unreadable videos
    config = json.loads((finished_run[0] / "config.json").read_text())
    assert config["split_by"] == "identities" and config["dataset"] == config["data_dir"].rsplit("/", 1)[-1]


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(optimiser="sgd"), ValueError, "optimiser"),
    (dict(learning_rate=5), ValueError, "learning_rate=5"),
    (dict(rnn="transformer"), ValueError, "rnn='transformer'"),
    (dict(weights="imagenet22k"), ValueError, "weights='imagenet22k'"),
    (dict(run_name="a/b"), ValueError, "run_name='a/b'"),
    (dict(val_size=0.0), ValueError, "'val' split of 0 video"),
    (dict(distribution="data_parallel"), ValueError, "JAX backend"),
])
def test_bad_options_fail_before_any_video_is_read(dataset, tmp_path, monkeypatch, kwargs, error, match):
    monkeypatch.setattr(sampling, "grab_frames", lambda *a, **k: pytest.fail("read a video before validating"))
    with pytest.raises(error, match=match):
        model_builder.train_test_classifier(dataset, 6, BACKBONE, save_dir=tmp_path, **{**RUN, **kwargs})


def test_split_left_without_a_class_after_skipping(tmp_path, dataset):
    """Every fake video of a split unreadable: a clear error before training, not a NaN run."""
    root = tmp_path / "data"
    for label in ("real", "fake"):
        (root / label).mkdir(parents=True)
        for video in sorted((dataset / label).glob(f"{label}_*.mp4"))[:4]:
            (root / label / video.name).write_bytes(video.read_bytes())
    for video in (root / "fake").glob("*.mp4"):
        if video.name != "fake_0.mp4":
            video.write_bytes(b"broken")
    with pytest.warns(UserWarning, match="unreadable"), pytest.raises(ValueError, match="usable video"):
        model_builder.train_test_classifier(root, 6, BACKBONE, save_dir=tmp_path / "runs", val_size=0.25,
                                            test_size=0.25, **{k: v for k, v in RUN.items() if "size" not in k})


def test_bad_seed_fails_before_any_video_is_read(dataset, tmp_path, monkeypatch):
    monkeypatch.setattr(sampling, "grab_frames", lambda *a, **k: pytest.fail("read a video before validating"))
    with pytest.raises(ValueError, match="seed=None"):
        model_builder.train_test_classifier(dataset, 6, BACKBONE, save_dir=tmp_path, seed=None, **RUN)


def test_missing_data_dir(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        model_builder.train_test_classifier(tmp_path / "nowhere", 6, BACKBONE, **RUN)


@pytest.mark.slow
def test_truncated_video_is_skipped_and_listed_or_kept_on_request(tmp_path, cache_dir):
    """A partial download (index first, half its bytes) never passes as a whole video."""
    root = write_folders_dataset(tmp_path / "data", 6, 10, fake_seed=200)
    whole = tmp_path / "whole.mp4"
    write_video(whole, make_frames(80, 64, 96, seed=9), fps=10)
    (root / "real" / "cut.mp4").write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    common = dict(weights="random", cache_dir=cache_dir, save_dir=tmp_path / "runs", epochs=1, rnn_units=(4,),
                  val_size=0.25, test_size=0.25, verbose=0)
    with pytest.warns(UserWarning, match=r"Skipped unreadable video .*cut\.mp4: Truncated video"):
        model_builder.train_test_classifier(root, 8, BACKBONE, run_name="skip", **common)
    skipped = json.loads((tmp_path / "runs" / "skip" / "metrics.json").read_text())["skipped"]
    assert [Path(s["path"]).name for s in skipped] == ["cut.mp4"]
    assert re.search(r"Truncated video: the file holds 50% of the [\d,]+ bytes its container declares", skipped[0]["error"])
    with pytest.warns(UserWarning, match="Truncated video"):
        model_builder.train_test_classifier(root, 8, BACKBONE, run_name="keep", truncated="keep", **common)
    kept = json.loads((tmp_path / "runs" / "keep" / "metrics.json").read_text())
    assert kept["skipped"] == [] and json.loads((tmp_path / "runs" / "keep" / "config.json").read_text())["truncated"] == "keep"
    cut = str(root / "real" / "cut.mp4")
    with pytest.raises(util.VideoReadError, match="Truncated video"):
        model_builder.predict_video(cut, tmp_path / "runs" / "skip")
    assert 0 <= model_builder.predict_video(cut, tmp_path / "runs" / "skip", truncated="keep") <= 1
    assert util.check_truncation(cut).declared == whole.stat().st_size and util.check_truncation(whole) is None


def test_retracing_of_explain_pngs_per_model_grad_cam_steps_is_dropped_too():
    import logging

    from vidseq.utils.quiet import KerasStepRetracing

    def record(function: str) -> logging.LogRecord:
        message = f"5 out of the last 9 calls to <function {function} at 0x7f> triggered tf.function retracing."
        return logging.LogRecord("tensorflow", logging.WARNING, __file__, 1, message, None, None)

    keep = KerasStepRetracing().filter
    assert not keep(record("_sequence_step.<locals>.build.<locals>.step"))  # one Grad-CAM step per run's model
    assert not keep(record("_frames_step.<locals>.build.<locals>.step"))
    assert not keep(record("TensorFlowTrainer._make_function.<locals>.multi_step_on_iterator"))  # Keras' own
    assert keep(record("doubled"))  # a user's function that retraces is still reported


def test_tensorflow_retracing_message_dropped_only_for_keras_own_steps():
    """Each new Keras model traces its predict step once; TensorFlow counts those traces together
    and, by the fifth model, warns of "retracing" (the demo trains two heads): that message is
    dropped, with its reason (vidseq.utils.quiet.KerasStepRetracing). A user's function that
    really retraces is still reported."""
    import logging

    import tensorflow as tf

    records: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(record.getMessage())
    logger = logging.getLogger("tensorflow")
    logger.addHandler(handler)
    try:
        x = np.zeros((4, 3, 2), np.float32)
        for _ in range(6):
            model = keras.Sequential([keras.Input((3, 2)), keras.layers.GRU(2), keras.layers.Dense(1)])
            model.predict(x, verbose=0)
        assert not [r for r in records if "retracing" in r]

        @tf.function
        def doubled(t):
            return t * 2

        for n in range(1, 8):
            doubled(tf.zeros((n,)))  # a new shape per call: a retrace each time
        assert [r for r in records if "retracing" in r and "doubled" in r]
    finally:
        logger.removeHandler(handler)
