"""How sure a metric is: 95% intervals from a bootstrap over identities, and the paired
difference of two runs' AUCs on the same videos.

Videos of one person are not independent draws (a head that scores one actor's videos well
tends to score all of them well), so a bootstrap over videos is too optimistic. Here a
resample draws identity clusters: the videos linked by the people they show (a fake shows
its target and its source and so links the two), which go in or out of a resample together.
The draw is stratified: clusters of real videos only, of fakes only and of both are each
drawn as many times as there are of them, so every resample holds both classes.
`scipy.stats.bootstrap` draws the resamples and takes percentile intervals; a resample is
the video weights its clusters give, and `weighted_metrics` measures a batch of them at once.
With fewer than `MIN_CLUSTERS` clusters of a class there is no interval, only a note.

    >>> from vidseq.runs.stats import metric_intervals
    >>> perfect = metric_intervals([0] * 6 + [1] * 6, [0.1] * 6 + [0.9] * 6, [f"p{i}" for i in range(12)])
    >>> perfect["auc"], perfect["clusters"]
    ([1.0, 1.0], {'real': 6, 'fake': 6})
"""

from __future__ import annotations

import math
from typing import Callable, Iterable, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from vidseq.data.identities import UnionFind
from vidseq.runs.metrics import binary_metrics, weighted_metrics

METRICS = ("auc", "accuracy", "balanced_accuracy", "eer", "log_loss")  # each has an interval
CONFIDENCE = 0.95
RESAMPLES = 2000
SEED = 0  # fixed: a run's intervals follow from its scores alone, whenever they are computed
MIN_CLUSTERS = 5  # per class: with fewer, an interval describes the few people more than the model
METHOD = "percentile bootstrap over identity clusters, stratified by class (scipy.stats.bootstrap)"
PAIRED_METHOD = (f"paired {METHOD}; p: two-sided, from the share of resamples on either side of 0")

Identities = Iterable["str | Sequence[str]"]


def identity_clusters(identities: Identities) -> np.ndarray:
    """A cluster number per video: videos showing one person, directly or through fakes that
    link two people, share one. `identities`: per video, its people ("|"-joined or a tuple).

    >>> identity_clusters(["a", "b", "a|c", "d", ("c", "e"), "e"]).tolist()
    [0, 1, 0, 2, 0, 0]
    """
    people = [tuple(str(i).split("|")) if isinstance(i, str) or not isinstance(i, Sequence) else tuple(i)
              for i in identities]
    linked = UnionFind()
    for first, *others in people:
        linked.add(first)
        for other in others:
            linked.union(first, other)
    return pd.factorize(np.array([linked.find(p[0]) for p in people], dtype=object))[0]


def class_clusters(labels: np.ndarray, clusters: np.ndarray) -> dict[str, int]:
    """How many clusters hold real videos, and how many hold fakes (a cluster may hold both)."""
    labels = np.asarray(labels, int)
    return {name: int(len(np.unique(clusters[labels == label]))) for label, name in enumerate(("real", "fake"))}


def clustered_bootstrap(labels: np.ndarray, identities: Identities, statistic: Callable[[np.ndarray], np.ndarray],
                        resamples: int = RESAMPLES, seed: int = SEED, confidence: float = CONFIDENCE):
    """`scipy.stats.bootstrap` over identity clusters, stratified by class: its result.

    `statistic(weights)` gets a batch of resamples as video weights (B, videos), each video
    weighed by how often its cluster was drawn, and returns (outputs, B) or (B,) values."""
    labels = np.asarray(labels, int)
    clusters = identity_clusters(identities)
    kinds = np.zeros(clusters.max() + 1, int)
    np.bitwise_or.at(kinds, clusters, labels + 1)  # 1: real videos only, 2: fakes only, 3: both
    strata = [np.flatnonzero(kinds == kind) for kind in (1, 2, 3) if (kinds == kind).any()]
    kept = np.isin(np.arange(len(kinds)), [s for s in strata if len(s) == 1])  # a stratum's only cluster: always in

    def resampled(*draws: np.ndarray, axis: int = -1) -> np.ndarray:
        counts = kept + sum(_counts(d.astype(int), len(kinds)) for d in draws)  # (B, clusters)
        return np.asarray(statistic(counts[:, clusters]), float)

    batch = max(1, min(resamples, 2**22 // len(labels)))  # (B, videos) float arrays of at most 32 MiB
    return stats.bootstrap([s for s in strata if len(s) > 1], resampled, n_resamples=resamples, batch=batch,
                           vectorized=True, confidence_level=confidence, method="percentile", rng=seed)


def _counts(draws: np.ndarray, size: int) -> np.ndarray:
    """How often each of `size` clusters occurs in each row of `draws` (B, k): (B, size)."""
    rows = np.arange(draws.shape[0])[:, None] * size
    return np.bincount((draws + rows).ravel(), minlength=draws.shape[0] * size).reshape(-1, size)


def metric_intervals(labels: np.ndarray, scores: np.ndarray, identities: Identities, threshold: float = 0.5,
                     resamples: int = RESAMPLES, seed: int = SEED, confidence: float = CONFIDENCE) -> dict:
    """The intervals of `binary_metrics`' AUC, accuracy, balanced accuracy, EER and log loss
    (`METRICS`: each `[low, high]`), with what they rest on: identity clusters per class,
    confidence, resamples, seed and method. With too few identities every interval is None
    and `note` says why.

    >>> random = metric_intervals([0, 1] * 20, np.random.default_rng(0).random(40), range(40))
    >>> random["auc"][0] < 0.5 < random["auc"][1], random["resamples"], random["note"]
    (True, 2000, None)
    """
    labels, scores = np.asarray(labels, int), np.asarray(scores, float)
    identities = list(identities)
    found = class_clusters(labels, identity_clusters(identities))
    recorded = dict(clusters=found, note=too_few_identities(found), confidence=confidence, resamples=resamples,
                    seed=seed, method=METHOD)
    if recorded["note"]:
        return {**dict.fromkeys(METRICS), **recorded}

    def measured(weights: np.ndarray) -> np.ndarray:
        values = weighted_metrics(labels, scores, weights, threshold)
        return np.stack([values[m] for m in METRICS])

    low, high = clustered_bootstrap(labels, identities, measured, resamples, seed, confidence).confidence_interval
    return {**{m: [float(lo), float(hi)] for m, lo, hi in zip(METRICS, low, high)}, **recorded}


def measured_with_intervals(labels: np.ndarray, scores: np.ndarray, identities: Identities) -> dict:
    """`binary_metrics` with `"intervals"`: their `metric_intervals`, as a run's metrics.json keeps them."""
    measured = binary_metrics(labels, scores)
    return {**measured, "intervals": metric_intervals(labels, scores, identities, measured["threshold"])}


def no_intervals(note: str) -> dict:
    """What `metric_intervals` records when it cannot run: every interval None, and why."""
    return {**dict.fromkeys(METRICS), "note": note}


def too_few_identities(clusters: dict[str, int]) -> str | None:
    """The note for too few identity clusters of a class (`class_clusters`); None when enough."""
    if min(clusters.values()) >= MIN_CLUSTERS:
        return None
    return (f"too few identities: {clusters['real']} real and {clusters['fake']} fake identity clusters, "
            f"at least {MIN_CLUSTERS} of each needed")


def paired_auc_difference(labels: np.ndarray, scores_a: np.ndarray, scores_b: np.ndarray, identities: Identities,
                          resamples: int = RESAMPLES, seed: int = SEED, confidence: float = CONFIDENCE) -> dict:
    """Two runs' AUCs on the same videos and their difference (a - b), each with its interval
    from one paired clustered bootstrap (the same resamples for both runs), and the difference's
    two-sided p-value: twice the share (+1 / resamples + 1) of resamples on the far side of 0,
    at most 1. With too few identities the intervals and p-value are None and `note` says why.

    >>> labels, a = [0, 1] * 20, np.linspace(0, 1, 40)
    >>> paired_auc_difference(labels, a, a, range(40))["p_value"]
    1.0
    """
    labels = np.asarray(labels, int)
    scores_a, scores_b, identities = np.asarray(scores_a, float), np.asarray(scores_b, float), list(identities)
    found = class_clusters(labels, identity_clusters(identities))
    auc_a, auc_b = binary_metrics(labels, scores_a)["auc"], binary_metrics(labels, scores_b)["auc"]
    result = dict(auc_a=auc_a, auc_b=auc_b, difference=auc_a - auc_b, auc_a_interval=None, auc_b_interval=None,
                  difference_interval=None, p_value=None, videos=int(len(labels)), clusters=found,
                  note=too_few_identities(found), confidence=confidence, resamples=resamples, seed=seed,
                  method=PAIRED_METHOD)
    if result["note"]:
        return result

    def aucs(weights: np.ndarray) -> np.ndarray:
        a, b = (weighted_metrics(labels, s, weights)["auc"] for s in (scores_a, scores_b))
        return np.stack([a, b, a - b])

    run = clustered_bootstrap(labels, identities, aucs, resamples, seed, confidence)
    low, high = run.confidence_interval
    differences = np.round(run.bootstrap_distribution[2], 12)  # equal AUCs give exactly 0, not float noise
    far_side = min((differences <= 0).sum(), (differences >= 0).sum())
    return {**result, **{f"{k}_interval": [float(low[i]), float(high[i])]
                         for i, k in enumerate(("auc_a", "auc_b", "difference"))},
            "p_value": min(1.0, 2 * (far_side + 1) / (resamples + 1))}


def format_interval(value: float | None, low: float | None = None, high: float | None = None,
                    note: str | None = None) -> str:
    """A metric as a person reads it: "0.944 [0.75, 1.00]"; without an interval, the first part
    of `note` in its place ("1.000 [too few identities]"); "n/a" without a value.

    >>> format_interval(0.9444, 0.75, 1.0), format_interval(1.0, note="too few identities: 2 real ...")
    ('0.944 [0.75, 1.00]', '1.000 [too few identities]')
    """
    if _missing(value):
        return "n/a"
    if _missing(low) or _missing(high):
        return f"{value:.3f} [{(note or 'no interval').split(':')[0]}]"
    return f"{value:.3f} [{low:.2f}, {high:.2f}]"


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


__all__ = ["METRICS", "CONFIDENCE", "RESAMPLES", "SEED", "MIN_CLUSTERS", "identity_clusters", "class_clusters",
           "clustered_bootstrap", "metric_intervals", "measured_with_intervals", "no_intervals", "too_few_identities",
           "paired_auc_difference", "format_interval"]
