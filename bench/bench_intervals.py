"""Intervals: `metric_intervals` (scipy.stats.bootstrap over identity clusters, each batch of
resamples measured at once by `weighted_metrics`) against the plain way in the same run: a
loop over the same clustered, stratified resamples calling `binary_metrics` (scikit-learn)
on each.

Synthetic score tables: n videos, 4 per person, half fake, scores that depend on the person.
Both compute the same five intervals; the loop's are printed next to ours as a check (their
resamples differ, so their bounds agree to about +-0.01). Times per 1,000 resamples, each
taken round-robin (`clips.interleaved_times`); the loop runs `--loop-resamples` only.

    python bench/bench_intervals.py [--videos 40 200 1000] [--repeats 3] [--loop-resamples 200]
"""

from __future__ import annotations

import argparse
import statistics

import numpy as np

from clips import interleaved_times, table
from vidseq.runs.metrics import binary_metrics
from vidseq.runs.stats import METRICS, RESAMPLES, identity_clusters, metric_intervals


def scores_of(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    identities = [f"p{i // 4}" for i in range(n)]
    person = rng.normal(0, 0.5, n // 4 + 1)[np.arange(n) // 4]
    return labels, identities, 1 / (1 + np.exp(-(labels - 0.5 + person + rng.normal(0, 0.3, n))))


def loop_intervals(labels, scores, identities, resamples: int, seed: int = 0) -> dict:
    """The plain way: draw clusters per class stratum, gather their videos, binary_metrics."""
    rng = np.random.default_rng(seed)
    clusters = identity_clusters(identities)
    members = [np.flatnonzero(clusters == c) for c in range(clusters.max() + 1)]
    kinds = np.array([labels[m].min() + 2 * labels[m].max() for m in members])  # 0 real, 3 fake, 2 both
    strata = [np.flatnonzero(kinds == k) for k in np.unique(kinds)]
    values = {m: [] for m in METRICS}
    for _ in range(resamples):
        rows = np.concatenate([members[c] for s in strata for c in rng.choice(s, len(s))])
        measured = binary_metrics(labels[rows], scores[rows])
        for m in METRICS:
            values[m].append(measured[m])
    return {m: np.percentile(v, [2.5, 97.5]).tolist() for m, v in values.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, nargs="+", default=[40, 200, 1000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--loop-resamples", type=int, default=200)
    args = parser.parse_args()
    rows = []
    for n in args.videos:
        labels, identities, scores = scores_of(n)
        times, results = interleaved_times({
            "vidseq": lambda: metric_intervals(labels, scores, identities),
            "loop": lambda: loop_intervals(labels, scores, identities, args.loop_resamples),
        }, repeats=args.repeats)
        ours = statistics.median(times["vidseq"]) / RESAMPLES * 1000
        loop = statistics.median(times["loop"]) / args.loop_resamples * 1000
        auc, loop_auc = results["vidseq"]["auc"], results["loop"]["auc"]
        rows.append([n, len(set(identities)), f"{ours:.3f} s", f"{loop:.2f} s", f"**{loop / ours:.0f}x**",
                     "too few identities" if auc is None else f"[{auc[0]:.3f}, {auc[1]:.3f}]",
                     f"[{loop_auc[0]:.3f}, {loop_auc[1]:.3f}]"])
    print(table(["videos", "people", "vidseq / 1,000 resamples", "loop / 1,000 resamples", "speed-up",
                 "AUC interval (vidseq)", "AUC interval (loop)"], rows))


if __name__ == "__main__":
    main()
