"""One reader per dataset layout: the rows of a FaceForensics++/DFD, Celeb-DF, DFDC or plain
real/fake tree, from file and folder names and the datasets' own lists, never opening a video.

`vidseq.data.layouts.discover_videos` finds which layouts a folder holds and calls these.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Iterable

from vidseq.data.identities import UnionFind, identities_from_name, identity_tuple
from vidseq.data.video_io import VIDEO_EXTENSIONS

COMPRESSIONS = ("raw", "c23", "c40")
SPLITS = ("train", "val", "test")

FOLDER_LABELS = {"real": 0, "fake": 1}
FFPP_METHODS = ("Deepfakes", "Face2Face", "FaceSwap", "NeuralTextures", "FaceShifter")
DFD_METHOD = "DeepFakeDetection"
CELEBDF_FOLDERS = {"Celeb-real": 0, "YouTube-real": 0, "Celeb-synthesis": 1}
CELEBDF_TEST_LIST = "List_of_testing_videos.txt"
DFDC_LABELS = {"REAL": 0, "FAKE": 1}

DFD_REAL_NAME = re.compile(r"(?P<actor>[^_]+)__.+")
DFD_FAKE_NAME = re.compile(r"(?P<target>[^_]+)_(?P<source>[^_]+)__.+")
FFPP_REAL_NAME = re.compile(r"(?P<id>[^_]+)")
FFPP_FAKE_NAME = re.compile(r"(?P<target>[^_]+)_(?P<source>[^_]+)")
CELEB_REAL_NAME = re.compile(r"(?P<identity>[^_]+)_[^_]+")
CELEB_FAKE_NAME = re.compile(r"(?P<target>[^_]+)_(?P<source>[^_]+)_[^_]+")

Row = dict[str, object]


def subdirs(folder: Path) -> list[Path]:
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


# --- folders -----------------------------------------------------------------------------


def folder_rows(root: Path) -> list[Row]:
    rows = []
    for class_dir in subdirs(root):
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


def check_compression(compression: str, faceforensics_roots: Iterable[Path]) -> None:
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


def dfd_rows(root: Path, compression: str) -> list[Row]:
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


def ffpp_rows(root: Path, compression: str) -> list[Row]:
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


def celebdf_rows(root: Path) -> list[Row]:
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


def dfdc_parts(root: Path) -> list[Path]:
    """Folders holding a metadata.json: `root` itself and/or its sub-folders (the train parts)."""
    return [part for part in (root, *subdirs(root)) if (part / "metadata.json").is_file()]


def dfdc_rows(root: Path) -> list[Row]:
    return [row for part in dfdc_parts(root) for row in _dfdc_part_rows(part)]


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
