"""model_builder on tiny generated videos: backbones, cached embeddings, heads, runs, predict."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest

import model_builder
import util
from conftest import make_frames, write_folders_dataset
from vidseq import backbones, ray_engine
from vidseq.video_io import write_video

BACKBONE = "MobileNetV2"


def embed(paths, num_frames=6, **kwargs):
    return model_builder.embed_videos(paths, num_frames, BACKBONE, weights="random", **kwargs)


# --------------------------------------------------------------------------- backbones


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
    backbones._BUILT.clear()  # a fresh build with the same seed gives the same features
    again, _ = embed(good_paths[:3])
    np.testing.assert_allclose(again, features, rtol=1e-5, atol=1e-5)


def test_imagenet_unreachable_is_a_clear_error_and_auto_falls_back(monkeypatch, capsys):
    def offline(*args, **kwargs):
        raise Exception("URL fetch failure on https://example/weights.h5: None -- [Errno -2] Name or service not known")

    monkeypatch.setattr(keras.applications, "MobileNetV2", offline)
    monkeypatch.setattr(backbones, "_AUTO", {})
    with pytest.raises(backbones.ImageNetUnavailable, match="weights='random'"):
        backbones.build_backbone(BACKBONE, "imagenet")
    assert backbones.resolve_weights(BACKBONE, "auto") == "random"
    assert "using weights='random'" in capsys.readouterr().out


def test_weights_file_path(tmp_path, good_paths):
    model = backbones.build_backbone(BACKBONE, "random")
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
    monkeypatch.setattr(backbones, "_BUILT", {})
    with pytest.warns(UserWarning, match="constant"):
        backbones.build_backbone(BACKBONE, None)


# --------------------------------------------------------------------------- embeddings


def test_embed_shapes_mask_and_padding(good_paths, cache_dir):
    features, mask = embed(good_paths[:2], num_frames=16, cache_dir=cache_dir)  # videos have 12 frames
    assert features.shape == (2, 16, 1280) and features.dtype == np.float32
    np.testing.assert_array_equal(mask, np.tile(np.arange(16) < 12, (2, 1)))
    assert not features[:, 12:].any()
    assert features[0, 0].std() > 1e-3 and not np.allclose(features[0, 0], features[1, 0])


def test_warm_call_neither_decodes_nor_builds(good_paths, cache_dir, monkeypatch):
    cold, cold_mask = embed(good_paths, cache_dir=cache_dir)
    assert cold[cold_mask].std(axis=0).mean() > 1e-3

    def forbidden(*args, **kwargs):
        raise AssertionError("a warm call must not decode or build")

    monkeypatch.setattr(backbones, "build_backbone", forbidden)
    monkeypatch.setattr(util, "grab_frames", forbidden)  # every decode goes through it
    monkeypatch.setattr(util, "read_frames_and_face", forbidden)
    warm, warm_mask = embed(good_paths, cache_dir=cache_dir)
    np.testing.assert_array_equal(warm, cold)
    np.testing.assert_array_equal(warm_mask, cold_mask)


def test_cache_key_covers_settings(good_paths, cache_dir):
    a, _ = embed(good_paths[:1], num_frames=6, cache_dir=cache_dir)
    b, _ = embed(good_paths[:1], num_frames=6, cache_dir=cache_dir, strategy="clip")
    assert a.std() > 1e-3 and not np.allclose(a, b)  # a different sampling is not served from the cache
    files = list((cache_dir / "embeddings").rglob("*.npz"))
    assert files and not list((cache_dir / "embeddings").rglob("*.tmp*"))


def test_broken_video_raise_or_skip(dataset, good_paths):
    broken = str(dataset / "real" / "broken.mp4")
    with pytest.raises(util.VideoReadError, match="broken.mp4"):
        embed([good_paths[0], broken])
    with pytest.warns(UserWarning, match="broken.mp4"):
        features, mask = embed([good_paths[0], broken], on_error="skip")
    assert mask[0].all() and not mask[1].any() and not features[1].any()


@pytest.mark.parametrize("kwargs,match", [
    (dict(num_frames=0), "num_frames=0"), (dict(on_error="ignore"), "on_error='ignore'"),
    (dict(batch_size=0), "batch_size=0"), (dict(strategy="every"), "strategy='every'"),
    (dict(engine="spark"), "engine='spark'"), (dict(engine="ray"), "cache_dir=None"),
])
def test_embed_bad_arguments(good_paths, kwargs, match):
    kwargs = {"num_frames": 4, **kwargs}
    with pytest.raises(ValueError, match=match):
        model_builder.embed_videos(good_paths, kwargs.pop("num_frames"), BACKBONE, weights="random", **kwargs)


def test_sigkill_mid_extraction_resumes(tmp_path, good_paths, monkeypatch):
    """A run killed by SIGKILL leaves only whole cache files; the next run computes only the rest."""
    cache = tmp_path / "cache"
    script = (
        "import sys, model_builder, util\n"
        "real_read = util.read_frames_and_face\n"
        "def slow_read(*a, **k):\n"
        "    import time; time.sleep(0.7); return real_read(*a, **k)\n"
        "util.read_frames_and_face = slow_read\n"
        f"model_builder.embed_videos({good_paths!r}, 6, {BACKBONE!r}, weights='random', cache_dir={str(cache)!r}, workers=1)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], env={**os.environ, "PYTHONPATH": os.getcwd()})

    def finished() -> int:  # temporary files start with "." and are not results yet
        return len([f for f in cache.rglob("*.npz") if not f.name.startswith(".")])

    deadline = time.time() + 120
    while finished() < 3 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = finished()
    assert 3 <= done < len(good_paths), "the kill should land mid-run"

    calls = []
    real_read = util.read_frames_and_face
    monkeypatch.setattr(util, "read_frames_and_face", lambda *a, **k: calls.append(a[0]) or real_read(*a, **k))
    resumed, mask = embed(good_paths, cache_dir=cache)
    assert len(calls) == len(good_paths) - done
    fresh, _ = embed(good_paths)
    assert fresh.std() > 1e-3
    np.testing.assert_allclose(resumed, fresh, rtol=1e-5, atol=1e-5)


# --------------------------------------------------------------------------- heads

HEADS = [
    dict(rnn="gru", rnn_units=(16, 8)),
    dict(rnn="gru", rnn_units=(16,), normalize=False),
    dict(rnn="lstm", rnn_units=(12,), bidirectional=True),
    dict(rnn="gru", rnn_units=(8, 8), bidirectional=True, batch_norm=True, dense_units=(16,)),
    dict(rnn=None, dense_units=(32, 8), dropout=0.2),
    dict(rnn="gru", rnn_units=(12, 8), rnn_pooling="mean"),
    dict(rnn="lstm", rnn_units=(8,), bidirectional=True, rnn_pooling="mean"),
    dict(rnn="gru", rnn_units=(8,), recurrent_dropout=0.2, l2=1e-4),
]


def head_id(head):
    return model_builder.head_name(**{k: v for k, v in head.items() if k != "dropout"})


def plain_keras_head(num_frames, feature_dim, rnn, rnn_units=(), bidirectional=False, batch_norm=False,
                     dense_units=(), dropout=0.5, normalize=True, rnn_pooling="last", recurrent_dropout=0.0, l2=0.0):
    """The same stack from plain Keras layers, without the vidseq builder."""
    layers = [keras.Input((num_frames, feature_dim))]
    if normalize:
        layers.append(keras.layers.Normalization(axis=-1))
    if rnn is None:
        layers.append(keras.layers.GlobalAveragePooling1D())
    for i, units in enumerate(rnn_units if rnn else ()):
        sequences = i < len(rnn_units) - 1 or rnn_pooling == "mean"
        cell = (keras.layers.GRU if rnn == "gru" else keras.layers.LSTM)(units, return_sequences=sequences)
        layers.append(keras.layers.Bidirectional(cell) if bidirectional else cell)
        if batch_norm and i < len(rnn_units) - 1:
            layers.append(keras.layers.BatchNormalization())
    if rnn and rnn_pooling == "mean":
        layers.append(keras.layers.GlobalAveragePooling1D())
    layers += [keras.layers.Dense(u) for u in dense_units] + [keras.layers.Dense(1)]
    return keras.Sequential(layers)


@pytest.mark.parametrize("head", HEADS, ids=lambda h: head_id(h))
def test_head_parameter_count_matches_plain_keras(head):
    model = model_builder.build_classifier(8, 20, **head)
    assert model.count_params() == plain_keras_head(8, 20, **head).count_params()
    assert model.name == head_id(head)


@pytest.mark.parametrize("head", HEADS, ids=lambda h: head_id(h))
def test_head_saves_and_reloads_with_safe_mode(tmp_path, head):
    model = model_builder.build_classifier(8, 20, **head)
    x = np.random.default_rng(0).normal(2.0, 3.0, size=(3, 8, 20)).astype("float32")
    x[0, 5:] = 0  # padded frames
    if head.get("normalize", True):
        model_builder.set_feature_stats(model, x, np.abs(x).sum(-1) > 0)
    file = tmp_path / "head.keras"
    model.save(file)
    reloaded = keras.saving.load_model(file, safe_mode=True)
    np.testing.assert_allclose(reloaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5)


@pytest.mark.parametrize("head", HEADS, ids=lambda h: head_id(h))
def test_padded_frames_are_masked(head):
    """A video padded with zero rows scores as the same video without the padding."""
    short, long = model_builder.build_classifier(5, 20, **head), model_builder.build_classifier(9, 20, **head)
    long.set_weights(short.get_weights())
    x = np.random.default_rng(1).normal(size=(2, 5, 20)).astype("float32")
    padded = np.concatenate([x, np.zeros((2, 4, 20), "float32")], axis=1)
    assert np.ptp(short.predict(x, verbose=0)) > 0
    np.testing.assert_allclose(long.predict(padded, verbose=0), short.predict(x, verbose=0), rtol=1e-4, atol=1e-6)


def test_feature_stats_standardize_valid_frames_only():
    model = model_builder.build_classifier(6, 4, rnn=None)
    rng = np.random.default_rng(2)
    x = rng.normal([10, -5, 0, 3], [2, 1, 5, 0.5], size=(50, 6, 4)).astype("float32")
    x[:, 4:] = 0  # padding must not pull the statistics towards zero
    mask = np.arange(6) < 4
    model_builder.set_feature_stats(model, x, np.tile(mask, (50, 1)))
    standardized = keras.ops.convert_to_numpy(model.get_layer("feature_norm")(x[:, :4]))
    np.testing.assert_allclose(standardized.reshape(-1, 4).mean(0), 0, atol=1e-4)
    np.testing.assert_allclose(standardized.reshape(-1, 4).std(0), 1, atol=1e-3)


@pytest.mark.parametrize("kwargs,match", [
    (dict(rnn="rnn"), "rnn='rnn'"), (dict(rnn_units=()), "rnn_units"), (dict(rnn_pooling="max"), "rnn_pooling='max'"),
    (dict(recurrent_dropout=-0.1), "recurrent_dropout=-0.1"), (dict(l2=True), "l2=True"), (dict(dropout=1.0), "dropout=1.0"),
    (dict(dense_units=(0,)), "dense_units=0"), (dict(num_frames=0), "num_frames=0"), (dict(feature_dim=-1), "feature_dim=-1"),
])
def test_head_bad_arguments(kwargs, match):
    args = {"num_frames": 8, "feature_dim": 20, **kwargs}
    with pytest.raises(ValueError, match=match):
        model_builder.build_classifier(**args)


# --------------------------------------------------------------------------- runs

RUN = dict(weights="random", epochs=3, learning_rate=1e-3, batch_size=4, rnn_units=(8,), val_size=0.25,
           test_size=0.25, verbose=0)


@pytest.fixture(scope="session")
def finished_run(dataset, cache_dir, tmp_path_factory):
    save_dir = tmp_path_factory.mktemp("runs")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        labels, model, (loss, acc) = model_builder.train_test_classifier(
            dataset, 6, BACKBONE, cache_dir=cache_dir, save_dir=save_dir, run_name="first", seed=3, **RUN)
    return save_dir / "first", labels, model, loss, acc


def test_run_folder_contents_and_test_split_metrics(finished_run):
    run_dir, labels, model, loss, acc = finished_run
    assert labels == ["real", "fake"]
    names = {p.name for p in run_dir.iterdir()}
    assert {"model.keras", "config.json", "metrics.json", "history.csv", "splits.csv", "scores.csv", "scores.png", "frames.png",
            "learning_curves.png", "roc.png"} <= names
    assert not [n for n in names if ".tmp" in n]
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


@pytest.mark.parametrize("optimizer", model_builder.OPTIMIZERS)
@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
def test_every_optimizer_compiles_with_and_without_weight_decay(optimizer, weight_decay):
    model = model_builder.build_classifier(4, 6, rnn=None)
    opts = dict(model_builder.RUN_OPTIONS, optimizer=optimizer, weight_decay=weight_decay, learning_rate=1e-3)
    model_builder._compile(model, opts, steps_per_epoch=3)
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


def test_predict_video_uses_the_run_settings(finished_run, good_paths):
    run_dir, _, model, _, _ = finished_run
    features, _ = embed(good_paths[:2])
    expected = model.predict(features, verbose=0)[:, 0]
    got = [model_builder.predict_video(p, run_dir) for p in good_paths[:2]]
    assert all(0 <= g <= 1 for g in got)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)


def test_compare_saved_models(finished_run):
    save_dir = finished_run[0].parent
    (save_dir / "half-written").mkdir(exist_ok=True)
    (save_dir / "half-written" / "config.json").write_text("{not json")
    (save_dir / "half-written" / "metrics.json").write_text("{}")
    for not_a_run in (".ipynb_checkpoints", "in-progress"):  # no metrics.json yet: silently not listed
        (save_dir / not_a_run).mkdir(exist_ok=True)
    with pytest.warns(UserWarning, match="half-written") as caught:
        table = model_builder.compare_saved_models(save_dir)
    assert "in-progress" not in str(caught[0].message) and "in-progress" not in set(table.run)
    row = table.set_index("run").loc["first"]
    assert row.backbone == BACKBONE and row.num_frames == 6 and row["head"] == "gru8" and row.skipped == 1
    assert list(table.val_auc.dropna()) == sorted(table.val_auc.dropna(), reverse=True)


def test_leaderboard_ranks_on_validation_and_shows_test_sets(finished_run, dataset, tmp_path):
    """The test set never chooses: a run better on test but worse on val ranks lower."""
    first = finished_run[0]
    metrics = json.loads((first / "metrics.json").read_text())
    runs = {"val_best": (0.9, 0.5, 0.6), "test_best": (0.7, 0.4, 0.99), "val_tie_lower_loss": (0.9, 0.3, 0.55)}
    for name, (val_auc, val_loss, test_auc) in runs.items():
        shutil.copytree(first, tmp_path / name)
        changed = {**metrics, "val": {**metrics["val"], "auc": val_auc, "log_loss": val_loss},
                   "test": {**metrics["test"], "auc": test_auc}}
        (tmp_path / name / "metrics.json").write_text(json.dumps(changed))
    old = json.loads((tmp_path / "test_best" / "metrics.json").read_text())
    del old["test_split"]  # a run saved before fingerprints: computed from its scores.csv
    (tmp_path / "test_best" / "metrics.json").write_text(json.dumps(old))
    table = model_builder.compare_saved_models(tmp_path)
    assert table.run.tolist() == ["val_tie_lower_loss", "val_best", "test_best"]
    assert table.dataset.unique().tolist() == [Path(dataset).name]  # folders: named after the data dir
    assert table.test_split.nunique() == 1 and len(table.test_split[0]) == 8
    assert (table.test_videos == metrics["test"]["videos"]).all()


def test_run_prints_and_saves_its_split_report(finished_run):
    metrics = json.loads((finished_run[0] / "metrics.json").read_text())
    report = metrics["split_report"]
    assert set(report) == {"train", "val", "test", "excluded"}
    assert all(r["shared_identities"] == 0 for r in report.values())
    assert report["test"]["videos"] == metrics["test"]["videos"]  # counted after skipping unreadable videos
    config = json.loads((finished_run[0] / "config.json").read_text())
    assert config["split_by"] == "identities" and config["dataset"] == config["data_dir"].rsplit("/", 1)[-1]


def test_ray_engine_without_ray_says_how_to_install(good_paths, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    monkeypatch.setitem(sys.modules, "ray.data", None)
    with pytest.raises(ValueError, match=r'pip install "vidseq\[ray\]"'):
        model_builder.embed_videos(good_paths, 4, BACKBONE, weights="random", cache_dir=tmp_path, engine="ray")


def test_ray_engine_fails_fast_at_an_address_where_nothing_answers(good_paths, tmp_path, monkeypatch):
    pytest.importorskip("ray")
    with socket.socket() as free:  # a port that was free a moment ago: connecting is refused
        free.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{free.getsockname()[1]}"
    monkeypatch.setattr(model_builder, "_Embedder", lambda *a: pytest.fail("started work before checking the address"))
    with pytest.raises(ValueError, match=f"address='{address}', but nothing answers"):
        model_builder.embed_videos(good_paths, 4, BACKBONE, weights="random", cache_dir=tmp_path, engine="ray",
                                   ray_address=address)

    with socket.socket() as server:  # something listening passes the check; "auto" is left to Ray
        server.bind(("127.0.0.1", 0))
        server.listen()
        ray_engine.check_address(f"ray://127.0.0.1:{server.getsockname()[1]}")
    ray_engine.check_address("auto")


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
    monkeypatch.setattr(util, "grab_frames", lambda *a, **k: pytest.fail("read a video before validating"))
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
    monkeypatch.setattr(util, "grab_frames", lambda *a, **k: pytest.fail("read a video before validating"))
    with pytest.raises(ValueError, match="seed=None"):
        model_builder.train_test_classifier(dataset, 6, BACKBONE, save_dir=tmp_path, seed=None, **RUN)


def test_no_face_skip_skips_even_with_on_error_raise(tmp_path):
    blank = tmp_path / "blank.mp4"
    from vidseq.video_io import write_video

    write_video(blank, np.random.default_rng(0).integers(60, 120, (8, 96, 128, 3), dtype=np.uint8))
    with pytest.warns(UserWarning, match="without a face"):
        features, mask = embed([blank], face_crop=util.FaceCrop(no_face="skip"))
    assert not mask.any() and not features.any()


def test_missing_data_dir(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        model_builder.train_test_classifier(tmp_path / "nowhere", 6, BACKBONE, **RUN)


def test_load_and_predict_bad_run_dir(tmp_path, good_paths):
    with pytest.raises(FileNotFoundError, match="model.keras"):
        model_builder.load_classifier(tmp_path)
    with pytest.raises(FileNotFoundError, match="config.json"):
        model_builder.predict_video(good_paths[0], tmp_path)


def test_evaluate_warns_about_the_runs_own_training_videos(finished_run, dataset, tmp_path):
    run_dir = finished_run[0]
    copy = tmp_path / "copy"  # the same files elsewhere, e.g. a demo regenerated with the same seed
    shutil.copytree(dataset, copy, ignore=shutil.ignore_patterns("broken*"))
    with pytest.warns(UserWarning, match="own training or validation videos"):
        result = model_builder.evaluate(run_dir, copy, split="all")
    splits = pd.read_csv(run_dir / "splits.csv")
    trained = splits[splits.split.isin(["train", "val"]) & ~splits.path.str.endswith("broken.mp4")]
    assert sorted(Path(p).name for p in result["seen_in_training"]) == sorted(Path(p).name for p in trained.path)
    assert Path(result["written"]) == run_dir / "eval_copy-all.json" and Path(result["written"]).is_file()
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*own training")  # its own test split: nothing seen in training
        own = model_builder.evaluate(run_dir, dataset, split="test")
    assert own["seen_in_training"] == []


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
    assert re.search(r"Truncated video: \d+ of the 80 frames its container declares decode", skipped[0]["error"])
    with pytest.warns(UserWarning, match="Truncated video"):
        model_builder.train_test_classifier(root, 8, BACKBONE, run_name="keep", truncated="keep", **common)
    kept = json.loads((tmp_path / "runs" / "keep" / "metrics.json").read_text())
    assert kept["skipped"] == [] and json.loads((tmp_path / "runs" / "keep" / "config.json").read_text())["truncated"] == "keep"
    cut = str(root / "real" / "cut.mp4")
    with pytest.raises(util.VideoReadError, match="Truncated video"):
        model_builder.predict_video(cut, tmp_path / "runs" / "skip")
    assert 0 <= model_builder.predict_video(cut, tmp_path / "runs" / "skip", truncated="keep") <= 1
    assert util.check_truncation(cut).declared == 80 and util.check_truncation(whole) is None
