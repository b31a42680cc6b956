"""One run, from its split videos to its folder: the model family's recipe trains, the validation
and test splits are measured (with intervals), and the run folder is saved and explained.

`train_test_classifier` (vidseq.runs.train) trains one such run, or k of them for a
cross-validation (vidseq.runs.cross_validation).

    >>> from vidseq.training.config import RunConfig
    >>> from vidseq.training.videos import RunVideos
    >>> run = train_run(RunVideos("data/demo", RunConfig.from_options(16, "MobileNetV2", weights="random")))  # doctest: +SKIP
    >>> run.metrics["test"]["auc"], run.run_dir  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from vidseq.runs.explain_video import plot_run_explanations
from vidseq.runs.folders import save_run
from vidseq.runs.metrics import binary_metrics
from vidseq.runs.stats import measured_with_intervals
from vidseq.training.videos import RunVideos


@dataclass(frozen=True)
class TrainedRun:
    """A saved run: its folder, model (a keras.Model), metrics (as metrics.json holds them) and
    scores (scores.csv: path, split, label, score of its validation and test videos)."""

    run_dir: Path
    model: Any
    metrics: dict
    scores: pd.DataFrame


def train_run(videos: RunVideos) -> TrainedRun:
    """Train `videos.config`'s model on `videos`' training split, measure validation and test, save."""
    config = videos.config
    videos.say(f"Image Model: {config.img_model_name}, Image Size: {config.input_size}" if config.input_size
               else f"Features: {config.img_model_name} (computed elsewhere)")
    fitted = config.family.trainer().fit(videos, config)
    metrics = {}
    for split, scores in fitted.scores.items():
        used = videos.used[split]
        metrics[split] = measured_with_intervals(videos.labels[used], scores, videos.videos.identities[used])
    metrics.update({f"{split}_frames": binary_metrics(labels, scores)
                    for split, (labels, scores) in fitted.frame_scores.items()})
    run_dir, table = save_run(videos, fitted, metrics)
    if config.explain:
        plot_run_explanations(run_dir, fitted.model, table)
    test = metrics["test"]
    auc = "n/a" if test["auc"] is None else f"{test['auc']:.3f}"
    videos.say(f"TEST: loss {test['log_loss']:.4f}, accuracy {test['accuracy']:.3f}, AUC {auc} -> {run_dir}")
    return TrainedRun(run_dir, fitted.model, metrics, table)


__all__ = ["TrainedRun", "train_run"]
