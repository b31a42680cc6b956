"""discover_videos on mock trees named like the real datasets (empty files: nothing is opened)."""

from __future__ import annotations

import doctest
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from vidseq.data import layouts
from vidseq.data.layouts import discover_videos

COLUMNS = ["path", "label", "identities", "group", "split", "dataset"]


def touch(root: Path, *names: str) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()


def write_json(path: Path, content: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content))


def table(videos, root: Path) -> list[tuple]:
    """Rows as (path relative to root, label, group, split, dataset)."""
    return [
        (str(Path(row.path).relative_to(root)), row.label, row.group, row.split, row.dataset)
        for row in videos.itertuples()
    ]


# --- one builder per layout: makes the tree, returns the expected table -------------------


def build_folders(root: Path) -> list[tuple]:
    touch(
        root,
        "Real/a.MP4",
        "Real/nested/deeper/b.avi",
        "Real/notes.txt",
        "Real/._a.MP4",  # macOS metadata file, not a video
        "FAKE/c.mp4",
        "FAKE/set1/a.webm",
        "other/d.mp4",  # neither real nor fake
    )
    return [
        ("FAKE/c.mp4", 1, "c", "", "folders"),
        ("FAKE/set1/a.webm", 1, "a", "", "folders"),
        ("Real/a.MP4", 0, "a", "", "folders"),
        ("Real/nested/deeper/b.avi", 0, "b", "", "folders"),
    ]


def build_dfd(root: Path) -> list[tuple]:
    for c in ("c23", "c40"):
        touch(
            root,
            f"original_sequences/actors/{c}/videos/01__kitchen_pan.mp4",
            f"original_sequences/actors/{c}/videos/02__walking_outside.mp4",
            f"manipulated_sequences/DeepFakeDetection/{c}/videos/"
            "01_02__outside_talking_still_laughing__YVGY8LOK.mp4",
            f"manipulated_sequences/DeepFakeDetection/{c}/videos/02_13__kitchen_pan__ABCDEF12.mp4",
        )
    touch(root, "manipulated_sequences/DeepFakeDetection/masks/videos/01_02__x__Y.mp4")
    dfd = "manipulated_sequences/DeepFakeDetection/c23/videos/"
    return [
        (dfd + "01_02__outside_talking_still_laughing__YVGY8LOK.mp4", 1, "01", "", "dfd"),
        (dfd + "02_13__kitchen_pan__ABCDEF12.mp4", 1, "02", "", "dfd"),
        ("original_sequences/actors/c23/videos/01__kitchen_pan.mp4", 0, "01", "", "dfd"),
        ("original_sequences/actors/c23/videos/02__walking_outside.mp4", 0, "02", "", "dfd"),
    ]


FFPP_REALS = ["000", "001", "002", "003", "004", "005", "006"]
# 000<->003 is an official-style pair; 001-002-005 are chained by two fakes; 004, 006 alone.
FFPP_FAKES = {"Deepfakes": ["000_003", "003_000", "001_002"], "FaceSwap": ["002_005"]}


def build_ffpp(root: Path) -> list[tuple]:
    touch(root, *(f"original_sequences/youtube/c23/videos/{i}.mp4" for i in FFPP_REALS))
    for method, names in FFPP_FAKES.items():
        touch(root, *(f"manipulated_sequences/{method}/c23/videos/{n}.mp4" for n in names))
    real, fake = "original_sequences/youtube/c23/videos/", "manipulated_sequences/"
    return [
        (fake + "Deepfakes/c23/videos/000_003.mp4", 1, "000_003", "", "ffpp"),
        (fake + "Deepfakes/c23/videos/001_002.mp4", 1, "001_005", "", "ffpp"),
        (fake + "Deepfakes/c23/videos/003_000.mp4", 1, "000_003", "", "ffpp"),
        (fake + "FaceSwap/c23/videos/002_005.mp4", 1, "001_005", "", "ffpp"),
        (real + "000.mp4", 0, "000_003", "", "ffpp"),
        (real + "001.mp4", 0, "001_005", "", "ffpp"),
        (real + "002.mp4", 0, "001_005", "", "ffpp"),
        (real + "003.mp4", 0, "000_003", "", "ffpp"),
        (real + "004.mp4", 0, "004", "", "ffpp"),
        (real + "005.mp4", 0, "001_005", "", "ffpp"),
        (real + "006.mp4", 0, "006", "", "ffpp"),
    ]


def build_ffpp_official(root: Path) -> list[tuple]:
    """Official-style data: pairs (a, b) with fakes a_b and b_a, and splits/*.json."""
    pairs = {
        "train": [["000", "003"], ["001", "002"]],
        "val": [["005", "004"]],
        "test": [["006", "007"]],
    }
    for split, split_pairs in pairs.items():
        write_json(root / "splits" / f"{split}.json", split_pairs)
    ids = sorted(i for split_pairs in pairs.values() for pair in split_pairs for i in pair)
    touch(root, *(f"original_sequences/youtube/c23/videos/{i}.mp4" for i in ids))
    for method in ("Face2Face", "NeuralTextures"):
        touch(
            root,
            *(
                f"manipulated_sequences/{method}/c23/videos/{a}_{b}.mp4"
                for split_pairs in pairs.values()
                for x, y in split_pairs
                for a, b in ((x, y), (y, x))
            ),
        )
    split_of = {i: s for s, split_pairs in pairs.items() for pair in split_pairs for i in pair}
    key = {i: "_".join(sorted(p)) for split_pairs in pairs.values() for p in split_pairs for i in p}
    expected = []
    for method in ("Face2Face", "NeuralTextures"):
        for name in sorted(f"{a}_{b}" for a in ids for b in ids if key[a] == key[b] and a != b):
            target = name[:3]
            expected.append(
                (f"manipulated_sequences/{method}/c23/videos/{name}.mp4", 1, key[target],
                 split_of[target], "ffpp")
            )
    for i in ids:
        expected.append(
            (f"original_sequences/youtube/c23/videos/{i}.mp4", 0, key[i], split_of[i], "ffpp")
        )
    return expected


def build_celebdf(root: Path) -> list[tuple]:
    touch(
        root,
        "Celeb-real/id0_0000.mp4",
        "Celeb-real/id1_0003.mp4",
        "YouTube-real/00170.mp4",
        "Celeb-synthesis/id0_id1_0000.mp4",
        "Celeb-synthesis/id1_id0_0003.mp4",
    )
    # 1 = REAL in this file; the last line names a video that is not downloaded.
    (root / "List_of_testing_videos.txt").write_text(
        "1 YouTube-real/00170.mp4\n1 Celeb-real/id0_0000.mp4\n"
        "0 Celeb-synthesis/id1_id0_0003.mp4\n\n0 Celeb-synthesis/id9_id8_0001.mp4\n"
    )
    return [
        ("Celeb-real/id0_0000.mp4", 0, "id0", "test", "celebdf"),
        ("Celeb-real/id1_0003.mp4", 0, "id1", "", "celebdf"),
        ("Celeb-synthesis/id0_id1_0000.mp4", 1, "id0", "", "celebdf"),
        ("Celeb-synthesis/id1_id0_0003.mp4", 1, "id1", "test", "celebdf"),
        ("YouTube-real/00170.mp4", 0, "yt_00170", "test", "celebdf"),
    ]


def build_dfdc(root: Path) -> list[tuple]:
    write_json(
        root / "dfdc_train_part_0" / "metadata.json",
        {
            "aaqaifqrwn.mp4": {"label": "FAKE", "split": "train", "original": "owxbbpjpch.mp4"},
            "owxbbpjpch.mp4": {"label": "REAL", "split": "train", "original": None},
            "missing000.mp4": {"label": "FAKE", "split": "train", "original": "owxbbpjpch.mp4"},
        },
    )
    write_json(
        root / "dfdc_train_part_1" / "metadata.json",
        {
            "bbbbbbbbbb.mp4": {"label": "REAL", "split": "train", "original": None},
            "cccccccccc.mp4": {"label": "FAKE", "split": "train", "original": "bbbbbbbbbb.mp4"},
        },
    )
    touch(
        root,
        "dfdc_train_part_0/aaqaifqrwn.mp4",
        "dfdc_train_part_0/owxbbpjpch.mp4",
        "dfdc_train_part_0/unlisted.mp4",  # no label: skipped
        "dfdc_train_part_1/bbbbbbbbbb.mp4",
        "dfdc_train_part_1/cccccccccc.mp4",
    )
    return [
        ("dfdc_train_part_0/aaqaifqrwn.mp4", 1, "owxbbpjpch", "", "dfdc"),
        ("dfdc_train_part_0/owxbbpjpch.mp4", 0, "owxbbpjpch", "", "dfdc"),
        ("dfdc_train_part_1/bbbbbbbbbb.mp4", 0, "bbbbbbbbbb", "", "dfdc"),
        ("dfdc_train_part_1/cccccccccc.mp4", 1, "bbbbbbbbbb", "", "dfdc"),
    ]


BUILDERS = {
    "folders": build_folders,
    "dfd": build_dfd,
    "ffpp": build_ffpp,
    "ffpp_official": build_ffpp_official,
    "celebdf": build_celebdf,
    "dfdc": build_dfdc,
}


@pytest.mark.parametrize("layout", BUILDERS)
def test_layout_table(tmp_path, layout):
    expected = BUILDERS[layout](tmp_path)
    videos = discover_videos(tmp_path)
    assert list(videos.columns) == COLUMNS
    assert list(videos.index) == list(range(len(videos)))
    assert videos["path"].is_monotonic_increasing
    assert all(Path(p).is_absolute() for p in videos["path"])
    assert str(videos["label"].dtype) == "int64"
    assert table(videos, tmp_path) == expected
    assert videos.equals(discover_videos(tmp_path))  # deterministic


@pytest.mark.parametrize("layout", ["folders", "dfdc", "celebdf"])
def test_dataset_root_one_folder_below(tmp_path, layout):
    expected = BUILDERS[layout](tmp_path / "dataset")
    (tmp_path / "README.md").touch()
    videos = discover_videos(tmp_path)
    assert table(videos, tmp_path / "dataset") == expected


def test_dfdc_part_as_root(tmp_path):
    build_dfdc(tmp_path)
    videos = discover_videos(tmp_path / "dfdc_train_part_1")
    assert videos["group"].tolist() == ["bbbbbbbbbb", "bbbbbbbbbb"]
    assert videos["label"].tolist() == [0, 1]


def test_dfd_picks_compression(tmp_path):
    build_dfd(tmp_path)
    videos = discover_videos(tmp_path, compression="c40")
    assert len(videos) == 4
    assert all("/c40/videos/" in p for p in videos["path"])


def test_dfd_and_ffpp_in_one_tree(tmp_path):
    build_dfd(tmp_path)
    build_ffpp(tmp_path)
    videos = discover_videos(tmp_path)
    assert videos["dataset"].value_counts().to_dict() == {"ffpp": 11, "dfd": 4}
    actors = videos[videos["path"].str.contains("/actors/")]
    assert set(actors["dataset"]) == {"dfd"}
    youtube = videos[videos["path"].str.contains("/youtube/")]
    assert set(youtube["dataset"]) == {"ffpp"}


def ffpp_ids(path: str) -> set[str]:
    """Every video identity a FaceForensics++ file shows: NNN, or NNN and MMM for NNN_MMM."""
    return set(Path(path).stem.split("_"))


@pytest.mark.parametrize("builder", [build_ffpp, build_ffpp_official])
def test_ffpp_groups_never_cross_splits(tmp_path, builder):
    builder(tmp_path)
    videos = discover_videos(tmp_path)
    groups = sorted(set(videos["group"]))
    for seed in range(20):  # any group-disjoint split keeps every identity in one split
        rng = random.Random(seed)
        split_of_group = {g: rng.choice(["train", "val", "test"]) for g in groups}
        split_of_id: dict[str, set[str]] = {}
        for path, group in zip(videos["path"], videos["group"]):
            for video_id in ffpp_ids(path):
                split_of_id.setdefault(video_id, set()).add(split_of_group[group])
        assert all(len(splits) == 1 for splits in split_of_id.values()), split_of_id


def test_ffpp_official_splits(tmp_path):
    build_ffpp_official(tmp_path)
    videos = discover_videos(tmp_path)
    # key "<video stem>/<sequence folder>", e.g. "005/youtube", "004_005/Face2Face"
    videos.index = [f"{Path(p).stem}/{Path(p).parts[-4]}" for p in videos["path"]]
    assert videos.loc["005/youtube", "split"] == "val"
    assert videos.loc["004_005/Face2Face", "split"] == "val"  # pair listed as [005, 004]
    assert videos.loc["007_006/NeuralTextures", "split"] == "test"
    assert videos.loc["000_003/Face2Face", "group"] == "000_003"
    # each official split holds whole groups
    assert (videos.groupby("group")["split"].nunique() == 1).all()
    assert set(videos["split"]) == {"train", "val", "test"}


def test_ffpp_unlisted_pair_has_no_split(tmp_path):
    build_ffpp_official(tmp_path)
    touch(tmp_path, "manipulated_sequences/FaceShifter/c23/videos/000_001.mp4")
    videos = discover_videos(tmp_path)
    row = videos[videos["path"].str.endswith("FaceShifter/c23/videos/000_001.mp4")].iloc[0]
    assert row["split"] == ""
    # the fake links pairs (000, 003) and (001, 002) into one group
    assert row["group"] == "000_003"
    assert set(videos[videos["group"] == "000_003"]["path"].map(lambda p: Path(p).stem)) >= {
        "000", "001", "002", "003"
    }


def test_ffpp_id_in_two_splits_raises(tmp_path):
    build_ffpp(tmp_path)
    write_json(tmp_path / "splits" / "train.json", [["000", "003"]])
    write_json(tmp_path / "splits" / "test.json", [["003", "004"]])
    with pytest.raises(ValueError, match=r"'003' is in both the 'train' and 'test' splits"):
        discover_videos(tmp_path)


def test_celebdf_label_inversion(tmp_path):
    build_celebdf(tmp_path)
    videos = discover_videos(tmp_path)
    listed_real = videos[videos["path"].str.endswith("Celeb-real/id0_0000.mp4")].iloc[0]
    assert (listed_real["label"], listed_real["split"]) == (0, "test")  # listed with "1"
    listed_fake = videos[videos["path"].str.endswith("id1_id0_0003.mp4")].iloc[0]
    assert (listed_fake["label"], listed_fake["split"]) == (1, "test")  # listed with "0"


def test_celebdf_mismatched_line_raises(tmp_path):
    build_celebdf(tmp_path)
    # "0" means FAKE in the official list, but the video is in Celeb-real.
    (tmp_path / "List_of_testing_videos.txt").write_text(
        "1 YouTube-real/00170.mp4\n0 Celeb-real/id1_0003.mp4\n"
    )
    with pytest.raises(ValueError, match=r"line 2 \('0 Celeb-real/id1_0003.mp4'\).*1 = real"):
        discover_videos(tmp_path)


def test_celebdf_malformed_line_raises(tmp_path):
    build_celebdf(tmp_path)
    (tmp_path / "List_of_testing_videos.txt").write_text("real Celeb-real/id1_0003.mp4\n")
    with pytest.raises(ValueError, match=r"line 1 .*expected '<0\|1> <folder>/<file>'"):
        discover_videos(tmp_path)


def test_dfdc_bad_label_raises(tmp_path):
    write_json(tmp_path / "metadata.json", {"x.mp4": {"label": "fake?", "original": None}})
    touch(tmp_path, "x.mp4")
    with pytest.raises(ValueError, match=r"entry 'x.mp4'.*\['REAL', 'FAKE'\]"):
        discover_videos(tmp_path)


def test_unexpected_name_raises(tmp_path):
    build_dfd(tmp_path)
    touch(tmp_path, "original_sequences/actors/c23/videos/kitchen.mp4")
    with pytest.raises(ValueError, match=r"kitchen.mp4'.*<actor>__<scene>"):
        discover_videos(tmp_path)


# --- errors -------------------------------------------------------------------------------


def test_missing_directory(tmp_path):
    missing = tmp_path / "nope"
    with pytest.raises(FileNotFoundError, match=str(missing)):
        discover_videos(missing)


def test_empty_directory_lists_layouts(tmp_path):
    with pytest.raises(ValueError) as error:
        discover_videos(tmp_path)
    message = str(error.value)
    assert str(tmp_path) in message
    for expected in ("folders", "real/**", "original_sequences/actors", "youtube",
                     "Celeb-synthesis", "metadata.json", ".mp4"):
        assert expected in message


def test_detected_layout_without_videos(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "fake").mkdir()
    with pytest.raises(ValueError, match=r"No videos found.*detected: folders at"):
        discover_videos(tmp_path)


def test_one_class(tmp_path):
    touch(tmp_path, "real/a.mp4", "real/b.mp4")
    with pytest.raises(ValueError, match=r"only real videos .*: 2 real, 0 fake"):
        discover_videos(tmp_path)


def test_compression_not_in_tree(tmp_path):
    build_dfd(tmp_path)
    with pytest.raises(ValueError) as error:
        discover_videos(tmp_path, compression="c99")
    assert str(error.value).startswith(
        f"Received: compression='c99'. Available under {str(tmp_path)!r}: ['c23', 'c40']"
    )
    with pytest.raises(ValueError, match=r"compression='raw'. Available .*\['c23', 'c40'\]"):
        discover_videos(tmp_path, compression="raw")


def test_invalid_compression_without_faceforensics(tmp_path):
    build_folders(tmp_path)
    valid = r"compression='C23'. Valid values: \['raw', 'c23', 'c40'\]"
    with pytest.raises(ValueError, match=valid):
        discover_videos(tmp_path, compression="C23")


# --- documentation and import cost --------------------------------------------------------


def test_docstring_example_runs():
    failures, tried = doctest.testmod(layouts)
    assert tried > 0 and failures == 0


def test_does_not_import_tensorflow():
    code = "import sys, vidseq.data.layouts; assert 'tensorflow' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


# --- identities: every person a video shows --------------------------------------------


@pytest.mark.parametrize("layout,name,identities", [
    ("dfd", "01_02__outside_talking_still_laughing__YVGY8LOK.mp4", ("01", "02")),
    ("dfd", "01__kitchen_pan.mp4", ("01",)),
    ("ffpp", "001_002.mp4", ("001", "002")),
    ("celebdf", "id1_id0_0003.mp4", ("id1", "id0")),
    ("celebdf", "00170.mp4", ("yt_00170",)),
    ("dfdc", "aaqaifqrwn.mp4", ("owxbbpjpch",)),
])
def test_layouts_record_target_and_source(tmp_path, layout, name, identities):
    BUILDERS[layout](tmp_path)
    videos = discover_videos(tmp_path)
    row = videos[videos.path.map(lambda p: Path(p).name) == name].iloc[0]
    assert row.identities == identities and row.group == (row.group if layout == "ffpp" else identities[0])


def test_flat_folders_recognise_dataset_file_names(tmp_path):
    """The seed toolkit's users keep DFD and Celeb-DF as flat real/ and fake/ folders."""
    touch(tmp_path, "real/13__walk_down_hall_angry.mp4", "fake/07_20__talking_against_wall__KV6Q7D6C.mp4",
          "real/id0_0000.mp4", "fake/id0_id1_0000.mp4", "real/071.mp4", "fake/071_054.mp4", "real/clip_7.mp4")
    videos = discover_videos(tmp_path).set_index(discover_videos(tmp_path).path.map(lambda p: Path(p).stem))
    assert videos.identities.to_dict() == {
        "07_20__talking_against_wall__KV6Q7D6C": ("07", "20"), "13__walk_down_hall_angry": ("13",),
        "id0_id1_0000": ("id0", "id1"), "id0_0000": ("id0",), "071_054": ("071", "054"), "071": ("071",),
        "clip_7": ("clip_7",)}
    assert videos.loc["07_20__talking_against_wall__KV6Q7D6C", "group"] == "07"


def test_identities_file_overrides_names(tmp_path):
    touch(tmp_path, "data/real/a.mp4", "data/real/b.mp4", "data/fake/c.mp4")
    (tmp_path / "ids.csv").write_text("file,identities\nreal/a.mp4,alice\nfake/c.mp4,alice;bob\n")
    videos = discover_videos(tmp_path / "data", identities=tmp_path / "ids.csv")
    assert videos.identities.tolist() == [("alice", "bob"), ("alice",), ("b",)]
    assert videos.group.tolist() == ["alice", "alice", "b"]
    by_function = discover_videos(tmp_path / "data", identities=lambda path: [Path(path).parent.name])
    assert by_function.identities.tolist() == [("fake",), ("real",), ("real",)]


def test_identities_file_naming_missing_videos_is_one_line_error(tmp_path):
    touch(tmp_path, "data/real/a.mp4", "data/fake/c.mp4")
    (tmp_path / "ids.csv").write_text("file,identities\nreal/a.mp4,alice\nreal/zz.mp4,bob\n")
    with pytest.raises(ValueError, match=r"names 1 file\(s\) that are not videos found.*zz\.mp4") as error:
        discover_videos(tmp_path / "data", identities=tmp_path / "ids.csv")
    assert "\n" not in str(error.value)
    (tmp_path / "bad.csv").write_text("video,who\nreal/a.mp4,alice\n")
    with pytest.raises(ValueError, match="Expected columns file,identities"):
        discover_videos(tmp_path / "data", identities=tmp_path / "bad.csv")
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        discover_videos(tmp_path / "data", identities=tmp_path / "nope.csv")
