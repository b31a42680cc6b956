"""Identity k-fold cross-validation: k runs, each testing on a different fold of identities, in one
parent folder with the out-of-fold scores of every video and the pooled metrics.

The folds come from `vidseq.data.splits.fold_videos` (identity-disjoint, stratified within
the split tolerance, fakes whose identities straddle folds left out and counted); run k tests
on fold k, validates on identities carved from the other folds and trains on the rest
(`fold_split`). An official test split (Celeb-DF's list, FF++'s test.json) is not used: it
stays for the final test of the configuration the cross-validation chooses. The embeddings
are the shared cache's, so k folds cost one extraction and k head trainings.

The parent folder `save_dir/<run_name>/` holds `fold1/` ... `fold<k>/` (each a complete run
folder), `config.json` (the runs' settings), `scores.csv` (every cross-validated video's
out-of-fold score as split "test", and each fold's validation scores as split "val", with
their `fold`), `splits.csv` (each video's identities and fold: split "fold<k>", "excluded" or
the official "test"), `metrics.json` and the ROC and score plots. metrics.json's "test" are
the pooled out-of-fold metrics with their 95% intervals over identities; its "val" the mean of
the folds' validation metrics (what `search` ranks by); "folds" each fold's figures. The
leaderboard lists the parent as one run.

    >>> from vidseq.runs.train import train_test_classifier
    >>> labels, models, (loss, acc) = train_test_classifier("data/demo", 16, weights="random", folds=5)  # doctest: +SKIP
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vidseq.data.layouts import discover_videos
from vidseq.data.splits import ASSIGNMENT, EXCLUDED, fold_split, fold_videos, split_fingerprint
from vidseq.runs.folders import LABELS, dataset_name, new_run_dir, read_config
from vidseq.runs.one_run import TrainedRun, train_run
from vidseq.runs.plots import plot_roc, plot_score_histograms
from vidseq.runs.stats import METRICS, measured_with_intervals, no_intervals
from vidseq.training.config import RunConfig
from vidseq.training.videos import RunVideos, require_both_classes
from vidseq.utils.atomic import write_json, write_text


def cross_validate(data_dir: str | os.PathLike, config: RunConfig) -> tuple[list[str], list[Any], tuple[float, float]]:
    """`config.data.folds` runs of `config` on `data_dir`'s identity folds, saved in one parent
    folder (module docstring): `(labels, the k fold models, (pooled out-of-fold log loss, accuracy))`.
    Every fold's split is made and checked before anything trains."""
    data = config.data
    videos = discover_videos(data_dir, data.compression, identities=data.identities)
    folded = fold_videos(videos, data.folds, config.seed, data.split_by, data.split_tolerance)
    splits = [fold_split(folded, k, data.val_size, config.seed, data.split_by, data.split_tolerance)
              for k in range(1, data.folds + 1)]
    for k, split in enumerate(splits, start=1):
        require_both_classes(split.label.to_numpy(), {s: (split.split == s).to_numpy() for s in ("train", "val")},
                             f"In fold {k}'s run (its validation is carved from the other folds); expected fewer "
                             "folds or a larger val_size.")
    head = config.family.head_name(config.options())
    name = config.run_name or (f"{dataset_name(videos, data_dir)}_{config.img_model_name}_f{config.num_frames}_"
                               f"{head}_cv{data.folds}_{time.strftime('%Y%m%d-%H%M%S')}")
    parent = new_run_dir(config.save_dir, name)
    say = print if config.verbose else (lambda *a, **k: None)
    say(f"Cross-validation in {data.folds} identity folds -> {parent}; {_folds_line(folded)}")
    runs: list[TrainedRun] = []
    for k, split in enumerate(splits, start=1):
        say(f"Fold {k}/{data.folds}:")
        fold_config = config.replace(fold=k, save_dir=str(parent), run_name=f"fold{k}")
        runs.append(train_run(RunVideos(data_dir, fold_config, split)))
    metrics = _save(parent, folded, runs)
    test = metrics["test"]
    say(f"CROSS-VALIDATED ({data.folds} folds, {test['videos']} videos scored once): AUC {test['auc']:.3f}, "
        f"folds' test AUC {metrics['folds']['test_auc_mean']:.3f} ± {metrics['folds']['test_auc_std']:.3f} -> {parent}")
    return list(LABELS), [run.model for run in runs], (metrics["test_loss"], metrics["test_acc"])


def _folds_line(folded: pd.DataFrame) -> str:
    """How many videos each fold holds, and what the folds leave out or aside."""
    counts = folded[folded.fold > 0].groupby("fold").label.agg(["size", "sum"])
    parts = [f"fold {k}: {n} ({n - f} real, {f} fake)" for k, (n, f) in counts.iterrows()]
    excluded, official = int((folded.split == EXCLUDED).sum()), int(((folded.fold == 0) & (folded.split == "test")).sum())
    if excluded:
        parts.append(f"{excluded} fake(s) left out (their identities straddle folds)")
    if official:
        parts.append(f"the official test split ({official} videos) kept for the final test")
    return "; ".join(parts)


def _save(parent: Path, folded: pd.DataFrame, runs: list[TrainedRun]) -> dict:
    """The parent folder's files (metrics.json last): the pooled scores, identities and metrics."""
    identities = folded.assign(identities=folded.identities.map("|".join)).set_index("path").identities
    scores = pd.concat([run.scores.assign(fold=k) for k, run in enumerate(runs, start=1)], ignore_index=True)
    tested = scores[scores.split == "test"]
    scores = pd.concat([tested, scores[scores.split == "val"]], ignore_index=True)
    pooled = measured_with_intervals(tested.label, tested.score, identities[tested.path])
    folds = {f"{split}_auc": [run.metrics[split]["auc"] for run in runs] for split in ("val", "test")}
    summary = {f"{key}_{stat}": float(fn(values)) for key, values in folds.items()
               for stat, fn in (("mean", np.mean), ("std", np.std))}
    val = {m: float(np.mean([run.metrics["val"][m] for run in runs])) for m in METRICS}
    val["intervals"] = no_intervals(f"mean of {len(runs)} folds ± {summary['val_auc_std']:.2f}: the folds' validation "
                                    "videos overlap, so their mean has no bootstrap interval (the folds' spread is "
                                    "in folds.val_auc_std)")
    skipped = {s["path"]: s for run in runs for s in run.metrics["skipped"]}
    metrics = dict(
        val=val, test=pooled, test_split=split_fingerprint(tested.path, tested.label), test_split_key="content",
        test_loss=pooled["log_loss"], test_acc=pooled["accuracy"],
        folds=dict(k=len(runs), runs=[run.run_dir.name for run in runs], assignment=folded.attrs.get(ASSIGNMENT),
                   excluded=int((folded.split == EXCLUDED).sum()),
                   official_test_kept_aside=int(((folded.fold == 0) & (folded.split == "test")).sum()),
                   **folds, **summary,
                   test_videos=[int(run.metrics["test"]["videos"]) for run in runs]),
        train_videos=int(np.mean([run.metrics["train_videos"] for run in runs])),
        epochs_trained=int(round(np.mean([run.metrics["epochs_trained"] for run in runs]))),
        train_seconds=round(sum(run.metrics["train_seconds"] for run in runs), 2),
        skipped=list(skipped.values()), no_face=sorted({p for run in runs for p in run.metrics["no_face"]}),
    )
    config = {**read_config(runs[0].run_dir), "fold": None, "run_name": parent.name,
              "save_dir": str(parent.parent), "created": time.strftime("%Y-%m-%dT%H:%M:%S")}
    splits = folded.assign(identities=identities[folded.path].to_numpy(),
                           split=np.where(folded.fold > 0, "fold" + folded.fold.astype(str), folded.split))
    write_json(parent / "config.json", config)
    write_text(parent / "splits.csv", splits[["path", "label", "identities", "group", "split", "dataset",
                                              "fold"]].to_csv(index=False))
    write_text(parent / "scores.csv", scores.to_csv(index=False))
    plot_roc(scores, parent / "roc.png")
    plot_score_histograms(scores, parent / "scores.png")
    write_json(parent / "metrics.json", metrics)  # last: its presence marks a finished run
    return metrics


__all__ = ["cross_validate"]
