"""Splits without identity leaks: assign identities (not videos) to train/val/test, and report.

A fake shows two people: the target (whose scene it is) and the source (whose face was
swapped in). A model that saw either person in training can recognise them in testing,
so by default no identity may appear in two splits. Identities linked by real videos
(a user's mapping may give a real video several) always stay together; identities linked
only by fakes are kept together while their cluster is small, and otherwise assigned one
by one, with the fakes whose identities land in different splits left out (split
"excluded"), counted and reported. Nothing here imports TensorFlow.
"""

from __future__ import annotations

import hashlib
import warnings
from typing import Iterable

import numpy as np
import pandas as pd

from vidseq.data.identities import UnionFind
from vidseq.data.layouts import SPLITS
from vidseq.utils.cache import content_fingerprint
from vidseq.utils.checks import check_choice, check_fraction
from vidseq.utils.notices import VidseqWarning

SPLIT_BY = ("identities", "group")
EXCLUDED = "excluded"  # the split of a fake whose identities straddle splits
TRIALS = 16  # seeded orders tried when fakes link identities; the one that keeps most videos wins


def split_videos(
    videos: pd.DataFrame,
    val_size: float = 0.15,
    test_size: float = 0.15,
    seed: int = 42,
    split_by: str = "identities",
) -> pd.DataFrame:
    """Fill the empty `split` values with "train"/"val"/"test", with no identity in two splits.

    `split_by="identities"` (default): every identity of a video (a fake's target and source)
    stays in one split; a fake whose identities end up in different splits gets split
    "excluded" and is used nowhere (real videos are never left out). `split_by="group"`: whole
    `group`s (the main identity, the old target-only rule) go to one split, so a fake's
    source may also appear in another split; `split_report` then counts those identities.
    Each split gets about `val_size`/`test_size` of every label (stratified). Official
    splits already in `split` are kept; when the dataset fixes a test split (Celeb-DF),
    only a validation split is carved from the rest. Deterministic for a `seed`.

    >>> import util
    >>> videos = split_videos(util.discover_videos("data/demo"))  # doctest: +SKIP
    >>> print(describe_split(videos))  # doctest: +SKIP
    """
    missing = {"path", "label", "split"} - set(videos.columns)
    if missing or not {"identities", "group"} & set(videos.columns):
        raise ValueError(f"Received a table with columns {list(videos.columns)}. Expected the output of "
                         "discover_videos() (path, label, identities, group, split).")
    if split_by not in SPLIT_BY:
        raise ValueError(f"Received: split_by={split_by!r}. Expected one of {list(SPLIT_BY)}.")
    check_split_sizes(val_size, test_size)

    videos = videos.copy()
    videos["split"] = videos["split"].fillna("")
    official = set(videos.loc[videos.split != "", "split"])
    fractions = {"val": 0.0 if "val" in official else val_size, "test": 0.0 if "test" in official else test_size}
    todo = videos.split == ""
    if todo.any():
        if split_by == "identities":
            keys = _identities(videos)[todo]
        else:  # only the main identity (the group) is kept apart
            keys = (videos.group if "group" in videos.columns else _identities(videos).map(lambda i: i[0]))[todo]
            keys = keys.map(lambda g: (g,))
        videos.loc[todo, "split"] = _assign(keys, videos.label[todo], videos.label, fractions, seed)
    shared = shared_identities(videos)
    if official and shared:
        warnings.warn(f"{len(shared)} identities appear in more than one split because the dataset's official "
                      "split puts them there (e.g. Celeb-DF's test list); the official split is kept.", VidseqWarning,
                      stacklevel=2)
    return videos


def check_split_sizes(val_size: float, test_size: float) -> None:
    """The validation and test shares of `split_videos`: each in [0, 1), their sum below 1."""
    for name, value in (("val_size", val_size), ("test_size", test_size)):
        check_fraction(name, value)
    if val_size + test_size >= 1:
        raise ValueError(f"Received: val_size={val_size} and test_size={test_size}. Expected a sum below 1.")


def _identities(videos: pd.DataFrame) -> pd.Series:
    """Each video's identities; a table without that column (made by hand) has its groups."""
    return videos["identities"] if "identities" in videos.columns else videos["group"].map(lambda g: (g,))


def identity_sets(videos: pd.DataFrame) -> dict[str, set[str]]:
    """The identities shown in each split (excluded videos left out)."""
    ids = _identities(videos)
    return {s: set().union(*ids[videos.split == s]) for s in SPLITS}


def shared_identities(videos: pd.DataFrame) -> set[str]:
    """The identities shown in more than one split."""
    ids = identity_sets(videos)
    return {x for i, a in enumerate(SPLITS) for b in SPLITS[i + 1:] for x in ids[a] & ids[b]}


def split_report(videos: pd.DataFrame) -> pd.DataFrame:
    """Per split: videos, real, fake, identities, and identities shared with another split.

    Rows "train", "val", "test", then "excluded" (fakes left out because their identities
    straddle splits). 0 shared identities is what `split_videos` guarantees; an official
    split that shares them (Celeb-DF's test list) is kept, and shows here.

    >>> split_report(split_videos(discover_videos("data/demo")))  # doctest: +SKIP
    """
    ids = identity_sets(videos)
    rows = {}
    for s in (*SPLITS, EXCLUDED):
        labels = videos.label[videos.split == s]
        others = set().union(*(v for k, v in ids.items() if k != s)) if s in ids else set()
        rows[s] = dict(videos=len(labels), real=int((labels == 0).sum()), fake=int((labels == 1).sum()),
                       identities=len(ids.get(s, ())), shared_identities=len(ids.get(s, set()) & others))
    return pd.DataFrame.from_dict(rows, orient="index")


def describe_split(videos: pd.DataFrame) -> str:
    """`split_report` in one line, as every run prints it."""
    report = split_report(videos)
    ids = identity_sets(videos)
    parts = [f"{s} {r.videos} ({r.real} real, {r.fake} fake, {r.identities} identities)"
             for s, r in report.loc[list(SPLITS)].iterrows()]
    shared = {f"{a}-{b}": len(ids[a] & ids[b]) for i, a in enumerate(SPLITS) for b in SPLITS[i + 1:]}
    line = "Split: " + ", ".join(parts)
    line += "; identities shared: " + (", ".join(f"{k} {v}" for k, v in shared.items() if v) or "none")
    if report.loc[EXCLUDED, "videos"]:
        line += f"; {report.loc[EXCLUDED, 'videos']} fake(s) left out (their identities straddle splits)"
    return line


FINGERPRINTS = ("content", "path")


def split_fingerprint(paths: Iterable[str], labels: Iterable[int], by: str = "content") -> str:
    """A short digest of a set of labelled videos: equal for runs tested on the same videos.

    `by="content"` (default): each video counts by its content (`content_fingerprint`: size,
    first and last 64 KiB) and its label, so the same videos in another folder, on another
    machine or renamed share a fingerprint, and a file replaced in place changes it; every
    file must exist. `by="path"`: by absolute path and label, as runs saved before content
    fingerprints were made; only for reading such runs whose videos are gone.

    >>> split_fingerprint(["data/demo/real/real_000.mp4"], [0])  # doctest: +SKIP
    'c3f1a0b2'
    """
    check_choice("by", by, FINGERPRINTS)
    key = content_fingerprint if by == "content" else str
    lines = sorted(f"{key(p)}\t{int(l)}" for p, l in zip(paths, labels))
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:8]


# --------------------------------------------------------------------------- assignment


def _assign(keys: pd.Series, labels: pd.Series, all_labels: pd.Series, fractions: dict, seed: int) -> pd.Series:
    """The split of each video to split (identity tuples `keys`, `labels`): whole units per split."""
    wanted = [s for s in ("val", "test") if fractions[s] > 0]
    totals = np.bincount(all_labels, minlength=2).astype(float)
    targets = {s: fractions[s] * totals for s in wanted}
    targets["train"] = np.bincount(labels, minlength=2).astype(float) - sum(targets[s] for s in wanted)
    cap = max(1.0, 0.5 * min((t.sum() for s, t in targets.items() if s != "train"), default=len(keys)))
    row_units = _identity_units(list(keys), labels.to_numpy(), cap)
    units = sorted({u for us in row_units for u in us})
    if len(units) < len(wanted) + 1:
        raise ValueError(
            f"Too few groups to split: {len(units)} group(s) of identities {units[:5]} for splits "
            f"{['train', *wanted]}. Each split needs identities of its own; add videos or lower val_size/test_size.")
    index = {u: i for i, u in enumerate(units)}
    rows = np.full((len(row_units), max(map(len, row_units))), -1)
    for r, us in enumerate(row_units):
        rows[r, : len(us)] = [index[u] for u in us]
    counts = np.zeros((len(units), 2))
    np.add.at(counts, (rows[:, 0], labels.to_numpy()), 1)
    linked = rows.shape[1] > 1 and bool((rows[:, 1:] >= 0).any())
    names = list(targets)
    # Each split's share of the videos to split, per label: applied to the videos kept.
    pool = np.maximum(np.bincount(labels, minlength=2), 1)
    share = np.array([targets[s] / pool for s in names])
    objective = _Objective(rows, labels.to_numpy(), share)

    rng = np.random.default_rng(seed)
    trials = [_greedy(counts, rows, targets, rng.permutation(len(units))) for _ in range(TRIALS if linked else 1)]
    unit_split = max(trials, key=objective)
    if linked:
        unit_split = _local_search(unit_split, objective, len(names), rng)
    split = np.array(names, dtype=object)[objective.row_split(unit_split)]
    split[objective.straddles(unit_split)] = EXCLUDED
    split = pd.Series(split, index=keys.index)
    excluded = int((split == EXCLUDED).sum())
    for s in wanted:
        got = labels[split == s]
        if set(got) != set(all_labels):
            left_out = f" after leaving out {excluded} fake(s) whose identities straddle splits" if excluded else ""
            hint = " (or split_by='group', which keeps only each fake's target identity apart)" if excluded else ""
            raise ValueError(
                f"Too few groups to split: the {s!r} split got {len(got)} video(s) ({(got == 0).sum()} "
                f"real, {(got == 1).sum()} fake){left_out}. Expected real and fake videos in every split; add "
                f"videos with identities of their own or raise its size{hint}.")
    return split


def _identity_units(identities: list[tuple], labels: np.ndarray, cap: float) -> list[list[str]]:
    """Per row, the units its identities belong to (main identity's unit first).

    Identities shown together in a real video are one unit. Identities linked by fakes
    are merged too while the merged cluster holds at most `cap` videos: merging a big
    cluster (DFD's 28 actors are all linked) would leave nothing to split.
    """
    hard = UnionFind()
    for ids, label in zip(identities, labels):
        for other in ids:
            hard.add(other)
            if label == 0:
                hard.union(ids[0], other)
    size: dict[str, int] = {}
    for ids in identities:
        size[hard.find(ids[0])] = size.get(hard.find(ids[0]), 0) + 1
    # The fake links between hard units, merged while the merged cluster stays small.
    soft = UnionFind()
    for ids in identities:
        for other in ids[1:]:
            a, b = soft.find(hard.find(ids[0])), soft.find(hard.find(other))
            if a != b and size.get(a, 0) + size.get(b, 0) <= cap:
                soft.union(a, b)  # b stays the root
                size[b] = size.get(a, 0) + size.get(b, 0)
    return [[soft.find(hard.find(x)) for x in ids] for ids in identities]


def _greedy(counts: np.ndarray, rows: np.ndarray, targets: dict, order: np.ndarray) -> np.ndarray:
    """Split index per unit, big units first: the split whose per-label quota the unit fills
    best, plus the share of the unit's fakes whose other identities already sit there."""
    names = list(targets)
    order = sorted(order, key=lambda u: -counts[u].sum())  # stable: ties keep the seeded order
    touching: dict[int, list[np.ndarray]] = {}
    for link in rows[(rows[:, 1:] >= 0).any(axis=1)] if rows.shape[1] > 1 else []:
        link = link[link >= 0]
        for u in set(link.tolist()):
            touching.setdefault(u, []).append(link)
    assigned = {s: np.zeros(2) for s in names}
    unit_split = np.full(len(counts), -1)
    for u in order:
        n, mine = counts[u], touching.get(u, [])
        score = []
        for k, s in enumerate(names):
            fill = float(np.sum(n * (targets[s] - assigned[s]) / np.maximum(targets[s], 1))) / max(n.sum(), 1.0)
            together = sum(bool(np.all((unit_split[link] == k) | (unit_split[link] == -1))) for link in mine)
            score.append(fill + (together / len(mine) if mine else 0.0))
        unit_split[u] = int(np.argmax(score))
        assigned[names[unit_split[u]]] += n
    return unit_split


class _Objective:
    """How good a unit -> split assignment is: the share of videos kept, minus how far each
    split's real and fake counts are from their share of the kept videos."""

    DEVIATION_WEIGHT = 2.0  # a video in the wrong split costs as much as two left out

    def __init__(self, rows: np.ndarray, labels: np.ndarray, share: np.ndarray):
        self.rows, self.labels, self.share = rows, labels, share

    def row_split(self, unit_split: np.ndarray) -> np.ndarray:
        return unit_split[self.rows[:, 0]]

    def straddles(self, unit_split: np.ndarray) -> np.ndarray:
        where = np.where(self.rows >= 0, unit_split[self.rows], -1)
        return ((where != where[:, :1]) & (self.rows >= 0)).any(axis=1)

    def __call__(self, unit_split: np.ndarray) -> float:
        kept = ~self.straddles(unit_split)
        split, labels = self.row_split(unit_split)[kept], self.labels[kept]
        counts = np.zeros_like(self.share)
        np.add.at(counts, (split, labels), 1)
        if not counts.all():  # every split needs real and fake videos
            return -np.inf
        deviation = np.abs(counts - self.share * counts.sum(axis=0)).sum()
        return float(kept.mean() - self.DEVIATION_WEIGHT * deviation / len(self.labels))


def _local_search(unit_split: np.ndarray, objective: _Objective, n_splits: int, rng: np.random.Generator,
                  max_units: int = 5000, passes: int = 20) -> np.ndarray:
    """Move single units to another split while that improves the objective."""
    if len(unit_split) > max_units:  # each move costs a pass over the videos
        return unit_split
    best = objective(unit_split)
    for _ in range(passes):
        improved = False
        for u in rng.permutation(len(unit_split)):
            for k in range(n_splits):
                if k == unit_split[u]:
                    continue
                trial = unit_split.copy()
                trial[u] = k
                value = objective(trial)
                if value > best + 1e-12:
                    unit_split, best, improved = trial, value, True
        if not improved:
            break
    return unit_split
