"""The leaderboard: one row per finished run of a save folder, best first by validation AUC.

    >>> from vidseq.runs.leaderboard import compare_saved_models
    >>> compare_saved_models("saved_models")[["run", "val_auc", "test_auc"]]  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import pandas as pd

from vidseq.runs.plots import plot_leaderboard
from vidseq.runs.folders import run_test_split, seen_in_training
from vidseq.utils.notices import VidseqWarning

# The mark of an evaluation that scored some of the run's own training or validation videos:
# its figures do not measure generalization (eval_<name>_seen_auc).
SEEN = "_seen"


def compare_saved_models(save_dir: str | os.PathLike = "saved_models", plot: bool = False) -> pd.DataFrame:
    """One row per finished run in `save_dir`, best first by VALIDATION AUC (ties: lower
    validation loss).

    Test metrics are shown, never used to rank: choosing the top row is choosing on
    validation. `test_videos` and `test_split` (a short fingerprint of the test videos)
    show which rows were tested on the same videos and so are comparable. Cross-dataset
    evaluations (`evaluate`) add columns `eval_<dataset>_auc` and `eval_<dataset>_eer`;
    `eval_<dataset>_seen_auc` and `_seen_eer` where the evaluation scored some of the run's
    own training or validation videos (`evaluate --split all` on its own data): those
    figures do not measure generalization.
    With `plot=True` a chart of the runs' AUCs is written to `save_dir/leaderboard.png`
    and kept in `table.attrs["figure"]` for notebooks. Folders that cannot be read are
    reported in a warning, not fatal.

    >>> compare_saved_models("saved_models")[["run", "backbone", "val_auc", "test_auc"]]  # doctest: +SKIP
    """
    save_dir = Path(save_dir)
    if not save_dir.is_dir():
        raise FileNotFoundError(f"Received: save_dir={str(save_dir)!r}, which is not a directory.")
    rows, unreadable = [], []
    # Hidden folders (.ipynb_checkpoints) and runs still in progress (no metrics.json yet) are not runs.
    finished = (p for p in save_dir.iterdir() if p.is_dir() and not p.name.startswith(".") and (p / "metrics.json").exists())
    for run_dir in sorted(finished):
        try:
            config = json.loads((run_dir / "config.json").read_text())
            metrics = json.loads((run_dir / "metrics.json").read_text())
            evals = {f.stem[len("eval_"):]: json.loads(f.read_text()) for f in sorted(run_dir.glob("eval_*.json"))}
            evals = {name + (SEEN if _seen(run_dir, config, name, e) else ""): e for name, e in evals.items()}
        except (OSError, ValueError) as err:
            unreadable.append(f"{run_dir.name} ({type(err).__name__})")
            continue
        rows.append(dict(
            run=run_dir.name, dataset=config.get("dataset"), backbone=config.get("img_model_name"),
            num_frames=config.get("num_frames"), head=config.get("head"), weights=config.get("weights"),
            optimizer=config.get("optimizer"), learning_rate=config.get("learning_rate"), params=config.get("params"),
            **{f"{s}_{m}": metrics.get(s, {}).get(m) for s in ("val", "test")
               for m in ("auc", "accuracy", "balanced_accuracy", "eer", "log_loss")},
            test_videos=metrics.get("test", {}).get("videos"), test_split=run_test_split(run_dir, metrics),
            epochs=metrics.get("epochs_trained"),
            train_seconds=metrics.get("train_seconds"), skipped=len(metrics.get("skipped", [])),
            created=config.get("created"),
            **{f"eval_{name}_{m}": e.get(m) for name, e in evals.items() for m in ("auc", "eer")},
        ))
    if unreadable:
        warnings.warn(f"Unreadable run folders in {save_dir}: {', '.join(unreadable)}", VidseqWarning, stacklevel=2)
    table = pd.DataFrame(rows)
    if not table.empty:
        table = table.sort_values(["val_auc", "val_log_loss"], ascending=[False, True], na_position="last",
                                  kind="stable").reset_index(drop=True)
    if plot and not table.empty:
        table.attrs["figure"] = plot_leaderboard(table, path=save_dir / "leaderboard.png")
    return table


def _seen(run_dir: Path, config: dict, name: str, evaluation: dict) -> bool:
    """Whether an evaluation scored any of the run's own training or validation videos:
    `evaluate` records them; for evaluations saved before it did, its scores are checked
    (their videos gone: any split but the test split of the run's own data counts as seen)."""
    if "seen_in_training" in evaluation:
        return bool(evaluation["seen_in_training"])
    try:
        scored = pd.read_csv(run_dir / f"eval_{name}_scores.csv").path
    except (OSError, ValueError, AttributeError):
        return evaluation.get("split") != "test" and evaluation.get("data_dir") == config.get("data_dir")
    return bool(seen_in_training(run_dir, scored))


__all__ = ["compare_saved_models"]
