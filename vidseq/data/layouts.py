"""Dataset layouts: find the videos of a deepfake dataset and label them, without opening them.

Supported layouts (see `data/README.md` for tree sketches): plain `real/` + `fake/` folders,
FaceForensics++ (including its DeepFakeDetection part, "DFD"), Celeb-DF v1/v2 and DFDC.
Every layout is read into the same table: `identities` are the people a video shows (a
fake shows its target and its source), `group` is its main identity (what a target-only
split keeps together), `split` is the dataset's official split where it has one.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from vidseq.data.identities import IdentityMap, apply_identities
from vidseq.data.layout_readers import (CELEBDF_FOLDERS, FOLDER_LABELS, SPLITS, Row, celebdf_rows, check_compression,
                                   dfd_rows, dfdc_parts, dfdc_rows, ffpp_rows, folder_rows, subdirs)
from vidseq.data.video_io import VIDEO_EXTENSIONS

COLUMNS = ("path", "label", "identities", "group", "split", "dataset")

# Printed when nothing is found, so the user can compare their tree with what is expected.
LAYOUT_HELP = """\
  folders: real/**/<video>, fake/**/<video> (folder names in any letter case)
  dfd:     original_sequences/actors/<c>/videos/<actor>__<scene>.mp4,
           manipulated_sequences/DeepFakeDetection/<c>/videos/<target>_<source>__<scene>__<id>.mp4
  ffpp:    original_sequences/youtube/<c>/videos/NNN.mp4,
           manipulated_sequences/<Method>/<c>/videos/NNN_MMM.mp4  (<c> in raw/c23/c40)
  celebdf: Celeb-real/idT_NNNN.mp4, YouTube-real/NNNNN.mp4, Celeb-synthesis/idT_idS_NNNN.mp4
  dfdc:    metadata.json next to the videos it lists, or <part>/metadata.json per part"""

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
        >>> from vidseq.data.layouts import discover_videos  # also util.discover_videos
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
    check_compression(compression, [where for layout, where in found if layout == "faceforensics"])

    rows: list[Row] = []
    for layout, where in found:
        if layout == "folders":
            rows += folder_rows(where)
        elif layout == "faceforensics":
            rows += dfd_rows(where, compression) + ffpp_rows(where, compression)
        elif layout == "celebdf":
            rows += celebdf_rows(where)
        else:
            rows += dfdc_rows(where)

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
        for child in subdirs(root):
            found += [(layout, child) for layout in _layouts_at(child)]
    return found


def _layouts_at(folder: Path) -> list[str]:
    names = {child.name for child in subdirs(folder)}
    layouts = []
    if any(name.lower() in FOLDER_LABELS for name in names):
        layouts.append("folders")
    # One FaceForensics tree can hold both DFD (actors) and FF++ (youtube) videos.
    if names & {"original_sequences", "manipulated_sequences"}:
        layouts.append("faceforensics")
    if names & CELEBDF_FOLDERS.keys():
        layouts.append("celebdf")
    if dfdc_parts(folder):
        layouts.append("dfdc")
    return layouts


def _check_both_classes(videos: pd.DataFrame, root: Path) -> None:
    counts = videos["label"].value_counts()
    if len(counts) < 2:
        present = "real" if counts.index[0] == 0 else "fake"
        missing = "fake" if present == "real" else "real"
        raise ValueError(
            f"Found only {present} videos under {str(root)!r}: {counts.iloc[0]} {present}, "
            f"0 {missing}. A classifier needs both classes; add the {missing} videos."
        )


__all__ = ["discover_videos", "COLUMNS", "SPLITS", "LAYOUT_HELP"]
