"""Dataset layouts: find the videos of a deepfake dataset and label them, without opening them.

Supported layouts (see `data/README.md` for tree sketches): plain `real/` + `fake/` folders,
FaceForensics++ (including its DeepFakeDetection part, "DFD"), Celeb-DF v1/v2 and DFDC.
Every layout is read into the same table: `identities` are the people a video shows (a
fake shows its target and its source), `group` is its main identity (what a target-only
split keeps together), `split` is the dataset's official split where it has one.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Iterable

import pandas as pd

from vidseq.identities import IdentityMap, UnionFind, apply_identities, identities_from_name, identity_tuple
from vidseq.video_io import VIDEO_EXTENSIONS

COLUMNS = ("path", "label", "identities", "group", "split", "dataset")
COMPRESSIONS = ("raw", "c23", "c40")
SPLITS = ("train", "val", "test")

FOLDER_LABELS = {"real": 0, "fake": 1}
FFPP_METHODS = ("Deepfakes", "Face2Face", "FaceSwap", "NeuralTextures", "FaceShifter")
DFD_METHOD = "DeepFakeDetection"
CELEBDF_FOLDERS = {"Celeb-real": 0, "YouTube-real": 0, "Celeb-synthesis": 1}
CELEBDF_TEST_LIST = "List_of_testing_videos.txt"
DFDC_LABELS = {"REAL": 0, "FAKE": 1}

# Printed when nothing is found, so the user can compare their tree with what is expected.
LAYOUT_HELP = """\
  folders: real/**/<video>, fake/**/<video> (folder names in any letter case)
  dfd:     original_sequences/actors/<c>/videos/<actor>__<scene>.mp4,
           manipulated_sequences/DeepFakeDetection/<c>/videos/<target>_<source>__<scene>__<id>.mp4
  ffpp:    original_sequences/youtube/<c>/videos/NNN.mp4,
           manipulated_sequences/<Method>/<c>/videos/NNN_MMM.mp4  (<c> in raw/c23/c40)
  celebdf: Celeb-real/idT_NNNN.mp4, YouTube-real/NNNNN.mp4, Celeb-synthesis/idT_idS_NNNN.mp4
  dfdc:    metadata.json next to the videos it lists, or <part>/metadata.json per part"""

DFD_REAL_NAME = re.compile(r"(?P<actor>[^_]+)__.+")
DFD_FAKE_NAME = re.compile(r"(?P<target>[^_]+)_(?P<source>[^_]+)__.+")
FFPP_REAL_NAME = re.compile(r"(?P<id>[^_]+)")
FFPP_FAKE_NAME = re.compile(r"(?P<target>[^_]+)_(?P<source>[^_]+)")
CELEB_REAL_NAME = re.compile(r"(?P<identity>[^_]+)_[^_]+")
CELEB_FAKE_NAME = re.compile(r"(?P<target>[^_]+)_(?P<source>[^_]+)_[^_]+")

Row = dict[str, object]


def discover_videos(
    data_dir: str | os.PathLike,
    compression: str = "c23",
    identities: IdentityMap = None,
) -> pd.DataFrame:
    """List the labelled videos of a dataset directory, with the keys needed for leak-free splits.

    The layout is detected from what is inside `data_dir`: either `data_dir` is a dataset
    root itself, or (when it matches no layout) each of its sub-folders is tried, so a
    folder holding several datasets or several DFDC parts works too. Videos are only
    listed, never opened. Files and folders whose names start with "." are ignored.

    Every video lists the `identities` it shows: a fake shows its target and its source,
    so both are listed (target first), and `split_videos` keeps every one of them inside
    one split. `group` is the first (main) identity.

    Layouts:
      - "folders": `real/**/<video>` and `fake/**/<video>` (any letter case, any nesting).
        Identities from the file names the datasets use: DFD `AA__scene` and
        `TT_SS__scene__HASH`, FF++ `NNN` and `NNN_MMM`, Celeb-DF `idT_NNNN` and
        `idT_idS_NNNN`; any other name is its own identity (the file stem).
      - "dfd" (FaceForensics++ DeepFakeDetection): `original_sequences/actors/<c>/videos/`
        (real) and `manipulated_sequences/DeepFakeDetection/<c>/videos/` (fake).
        identities = the actor, for fakes target and source (`01_02__scene__ID.mp4` ->
        "01", "02").
      - "ffpp" (FaceForensics++): `original_sequences/youtube/<c>/videos/NNN.mp4` (real)
        and `manipulated_sequences/<Method>/<c>/videos/NNN_MMM.mp4` (fake) for Deepfakes,
        Face2Face, FaceSwap, NeuralTextures and FaceShifter. identities = the video ids
        (target and source for a fake); group = every id linked to this one through a fake
        or an official pair, as "min_max" ("000_003"). `splits/{train,val,test}.json`
        under the root, when present, set `split`.
      - "celebdf" (Celeb-DF v1/v2): `Celeb-real/idT_NNNN.mp4`, `YouTube-real/NNNNN.mp4`
        (real), `Celeb-synthesis/idT_idS_NNNN.mp4` (fake). identities = "idT" (and "idS"
        for fakes), "yt_<stem>" for YouTube-real. Videos in `List_of_testing_videos.txt`
        get split "test"; that file writes 1 for REAL (the inverse of our labels). The
        official test set shares identities with the other videos: it is kept as
        published, and `split_report` shows the overlap.
      - "dfdc": `metadata.json` next to the videos, in the root or in each part folder
        (`dfdc_train_part_0/`, ...). identity = the original (source) video's stem, so a
        fake and its original stay together (DFDC names no people). Videos listed but
        missing on disk are skipped; the metadata's "split" field is not a train/val/test
        split.

    Args:
        data_dir: dataset root, or a folder whose sub-folders are dataset roots.
        compression: FaceForensics++ / DFD quality folder: "raw", "c23" or "c40".
            Ignored by the other layouts.
        identities: who each video shows, for data whose file names do not say: a CSV
            file with columns `file` (path relative to `data_dir`, or absolute) and
            `identities` (names separated by spaces, ";" or "|"; target first), or a
            function `path -> identities`. Videos it does not list keep the identities
            their layout gives them; a listed file that is not a found video is an error.

    Returns:
        DataFrame sorted by path with columns `path` (absolute str), `label` (int,
        0 = real, 1 = fake), `identities` (tuple of str), `group` (str, the main
        identity, or FF++'s linked ids), `split` ("train"/"val"/"test" when the dataset
        fixes it, else "") and `dataset` ("folders", "dfd", "ffpp", "celebdf", "dfdc").

    Raises:
        FileNotFoundError: `data_dir` or the `identities` file does not exist.
        NotADirectoryError: `data_dir` is a file.
        ValueError: no videos found, only one class found, an unknown `compression`,
            a dataset file that contradicts the layout (names the file or line), or an
            `identities` file naming videos that were not found.

    Example:
        >>> import pathlib, tempfile
        >>> from vidseq.layouts import discover_videos  # also util.discover_videos
        >>> tmp = tempfile.TemporaryDirectory()
        >>> for name in ("real/a.mp4", "fake/b.mp4"):
        ...     path = pathlib.Path(tmp.name, name)
        ...     path.parent.mkdir()
        ...     path.touch()
        >>> discover_videos(tmp.name)[["label", "identities", "group", "dataset"]]
           label identities group  dataset
        0      1       (b,)     b  folders
        1      0       (a,)     a  folders
        >>> tmp.cleanup()
    """
    root = Path(data_dir).expanduser()
    if not root.exists():
        raise FileNotFoundError(f"Data directory not found: {str(root)!r}")
    if not root.is_dir():
        raise NotADirectoryError(f"Expected a data directory, received a file: {str(root)!r}")
    root = root.resolve()

    found = _find_layouts(root)
    _check_compression(compression, [where for layout, where in found if layout == "faceforensics"])

    rows: list[Row] = []
    for layout, where in found:
        if layout == "folders":
            rows += _folder_rows(where)
        elif layout == "faceforensics":
            rows += _dfd_rows(where, compression) + _ffpp_rows(where, compression)
        elif layout == "celebdf":
            rows += _celebdf_rows(where)
        else:
            rows += _dfdc_rows(where)

    if not rows:
        detected = ", ".join(f"{layout} at {str(where)!r}" for layout, where in found) or "none"
        raise ValueError(
            f"No videos found under {str(root)!r} (compression={compression!r}; layouts "
            f"detected: {detected}). Looked for these layouts, at that folder or one below:\n"
            f"{LAYOUT_HELP}\nVideo extensions: {', '.join(VIDEO_EXTENSIONS)} (any case)."
        )
    videos = pd.DataFrame(rows, columns=list(COLUMNS))
    videos = videos.sort_values("path", kind="stable").reset_index(drop=True)
    videos["label"] = videos["label"].astype("int64")
    _check_both_classes(videos, root)
    if identities is not None:
        apply_identities(videos, identities, root)
    return videos


def _find_layouts(root: Path) -> list[tuple[str, Path]]:
    """(layout, dataset root) pairs: `root` if it matches any layout, else its sub-folders."""
    found = [(layout, root) for layout in _layouts_at(root)]
    if not found:
        for child in _subdirs(root):
            found += [(layout, child) for layout in _layouts_at(child)]
    return found


def _layouts_at(folder: Path) -> list[str]:
    names = {child.name for child in _subdirs(folder)}
    layouts = []
    if any(name.lower() in FOLDER_LABELS for name in names):
        layouts.append("folders")
    # One FaceForensics tree can hold both DFD (actors) and FF++ (youtube) videos.
    if names & {"original_sequences", "manipulated_sequences"}:
        layouts.append("faceforensics")
    if names & CELEBDF_FOLDERS.keys():
        layouts.append("celebdf")
    if _dfdc_parts(folder):
        layouts.append("dfdc")
    return layouts


def _subdirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _is_video(path: Path) -> bool:
    # Hidden files include macOS "._name.mp4" metadata files, which are not videos.
    return (
        path.suffix.lower() in VIDEO_EXTENSIONS
        and not path.name.startswith(".")
        and path.is_file()
    )


def _videos_in(folder: Path) -> list[Path]:
    """Video files directly inside `folder` (none if it does not exist), sorted."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if _is_video(p))


def _row(path: Path, label: int, identities: tuple[str, ...], split: str, dataset: str, group: str | None = None) -> Row:
    """One video; `group` defaults to its main (first) identity."""
    return {"path": str(path), "label": label, "identities": identities, "group": group or identities[0],
            "split": split, "dataset": dataset}


def _parse_name(pattern: re.Pattern[str], path: Path, expected: str) -> re.Match[str]:
    match = pattern.fullmatch(path.stem)
    if match is None:
        raise ValueError(f"Unexpected video name {str(path)!r}: expected {expected}.")
    return match


def _check_both_classes(videos: pd.DataFrame, root: Path) -> None:
    counts = videos["label"].value_counts()
    if len(counts) < 2:
        present = "real" if counts.index[0] == 0 else "fake"
        missing = "fake" if present == "real" else "real"
        raise ValueError(
            f"Found only {present} videos under {str(root)!r}: {counts.iloc[0]} {present}, "
            f"0 {missing}. A classifier needs both classes; add the {missing} videos."
        )


# --- folders -----------------------------------------------------------------------------


def _folder_rows(root: Path) -> list[Row]:
    rows = []
    for class_dir in _subdirs(root):
        label = FOLDER_LABELS.get(class_dir.name.lower())
        if label is None:
            continue
        for path in sorted(class_dir.rglob("*")):
            if _is_video(path) and not _in_hidden_dir(path, class_dir):
                rows.append(_row(path, label, identities_from_name(path.stem), "", "folders"))
    return rows


def _in_hidden_dir(path: Path, top: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(top).parts[:-1])


# --- FaceForensics++ / DFD -----------------------------------------------------------------


def _sequence_dirs(root: Path) -> list[Path]:
    methods = (DFD_METHOD, *FFPP_METHODS)
    return [root / "original_sequences" / kind for kind in ("actors", "youtube")] + [
        root / "manipulated_sequences" / method for method in methods
    ]


def _available_compressions(root: Path) -> list[str]:
    present = {c for seq in _sequence_dirs(root) for c in COMPRESSIONS if (seq / c).is_dir()}
    return [c for c in COMPRESSIONS if c in present]


def _check_compression(compression: str, faceforensics_roots: Iterable[Path]) -> None:
    for root in faceforensics_roots:
        available = _available_compressions(root)
        # An empty tree has no compression to choose; it ends in "no videos found" instead.
        if available and compression not in available:
            raise ValueError(
                f"Received: compression={compression!r}. Available under {str(root)!r}: "
                f"{available} (valid values: {list(COMPRESSIONS)})."
            )
    if compression not in COMPRESSIONS:
        raise ValueError(
            f"Received: compression={compression!r}. Valid values: {list(COMPRESSIONS)} "
            "(the FaceForensics++/DFD quality folder)."
        )


def _dfd_rows(root: Path, compression: str) -> list[Row]:
    # A fake shows the target actor's scene with the source actor's face: both identities.
    # group = the target (linking sources would chain nearly all 28 actors into one group).
    rows = []
    real_dir = root / "original_sequences" / "actors" / compression / "videos"
    for path in _videos_in(real_dir):
        match = _parse_name(DFD_REAL_NAME, path, "<actor>__<scene>")
        rows.append(_row(path, 0, (match["actor"],), "", "dfd"))
    fake_dir = root / "manipulated_sequences" / DFD_METHOD / compression / "videos"
    for path in _videos_in(fake_dir):
        match = _parse_name(DFD_FAKE_NAME, path, "<target>_<source>__<scene>__<id>")
        rows.append(_row(path, 1, identity_tuple((match["target"], match["source"]), str(path)), "", "dfd"))
    return rows


def _ffpp_rows(root: Path, compression: str) -> list[Row]:
    reals = []  # (path, id)
    for path in _videos_in(root / "original_sequences" / "youtube" / compression / "videos"):
        reals.append((path, _parse_name(FFPP_REAL_NAME, path, "NNN")["id"]))
    fakes = []  # (path, target id, source id)
    for method in FFPP_METHODS:
        for path in _videos_in(root / "manipulated_sequences" / method / compression / "videos"):
            match = _parse_name(FFPP_FAKE_NAME, path, "NNN_MMM (target_source)")
            fakes.append((path, match["target"], match["source"]))
    pair_split = _read_ffpp_splits(root)
    id_split = {video_id: split for pair, split in pair_split.items() for video_id in pair}

    # A fake NNN_MMM shows both ids NNN and MMM, so both must stay in one split, and so must
    # every id linked to them by another fake or an official pair: group = connected
    # component of ids (union-find). With the official data each component is one pair.
    components = UnionFind()
    for _, video_id in reals:
        components.add(video_id)
    for _, target, source in fakes:
        components.union(target, source)
    for a, b in pair_split:
        components.union(a, b)
    group = components.keys()

    rows = [
        _row(path, 0, (video_id,), id_split.get(video_id, ""), "ffpp", group[video_id])
        for path, video_id in reals
    ]
    for path, target, source in fakes:
        split = pair_split.get(frozenset((target, source)), "")
        rows.append(_row(path, 1, identity_tuple((target, source), str(path)), split, "ffpp", group[target]))
    return rows


def _read_ffpp_splits(root: Path) -> dict[frozenset[str], str]:
    """Official pair -> split from `splits/{train,val,test}.json` (lists of [a, b] id pairs)."""
    pair_split: dict[frozenset[str], str] = {}
    id_split: dict[str, str] = {}
    for split in SPLITS:
        path = root / "splits" / f"{split}.json"
        if not path.is_file():
            continue
        pairs = _load_json(path)
        if not isinstance(pairs, list):
            raise ValueError(f"{str(path)!r} must hold a JSON list of [a, b] id pairs.")
        for pair in pairs:
            if not (
                isinstance(pair, list) and len(pair) == 2 and all(isinstance(i, str) for i in pair)
            ):
                raise ValueError(
                    f"{str(path)!r}: received {pair!r}; expected a pair of ids like "
                    '["000", "003"].'
                )
            for video_id in pair:
                if id_split.setdefault(video_id, split) != split:
                    raise ValueError(
                        f"Video id {video_id!r} is in both the {id_split[video_id]!r} and "
                        f"{split!r} splits under {str(root / 'splits')!r}."
                    )
            pair_split[frozenset(pair)] = split
    return pair_split


# --- Celeb-DF ------------------------------------------------------------------------------


def _celebdf_rows(root: Path) -> list[Row]:
    rows: dict[str, Row] = {}  # keyed "<folder>/<file>" as in the test list
    for folder, label in CELEBDF_FOLDERS.items():
        for path in _videos_in(root / folder):
            if folder == "YouTube-real":
                identities = (f"yt_{path.stem}",)
            elif label == 0:
                identities = (_parse_name(CELEB_REAL_NAME, path, "idT_NNNN")["identity"],)
            else:
                match = _parse_name(CELEB_FAKE_NAME, path, "idT_idS_NNNN")
                identities = identity_tuple((match["target"], match["source"]), str(path))
            rows[f"{folder}/{path.name}"] = _row(path, label, identities, "", "celebdf")

    test_list = root / CELEBDF_TEST_LIST
    if test_list.is_file():
        lines = test_list.read_text().splitlines()
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            where = f"{str(test_list)!r} line {number} ({line.strip()!r})"
            parts = line.split(maxsplit=1)
            if len(parts) != 2 or parts[0] not in ("0", "1"):
                raise ValueError(f"{where}: expected '<0|1> <folder>/<file>'.")
            row = rows.get(parts[1].strip().replace("\\", "/"))
            if row is None:  # listed but not downloaded
                continue
            # The list writes 1 for REAL and 0 for FAKE: the inverse of our labels.
            if 1 - int(parts[0]) != row["label"]:
                raise ValueError(
                    f"{where}: the list's label {parts[0]} (1 = real there) says "
                    f"{'real' if parts[0] == '1' else 'fake'}, but the video's folder says "
                    f"{'real' if row['label'] == 0 else 'fake'}."
                )
            row["split"] = "test"
    return list(rows.values())


# --- DFDC ----------------------------------------------------------------------------------


def _dfdc_parts(root: Path) -> list[Path]:
    """Folders holding a metadata.json: `root` itself and/or its sub-folders (the train parts)."""
    return [part for part in (root, *_subdirs(root)) if (part / "metadata.json").is_file()]


def _dfdc_rows(root: Path) -> list[Row]:
    return [row for part in _dfdc_parts(root) for row in _dfdc_part_rows(part)]


def _dfdc_part_rows(part: Path) -> list[Row]:
    metadata_path = part / "metadata.json"
    metadata = _load_json(metadata_path)
    if not isinstance(metadata, dict):
        raise ValueError(f"{str(metadata_path)!r} must hold a JSON object keyed by video name.")
    rows = []
    for name, entry in sorted(metadata.items()):
        path = part / name
        if not _is_video(path):  # listed but missing on disk
            continue
        label = DFDC_LABELS.get(entry.get("label")) if isinstance(entry, dict) else None
        if label is None:
            raise ValueError(
                f"{str(metadata_path)!r}: entry {name!r} is {entry!r}; expected a label "
                f"in {list(DFDC_LABELS)}."
            )
        # A fake and its original share a group; the metadata's "split" is always "train".
        original = entry.get("original") if label == 1 else None
        rows.append(_row(path, label, (Path(original or name).stem,), "", "dfdc"))
    return rows


def _load_json(path: Path) -> object:
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{str(path)!r} is not valid JSON: {error}") from error
