"""The feature cache as a public API: each video's frame features `(T, D)` and mask `(T,)` on disk.

Bring your own features: frame features computed anywhere (another framework, another
model, a GPU cluster) are written per video into a named feature set in vidseq's cache;
runs then train, search, evaluate and compare on them as on a backbone's embeddings, with
`img_model_name="features:<name>"`. Every video of a set has the same `(num_frames,
feature_dim)`, fixed by the set's first write. An entry is found by its video file (absolute
path, size and modification time, as the cache's own entries are), so the videos stay
where they were when their features were written.

A backbone's embeddings (`vidseq.features.extract`) are entries of the same format; the
training recipes read both back with `load_entry`, one video at a time.

    >>> import numpy as np
    >>> store = FeatureStore("clip-vit", cache_dir="/tmp/vidseq-cache")
    >>> store.write("data/demo/real/real_000.mp4", np.random.rand(16, 512))  # doctest: +SKIP
    >>> features, mask = store.read("data/demo/real/real_000.mp4")  # doctest: +SKIP
    >>> features.shape, bool(mask.all())  # doctest: +SKIP
    ((16, 512), True)
"""

from __future__ import annotations

import json
import os
import re
import secrets
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from vidseq.utils.atomic import write_json_once
from vidseq.utils.cache import DiskCache, cache_key, default_cache_dir

PREFIX = "features:"  # img_model_name = PREFIX + a feature set's name
SET_NAME = r"[\w.+-]+"
FEATURE_DTYPES = ("float32", "float16")
MANIFEST = "feature_set.json"


def feature_set_name(img_model_name: Any) -> str | None:
    """The feature set a model name selects ("features:clip-vit" -> "clip-vit"), else None."""
    if isinstance(img_model_name, str) and img_model_name.lower().startswith(PREFIX):
        return img_model_name[len(PREFIX) :]
    return None


def check_feature_dtype(feature_dtype: Any) -> str:
    """`feature_dtype` if it is a precision the cache stores, else a one-line error."""
    if feature_dtype not in FEATURE_DTYPES:
        raise ValueError(f"Received: feature_dtype={feature_dtype!r}. Expected one of {FEATURE_DTYPES}.")
    return feature_dtype


class FeatureStore:
    """One named feature set in the cache `cache_dir` (default: `$VIDSEQ_CACHE` or ~/.cache/vidseq).

    `write` stores one video's features, `read` gives them back; `info()` says the set's shape.
    Runs name the set `img_model_name="features:<name>"` with the same `cache_dir`.

    >>> store = FeatureStore("clip-vit", "/tmp/vidseq-cache")
    >>> store.info() is None or set(store.info()) >= {"num_frames", "feature_dim"}
    True
    """

    def __init__(self, name: str, cache_dir: str | os.PathLike | None = None):
        if not isinstance(name, str) or not re.fullmatch(SET_NAME, name):
            raise ValueError(f"Received: a feature set named {name!r}. Expected letters, digits and . _ + - only.")
        self.name = name
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self._entries = DiskCache(self.cache_dir / "features", name)
        self.manifest = self._entries.root / MANIFEST

    def info(self) -> dict[str, Any] | None:
        """`{"name", "num_frames", "feature_dim", "id"}` of the set; None before its first write."""
        try:
            return json.loads(self.manifest.read_text())
        except FileNotFoundError:
            return None

    def require(self) -> dict[str, Any]:
        """`info()`, or a one-line error naming the sets this cache holds."""
        info = self.info()
        if info is None:
            sets = sorted(p.parent.name for p in (self.cache_dir / "features").glob(f"*/{MANIFEST}"))
            raise FileNotFoundError(f"Received: feature set {self.name!r}, which holds no features in "
                                    f"{str(self.cache_dir)!r}. Expected a set written with write_features() "
                                    f"there: {sets or 'none yet'}.")
        return info

    @property
    def identity(self) -> str:
        """What a run records of the set (as of a backbone's weights): its name and the id it got when created."""
        return f"features-{self.name}-{self.require()['id']}"

    def write(self, video_path: str | os.PathLike, features: Any, mask: Any = None) -> None:
        """Store one video's frame features `(num_frames, feature_dim)` and mask `(num_frames,)`
        (True for a real frame; default: all). Frames masked out are stored as zeros, which the
        heads skip. float16 features stay float16 (half the disk and the reading); any other
        numbers are stored as float32. Everything is checked before anything is written, and
        the entry appears whole or not at all; writing a video again replaces its entry.

        >>> FeatureStore("clip-vit").write("data/demo/real/real_000.mp4", np.zeros((16, 512)),
        ...                                np.arange(16) < 12)  # doctest: +SKIP
        """
        path = Path(video_path)
        where = f"for video {str(video_path)!r}"
        if not path.is_file():
            raise FileNotFoundError(f"Received: video_path={str(video_path)!r}, which is not a file. Expected the "
                                    "video the features were computed from: its path, size and modification time "
                                    "find them again.")
        features = np.asarray(features)
        numeric = np.issubdtype(features.dtype, np.floating) or np.issubdtype(features.dtype, np.integer)
        if features.ndim != 2 or 0 in features.shape or not numeric:
            raise ValueError(f"Received features of shape {features.shape} and dtype {features.dtype} {where}. "
                             "Expected a (num_frames, feature_dim) array of numbers.")
        mask = np.ones(len(features), bool) if mask is None else np.asarray(mask)
        if mask.shape != (len(features),) or not (mask.dtype == bool or np.isin(mask, (0, 1)).all()):
            raise ValueError(f"Received a mask of shape {mask.shape} and dtype {mask.dtype} {where} (features "
                             f"{features.shape}). Expected a bool array of shape ({len(features)},).")
        mask = mask.astype(bool)
        if not mask.any():
            raise ValueError(f"Received a mask without any True frame {where}. Expected at least one: leave a "
                             "video without features out (runs skip it and list it in metrics.json).")
        with np.errstate(over="ignore"):  # float16 overflow becomes inf: refused below
            stored = np.where(mask[:, None], features, 0).astype(np.float16 if features.dtype == np.float16
                                                                 else np.float32)
        if not np.isfinite(stored).all():
            raise ValueError(f"Received features with NaN or infinite values {where} (float16 holds up to 65504). "
                             "Expected finite numbers.")
        info = self.info() or self._create(stored.shape)
        expected = (info["num_frames"], info["feature_dim"])
        if stored.shape != expected:
            raise ValueError(f"Received features of shape {features.shape} {where}. Expected {expected}: every video "
                             f"of feature set {self.name!r} has {expected[0]} frames of {expected[1]} features (write "
                             "other shapes as another set).")
        self._entries.save(cache_key(path), features=stored, mask=mask)

    def read(self, video_path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
        """`(features float32 (num_frames, feature_dim), mask bool (num_frames,))` of one video."""
        file = self.entry_file(video_path)
        if file is None:
            raise FileNotFoundError(f"Received: video_path={str(video_path)!r}, which has no features in feature set "
                                    f"{self.name!r} ({str(self._entries.root)!r}). Expected a video written with "
                                    "write_features(), unchanged since (same path, size and modification time).")
        return load_entry(file)

    def entry_file(self, video_path: str | os.PathLike) -> Path | None:
        """The file holding `video_path`'s features, None when the set has none for it."""
        file = self._entries.entry_file(cache_key(video_path))
        return file if file.is_file() else None

    def entry_files(self, paths: Sequence[str]) -> tuple[list[Path | None], dict[str, str]]:
        """Each video's entry file (None where missing) and `{path: why}` of the missing ones."""
        files = [self.entry_file(p) for p in paths]
        missing = f"no features in feature set {self.name!r} for this video"
        return files, {str(p): missing for p, f in zip(paths, files) if f is None}

    def _create(self, shape: tuple[int, int]) -> dict[str, Any]:
        """The set's manifest, written by the first writer (another process may win the race)."""
        write_json_once(self.manifest, dict(name=self.name, num_frames=int(shape[0]), feature_dim=int(shape[1]),
                                            id=secrets.token_hex(8)))
        return self.require()


def load_entry(file: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """`(features float32 (T, D), mask bool (T,))` of one cache entry: a feature set's or a backbone's."""
    try:
        with np.load(file, allow_pickle=False) as data:
            return data["features"].astype(np.float32, copy=False), data["mask"]
    except (OSError, ValueError, KeyError) as err:
        raise ValueError(f"Received an unreadable feature cache entry {str(file)!r} ({err}). Expected an .npz of "
                         "features and mask: delete the file and run again.") from err


def write_features(name: str, video_path: str | os.PathLike, features: Any, mask: Any = None,
                   cache_dir: str | os.PathLike | None = None) -> None:
    """Write one video's frame features `(num_frames, feature_dim)` (and mask) into feature set
    `name`: `FeatureStore(name, cache_dir).write(video_path, features, mask)`.

    >>> write_features("clip-vit", "data/demo/real/real_000.mp4", np.zeros((16, 512)))  # doctest: +SKIP
    """
    FeatureStore(name, cache_dir).write(video_path, features, mask)


def read_features(name: str, video_path: str | os.PathLike,
                  cache_dir: str | os.PathLike | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One video's `(features float32 (num_frames, feature_dim), mask (num_frames,))` from feature set `name`.

    >>> features, mask = read_features("clip-vit", "data/demo/real/real_000.mp4")  # doctest: +SKIP
    """
    return FeatureStore(name, cache_dir).read(video_path)


__all__ = ["FeatureStore", "write_features", "read_features", "load_entry", "feature_set_name", "check_feature_dtype",
           "PREFIX", "FEATURE_DTYPES"]
