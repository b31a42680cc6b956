"""Robustness of a run under degraded video: AUC per perturbation level, as a table and a plot.

`vidseq.runs.scoring.evaluate(..., perturb=...)` scores the same videos clean and at every
level of every perturbation (`vidseq.data.perturb`), then `robustness_table` compares them
on the videos every level scored, and `write_robustness` saves `robustness_<name>.csv`,
`.json` and `.png` in the run folder.

    >>> import numpy as np
    >>> from vidseq.data.perturb import Perturbation
    >>> labels, clean = np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])
    >>> table = robustness_table(labels, clean, {Perturbation("jpeg", 30): np.array([0.1, 0.6, 0.5, 0.9])})
    >>> table[["label", "severity", "auc"]].values.tolist()
    [['clean', 0, 0.75], ['jpeg:30', 1, 0.75]]
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from vidseq.data.perturb import KINDS, Perturbation
from vidseq.runs.metrics import binary_metrics
from vidseq.runs.plots import plot_robustness
from vidseq.runs.stats import metric_intervals
from vidseq.utils.atomic import write_json, write_text

METRICS = ("auc", "accuracy", "eer", "log_loss")


def robustness_table(labels: np.ndarray, clean: np.ndarray, perturbed: Mapping[Perturbation, np.ndarray],
                     identities: Sequence | None = None) -> pd.DataFrame:
    """One row per level, clean first: `perturbation`, `level`, `label` ("jpeg:30"), `severity`
    (0 clean, then 1, 2, ... from the mildest level of its kind), the metrics on the videos
    scored at every level (NaN scores are skipped videos), `videos` and `lost`, the videos
    this level skipped that the clean scoring did not (such as faces no longer found with
    `no_face="skip"`: they are left out of every row). With each video's `identities` also
    `auc_low` and `auc_high`, the AUC's 95% interval from a bootstrap over identities
    (`vidseq.runs.stats`; None with too few identities), which `plot_robustness` draws.
    """
    labels, clean = np.asarray(labels), np.asarray(clean, float)
    everywhere = ~np.isnan(clean)
    for scores in perturbed.values():
        everywhere &= ~np.isnan(scores)
    identities = None if identities is None else np.asarray(identities, object)
    rows = [_row("clean", None, "clean", 0, labels, clean, everywhere, np.zeros(len(labels), bool), identities)]
    for kind in dict.fromkeys(p.kind for p in perturbed):
        levels = sorted((p for p in perturbed if p.kind == kind), key=lambda p: p.level,
                        reverse=KINDS[kind].worse == "lower")
        for severity, p in enumerate(levels, start=1):
            lost = np.isnan(perturbed[p]) & ~np.isnan(clean)
            rows.append(_row(kind, p.level, p.label, severity, labels, perturbed[p], everywhere, lost, identities))
    table = pd.DataFrame(rows)
    table["level"] = pd.Series([row["level"] for row in rows], dtype=object)  # 90, not 90.0; None for clean
    return table


def _row(kind, level, label, severity, labels, scores, used, lost, identities) -> dict:
    metrics = binary_metrics(labels[used], scores[used]) if used.any() else {}
    row = dict(perturbation=kind, level=level, label=label, severity=severity,
               **{m: metrics.get(m) for m in METRICS}, videos=int(used.sum()), lost=int(lost.sum()))
    if identities is not None and metrics.get("auc") is not None:
        low_high = metric_intervals(labels[used], scores[used], identities[used])["auc"]  # None: too few identities
        row["auc_low"], row["auc_high"] = low_high or (None, None)
    return row


def table_records(table: pd.DataFrame) -> list[dict]:
    """The table's rows as JSON-ready dicts (None where a value is missing: the clean row's level)."""
    return [{k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in row.items()}
            for row in table.to_dict(orient="records")]


def write_robustness(run_dir: str | os.PathLike, name: str, table: pd.DataFrame, extra: dict | None = None
                     ) -> dict[str, str]:
    """`robustness_<name>.csv`, `.json` (the rows, and `extra`) and `.png` in the run folder: their paths."""
    run_dir = Path(run_dir)
    files = {suffix: run_dir / f"robustness_{name}.{suffix}" for suffix in ("csv", "json", "png")}
    write_text(files["csv"], table.to_csv(index=False))
    write_json(files["json"], {**(extra or {}), "levels": table_records(table)})
    plot_robustness(table, files["png"], title=f"{run_dir.name} on {name}")
    return {suffix: str(path) for suffix, path in files.items()}


__all__ = ["robustness_table", "table_records", "write_robustness"]
