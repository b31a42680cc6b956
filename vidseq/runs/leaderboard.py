"""The leaderboard: one row per finished run of a save folder, best first by validation AUC,
every metric with its 95% interval and a mark for the runs tied with the best; and the paired
comparison of two runs (`compare_runs`). Intervals and tests: `vidseq.runs.stats`.

    >>> from vidseq.runs.leaderboard import compare_runs, compare_saved_models
    >>> compare_saved_models("saved_models")[["run", "test_auc", "test_auc_low", "vs_best"]]  # doctest: +SKIP
    >>> print(compare_runs("saved_models/<gru run>", "saved_models/<mean run>"))  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import json
import os
import warnings
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from vidseq.runs.folders import read_config, read_scores, run_test_split, seen_in_training
from vidseq.runs.plots import plot_leaderboard
from vidseq.runs.stats import METRICS, format_interval, metric_intervals, no_intervals, paired_auc_difference
from vidseq.utils.checks import check_choice
from vidseq.utils.notices import VidseqWarning

SCORED = ("val", "test")  # the splits a run scores, measures and keeps scores of
ALPHA = 0.05  # a paired test's p below this: the two runs differ
# The mark of an evaluation that scored some of the run's own training or validation videos:
# its figures do not measure generalization (eval_<name>_seen_auc).
SEEN = "_seen"


def compare_saved_models(save_dir: str | os.PathLike = "saved_models", plot: bool = False,
                         runs: Iterable[str] | None = None) -> pd.DataFrame:
    """One row per finished run in `save_dir` (or only the run folders named in `runs`), best
    first by VALIDATION AUC (ties: lower validation loss).

    Test metrics are shown, never used to rank: choosing the top row is choosing on
    validation. `test_videos` and `test_split` (a short fingerprint of the test videos)
    show which rows were tested on the same videos and so are comparable. Every val/test
    metric has its 95% interval in `<column>_low` / `<column>_high` (a bootstrap over
    identities, `vidseq.runs.stats`; computed from scores.csv for runs saved before intervals
    were stored), or a reason in `val_ci_note` / `test_ci_note` (e.g. too few identities).
    A cross-validation (`train_test_classifier(..., folds=k)`) is one row: `test_*` are its
    pooled out-of-fold metrics with their intervals, `val_*` the mean of its folds' validation
    metrics (no interval: `val_ci_note` says so), and `folds`, `fold_test_auc_mean`,
    `fold_test_auc_std` and `fold_val_auc_std` the folds' spread (None for single runs); its
    fold runs are not rows. `vs_best` marks, among runs on the same test split, the best by validation AUC ("best"),
    the runs whose validation AUC a paired test cannot tell from the best's ("tied",
    `vs_best_p` >= 0.05), those below it ("lower"), and "n/a (why)" where the test cannot run.
    Cross-dataset evaluations (`evaluate`) add columns `eval_<dataset>_auc` and
    `eval_<dataset>_eer`; `eval_<dataset>_seen_auc` and `_seen_eer` where the evaluation scored
    some of the run's own training or validation videos (`evaluate --split all` on its own
    data): those figures do not measure generalization. With `plot=True` a chart of the runs' AUCs is written to
    `save_dir/leaderboard.png` and kept in `table.attrs["figure"]` for notebooks. Folders that
    cannot be read are reported in a warning, not fatal.

    >>> compare_saved_models("saved_models")[["run", "backbone", "val_auc", "test_auc", "vs_best"]]  # doctest: +SKIP
    """
    save_dir = Path(save_dir)
    if not save_dir.is_dir():
        raise FileNotFoundError(f"Received: save_dir={str(save_dir)!r}, which is not a directory.")
    wanted = None if runs is None else set(runs)
    rows, unreadable = [], []
    # Hidden folders (.ipynb_checkpoints) and runs still in progress (no metrics.json yet) are not runs.
    finished = (p for p in save_dir.iterdir() if p.is_dir() and not p.name.startswith(".")
                and (p / "metrics.json").exists() and (wanted is None or p.name in wanted))
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
            **_metric_columns(metrics, run_intervals(run_dir, metrics)),
            **_fold_columns(metrics.get("folds")),
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
        _mark_ties(table, save_dir)
    if plot and not table.empty:
        table.attrs["figure"] = plot_leaderboard(table, path=save_dir / "leaderboard.png")
    return table


def _fold_columns(folds: dict | None) -> dict:
    """A cross-validation's `folds` and its folds' spread: the mean and standard deviation of
    their test AUCs and the standard deviation of their validation AUCs (None for a single run)."""
    folds = folds or {}
    return dict(folds=folds.get("k"), fold_test_auc_mean=folds.get("test_auc_mean"),
                fold_test_auc_std=folds.get("test_auc_std"), fold_val_auc_std=folds.get("val_auc_std"))


def _metric_columns(metrics: dict, intervals: dict) -> dict:
    """`<split>_<metric>` with its `_low` and `_high`, and `<split>_ci_note`, for the val and test splits."""
    columns = {}
    for split in SCORED:
        measured, bounds = metrics.get(split, {}), intervals.get(split, {})
        for m in METRICS:
            low, high = bounds.get(m) or (None, None)
            columns.update({f"{split}_{m}": measured.get(m), f"{split}_{m}_low": low, f"{split}_{m}_high": high})
        columns[f"{split}_ci_note"] = bounds.get("note")
    return columns


def run_intervals(run_dir: str | os.PathLike, metrics: dict | None = None) -> dict[str, dict]:
    """The 95% intervals of a run's validation and test metrics (`stats.metric_intervals`), by
    split: as its metrics.json stores them; for a run saved before they were stored, computed
    from its scores.csv and the identities in its splits.csv, or a note saying why they cannot be.

    >>> run_intervals("saved_models/<run>")["test"]["auc"]  # doctest: +SKIP
    [0.75, 1.0]
    """
    run_dir = Path(run_dir)
    metrics = json.loads((_finished(run_dir, "run_dir") / "metrics.json").read_text()) if metrics is None else metrics
    intervals = {s: metrics[s]["intervals"] for s in SCORED if "intervals" in metrics.get(s, {})}
    missing = [s for s in SCORED if s in metrics and s not in intervals]
    absent = [name for name in ("scores.csv", "splits.csv") if not (run_dir / name).is_file()]
    if missing and absent:
        note = f"no intervals: the run folder has no {' or '.join(absent)} (identities or scores not saved)"
        return {**intervals, **{s: no_intervals(note) for s in missing}}
    if missing:
        scores = read_scores(run_dir)
        for split in missing:
            part = scores[scores.split == split]
            intervals[split] = metric_intervals(part.label, part.score, part.identities,
                                                metrics[split].get("threshold", 0.5))
    return intervals


def _mark_ties(table: pd.DataFrame, save_dir: Path) -> None:
    """`vs_best` and `vs_best_p` (see compare_saved_models), in place; `table` is ranked."""
    table["vs_best"], table["vs_best_p"] = None, np.nan
    for _, group in table.dropna(subset=["test_split", "val_auc"]).groupby("test_split", sort=False):
        table.loc[group.index[0], "vs_best"] = "best"
        try:
            best = read_scores(save_dir / group.run.iloc[0])
        except (OSError, ValueError):
            table.loc[group.index[1:], "vs_best"] = "n/a (the best run's scores cannot be read)"
            continue
        for i, run in zip(group.index[1:], group.run.iloc[1:]):
            try:
                result = _paired(best, read_scores(save_dir / run), "val")
            except (OSError, ValueError):
                table.loc[i, "vs_best"] = "n/a (no scores of the same validation videos)"
                continue
            p = result["p_value"]
            table.loc[i, "vs_best"] = (f"n/a ({result['note'].split(':')[0]})" if p is None
                                       else "tied" if p >= ALPHA else "lower")
            table.loc[i, "vs_best_p"] = np.nan if p is None else p


def _paired(scores_a: pd.DataFrame, scores_b: pd.DataFrame, split: str) -> dict:
    """`paired_auc_difference` on the videos of `split` both runs scored (a person both runs'
    identities link is one cluster)."""
    same = ["path", "label"] + (["fold"] if "fold" in scores_a and "fold" in scores_b else [])  # a CV: per fold
    both = scores_a[scores_a.split == split].merge(scores_b[scores_b.split == split], on=same, suffixes=("_a", "_b"))
    if both.label.nunique() < 2:
        raise ValueError(f"Received: runs that both scored {len(both)} {split} videos "
                         f"({int((both.label == 0).sum())} real, {int((both.label == 1).sum())} fake). "
                         "Expected videos of both classes scored by both runs.")
    return paired_auc_difference(both.label, both.score_a, both.score_b, both.identities_a + "|" + both.identities_b)


def format_intervals(table: pd.DataFrame, columns: Iterable[str] = ("val_auc", "test_auc")) -> pd.DataFrame:
    """A board to read: `compare_saved_models`' table with each of `columns` as text,
    "0.944 [0.75, 1.00]" (`stats.format_interval`), and their `_low` / `_high` columns dropped;
    with cross-validations, `fold_test_auc`: their folds' test AUCs, "0.931 ± 0.030 (5 folds)".

    >>> format_intervals(compare_saved_models("saved_models"))[["run", "val_auc", "test_auc"]]  # doctest: +SKIP
    """
    shown = table.copy()
    if "folds" in table and table.folds.notna().any():  # cross-validations: their folds' test AUCs, mean ± SD
        shown["fold_test_auc"] = [f"{m:.3f} ± {s:.3f} ({k:.0f} folds)" if pd.notna(k) else ""
                                  for k, m, s in zip(table.folds, table.fold_test_auc_mean, table.fold_test_auc_std)]
    for column in columns:
        notes = table[f"{column.split('_')[0]}_ci_note"]
        shown[column] = [format_interval(*values) for values in
                         zip(table[column], table[f"{column}_low"], table[f"{column}_high"], notes)]
    return shown.drop(columns=[f"{c}_{end}" for c in columns for end in ("low", "high")])


def tie_summary(table: pd.DataFrame) -> str:
    """A line per test split of a ranked board: its best run on validation and the runs tied
    with it, lower, or not testable (`vs_best`)."""
    lines = []
    for _, group in table[table.vs_best.notna()].groupby("test_split", sort=False):
        marks = dict(zip(group.run.iloc[1:], group.vs_best.iloc[1:]))
        parts = [f"Best on validation: {group.run.iloc[0]}"]
        for label, runs in (
                ("tied with it (paired test on validation, p >= 0.05)", [r for r, m in marks.items() if m == "tied"]),
                ("lower (p < 0.05)", [r for r, m in marks.items() if m == "lower"]),
                ("not tested", [f"{r} {m[len('n/a '):]}" for r, m in marks.items() if m.startswith("n/a")])):
            if runs:
                parts.append(f"{label}: {', '.join(runs)}")
        if not marks:
            parts.append("no other run on its test split")
        lines.append("; ".join(parts) + ".")
    return "\n".join(lines)


@dataclasses.dataclass(frozen=True)
class RunComparison:
    """`compare_runs`' answer: both runs' AUCs on the videos both scored in `split`, their
    difference (a - b), each with its interval from one paired bootstrap over identities, and
    the difference's two-sided p-value (None, with a `note`, when too few identities).
    `str()` gives the table, what it rests on, and `sentence`."""

    name_a: str
    name_b: str
    split: str
    videos: int
    clusters: dict
    auc_a: float
    auc_b: float
    difference: float
    auc_a_interval: list | None
    auc_b_interval: list | None
    difference_interval: list | None
    p_value: float | None
    note: str | None
    confidence: float
    resamples: int
    seed: int
    method: str

    @property
    def table(self) -> pd.DataFrame:
        rows = ((self.name_a, self.auc_a, self.auc_a_interval), (self.name_b, self.auc_b, self.auc_b_interval),
                ("difference", self.difference, self.difference_interval))
        return pd.DataFrame({f"{self.split} AUC": [_signed(v, 3) for _, v, _ in rows],
                             f"{self.confidence:.0%} interval": [_bounds(i) for _, _, i in rows],
                             "p": ["", "", "" if self.p_value is None else f"{self.p_value:.2g}"]},
                            index=[name for name, _, _ in rows])

    @property
    def sentence(self) -> str:
        """One line to paste, e.g. "GRU vs masked mean: ΔAUC −0.03 [−0.17, 0.00], p = 0.4: no evidence of a
        difference"."""
        delta = f"Δ{'' if self.split == 'test' else self.split + ' '}AUC {_signed(self.difference)}"
        if self.p_value is None:
            return f"{self.name_a} vs {self.name_b}: {delta}; {self.note}, so no interval or p-value"
        higher = self.name_a if self.difference > 0 else self.name_b
        verdict = "no evidence of a difference" if self.p_value >= ALPHA else f"{higher} scores higher"
        return (f"{self.name_a} vs {self.name_b}: {delta} {_bounds(self.difference_interval)}, "
                f"p = {self.p_value:.2g}: {verdict}")

    def __str__(self) -> str:
        basis = (f"{self.videos} {self.split} videos both runs scored, {self.clusters['real']} real and "
                 f"{self.clusters['fake']} fake identity clusters; {self.method}, {self.resamples} resamples")
        return f"{self.table.to_string()}\n{basis}\n{self.sentence}"


def _signed(value: float, digits: int = 2) -> str:
    """`value` to `digits` decimals with a true minus sign, never "-0.00"."""
    return f"{round(value, digits) + 0.0:.{digits}f}".replace("-", "\u2212")


def _bounds(interval: list | None) -> str:
    return "" if interval is None else f"[{_signed(interval[0])}, {_signed(interval[1])}]"


def compare_runs(run_a: str | os.PathLike, run_b: str | os.PathLike, split: str = "test") -> RunComparison:
    """Two runs' AUCs on the videos both scored in `split` ("test" or "val"), their difference
    with its 95% interval and a two-sided p-value, all from one paired bootstrap over identity
    clusters (not DeLong's test: that treats every video as independent). Runs on different
    test splits (their `test_split` fingerprints differ) are refused: their numbers measure
    different videos. Runs are named by their heads where those differ, else by folder.

    >>> result = compare_runs("saved_models/<gru run>", "saved_models/<mean run>")  # doctest: +SKIP
    >>> result.sentence  # doctest: +SKIP
    'gru64_avg vs masked_mean: ΔAUC −0.03 [−0.17, 0.00], p = 0.4: no evidence of a difference'
    """
    check_choice("split", split, SCORED)
    runs = [_finished(Path(run), name) for run, name in ((run_a, "run_a"), (run_b, "run_b"))]
    tested = [run_test_split(run, json.loads((run / "metrics.json").read_text())) for run in runs]
    if tested[0] is None or tested[0] != tested[1]:
        raise ValueError(f"Received: run_a={runs[0].name!r} (test split {tested[0]}) and run_b={runs[1].name!r} "
                         f"(test split {tested[1]}). Expected runs tested on the same videos: the same data, split "
                         "seed and sizes (the leaderboard's test_split column).")
    result = _paired(read_scores(runs[0]), read_scores(runs[1]), split)
    heads = [read_config(run).get("head") for run in runs]
    names = heads if heads[0] != heads[1] and None not in heads else [run.name for run in runs]
    return RunComparison(name_a=names[0], name_b=names[1], split=split,
                         **{f.name: result[f.name] for f in dataclasses.fields(RunComparison) if f.name in result})


def _finished(run_dir: Path, keyword: str) -> Path:
    if not (run_dir / "metrics.json").is_file():
        raise FileNotFoundError(f"Received: {keyword}={str(run_dir)!r}, which is not a finished run folder (no "
                                "metrics.json). Expected a folder that training saved, e.g. saved_models/<run>.")
    return run_dir



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


__all__ = ["compare_saved_models", "compare_runs", "RunComparison", "run_intervals", "format_intervals",
           "tie_summary", "SCORED"]
