"""The leaderboard of saved runs: ranked on validation, test sets shown, unreadable runs warned about."""

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

import model_builder
from conftest import BACKBONE


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
    del old["test_split"], old["test_split_key"]  # a run saved before fingerprints: computed from its scores.csv
    (tmp_path / "test_best" / "metrics.json").write_text(json.dumps(old))
    table = model_builder.compare_saved_models(tmp_path)
    assert table.run.tolist() == ["val_tie_lower_loss", "val_best", "test_best"]
    assert table.dataset.unique().tolist() == [Path(dataset).name]  # folders: named after the data dir
    assert table.test_split.nunique() == 1 and len(table.test_split[0]) == 8
    assert (table.test_videos == metrics["test"]["videos"]).all()


def test_old_runs_keep_a_readable_test_fingerprint(finished_run, tmp_path):
    """Runs saved before fingerprints went by content: recomputed while their videos exist, else marked path-based."""
    first = finished_run[0]
    metrics = json.loads((first / "metrics.json").read_text())
    for name in ("old", "old_moved"):
        shutil.copytree(first, tmp_path / name)
        old = {k: v for k, v in metrics.items() if k != "test_split_key"}
        (tmp_path / name / "metrics.json").write_text(json.dumps({**old, "test_split": "0a1b2c3d"}))
    scores = pd.read_csv(tmp_path / "old_moved" / "scores.csv")
    scores.assign(path=[str(tmp_path / "gone" / Path(p).name) for p in scores.path]).to_csv(
        tmp_path / "old_moved" / "scores.csv", index=False)
    table = model_builder.compare_saved_models(tmp_path).set_index("run")
    assert table.test_split["old"] == metrics["test_split"]  # by content, as a new run's
    assert table.test_split["old_moved"] == "path:0a1b2c3d"


def test_figures_from_seen_videos_are_marked(finished_run, tmp_path):
    first = finished_run[0]
    shutil.copytree(first, tmp_path / "run")
    config = json.loads((first / "config.json").read_text())
    splits = pd.read_csv(first / "splits.csv")
    trained = splits.path[splits.split == "train"].tolist()
    evaluations = {"other": dict(auc=0.6, eer=0.4, split="test", seen_in_training=[]),
                   "own-all": dict(auc=0.98, eer=0.05, split="all", seen_in_training=trained[:2]),
                   "own-train": dict(auc=0.99, eer=0.01, split="train", data_dir=config["data_dir"])}  # before the key
    for name, evaluation in evaluations.items():
        (tmp_path / "run" / f"eval_{name}.json").write_text(json.dumps(evaluation))
    row = model_builder.compare_saved_models(tmp_path).iloc[0]
    assert row["eval_other_auc"] == 0.6 and row["eval_own-all_seen_auc"] == 0.98
    assert row["eval_own-train_seen_auc"] == 0.99
    assert not {"eval_own-all_auc", "eval_own-train_auc"} & set(row.index)
