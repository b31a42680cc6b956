"""Content-addressed on-disk cache of per-video results (.npz, .npy or JSON, atomic, no pickle).

A key covers everything that changes the array: the video file (path, size, mtime),
the sampling, the backbone and its weights, and a format version. A run killed half-way
leaves only finished files behind (temp file + rename), so the next run resumes.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from vidseq.utils.atomic import atomic_path, write_json, write_npz

CACHE_FORMAT = 1


def video_fingerprint(path: str | os.PathLike) -> dict[str, Any]:
    """Identify a video file by absolute path, size and modification time."""
    path = Path(path).resolve()
    try:
        stat = path.stat()
    except OSError:
        return {"path": str(path), "size": -1, "mtime_ns": -1}
    return {"path": str(path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def content_fingerprint(path: str | os.PathLike, chunk: int = 1 << 16) -> str:
    """A digest of a file's size, first and last `chunk` bytes: equal for copies wherever they
    are, without reading whole videos (an encoder's header and tail differ between clips)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        size = f.seek(0, os.SEEK_END)
        digest.update(str(size).encode())
        f.seek(0)
        digest.update(f.read(chunk))
        f.seek(max(size - chunk, 0))
        digest.update(f.read(chunk))
    return digest.hexdigest()


def cache_key(video: str | os.PathLike, **settings: Any) -> str:
    """A hex digest of the video's fingerprint, the settings and the cache format."""
    payload = {"video": video_fingerprint(video), "format": CACHE_FORMAT, **settings}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


class DiskCache:
    """Files `<root>/<namespace>/<key[:2]>/<key>.{npz,npy,json}`; root None disables caching."""

    def __init__(self, root: str | os.PathLike | None, namespace: str):
        self.root = Path(root) / namespace if root is not None else None

    def _file(self, key: str, suffix: str) -> Path | None:
        return None if self.root is None else self.root / key[:2] / f"{key}{suffix}"

    def load(self, key: str, names: Sequence[str] | None = None) -> dict[str, np.ndarray] | None:
        """The arrays saved under `key` (only `names` when given: the others are not read), or None."""
        file = self._file(key, ".npz")
        if file is None or not file.is_file():
            return None
        try:
            with np.load(file, allow_pickle=False) as data:
                return {name: data[name] for name in (data.files if names is None else names)}
        except (OSError, ValueError, EOFError, KeyError):
            return None  # unreadable entry: recompute and overwrite

    def entry_file(self, key: str) -> Path | None:
        """Where `save` puts a key's arrays (one `.npz`): what streaming readers open."""
        return self._file(key, ".npz")

    def save(self, key: str, **arrays: np.ndarray) -> None:
        if self.root is not None:
            write_npz(self._file(key, ".npz"), **arrays)

    def array_file(self, key: str) -> Path | None:
        """Where `save_array` puts a key's array: a plain `.npy`, so readers can memory-map it."""
        return self._file(key, ".npy")

    def save_array(self, key: str, array: np.ndarray) -> None:
        if self.root is not None:
            with atomic_path(self.array_file(key)) as tmp:
                np.save(tmp, array, allow_pickle=False)

    def load_json(self, key: str) -> Any:
        file = self._file(key, ".json")
        if file is None or not file.is_file():
            return None
        try:
            return json.loads(file.read_text())
        except (OSError, ValueError):
            return None

    def save_json(self, key: str, obj: Any) -> None:
        if self.root is not None:
            write_json(self._file(key, ".json"), obj)


def npz_member(file: str | os.PathLike, name: str) -> tuple[int, tuple[int, ...], np.dtype] | None:
    """Where the array `name` lies in an uncompressed `.npz` (as `np.savez` writes them):
    `(byte offset of its data, shape, dtype)`, from the zip's and the `.npy`'s headers only, so
    that a reader can `np.fromfile` it without parsing the zip again. None if the file or the
    array cannot be read that way."""
    try:
        with open(file, "rb") as f, zipfile.ZipFile(f) as archive:
            info = archive.getinfo(f"{name}.npy")
            if info.compress_type != zipfile.ZIP_STORED:
                return None
            f.seek(info.header_offset)
            local = f.read(30)  # the member's local header; its name and extra field follow
            f.seek(info.header_offset + 30 + int.from_bytes(local[26:28], "little")
                   + int.from_bytes(local[28:30], "little"))
            version = np.lib.format.read_magic(f)
            read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, fortran_order, dtype = read(f)
            return None if fortran_order else (f.tell(), shape, dtype)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile):
        return None


def default_cache_dir() -> Path:
    """`$VIDSEQ_CACHE`, else `~/.cache/vidseq`: embeddings are shared by every run."""
    return Path(os.environ.get("VIDSEQ_CACHE", Path.home() / ".cache" / "vidseq"))
