"""Identity k-fold cross-validation (`train_test_classifier(..., folds=k)`): every video tested once
from one extraction, one parent folder, one leaderboard row, paired comparisons of two CVs."""

import json
import shutil
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

import model_builder
from conftest import BACKBONE, NUM_FRAMES, RUN
from vidseq.cli import commands as cli
from vidseq.features import backbone_models, extract
from vidseq.runs.leaderboard import format_intervals

FOLDS = 2


@pytest.fixture(scope="module")
def cross_validated(dataset, tmp_path_factory):
    """A 2-fold CV of the tiny dataset from an empty cache: (parent folder, result, decoded videos, backbone builds)."""
    save_dir, cache = tmp_path_factory.mktemp("cv"), tmp_path_factory.mktemp("cv_cache")
    reads, builds = [], []
    real_read, real_build = extract.read_frames_and_face, backbone_models.build_backbone
    extract.read_frames_and_face = lambda path, *a, **k: reads.append(path) or real_read(path, *a, **k)
    backbone_models.build_backbone = lambda *a, **k: builds.append(backbone_models.is_built(*a)) or real_build(*a, **k)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = model_builder.train_test_classifier(dataset, NUM_FRAMES, BACKBONE, cache_dir=cache,
                                                         save_dir=save_dir, run_name="cv", folds=FOLDS,
                                                         **{**RUN, "seed": 1})
    finally:
        extract.read_frames_and_face, backbone_models.build_backbone = real_read, real_build
    return save_dir / "cv", result, reads, builds


def test_every_video_is_tested_once_from_one_extraction(cross_validated, good_paths):
    parent, (labels, models, (loss, acc)), reads, builds = cross_validated
    assert labels == ["real", "fake"] and len(models) == FOLDS and 0 <= acc <= 1 and loss > 0
    good = [p for p in reads if not p.endswith("broken.mp4")]
    assert sorted(good) == sorted(set(good)) == good_paths  # decoded once, not once per fold
    assert builds and all(builds[1:])  # the backbone is built for the first fold's extraction only, then reused
    scores = pd.read_csv(parent / "scores.csv")
    tested = scores[scores.split == "test"]
    assert sorted(tested.path) == good_paths and tested.fold.nunique() == FOLDS  # the broken file: skipped
    for k in range(1, FOLDS + 1):
        fold_scores = pd.read_csv(parent / f"fold{k}" / "scores.csv")
        assert sorted(fold_scores[fold_scores.split == "test"].path) == sorted(tested[tested.fold == k].path)
        assert not set(fold_scores[fold_scores.split == "val"].path) & set(tested[tested.fold == k].path)
        assert json.loads((parent / f"fold{k}" / "config.json").read_text())["fold"] == k
    metrics = json.loads((parent / "metrics.json").read_text())
    assert metrics["test"]["videos"] == len(good_paths) and metrics["folds"]["k"] == FOLDS
    assert metrics["test"]["intervals"]["clusters"] == {"real": 8, "fake": 8}
    assert metrics["folds"]["test_videos"] == tested.groupby("fold").size().tolist()
    assert metrics["val"]["intervals"]["note"].startswith(f"mean of {FOLDS} folds")
    assert np.isclose(metrics["val"]["auc"], np.mean(metrics["folds"]["val_auc"]))
    splits = pd.read_csv(parent / "splits.csv")
    assert set(splits.split) == {f"fold{k}" for k in range(1, FOLDS + 1)} and {"identities", "fold"} <= set(splits)


def test_a_cross_validation_is_one_row_of_the_leaderboard(cross_validated, finished_run, tmp_path):
    parent = cross_validated[0]
    shutil.copytree(parent, tmp_path / parent.name)
    shutil.copytree(finished_run[0], tmp_path / "single")
    table = model_builder.compare_saved_models(tmp_path).set_index("run")
    assert sorted(table.index) == ["cv", "single"]  # the fold runs are not rows
    row = table.loc["cv"]
    metrics = json.loads((parent / "metrics.json").read_text())
    assert row.folds == FOLDS and row.test_auc == metrics["test"]["auc"] and row["head"] == "gru8"
    assert np.isclose(row.fold_test_auc_mean, np.mean(metrics["folds"]["test_auc"]))
    assert pd.isna(row.val_auc_low) and row.val_ci_note.startswith(f"mean of {FOLDS} folds")
    assert pd.isna(table.loc["single", "folds"])
    shown = format_intervals(table.reset_index()).set_index("run")
    assert shown.loc["cv", "fold_test_auc"].endswith(f"({FOLDS} folds)") and shown.loc["single", "fold_test_auc"] == ""
    assert shown.loc["cv", "val_auc"].endswith(f"[mean of {FOLDS} folds ± {metrics['folds']['val_auc_std']:.2f}]")


def test_two_cross_validations_compare_on_their_pooled_scores(cross_validated, finished_run, tmp_path):
    parent = cross_validated[0]
    other = shutil.copytree(parent, tmp_path / "other")
    scores = pd.read_csv(other / "scores.csv")
    scores["score"] = np.random.default_rng(0).random(len(scores))  # a poor head on the same folds
    scores.to_csv(other / "scores.csv", index=False)
    same = model_builder.compare_runs(parent, shutil.copytree(parent, tmp_path / "copy"))
    assert same.videos == 16 and same.difference == 0
    assert model_builder.compare_runs(parent, other, split="val").videos == len(scores[scores.split == "val"])
    with pytest.raises(ValueError, match="Expected runs tested on the same videos"):
        model_builder.compare_runs(parent, finished_run[0])


@pytest.mark.parametrize("folds, match", [(1, r"folds=1\. Expected an int >= 2"),
                                          (9, r"folds=9\. Expected an int in \[2, 7\]")])
def test_bad_fold_counts_are_one_line_errors_before_any_folder(dataset, tmp_path, folds, match):
    with pytest.raises(ValueError, match=match) as error:
        model_builder.train_test_classifier(dataset, NUM_FRAMES, BACKBONE, save_dir=tmp_path, folds=folds,
                                            **{**RUN, "verbose": 0})
    assert "\n" not in str(error.value) and not any(tmp_path.iterdir())


def test_vidseq_train_folds_flag_and_its_error_before_tensorflow(dataset, capsys):
    with pytest.raises(SystemExit):
        cli.main(["train", "--help"])
    help_text = capsys.readouterr().out
    assert "--folds" in help_text and "--split-tolerance" in help_text and "--fold " not in help_text
    code = ("import sys\nfrom vidseq.cli import commands\n"
            f"assert commands.main(['train', {str(dataset)!r}, '--folds', '9', '--weights', 'random']) == 2\n"
            "assert 'tensorflow' not in sys.modules, 'TensorFlow imported'")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().startswith("vidseq train: error: Received: --folds 9. Expected an int in [2, 7]")
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_search_with_folds_ranks_cross_validations_by_their_mean_validation_auc(dataset, cache_dir, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        board = model_builder.search(dataset, num_frames=[NUM_FRAMES], img_model_names=[BACKBONE],
                                     heads=[{"rnn": None}, {"rnn": "gru", "rnn_units": [8]}], folds=2,
                                     save_dir=tmp_path, cache_dir=cache_dir,
                                     **{k: v for k, v in RUN.items() if k != "rnn_units"})
    runs = sorted(p.name for p in tmp_path.iterdir() if p.is_dir() and not p.name.startswith("."))  # not search.db
    assert len(board) == 2 and (board.folds == 2).all() and runs == sorted(board.run)
    for run in board.itertuples():
        folds = json.loads((tmp_path / run.run / "metrics.json").read_text())["folds"]
        assert np.isclose(run.val_auc, np.mean(folds["val_auc"]))
    assert board.val_auc.is_monotonic_decreasing or board.val_auc.iloc[0] == board.val_auc.iloc[1]


@pytest.mark.slow
def test_five_fold_cross_validation_of_the_demo_from_the_cache(tmp_path):
    """The issue's check: `vidseq demo` data, embeddings cached as the demo caches them, a 5-fold CV
    that decodes nothing, scores every video once and is one leaderboard row."""
    from vidseq.cli.commands import DEMO_TRAINING
    from vidseq.data.demo_data import make_demo_dataset

    data, cache, save_dir = tmp_path / "demo", tmp_path / "cache", tmp_path / "runs"
    make_demo_dataset(data)
    paths = sorted(str(p) for p in data.rglob("*.mp4"))
    model_builder.embed_videos(paths, 32, BACKBONE, weights="random", cache_dir=cache, face_crop=True)
    reads = []
    real_read = extract.read_frames_and_face
    extract.read_frames_and_face = lambda path, *a, **k: reads.append(path) or real_read(path, *a, **k)
    try:
        model_builder.train_test_classifier(data, 32, BACKBONE, weights="random", cache_dir=cache, save_dir=save_dir,
                                            face_crop=True, folds=5, rnn="gru", rnn_units=(64,), rnn_pooling="mean",
                                            run_name="demo_cv", explain=False, **DEMO_TRAINING)
    finally:
        extract.read_frames_and_face = real_read
    assert reads == []  # every embedding came from the cache
    scores = pd.read_csv(save_dir / "demo_cv" / "scores.csv")
    assert sorted(scores[scores.split == "test"].path) == paths
    board = model_builder.compare_saved_models(save_dir)
    assert board.run.tolist() == ["demo_cv"] and board.folds[0] == 5
    print(format_intervals(board)[["run", "val_auc", "test_auc", "fold_test_auc"]].to_string())
