"""Bring your own features: the feature store's writes, reads and refusals, and runs on a feature set."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from conftest import NUM_FRAMES, RUN
from vidseq.features.store import FeatureStore, read_features, write_features
from vidseq.training.config import RunConfig

DIM = 12


def files_under(root):
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())


def test_write_then_read_one_video(good_paths, tmp_path):
    features = np.random.default_rng(0).normal(size=(NUM_FRAMES, DIM))
    mask = np.arange(NUM_FRAMES) < 4
    write_features("toy", good_paths[0], features, mask, cache_dir=tmp_path)
    got, got_mask = read_features("toy", good_paths[0], cache_dir=tmp_path)
    assert got.dtype == np.float32 and got.shape == (NUM_FRAMES, DIM)
    np.testing.assert_allclose(got[:4], features[:4], rtol=1e-6)
    assert not got[4:].any()  # padded frames stored as zeros: the heads skip them
    np.testing.assert_array_equal(got_mask, mask)
    info = FeatureStore("toy", tmp_path).info()
    assert (info["num_frames"], info["feature_dim"]) == (NUM_FRAMES, DIM)
    with pytest.raises(FileNotFoundError, match="no features in feature set 'toy'"):
        read_features("toy", good_paths[1], cache_dir=tmp_path)


def test_float16_features_stay_float16(good_paths, tmp_path):
    store = FeatureStore("half", tmp_path)
    features = np.linspace(-3, 3, NUM_FRAMES * DIM).reshape(NUM_FRAMES, DIM).astype(np.float16)
    store.write(good_paths[0], features)
    with np.load(store.entry_file(good_paths[0])) as entry:
        assert entry["features"].dtype == np.float16
    got, mask = store.read(good_paths[0])
    assert got.dtype == np.float32 and mask.all()
    np.testing.assert_array_equal(got, features.astype(np.float32))


@pytest.mark.parametrize("features, mask, error, match", [
    (np.ones((NUM_FRAMES, DIM + 1)), None, ValueError, r"shape \(6, 13\).*Expected \(6, 12\)"),
    (np.ones((NUM_FRAMES + 2, DIM)), None, ValueError, r"shape \(8, 12\).*Expected \(6, 12\)"),
    (np.ones((NUM_FRAMES, DIM)), np.ones(NUM_FRAMES + 1, bool), ValueError, r"mask of shape \(7,\).*Expected .*\(6,\)"),
    (np.ones((NUM_FRAMES, DIM)), np.zeros(NUM_FRAMES, bool), ValueError, "without any True frame"),
    (np.ones(DIM), None, ValueError, r"shape \(12,\).*Expected a \(num_frames, feature_dim\)"),
    (np.full((NUM_FRAMES, DIM), np.nan), None, ValueError, "NaN or infinite"),
    (np.full((NUM_FRAMES, DIM), 1e300), None, ValueError, "NaN or infinite"),  # beyond float32
])
def test_bad_features_are_refused_and_nothing_is_written(good_paths, tmp_path, features, mask, error, match):
    write_features("set", good_paths[0], np.ones((NUM_FRAMES, DIM)), cache_dir=tmp_path)  # fixes the set's shape
    before = files_under(tmp_path)
    with pytest.raises(error, match=match), warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warning either: one error says it
        write_features("set", good_paths[1], features, mask, cache_dir=tmp_path)
    assert files_under(tmp_path) == before


def test_a_missing_video_or_a_bad_set_name_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.mp4"):
        write_features("set", tmp_path / "nowhere.mp4", np.ones((2, 3)), cache_dir=tmp_path)
    with pytest.raises(ValueError, match="'my set'"):
        FeatureStore("my set", tmp_path)
    assert not files_under(tmp_path)


def test_feature_set_runs_are_configured_as_such(tmp_path):
    config = RunConfig.from_options(NUM_FRAMES, "Features:toy", rnn_units=(8,))
    assert (config.family.name, config.img_model_name, config.weights, config.input_size) == (
        "features", "features:toy", None, None)
    assert "feature_dtype" not in config.to_json() and config.to_json()["rnn_units"] == (8,)
    with pytest.raises(ValueError, match="Expected weights=None"):
        RunConfig.from_options(NUM_FRAMES, "features:toy", weights="random")
    with pytest.raises(ValueError, match="Expected face_crop=False"):
        RunConfig.from_options(NUM_FRAMES, "features:toy", face_crop=True)
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['feature_dtype'\]"):
        RunConfig.from_options(NUM_FRAMES, "features:toy", feature_dtype="float16")
    with pytest.raises(ValueError, match="feature sets: features:<name>"):
        RunConfig.from_options(NUM_FRAMES, "features:no spaces")


def write_toy_set(paths, cache_dir, name="toy"):
    """Features a head can separate: a fake video's frames are shifted along the first axes."""
    rng = np.random.default_rng(1)
    for path in paths:
        features = rng.normal(size=(NUM_FRAMES, DIM)).astype(np.float32)
        features[:, :3] += 3.0 * ("fake" in str(path))
        mask = np.arange(NUM_FRAMES) < rng.integers(3, NUM_FRAMES + 1)
        write_features(name, path, features, mask, cache_dir=cache_dir)


def test_heads_train_search_evaluate_and_compare_on_a_feature_set(dataset, good_paths, tmp_path):
    import model_builder

    cache, save_dir = tmp_path / "cache", tmp_path / "runs"
    write_toy_set(good_paths, cache)
    options = {**RUN, "weights": None, "cache_dir": cache, "save_dir": save_dir, "epochs": 20, "learning_rate": 0.01,
               "rnn": None, "dropout": 0.0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match="Expected num_frames=6"):
            model_builder.train_test_classifier(dataset, NUM_FRAMES + 1, "features:toy", **options)
        model_builder.train_test_classifier(dataset, NUM_FRAMES, "features:toy", run_name="byo", **options)
    run_dir = save_dir / "byo"
    config = json.loads((run_dir / "config.json").read_text())
    assert (config["img_model_name"], config["feature_dim"], config["weights"]) == ("features:toy", DIM, None)
    assert config["weights_identity"].startswith("features-toy-")
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert [s["path"].endswith("broken.mp4") and "no features" in s["error"] for s in metrics["skipped"]] == [True]
    assert metrics["val"]["auc"] >= 0.75 and metrics["test"]["auc"] >= 0.75  # shifted fakes are found

    scores = pd.read_csv(run_dir / "scores.csv")
    test = scores[scores.split == "test"]
    assert model_builder.predict_video(test.path.iloc[0], run_dir) == pytest.approx(test.score.iloc[0], abs=1e-5)
    assert model_builder.evaluate(run_dir, dataset)["auc"] == pytest.approx(metrics["test"]["auc"])

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        board = model_builder.search(dataset, num_frames=[NUM_FRAMES], img_model_names=["features:toy"],
                                     heads=[{"rnn": "gru"}], **{k: v for k, v in options.items() if k != "rnn"})
    assert len(board) == 1 and "_features_toy_f6_gru8_" in board.run[0]
    leaderboard = model_builder.compare_saved_models(save_dir)
    assert len(leaderboard) == 2 and set(leaderboard.backbone) == {"features:toy"}
