"""Splits without identity leaks: assign identities (not videos) to train/val/test or to k folds,
and report.

A fake shows two people: the target (whose scene it is) and the source (whose face was
swapped in). A model that saw either person in training can recognise them in testing,
so by default no identity may appear in two splits. Identities linked by real videos
(a user's mapping may give a real video several) always stay together. Identities linked
by fakes are kept together where their component fits a split; where it does not (DFD's 28
actors are all linked), they are assigned one by one, keeping the most fakes that the quota
tolerance allows (`vidseq.data.assignment`), and the fakes whose identities land in different
splits are left out (split "excluded"), counted and reported. Nothing here imports TensorFlow.
"""

from __future__ import annotations

import hashlib
import warnings
from typing import Iterable

import numpy as np
import pandas as pd

from vidseq.data.assignment import EXCLUDED_ROW, assign_identities, class_units
from vidseq.data.layouts import SPLITS
from vidseq.utils.cache import content_fingerprint
from vidseq.utils.checks import check_choice, check_fraction, check_int
from vidseq.utils.notices import VidseqWarning

SPLIT_BY = ("identities", "group")
EXCLUDED = "excluded"  # the split of a fake whose identities straddle splits
TOLERANCE = 0.05  # how far a split's share of real and of kept fake videos may stray from its quota
ASSIGNMENT = "assignment"  # the table's `attrs` key of how its identities were assigned (`Assignment.method`)


def split_videos(
    videos: pd.DataFrame,
    val_size: float = 0.15,
    test_size: float = 0.15,
    seed: int = 42,
    split_by: str = "identities",
    tolerance: float = TOLERANCE,
) -> pd.DataFrame:
    """Fill the empty `split` values with "train"/"val"/"test", with no identity in two splits.

    `split_by="identities"` (default): every identity of a video (a fake's target and source)
    stays in one split; a fake whose identities end up in different splits gets split
    "excluded" and is used nowhere (real videos are never left out). Where fakes link more
    people than a split holds, the assignment keeps the most fakes for which the val and test
    splits' shares of the real videos and of the kept fakes stay within `tolerance` (0.05:
    5 points) of `val_size` / `test_size`: found by annealing and proven by a small
    mixed-integer program where it answers in time (`vidseq.data.assignment`; the table's
    `attrs["assignment"]` and `describe_split` say which). `split_by="group"`: whole `group`s (the main identity, the
    old target-only rule) go to one split, so a fake's source may also appear in another
    split; `split_report` then counts those identities. Official splits already in `split`
    are kept; when the dataset fixes a test split (Celeb-DF), only a validation split is
    carved from the rest. Deterministic for a `seed`.

    >>> from vidseq.data.shaped_tables import dfd_shaped_table
    >>> videos = split_videos(dfd_shaped_table())
    >>> print(describe_split(videos))  # doctest: +ELLIPSIS
    Split: train ... identities shared: none; ... 675 fake(s) left out (their identities straddle splits; assignment: exact)
    """
    _check_table(videos)
    check_choice("split_by", split_by, SPLIT_BY)
    check_split_sizes(val_size, test_size)
    check_tolerance(tolerance)

    videos = videos.copy()
    videos["split"] = videos["split"].fillna("")
    official = set(videos.loc[videos.split != "", "split"])
    fractions = {"val": 0.0 if "val" in official else val_size, "test": 0.0 if "test" in official else test_size}
    todo = videos.split == ""
    if todo.any():
        quotas = {**{s: fractions[s] for s in ("val", "test") if fractions[s] > 0}, "train": None}
        kept = videos.split != EXCLUDED
        fixed = np.bincount(videos.label[kept & ~todo], minlength=2)
        assigned = assign_identities(list(_keys(videos, split_by)[todo]), videos.label[todo].to_numpy(), quotas,
                                     fixed, tolerance, seed)
        videos.loc[todo, "split"] = np.array([*quotas, EXCLUDED], dtype=object)[assigned.rows]  # EXCLUDED_ROW: last
        videos.attrs[ASSIGNMENT] = assigned.method
        _require_both_classes(videos, [s for s in quotas if s != "train"])
    shared = shared_identities(videos)
    if official - {EXCLUDED} and shared and split_by == "identities":  # "group" shares sources by design
        warnings.warn(f"{len(shared)} identities appear in more than one split because the dataset's official "
                      "split puts them there (e.g. Celeb-DF's test list); the official split is kept.", VidseqWarning,
                      stacklevel=2)
    return videos


def fold_videos(videos: pd.DataFrame, folds: int = 5, seed: int = 42, split_by: str = "identities",
                tolerance: float = TOLERANCE) -> pd.DataFrame:
    """Identity k-fold cross-validation: a `fold` column, 1 to `folds`, with no identity in two
    folds, each fold's share of the real videos and of the kept fakes within `tolerance` of
    1/`folds` (as `split_videos` assigns splits). A fake whose identities straddle folds gets
    fold 0 and split "excluded". Videos of an official test split (Celeb-DF's list, FF++'s
    test.json) keep it, with fold 0: cross-validation runs within the other videos, and the
    official test split stays for the final test. `fold_split` makes fold k's
    train/val/test table.

    >>> from vidseq.data.shaped_tables import dfd_shaped_table
    >>> folded = fold_videos(dfd_shaped_table(), folds=5)
    >>> sorted(folded.fold.unique().tolist())
    [0, 1, 2, 3, 4, 5]
    """
    _check_table(videos)
    check_choice("split_by", split_by, SPLIT_BY)
    check_tolerance(tolerance)
    videos = videos.copy()
    videos["split"] = videos["split"].fillna("")
    check_fold_count(videos, folds, split_by)
    todo = (videos.split != "test").to_numpy()
    keys = _keys(videos, split_by)[todo]
    quotas = {f"fold{k}": 1 / folds for k in range(1, folds + 1)}
    assigned = assign_identities(list(keys), videos.label[todo].to_numpy(), quotas, tolerance=tolerance, seed=seed)
    rows = assigned.rows
    videos.attrs[ASSIGNMENT] = assigned.method
    videos["fold"] = 0
    videos.loc[todo, "fold"] = np.where(rows == EXCLUDED_ROW, 0, rows + 1)
    videos.loc[todo, "split"] = np.where(rows == EXCLUDED_ROW, EXCLUDED, "")
    return videos


def fold_split(folded: pd.DataFrame, fold: int, val_size: float = 0.15, seed: int = 42,
               split_by: str = "identities", tolerance: float = TOLERANCE) -> pd.DataFrame:
    """Fold `fold`'s split of `fold_videos`' table: its videos are the test split, validation
    is carved from the other folds (`val_size` of the cross-validated videos, identity-disjoint,
    as `split_videos` carves it) and the rest trains. The fakes the folds left out stay
    "excluded"; the official test split is not in it.

    >>> from vidseq.data.shaped_tables import dfd_shaped_table
    >>> split = fold_split(fold_videos(dfd_shaped_table(), folds=5), fold=1)
    >>> sorted(split.split.unique())
    ['excluded', 'test', 'train', 'val']
    """
    folds = int(folded.fold.max())
    check_int("fold", fold, 1, folds)
    table = folded[(folded.fold > 0) | (folded.split == EXCLUDED)]
    table = table.assign(split=np.where(table.fold == fold, "test", np.where(table.fold == 0, EXCLUDED, "")))
    split = split_videos(table, val_size, 0.0, seed, split_by, tolerance)
    split.attrs[ASSIGNMENT] = f"folds: {folded.attrs.get(ASSIGNMENT)}; validation: {split.attrs.get(ASSIGNMENT)}"
    return split


def check_fold_count(videos: pd.DataFrame, folds: object, split_by: str = "identities") -> int:
    """`check_folds` for the videos `fold_videos` would fold (all but an official test split):
    a one-line error, before any assignment, where `folds` is more than their identities allow.

    >>> from vidseq.data.shaped_tables import dfd_shaped_table
    >>> check_fold_count(dfd_shaped_table(), 5)
    5
    """
    todo = (videos.split.fillna("") != "test").to_numpy()
    return check_folds(folds, *class_units(list(_keys(videos, split_by)[todo]), videos.label[todo].to_numpy()))


def check_folds(folds: object, real_units: int, fake_units: int) -> int:
    """`folds` as an int in [2, the identity groups of the scarcer class - 1]: every fold tests
    on identities of its own of each class, and its run trains and validates on others."""
    most = min(real_units, fake_units) - 1
    if not isinstance(folds, bool) and isinstance(folds, (int, np.integer)) and 2 <= folds <= most:
        return int(folds)
    raise ValueError(f"Received: folds={folds!r}. Expected an int in [2, {most}]: the videos to cross-validate show "
                     f"{real_units} identity group(s) in real videos and {fake_units} in fakes, and every fold needs "
                     "its own of each class while its run trains and validates on others.")


def check_tolerance(tolerance: object) -> float:
    """`tolerance` as a float in [0, 0.5]: how far (a share: 0.05 is 5 points) a split may stray from its quota."""
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or not 0 <= tolerance <= 0.5:
        raise ValueError(f"Received: split_tolerance={tolerance!r}. Expected a float in [0, 0.5] (0.05: each split's "
                         "shares of real and of kept fake videos within 5 points of its size).")
    return float(tolerance)


def _check_table(videos: pd.DataFrame) -> None:
    missing = {"path", "label", "split"} - set(videos.columns)
    if missing or not {"identities", "group"} & set(videos.columns):
        raise ValueError(f"Received a table with columns {list(videos.columns)}. Expected the output of "
                         "discover_videos() (path, label, identities, group, split).")


def _keys(videos: pd.DataFrame, split_by: str) -> pd.Series:
    """What a split keeps together, per video: its identities, or only its group (main identity)."""
    if split_by == "identities":
        return _identities(videos)
    groups = videos.group if "group" in videos.columns else _identities(videos).map(lambda i: i[0])
    return groups.map(lambda g: (g,))


def _require_both_classes(videos: pd.DataFrame, carved: list[str]) -> None:
    excluded = int((videos.split == EXCLUDED).sum())
    for s in carved:
        got = videos.label[videos.split == s]
        if got.nunique() < 2:
            left_out = f" after leaving out {excluded} fake(s) whose identities straddle splits" if excluded else ""
            hint = " (or split_by='group', which keeps only each fake's target identity apart)" if excluded else ""
            raise ValueError(
                f"Too few groups to split: the {s!r} split got {len(got)} video(s) ({(got == 0).sum()} "
                f"real, {(got == 1).sum()} fake){left_out}. Expected real and fake videos in every split; add "
                f"videos with identities of their own or raise its size{hint}.")
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
    """Per split: videos, real, fake, identities, identities shared with another split, and the
    split's shares of the real videos and of the kept fakes (`real_share`, `fake_share`).

    Rows "train", "val", "test", then "excluded" (fakes left out because their identities
    straddle splits; its `fake_share`: of all fakes). 0 shared identities is what
    `split_videos` guarantees; an official split that shares them (Celeb-DF's test list) is
    kept, and shows here.

    >>> from vidseq.data.shaped_tables import dfd_shaped_table
    >>> split_report(split_videos(dfd_shaped_table()))[["real", "fake", "real_share", "fake_share"]]  # doctest: +SKIP
              real  fake  real_share  fake_share
    train      243  1800      0.6694      0.7647
    val         67   237      0.1846      0.1007
    test        53   317      0.1460      0.1347
    excluded     0   675      0.0000      0.2228
    """
    ids = identity_sets(videos)
    rows = {}
    for s in (*SPLITS, EXCLUDED):
        labels = videos.label[videos.split == s]
        others = set().union(*(v for k, v in ids.items() if k != s)) if s in ids else set()
        rows[s] = dict(videos=len(labels), real=int((labels == 0).sum()), fake=int((labels == 1).sum()),
                       identities=len(ids.get(s, ())), shared_identities=len(ids.get(s, set()) & others))
    report = pd.DataFrame.from_dict(rows, orient="index")
    kept = report.loc[list(SPLITS), ["real", "fake"]].sum()
    wholes = pd.Series({s: kept.fake for s in SPLITS} | {EXCLUDED: kept.fake + report.fake[EXCLUDED]})
    return report.assign(real_share=(report.real / max(kept.real, 1)).round(4),
                         fake_share=(report.fake / wholes.clip(lower=1)).round(4))


def describe_split(videos: pd.DataFrame) -> str:
    """`split_report` in one line, as every run prints it: counts, shares, fakes left out and how
    the assignment was found (where `split_videos` left a note of it)."""
    report = split_report(videos)
    ids = identity_sets(videos)
    parts = [f"{r.Index} {r.videos} ({r.real} real, {r.fake} fake, {r.identities} identities)"
             for r in report.loc[list(SPLITS)].itertuples()]
    shared = {f"{a}-{b}": len(ids[a] & ids[b]) for i, a in enumerate(SPLITS) for b in SPLITS[i + 1:]}
    line = "Split: " + ", ".join(parts)
    line += "; identities shared: " + (", ".join(f"{k} {v}" for k, v in shared.items() if v) or "none")
    line += "; real/fake shares: " + ", ".join(f"{r.Index} {r.real_share:.0%}/{r.fake_share:.0%}"
                                              for r in report.loc[list(SPLITS)].itertuples())
    if report.loc[EXCLUDED, "videos"]:
        how = videos.attrs.get(ASSIGNMENT)
        line += (f"; {report.loc[EXCLUDED, 'videos']} fake(s) left out (their identities straddle splits"
                 f"{f'; assignment: {how}' if how else ''})")
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


