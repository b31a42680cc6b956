"""Scoring with a saved run: predict_video with the run's settings, bad run folders, evaluate's leak warning."""

import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import model_builder
from conftest import embed


def test_predict_video_uses_the_run_settings(finished_run, good_paths):
    run_dir, _, model, _, _ = finished_run
    features, _ = embed(good_paths[:2])
    expected = model.predict(features, verbose=0)[:, 0]
    got = [model_builder.predict_video(p, run_dir) for p in good_paths[:2]]
    assert all(0 <= g <= 1 for g in got)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)


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
