"""The leaderboard of saved runs: ranked on validation, test sets shown, intervals and ties with the best,
unreadable runs warned about; paired comparisons of two runs (`compare_runs`, `vidseq compare A B`)."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import model_builder
from conftest import BACKBONE
from vidseq.cli import commands as cli
from vidseq.data.splits import split_fingerprint
from vidseq.runs.leaderboard import format_intervals, tie_summary
from vidseq.runs.metrics import binary_metrics
from vidseq.runs.stats import measured_with_intervals


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


# --------------------------------------------------------------------------- intervals, ties, paired comparisons
# Synthetic run folders (config, metrics, scores and splits, no model): 16 people per split, two
# videos each, two fakes linking three people into one cluster; a run is its scores of these videos.


def _videos() -> pd.DataFrame:
    rows = []
    for split in ("val", "test"):
        for k in range(16):
            label = k % 2
            people = f"{split}{k}|{split}{k + 2}" if (label and k < 4) else f"{split}{k}"
            rows += [dict(path=f"/data/{split}/{k}_{v}.mp4", label=label, identities=people, split=split)
                     for v in range(2)]
    return pd.DataFrame(rows)


VIDEOS = _videos()
RNG = np.random.default_rng(0)
GOOD = np.clip(0.3 + 0.4 * VIDEOS.label + RNG.normal(0, 0.2, len(VIDEOS)), 0, 1)
ALSO_GOOD = np.clip(GOOD + RNG.normal(0, 0.02, len(VIDEOS)), 0, 1)
POOR = RNG.random(len(VIDEOS))


def synthetic_run(folder: Path, scores: np.ndarray, head: str = "gru8", stored_intervals: bool = True,
                  videos: pd.DataFrame = VIDEOS) -> Path:
    table = videos.assign(score=scores)
    measure = measured_with_intervals if stored_intervals else (lambda labels, s, _: binary_metrics(labels, s))
    metrics = {split: measure(part.label, part.score, part.identities) for split, part in table.groupby("split")}
    test = table[table.split == "test"]
    # Made-up paths: fingerprinted by path, stored as a run stores its content fingerprint.
    metrics.update(test_split=split_fingerprint(test.path, test.label, by="path"), test_split_key="content")
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps(dict(head=head, dataset="synthetic", img_model_name=BACKBONE)))
    (folder / "metrics.json").write_text(json.dumps(metrics))
    table[["path", "split", "label", "score"]].to_csv(folder / "scores.csv", index=False)
    table[["path", "label", "identities", "split"]].to_csv(folder / "splits.csv", index=False)
    return folder


def test_board_shows_intervals_and_marks_the_runs_tied_with_the_best(tmp_path):
    for name, scores, head in (("good", GOOD, "gru8"), ("also_good", ALSO_GOOD, "gru16"), ("poor", POOR, "mean")):
        synthetic_run(tmp_path / name, scores, head)
    table = model_builder.compare_saved_models(tmp_path)
    assert set(table.run[:2]) == {"good", "also_good"} and table.run[2] == "poor"
    assert table.vs_best.tolist() == ["best", "tied", "lower"]
    assert table.vs_best_p[1] >= 0.05 > table.vs_best_p[2]
    for split, metric in (("val", "auc"), ("test", "auc"), ("test", "eer"), ("test", "log_loss")):
        column = f"{split}_{metric}"
        assert (table[f"{column}_low"] <= table[column] + 1e-9).all()
        assert (table[column] <= table[f"{column}_high"] + 1e-9).all()
    assert table.test_ci_note.isna().all()
    shown = format_intervals(table)
    assert re.fullmatch(r"0\.\d{3} \[0\.\d\d, [01]\.\d\d\]", shown.test_auc[2]) and "test_auc_low" not in shown
    summary = tie_summary(table)
    assert summary.startswith(f"Best on validation: {table.run[0]}; tied with it") and "lower (p < 0.05): poor" in summary
    search_board = model_builder.compare_saved_models(tmp_path, runs=["poor", "also_good"])
    assert search_board.run.tolist() == ["also_good", "poor"] and search_board.vs_best[0] == "best"


def test_old_run_folders_get_their_intervals_on_reading(tmp_path):
    """Runs saved before intervals were stored: computed from scores.csv and splits.csv, the same numbers."""
    synthetic_run(tmp_path / "new", GOOD)
    synthetic_run(tmp_path / "old", GOOD, stored_intervals=False)
    shutil.copytree(Path(__file__).parent / "data" / "old_run", tmp_path / "tiny_old")  # 2 val and 2 test videos
    synthetic_run(tmp_path / "no_identities", POOR, stored_intervals=False)
    (tmp_path / "no_identities" / "splits.csv").unlink()
    table = model_builder.compare_saved_models(tmp_path).set_index("run")
    interval_columns = [c for c in table if c.endswith(("_low", "_high"))]
    assert len(interval_columns) == 2 * 2 * 5
    assert table.loc["old", interval_columns].tolist() == table.loc["new", interval_columns].tolist()
    assert table.loc["tiny_old", "test_ci_note"].startswith("too few identities: 1 real and 1 fake")
    assert np.isnan(table.loc["tiny_old", "test_auc_low"]) and table.loc["tiny_old", "test_auc"] == 1.0
    assert table.loc["no_identities", "val_ci_note"] == ("no intervals: the run folder has no splits.csv "
                                                         "(identities or scores not saved)")
    shown = format_intervals(table.reset_index()).set_index("run")
    assert shown.loc["tiny_old", "test_auc"] == "1.000 [too few identities]"


def test_compare_runs_pairs_the_same_videos(tmp_path):
    good, poor = synthetic_run(tmp_path / "good", GOOD), synthetic_run(tmp_path / "poor", POOR, head="mean")
    same = model_builder.compare_runs(good, shutil.copytree(good, tmp_path / "copy"))
    assert same.p_value == 1.0 and same.difference == 0 and same.sentence.endswith("no evidence of a difference")
    assert same.name_a == "good" and same.name_b == "copy"  # the same head: named by folder
    result = model_builder.compare_runs(good, poor)
    assert result.p_value < 0.01 and result.difference > 0 and result.videos == 32
    assert result.sentence.startswith("gru8 vs mean: ΔAUC ") and result.sentence.endswith("gru8 scores higher")
    assert list(result.table.index) == ["gru8", "mean", "difference"] and "32 test videos" in str(result)
    flipped = model_builder.compare_runs(poor, good, split="val")
    assert flipped.sentence.startswith("mean vs gru8: Δval AUC −") and flipped.difference_interval[1] < 0


def test_compare_runs_refuses_runs_on_other_videos_and_folders_that_are_not_runs(tmp_path, finished_run):
    good = synthetic_run(tmp_path / "good", GOOD)
    elsewhere = VIDEOS.assign(path=VIDEOS.path.str.replace("/data", "/elsewhere"))
    other = synthetic_run(tmp_path / "other", GOOD, videos=elsewhere)
    with pytest.raises(ValueError, match=r"^Received: run_a='good' \(test split \w{8}\) and run_b='other' "
                                         r"\(test split \w{8}\)\. Expected runs tested on the same videos") as info:
        model_builder.compare_runs(good, other)
    assert "\n" not in str(info.value)
    with pytest.raises(FileNotFoundError, match="run_b=.*nowhere.*which is not a finished run folder"):
        model_builder.compare_runs(good, tmp_path / "nowhere")
    with pytest.raises(ValueError, match="split='train'"):
        model_builder.compare_runs(good, good, split="train")
    tiny = model_builder.compare_runs(finished_run[0], finished_run[0])  # 4 test videos: no interval, said so
    assert tiny.p_value is None and "too few identities" in tiny.sentence


def test_a_trained_run_stores_its_intervals(finished_run):
    metrics = json.loads((finished_run[0] / "metrics.json").read_text())
    for split in ("val", "test"):
        intervals = metrics[split]["intervals"]
        assert intervals["resamples"] == 2000 and intervals["seed"] == 0 and intervals["confidence"] == 0.95
        videos = metrics[split]["videos"]
        assert sum(intervals["clusters"].values()) == videos  # folders layout: a person per video
        assert intervals["note"].startswith("too few identities") and intervals["auc"] is None


def test_vidseq_compare_two_runs_without_tensorflow(tmp_path):
    synthetic_run(tmp_path / "good", GOOD)
    synthetic_run(tmp_path / "poor", POOR, head="mean")
    code = ("import sys\nfrom vidseq.cli import commands\n"
            f"assert commands.main(['compare', 'good', 'poor', '--save-dir', {str(tmp_path)!r}]) == 0\n"
            f"assert commands.main(['compare', '--save-dir', {str(tmp_path)!r}]) == 0\n"
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'TensorFlow imported'")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "gru8 vs mean: ΔAUC" in result.stdout and "difference" in result.stdout
    assert re.search(r"good .* 0\.\d{3} \[0\.\d\d, [01]\.\d\d\]", result.stdout)
    assert "Best on validation: good" in result.stdout


def test_vidseq_compare_errors_are_one_line(tmp_path, capsys):
    good = synthetic_run(tmp_path / "good", GOOD)
    for argv in (["compare", str(good)], ["compare", str(good), str(tmp_path / "nowhere")]):
        assert cli.main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("vidseq compare: error: Received:") and "\n" not in err


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
