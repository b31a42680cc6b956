"""Run and leaderboard plots: each function returns its figure and, given a path, saves a PNG.

Figures are made with `matplotlib.figure.Figure`, not pyplot, so that saving a run never
switches a notebook's backend or closes its figures; a notebook cell ending in one of these
calls displays the figure.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from vidseq.utils.atomic import atomic_path
from vidseq.runs.metrics import eer_point


def new_figure(figsize: tuple[float, float]):
    """A matplotlib Figure not tied to pyplot (no global state: safe in threads and servers)."""
    from matplotlib.figure import Figure

    return Figure(figsize=figsize)


def save_figure(fig, path: str | os.PathLike | None):
    """Lay `fig` out and, with a `path`, write it whole (temp file + rename); returns `fig`."""
    fig.tight_layout()
    if path is not None:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=100)
    return fig


def plot_learning_curves(history: pd.DataFrame, path: str | os.PathLike | None = None):
    """Loss and accuracy per epoch, train against validation; the best validation-loss epoch marked."""
    fig = new_figure((10, 4))
    best = int(history["val_loss"].idxmin()) + 1 if "val_loss" in history and history["val_loss"].notna().any() else None
    for ax, metric in zip(fig.subplots(1, 2), ("loss", "accuracy")):
        for prefix, style in (("", "-"), ("val_", "--")):
            if prefix + metric in history:
                ax.plot(history["epoch"] + 1, history[prefix + metric], style, label=(prefix or "train_") + metric)
        if best is not None:  # early stopping restores this epoch's weights: the model saved
            ax.axvline(best, color="grey", linestyle=":", label=f"best epoch {best} (kept)")
        ax.set_xlabel("epoch")
        ax.set_title(metric)
        ax.legend()
    return save_figure(fig, path)


def plot_roc(scores: pd.DataFrame, path: str | os.PathLike | None = None, title: str | None = None):
    """ROC curve per split of a `scores.csv` table (split, label, score), AUC and EER point
    marked; `title`: the run's name."""
    from sklearn.metrics import roc_auc_score, roc_curve

    fig = new_figure((5, 5))
    ax = fig.subplots()
    for split, group in scores.groupby("split", sort=False):
        if group.label.nunique() == 2:
            fpr, tpr, _ = roc_curve(group.label, group.score)
            line, = ax.plot(fpr, tpr, label=f"{split} (AUC {roc_auc_score(group.label, group.score):.3f})")
            x, y = eer_point(fpr, tpr)  # on the curve, where misses and false alarms are equal
            ax.plot(x, y, "o", color=line.get_color(), label=f"{split} EER {x:.3f}")
    ax.plot([0, 1], [0, 1], ":", color="grey")
    ax.set_xlabel("false positive rate (real called fake)")
    ax.set_ylabel("true positive rate (fake caught)")
    ax.legend(loc="lower right")
    ax.set_title("ROC" if title is None else f"ROC of {title}", fontsize=9, wrap=True)
    return save_figure(fig, path)


def plot_score_histograms(scores: pd.DataFrame, path: str | os.PathLike | None = None, threshold: float = 0.5):
    """P(fake) of real against fake videos, one panel per split of a `scores.csv` table, with
    the run's `threshold` (at or above it: called FAKE). Each class is an outline (real solid,
    fake dashed), so where they overlap both stay readable."""
    from matplotlib.ticker import MaxNLocator

    splits = list(dict.fromkeys(scores.split))
    fig = new_figure((5 * max(len(splits), 1), 3.5))
    axes = np.atleast_1d(fig.subplots(1, max(len(splits), 1)))
    bins = np.linspace(0, 1, 21)
    for ax, split in zip(axes, splits):
        group = scores[scores.split == split]
        for label, name, colour, style in ((0, "real", "tab:blue", "-"), (1, "fake", "tab:red", "--")):
            chosen = group.score[group.label == label]
            ax.hist(chosen, bins=bins, histtype="step", linewidth=2, linestyle=style, color=colour,
                    label=f"{name} ({len(chosen)})")
        ax.axvline(threshold, color="grey", linestyle=":", label=f"threshold {threshold:.2f} (from it on: FAKE)")
        ax.set_title(f"{split}: {len(group)} videos")
        ax.set_xlabel("P(fake)")
        ax.set_ylabel("videos")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts of videos
        ax.legend(fontsize=8)
    return save_figure(fig, path)


def plot_frames(frames: np.ndarray, boxes: np.ndarray | None = None, title: str = "",
                path: str | os.PathLike | None = None, columns: int = 8):
    """A grid of RGB frames `(T, H, W, 3)`, each with its face box `(x, y, w, h)` when given."""
    from matplotlib.patches import Rectangle

    rows = -(-len(frames) // columns)
    height, width = frames.shape[1:3]
    fig = new_figure((2 * columns, 2 * rows * height / width + (0.4 if title else 0)))
    axes = np.atleast_1d(fig.subplots(rows, columns)).ravel()
    for k, ax in enumerate(axes):
        ax.axis("off")
        if k < len(frames):
            ax.imshow(frames[k])
            if boxes is not None:
                x, y, w, h = boxes[k]
                ax.add_patch(Rectangle((x, y), w, h, fill=False, edgecolor="lime", linewidth=1.5))
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)


def plot_leaderboard(table: pd.DataFrame, metric: str = "val_auc", path: str | os.PathLike | None = None,
                     top: int = 20, shown_too: str = "test_auc"):
    """Horizontal bars of `metric` per run in the table's order (`compare_saved_models` ranks
    by validation AUC), the first `top` rows, with its 95% interval where the table has one
    (`<metric>_low` / `_high`); `shown_too` (test AUC) is marked, not ranked by."""
    shown = table.dropna(subset=[metric]).head(top)
    fig = new_figure((9, 0.35 * len(shown) + 1.4))
    ax = fig.subplots()
    rows = np.arange(len(shown))
    errors = None
    if f"{metric}_low" in shown:  # the interval's reach on either side of the value (none: 0)
        low, high = (pd.to_numeric(shown[f"{metric}_{end}"]) for end in ("low", "high"))
        errors = np.nan_to_num([shown[metric] - low, high - shown[metric]]).clip(0)
    ax.barh(rows, shown[metric], xerr=errors, color="tab:green", ecolor="0.3", capsize=3,
            label=metric + (" (95% interval)" if errors is not None else ""))
    if shown_too in shown:
        ax.plot(shown[shown_too], rows, "k|", markersize=12, label=f"{shown_too} (shown, not ranked by)")
    ax.set_yticks(rows, shown.run, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 1.08)
    ax.set_xlabel("AUC")
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1), ncol=2, fontsize=8, frameon=False)  # above: bars fill the axes
    reach = shown[metric] + (0 if errors is None else errors[1])  # the value is written past its interval
    for i, (value, end) in enumerate(zip(shown[metric], reach)):
        ax.text(end, i, f" {value:.3f}", va="center", fontsize=8)
    return save_figure(fig, path)


def plot_robustness(table: pd.DataFrame, path: str | os.PathLike | None = None, title: str = ""):
    """AUC against severity, one line per perturbation from the clean AUC (severity 0, also the
    dashed reference line), each point labelled with its level; a `robustness_table`. Where the
    table has `auc_low` and `auc_high` (an interval per level), they are drawn as error bars."""
    fig = new_figure((7, 4.5))
    ax = fig.subplots()
    clean = table[table.perturbation == "clean"].iloc[0]
    intervals = {"auc_low", "auc_high"} <= set(table.columns)
    if clean.auc is not None and pd.notna(clean.auc):
        ax.axhline(clean.auc, color="black", linestyle="--", linewidth=1, label=f"clean {clean.auc:.3f}")
    ax.axhline(0.5, color="grey", linestyle=":", linewidth=1, label="chance")
    for kind, rows in table[table.perturbation != "clean"].groupby("perturbation", sort=False):
        rows = pd.concat([table[table.perturbation == "clean"], rows]).astype({"auc": float})
        line, = ax.plot(rows.severity, rows.auc, "o-", label=kind)
        if intervals:
            low, high = rows.auc - rows.auc_low.astype(float), rows.auc_high.astype(float) - rows.auc
            ax.errorbar(rows.severity, rows.auc, yerr=[low, high], fmt="none", ecolor=line.get_color(), capsize=3)
        for _, row in rows.iloc[1:].iterrows():
            ax.annotate(f"{row.level:g}", (row.severity, row.auc), textcoords="offset points", xytext=(4, 4),
                        fontsize=7, color=line.get_color())
    steps = int(table.severity.max()) if len(table) else 0
    ax.set_xticks(range(steps + 1), ["clean", *map(str, range(1, steps + 1))])
    ax.set_xlabel("severity (level of each perturbation, mildest first)")
    ax.set_ylabel("AUC")
    ax.set_ylim(min(0.4, float(np.nanmin(table.auc.astype(float))) - 0.05) if table.auc.notna().any() else 0.4, 1.05)
    ax.legend(loc="lower left", fontsize=8)
    if title:
        ax.set_title(title, fontsize=9)
    return save_figure(fig, path)
