"""Run plots written as PNG.

Figures are made with `matplotlib.figure.Figure`, not pyplot, so that saving a run never
switches a notebook's backend or closes its figures.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from vidseq.atomic import atomic_path


def _save(fig, path: str | os.PathLike) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100)


def plot_learning_curves(history: pd.DataFrame, path: str | os.PathLike) -> None:
    """Loss and accuracy per epoch, train against validation."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4))
    axes = fig.subplots(1, 2)
    for ax, metric in zip(axes, ("loss", "accuracy")):
        for prefix, style in (("", "-"), ("val_", "--")):
            if prefix + metric in history:
                ax.plot(history["epoch"] + 1, history[prefix + metric], style, label=(prefix or "train_") + metric)
        ax.set_xlabel("epoch")
        ax.set_title(metric)
        ax.legend()
    fig.tight_layout()
    _save(fig, path)


def plot_roc(curves: dict[str, tuple[np.ndarray, np.ndarray]], path: str | os.PathLike) -> None:
    """ROC curves, one per split: `{"test": (labels, scores), ...}`."""
    from matplotlib.figure import Figure
    from sklearn.metrics import roc_auc_score, roc_curve

    fig = Figure(figsize=(5, 5))
    ax = fig.subplots()
    for split, (labels, scores) in curves.items():
        if len(np.unique(labels)) == 2:
            fpr, tpr, _ = roc_curve(labels, scores)
            ax.plot(fpr, tpr, label=f"{split} (AUC {roc_auc_score(labels, scores):.3f})")
    ax.plot([0, 1], [0, 1], ":", color="grey")
    ax.set_xlabel("false positive rate (real called fake)")
    ax.set_ylabel("true positive rate (fake caught)")
    ax.legend(loc="lower right")
    fig.tight_layout()
    _save(fig, path)
