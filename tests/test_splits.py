"""split_videos and fold_videos: identity-disjoint, stratified within a tolerance, keeping the most
fakes, official splits kept, deterministic."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from util import split_videos
from vidseq.data import assignment


@pytest.fixture
def annealing_only(monkeypatch):
    """The assignment without its exact program (seconds to minutes on a loaded machine): the
    annealing's answer, what a run gets where the program does not finish in time."""
    monkeypatch.setattr(assignment, "TIME_LIMIT", 0)


def table(groups_per_label=(30, 30), videos_per_group=3, split=""):
    rows = []
    for label, n_groups in enumerate(groups_per_label):
        for g in range(n_groups):
            for v in range(videos_per_group + (g % 3)):  # uneven group sizes
                rows.append(dict(path=f"/d/{label}/{g}_{v}.mp4", label=label, group=f"id{label}_{g}", split=split,
                                 dataset="folders"))
    return pd.DataFrame(rows)


def test_groups_never_cross_splits_and_labels_are_stratified():
    videos = split_videos(table((40, 25)), val_size=0.15, test_size=0.2, seed=1)
    assert set(videos.split) == {"train", "val", "test"}
    assert (videos.groupby("group").split.nunique() == 1).all()
    for split, share in (("val", 0.15), ("test", 0.2)):
        for label in (0, 1):
            fraction = ((videos.split == split) & (videos.label == label)).sum() / (videos.label == label).sum()
            assert abs(fraction - share) < 0.06, (split, label, fraction)


def test_mixed_label_groups_stay_whole():
    """DFD-style: an actor's real videos and the fakes made on them share one group."""
    rows = [dict(path=f"/d/{a}_{i}.mp4", label=int(i > 0), group=f"actor{a}", split="", dataset="dfd")
            for a in range(20) for i in range(6)]
    videos = split_videos(pd.DataFrame(rows), seed=0)
    assert (videos.groupby("group").split.nunique() == 1).all()
    assert set(videos.split) == {"train", "val", "test"}


def test_deterministic_for_a_seed():
    a, b, c = (split_videos(table(), seed=s).split.tolist() for s in (7, 7, 8))
    assert a == b and a != c


def test_official_splits_kept_and_only_missing_ones_carved():
    videos = table()
    official = videos.group.isin([f"id{l}_{g}" for l in (0, 1) for g in range(6)])
    videos.loc[official, "split"] = "test"  # Celeb-DF: the dataset fixes only a test list
    out = split_videos(videos, val_size=0.15, test_size=0.15, seed=0)
    assert (out.loc[official, "split"] == "test").all()
    assert set(out.loc[~official, "split"]) == {"train", "val"}


def test_fully_official_split_unchanged():
    videos = table()
    videos["split"] = np.where(np.arange(len(videos)) % 3 == 0, "test", np.where(np.arange(len(videos)) % 3 == 1, "val", "train"))
    with pytest.warns(UserWarning, match="official split"):
        out = split_videos(videos)
    pd.testing.assert_frame_equal(out, videos)


def test_too_few_groups():
    with pytest.raises(ValueError, match="Too few groups"):
        split_videos(table((1, 1)))
    with pytest.raises(ValueError, match="Too few groups"):
        split_videos(table((1, 8)))  # one real identity cannot fill train, val and test


@pytest.mark.parametrize("kwargs,match", [(dict(val_size=1.2), "val_size=1.2"), (dict(test_size=-0.1), "test_size=-0.1"),
                                          (dict(val_size=0.5, test_size=0.5), "sum below 1")])
def test_bad_sizes(kwargs, match):
    with pytest.raises(ValueError, match=match):
        split_videos(table(), **kwargs)


def test_missing_columns():
    with pytest.raises(ValueError, match="group"):
        split_videos(pd.DataFrame({"path": ["a"], "label": [0], "split": [""]}))


# --- identities: a fake shows its target and its source ---------------------------------

from util import describe_split, split_fingerprint, split_report  # noqa: E402


def dfd_like(actors=28, scenes=3, fakes_per_target=6, seed=0):
    """Flat DFD: real `AA__scene`, fake `TT_SS__scene__HASH` (target TT, source SS)."""
    rng = np.random.default_rng(seed)
    rows = []
    for a in range(actors):
        for s in range(scenes):
            rows.append(dict(path=f"/d/real/{a:02d}__scene{s}.mp4", label=0, identities=(f"{a:02d}",),
                             group=f"{a:02d}", split="", dataset="folders"))
        for k in range(fakes_per_target):
            source = int(rng.choice([b for b in range(actors) if b != a]))
            rows.append(dict(path=f"/d/fake/{a:02d}_{source:02d}__scene{k}__X{k}.mp4", label=1,
                             identities=(f"{a:02d}", f"{source:02d}"), group=f"{a:02d}", split="", dataset="folders"))
    return pd.DataFrame(rows)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_no_identity_in_two_splits_and_straddling_fakes_left_out(seed, annealing_only):
    videos = dfd_like(seed=seed)
    out = split_videos(videos, seed=seed)
    report = split_report(out)
    assert report.shared_identities.sum() == 0
    for split in ("train", "val", "test"):
        assert report.loc[split, "real"] > 0 and report.loc[split, "fake"] > 0
    excluded = out[out.split == "excluded"]
    assert (excluded.label == 1).all() and report.loc["excluded", "videos"] == len(excluded)
    assert (out[out.label == 0].split != "excluded").all()  # real videos are never left out
    # every fake left out really straddles: its identities sit in different splits
    split_of = {ids[0]: s for ids, s in zip(out.identities, out.split) if len(ids) == 1}
    assert all(len({split_of[i] for i in ids}) > 1 for ids in excluded.identities)
    assert len(excluded) < 0.5 * (videos.label == 1).sum()  # assignment keeps linked actors together


def test_target_only_grouping_shares_sources_and_says_so():
    out = split_videos(dfd_like(), seed=0, split_by="group")
    assert (out.split != "excluded").all()
    assert (out.groupby("group").split.nunique() == 1).all()
    assert split_report(out).shared_identities.sum() > 0
    assert "identities shared: train-val" in describe_split(out) or "train-test" in describe_split(out)


def test_small_linked_clusters_stay_whole():
    """FF++-style pairs: fakes NNN_MMM and MMM_NNN link two ids; no fake is lost."""
    rows = []
    for p in range(30):
        a, b = f"{2 * p:03d}", f"{2 * p + 1:03d}"
        rows += [dict(path=f"/d/{x}.mp4", label=0, identities=(x,), group=x, split="") for x in (a, b)]
        rows += [dict(path=f"/d/{x}_{y}.mp4", label=1, identities=(x, y), group=x, split="") for x, y in ((a, b), (b, a))]
    out = split_videos(pd.DataFrame(rows), seed=3)
    assert (out.split != "excluded").all() and split_report(out).shared_identities.sum() == 0


def test_every_fake_straddling_is_a_one_line_error():
    """Three people, each faked onto the others: a split each, and no fake can stay (six people
    used to fail too; the optimisation now keeps two of them per split with their fakes)."""
    rows = [dict(path=f"/d/{a}.mp4", label=0, identities=(f"{a}",), group=f"{a}", split="") for a in range(3)]
    rows += [dict(path=f"/d/{a}_{b}.mp4", label=1, identities=(f"{a}", f"{b}"), group=f"{a}", split="")
             for a in range(3) for b in range(3) if a != b]
    with pytest.raises(ValueError, match=r"leaving out \d+ fake\(s\) whose identities straddle") as error:
        split_videos(pd.DataFrame(rows), val_size=0.2, test_size=0.2)
    assert "\n" not in str(error.value)


def test_describe_split_is_one_line_and_fingerprint_ignores_order(annealing_only):
    out = split_videos(dfd_like(), seed=0)
    line = describe_split(out)
    assert "\n" not in line and "identities shared: none" in line and line.startswith("Split: train ")
    test = out[out.split == "test"]  # made-up paths: fingerprinted by path
    fingerprint = split_fingerprint(test.path, test.label, by="path")
    assert fingerprint == split_fingerprint(test.path[::-1], test.label[::-1], by="path")
    assert fingerprint != split_fingerprint(test.path[1:], test.label[1:], by="path")


# --- the assignment as an optimisation: most fakes kept within the quota tolerance -------

from vidseq.data.shaped_tables import dfd_shaped_table, dfdc_shaped_table  # noqa: E402
from vidseq.data.splits import check_folds, fold_split, fold_videos  # noqa: E402

DFD_OPTIMUM = 2354  # fakes the exact program proves the most a 70/15/15 split of dfd_shaped_table() keeps at ±5 points
DFD_PREVIOUS = 1545  # what the previous heuristic kept at best over split seeds 0-1 (bench/bench_splits.py)


def shares_within(out: pd.DataFrame, quotas: dict, tolerance: float) -> None:
    report = split_report(out)
    for split, quota in quotas.items():
        for column in ("real_share", "fake_share"):
            assert abs(report.loc[split, column] - quota) <= tolerance + 1e-9, (split, column, report.loc[split, column])


def test_dfd_shaped_split_keeps_nearly_the_most_fakes_within_tolerance(annealing_only):
    videos = dfd_shaped_table()
    out = split_videos(videos, seed=0)
    report = split_report(out)
    kept = report.fake[["train", "val", "test"]].sum()
    assert kept >= 0.97 * DFD_OPTIMUM and kept > DFD_PREVIOUS
    assert report.shared_identities.sum() == 0 and kept + report.loc["excluded", "fake"] == videos.label.sum()
    shares_within(out, {"val": 0.15, "test": 0.15}, 0.05)
    assert out.attrs["assignment"].startswith("annealing; not proven optimal")


def test_a_tighter_tolerance_is_kept_and_costs_fakes(annealing_only):
    loose, tight = (split_videos(dfd_shaped_table(), seed=0, tolerance=t) for t in (0.05, 0.02))
    shares_within(tight, {"val": 0.15, "test": 0.15}, 0.02)
    assert (tight.split == "excluded").sum() >= (loose.split == "excluded").sum()


@pytest.mark.slow
def test_the_exact_program_proves_the_dfd_shaped_optimum():
    out = split_videos(dfd_shaped_table(), seed=0)
    assert out.attrs["assignment"] == "exact" and split_report(out).fake[["train", "val", "test"]].sum() == DFD_OPTIMUM


def test_one_component_per_original_loses_nothing():
    """DFDC: a fake shows its original's person only; every original is placed whole, shares on quota."""
    out = split_videos(dfdc_shaped_table(12_000), seed=0)
    assert (out.split != "excluded").all() and out.attrs["assignment"] == "whole components"
    shares_within(out, {"val": 0.15, "test": 0.15}, 0.01)


@pytest.mark.parametrize("tolerance", [-0.1, 0.6, "5%", True])
def test_bad_tolerance(tolerance):
    with pytest.raises(ValueError, match=r"^Received: split_tolerance=.*Expected a float in \[0, 0\.5\]"):
        split_videos(table(), tolerance=tolerance)


# --- identity k-fold cross-validation ---------------------------------------------------------


def pairs_table(pairs=30):
    """FF++-style: pairs of people, each faked onto the other."""
    rows = []
    for p in range(pairs):
        a, b = f"{2 * p:03d}", f"{2 * p + 1:03d}"
        rows += [dict(path=f"/d/{x}.mp4", label=0, identities=(x,), group=x, split="") for x in (a, b)]
        rows += [dict(path=f"/d/{x}_{y}.mp4", label=1, identities=(x, y), group=x, split="") for x, y in ((a, b), (b, a))]
    return pd.DataFrame(rows)


def test_folds_are_identity_disjoint_stratified_and_test_every_video_once():
    folded = fold_videos(pairs_table(), folds=5, seed=1)
    assert sorted(folded.fold.unique()) == [1, 2, 3, 4, 5]  # pairs fit a fold: nothing left out
    by_fold = folded.groupby("fold")
    assert (by_fold.label.mean() == 0.5).all() and (by_fold.size() == 24).all()  # 20% of each class
    people = folded.assign(person=folded.identities).explode("person")
    assert (people.groupby("person").fold.nunique() == 1).all()
    tested = []
    for fold in range(1, 6):
        split = fold_split(folded, fold, val_size=0.15, seed=1)
        assert (split.loc[split.split == "test", "path"].tolist() == folded.loc[folded.fold == fold, "path"].tolist())
        assert split_report(split).shared_identities.sum() == 0 and {"train", "val"} <= set(split.split)
        tested += split.loc[split.split == "test", "path"].tolist()
    assert sorted(tested) == sorted(folded.path)


def test_folds_leave_out_straddling_fakes_and_keep_an_official_test_split(annealing_only):
    videos = dfd_like(seed=1)
    official = videos.identities.map(lambda ids: ids[0] in {"00", "01"} and len(ids) == 1)
    videos.loc[official, "split"] = "test"
    folded = fold_videos(videos, folds=4, seed=0)
    assert (folded.loc[official, "fold"] == 0).all() and (folded.loc[official, "split"] == "test").all()
    left_out = folded[(folded.fold == 0) & ~official]
    assert (left_out.label == 1).all() and (left_out.split == "excluded").all()
    split = fold_split(folded, 2)
    assert not split.path.isin(videos.path[official]).any() and (split.split == "excluded").sum() >= len(left_out)
    assert "folds: " in split.attrs["assignment"]


@pytest.mark.parametrize("folds", [1, 0, 2.5, 30, True])
def test_fold_counts_outside_what_the_identities_allow_are_one_line_errors(folds):
    with pytest.raises(ValueError, match=rf"^Received: folds={folds!r}\. Expected an int in \[2, 29\]") as error:
        fold_videos(pairs_table(15), folds=folds)
    assert "\n" not in str(error.value)
    assert check_folds(3, 4, 9) == 3



def test_fingerprint_goes_by_content_and_label_not_by_path(tmp_path):
    """The same videos in two folders share a fingerprint; an edited file or a changed label changes it."""
    videos = {f"clip{i}.mp4": bytes([i]) * (200_000 + i) for i in range(3)}  # beyond the 64 KiB read at each end
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        for name, content in videos.items():
            (tmp_path / folder / name).write_bytes(content)
    a, b = ([str(tmp_path / folder / name) for name in videos] for folder in ("a", "b"))
    labels = [0, 1, 1]
    assert split_fingerprint(a, labels) == split_fingerprint(b[::-1], labels[::-1])
    assert split_fingerprint(a, labels) != split_fingerprint(a, [0, 1, 0])
    edited = bytearray(videos["clip1.mp4"])
    edited[-10] ^= 0xFF  # a file replaced in place, same size
    Path(b[1]).write_bytes(bytes(edited))
    assert split_fingerprint(a, labels) != split_fingerprint(b, labels)
    assert split_fingerprint(a, labels, by="path") != split_fingerprint(b, labels, by="path")
    with pytest.raises(FileNotFoundError):
        split_fingerprint([str(tmp_path / "gone.mp4")], [0])
