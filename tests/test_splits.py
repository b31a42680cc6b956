"""split_videos: group-disjoint, stratified, official splits kept, deterministic."""

import numpy as np
import pandas as pd
import pytest

from util import split_videos


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
