"""Intervals and paired tests against known answers: a perfect scorer, a random one, repeated
identities, identical and clearly different runs (all on synthetic score tables: no TensorFlow)."""

import numpy as np
import pytest

from vidseq.runs.metrics import binary_metrics, weighted_metrics
from vidseq.runs.stats import (METRICS, MIN_CLUSTERS, RESAMPLES, clustered_bootstrap, format_interval,
                               identity_clusters, metric_intervals, paired_auc_difference)


def people(per_class: int, videos_each: int, seed: int = 0, spread: float = 0.3):
    """`per_class` real and fake people with `videos_each` videos each: labels, identities, and
    scores that depend mostly on the person (how a head scores one actor's videos alike)."""
    rng = np.random.default_rng(seed)
    labels = np.repeat([0, 1], per_class * videos_each)
    identities = np.repeat([f"p{i}" for i in range(2 * per_class)], videos_each)
    person = np.repeat(rng.normal(0, spread, 2 * per_class), videos_each)
    scores = 1 / (1 + np.exp(-(labels - 0.5 + person + rng.normal(0, 0.05, len(labels)))))
    return labels, identities, scores


def test_weighted_metrics_are_binary_metrics_on_the_repeated_videos():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2, 30)
    labels[:2] = (0, 1)
    scores = np.round(rng.random(30), 1)  # ties, which AUC and the ROC curve must count half
    weights = rng.integers(0, 4, (5, 30))
    weights[:, :2] = 1  # both classes in every row
    measured = weighted_metrics(labels, scores, weights, threshold=0.5)
    for row, w in enumerate(weights):
        expected = binary_metrics(np.repeat(labels, w), np.repeat(scores, w))
        for m in METRICS:
            assert measured[m][row] == pytest.approx(expected[m]), m


def test_identities_linked_by_fakes_form_one_cluster():
    clusters = identity_clusters(["07", "20", "07|20", "13", "13|31", "31", ("44",), "45"])
    assert clusters.tolist() == [0, 0, 0, 1, 1, 1, 2, 3]
    assert identity_clusters(np.array(["000", "000|003", "003"], dtype=object)).tolist() == [0, 0, 0]


def test_resamples_keep_clusters_whole_and_each_class_stratum_full():
    """The clustered resampling against a known case: 3 real-only, 2 fake-only and 2 mixed
    clusters; every resample draws whole clusters, 3 + 2 + 2 of them, so both classes stay."""
    identities = ["a", "a", "b", "c", "c", "c", "d", "e", "f|g", "g", "h", "h"]
    labels = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 1, 0])
    clusters = identity_clusters(identities)
    seen = []

    def record(weights):
        seen.append(weights)
        return weights[:, 0]

    clustered_bootstrap(labels, identities, record, resamples=300, seed=1)
    weights = np.concatenate(seen)
    assert len(weights) == 300
    for c in np.unique(clusters):  # a cluster's videos weigh alike: in or out together
        assert (weights[:, clusters == c] == weights[:, clusters == c][:, :1]).all()
    per_cluster = np.stack([weights[:, clusters == c][:, 0] for c in np.unique(clusters)], 1)
    strata = {"real only": [0, 1, 2], "fake only": [3, 4], "both": [5, 6]}
    for members in strata.values():
        assert (per_cluster[:, members].sum(1) == len(members)).all()
    assert ((weights * (labels == 1)).sum(1) > 0).all() and ((weights * (labels == 0)).sum(1) > 0).all()


def test_a_stratum_of_one_cluster_is_in_every_resample():
    labels = [0] * 6 + [1] * 6 + [0, 1]
    identities = [f"r{i}" for i in range(6)] + [f"f{i}" for i in range(6)] + ["m", "m|x"]  # one cluster of both
    seen = []
    clustered_bootstrap(labels, identities, lambda w: seen.append(w) or w[:, 0], resamples=50)
    assert (np.concatenate(seen)[:, -2:] == 1).all()
    assert metric_intervals(labels, np.linspace(0, 1, 14), identities)["note"] is None


def test_perfect_scorer_interval_collapses_at_one():
    labels = np.repeat([0, 1], 8)
    result = metric_intervals(labels, np.where(labels == 1, 0.9, 0.1), [f"p{i}" for i in range(16)])
    assert result["auc"] == [1.0, 1.0] and result["accuracy"] == [1.0, 1.0] and result["eer"] == [0.0, 0.0]
    assert result["balanced_accuracy"] == [1.0, 1.0] and result["note"] is None
    assert (result["resamples"], result["seed"], result["confidence"]) == (RESAMPLES, 0, 0.95)
    assert result["clusters"] == {"real": 8, "fake": 8} and "stratified" in result["method"]


def test_random_scorer_interval_covers_chance():
    labels = np.repeat([0, 1], 40)
    scores = np.random.default_rng(7).random(80)
    result = metric_intervals(labels, scores, range(80))
    assert result["auc"][0] < 0.5 < result["auc"][1]
    assert result["accuracy"][0] < 0.5 < result["accuracy"][1]
    point = binary_metrics(labels, scores)
    for m in METRICS:
        assert result[m][0] <= point[m] <= result[m][1], m


def test_repeated_identities_widen_the_interval():
    """Ten people per class, eight videos each: resampling videos as if independent is too sure."""
    labels, identities, scores = people(10, 8, spread=0.6)
    clustered = metric_intervals(labels, scores, identities)
    as_if_independent = metric_intervals(labels, scores, range(len(labels)))
    width = {name: r["auc"][1] - r["auc"][0] for name, r in (("clustered", clustered), ("videos", as_if_independent))}
    assert width["clustered"] > 1.5 * width["videos"]
    assert clustered["clusters"] == {"real": 10, "fake": 10}


def test_too_few_identities_give_a_note_not_a_number():
    labels, identities, scores = people(MIN_CLUSTERS - 1, 5)
    result = metric_intervals(labels, scores, identities)
    assert all(result[m] is None for m in METRICS)
    assert result["note"].startswith("too few identities") and "4 real and 4 fake" in result["note"]
    paired = paired_auc_difference(labels, scores, scores[::-1], identities)
    assert paired["p_value"] is None and paired["difference_interval"] is None and paired["note"] == result["note"]


def test_intervals_are_seeded():
    labels, identities, scores = people(6, 3, seed=2, spread=1.0)
    assert metric_intervals(labels, scores, identities) == metric_intervals(labels, scores, identities)
    other_seed = metric_intervals(labels, scores, identities, seed=1)
    assert other_seed["auc"] != metric_intervals(labels, scores, identities)["auc"] and other_seed["seed"] == 1


def test_paired_test_on_identical_runs_finds_no_difference():
    labels, identities, scores = people(8, 3)
    result = paired_auc_difference(labels, scores, scores.copy(), identities)
    assert result["p_value"] == 1.0 and result["difference"] == 0 and result["difference_interval"] == [0.0, 0.0]
    assert result["auc_a_interval"] == result["auc_b_interval"]


def test_paired_test_on_clearly_different_runs_gives_a_small_p():
    labels, identities, good = people(10, 3, spread=0.1)
    poor = np.random.default_rng(5).random(len(labels))
    result = paired_auc_difference(labels, good, poor, identities)
    assert result["p_value"] < 0.01 and result["difference"] > 0.3
    assert 0 < result["difference_interval"][0] <= result["difference"] <= result["difference_interval"][1]
    assert paired_auc_difference(labels, poor, good, identities)["difference_interval"][1] < 0


def test_format_interval():
    assert format_interval(0.9444, 0.75, 1.0) == "0.944 [0.75, 1.00]"
    assert format_interval(1.0, None, None, "too few identities: 2 real and 3 fake") == "1.000 [too few identities]"
    assert format_interval(float("nan"), 0.1, 0.2) == "n/a" and format_interval(0.5) == "0.500 [no interval]"
