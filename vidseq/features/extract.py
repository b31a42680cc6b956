"""Extraction: sampled frames (or face crops) of each video -> frozen backbone -> cached embeddings.

Also the crop cache of the frame classifiers, and the Ray engine's worker. Decoding runs in
threads ahead of inference; every result is stored once in the content-addressed cache, so a
warm call neither decodes nor builds a backbone, and a killed run resumes where it stopped.

    >>> from vidseq.features.extract import embed_videos
    >>> features, mask = embed_videos(["data/demo/real/real_000.mp4"], 16, weights="random")  # doctest: +SKIP
"""

from __future__ import annotations

import collections
import concurrent.futures
import os
import warnings
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from vidseq.features import backbone_models, backbones
from vidseq.features import ray_engine
from vidseq.features.store import check_feature_dtype, load_entry
from vidseq.utils.cache import DiskCache, cache_key, default_cache_dir, npz_member
from vidseq.utils.checks import check_int
from vidseq.utils.notices import SkippedVideoWarning
from vidseq.data.faces import FaceCrop, face_settings
from vidseq.utils.progress import progress_bar
from vidseq.data.sampling import (NoFaceError, check_num_frames, check_on_truncated, read_frames_and_face, read_variant,
                                  sample_indices, sampling_seed)
from vidseq.data.video_io import VideoReadError

ENGINES = ("local", "ray")


def embed_videos(
    paths: Sequence[str | os.PathLike],
    num_frames: int,
    img_model_name: str = "MobileNetV2",
    weights: Any = "imagenet",
    cache_dir: str | os.PathLike | None = None,
    face_crop: bool | FaceCrop = False,
    batch_size: int = 32,
    on_error: str = "raise",
    strategy: str = "uniform",
    seed: int | None = None,
    workers: int = 2,
    engine: str = "local",
    ray_workers: int | None = None,
    ray_address: str | None = None,
    feature_dtype: str = "float32",
) -> tuple[np.ndarray, np.ndarray]:
    """Frame embeddings of each video from a frozen backbone: `(features (N, T, D), mask (N, T))`.

    Decoding runs in `workers` threads ahead of inference, a few videos at a time, so memory
    holds the output array and a bounded number of frames. With `cache_dir`, each video's
    embeddings are stored once (content-addressed `.npz`); a warm call neither decodes nor
    builds the backbone, and a killed run resumes where it stopped. `on_error="skip"` leaves
    an unreadable video's row at zeros with mask False and warns naming it. `face_crop=True`
    (or a `FaceCrop`) embeds square crops around each video's tracked face (see
    `vidseq.data.sampling.read_frames`); their boxes are cached too, so other backbones never re-detect. `seed` drives
    the "random" and "clip" frame sampling; "random" weights always use one fixed seed.
    `feature_dtype="float16"` keeps the embeddings at half precision (half the disk and the
    reading; cached apart from float32 ones); the arrays returned are float32 either way.
    For more videos than memory holds, `cache_embeddings` fills the cache without returning them.

    `engine="ray"` embeds the videos missing from the cache on a Ray cluster (`pip install
    "vidseq[ray]"`): `ray_address` ("auto" joins the cluster `ray start` made; default: the
    session already connected, else a local one), `ray_workers` actors (default: one per
    GPU, else one per node with all its CPUs), each building its backbone once and writing
    into the same cache, which must then be on a filesystem every node sees, as must the
    videos. Results and cache entries are those of the local engine.

    >>> features, mask = embed_videos(["data/demo/real/real_000.mp4"], 16, "MobileNetV2",
    ...                               weights="random", cache_dir="/tmp/vidseq-cache")  # doctest: +SKIP
    >>> features.shape  # doctest: +SKIP
    (1, 16, 1280)
    """
    features, mask, _, _ = embed_with_skips(paths, num_frames, img_model_name, weights, cache_dir, face_crop,
                                            batch_size, on_error, strategy, seed, workers, engine=engine,
                                            ray_workers=ray_workers, ray_address=ray_address,
                                            feature_dtype=feature_dtype)
    return features, mask


def cache_embeddings(paths: Sequence[str | os.PathLike], num_frames: int, img_model_name: str = "MobileNetV2",
                     weights: Any = "imagenet", cache_dir: str | os.PathLike | None = None,
                     **options: Any) -> tuple[list[Path | None], dict[str, str], list[str]]:
    """Fill the cache with each video's embeddings without returning them: `(entry file per
    video, None where skipped; {path: error} of skipped videos; paths where no face was found)`.

    `options`: `embed_videos`' other keywords (`face_crop`, `batch_size`, `on_error`,
    `strategy`, `seed`, `workers`, `engine`, `ray_workers`, `ray_address`, `feature_dtype`),
    `quiet` (no progress bar), `track` (which face track to crop, `vidseq.data.sampling.read_frames`;
    a video without it is skipped), `on_truncated` and `perturb` (a
    `vidseq.data.perturb.Perturbation` degrading the sampled frames; cached apart).
    `cache_dir` None: the default cache.
    Memory holds a few videos' frames, never the dataset's features; a cached video is not
    read (its entry's header says it is complete). Read an entry back with
    `vidseq.features.store.load_entry`.

    >>> files, errors, no_face = cache_embeddings(["data/demo/real/real_000.mp4"], 16,
    ...                                           weights="random")  # doctest: +SKIP
    """
    embedder, _, filled, errors, no_face = _embedding(paths, num_frames, img_model_name, weights,
                                                      cache_dir or default_cache_dir(), **options)
    files: list[Path | None] = [None] * len(paths)
    for i, key, _ in filled:
        files[i] = embedder.cache.entry_file(key)
    return files, errors, no_face


def embed_with_skips(*args: Any, **kwargs: Any) -> tuple[np.ndarray, np.ndarray, dict[str, str], list[str]]:
    """`embed_videos` (same arguments, in its order), also returning `{path: error}` of skipped
    videos and the paths where no face was found. Also takes `quiet`, `track` and `on_truncated`
    (`cache_embeddings`)."""
    embedder, paths, filled, errors, no_face = _embedding(*args, **kwargs)
    features = np.zeros((len(paths), embedder.num_frames, embedder.spec.feature_dim), np.float32)
    mask = np.zeros((len(paths), embedder.num_frames), bool)
    for i, key, computed in filled:
        features[i], mask[i] = computed if computed is not None else load_entry(embedder.cache.entry_file(key))
    return features, mask, errors, no_face


def _embedding(paths, num_frames, img_model_name, weights, cache_dir, face_crop=False, batch_size=32, on_error="raise",
               strategy="uniform", seed=None, workers=2, engine="local", ray_workers=None, ray_address=None,
               feature_dtype="float32", quiet=False, track=0, on_truncated="raise", perturb=None,
               counts: dict | None = None):
    """Every argument checked, then `(the _Embedder, the paths as strings, the generator `_fill` of
    them, the {path: error} of skipped videos and the list of faceless ones, filled as it goes)`.
    `counts`, a dict if given, gets `cached`: how many videos were read from the cache."""
    if engine not in ENGINES:
        raise ValueError(f"Received: engine={engine!r}. Expected one of {ENGINES}.")
    if on_error not in ("raise", "skip"):
        raise ValueError(f"Received: on_error={on_error!r}. Expected 'raise' or 'skip'.")
    check_int("workers", workers, 1)
    if isinstance(paths, (str, os.PathLike)):
        raise ValueError(f"Received: paths={str(paths)!r}, a single path. Expected a list of video paths.")
    if engine == "ray":
        if cache_dir is None:
            raise ValueError("Received: engine='ray' with cache_dir=None. Expected a cache_dir that every node of "
                             "the cluster can read and write (a shared filesystem): Ray workers hand results over "
                             "through it.")
        ray_engine.check_ray()
        ray_engine.check_address(ray_address)
    embedder = _Embedder(img_model_name, weights, num_frames, strategy, seed, face_crop, cache_dir, batch_size, track,
                         on_truncated, feature_dtype, perturb)
    paths = [str(p) for p in paths]
    errors: dict[str, str] = {}
    no_face: list[str] = []
    filled = _fill(embedder, paths, on_error, workers, quiet, engine, ray_workers, ray_address, errors, no_face, counts)
    return embedder, paths, filled, errors, no_face


def _fill(embedder: _Embedder, paths: list[str], on_error: str, workers: int, quiet: bool, engine: str,
          ray_workers: int | None, ray_address: str | None, errors: dict, no_face: list,
          counts: dict | None = None) -> Iterable:
    """Yield `(index, cache key, computed)` for every usable video of `paths`: `computed` is its
    `(features, mask)` when embedded here, None when it is in the cache (found there, or put
    there by Ray workers). Skipped videos go into `errors`, faceless ones into `no_face`."""
    todo = []
    for i, path in enumerate(paths):
        key = embedder.key(path)
        face_found = embedder.cached(key)
        if face_found is None:
            todo.append((i, path, key))
            continue
        if face_found == 0:
            no_face.append(path)
        yield i, key, None
    if counts is not None:
        counts["cached"] = len(paths) - len(todo)
    if not todo:
        return
    if engine == "ray":
        for i, _, key in _embed_on_ray(embedder, todo, on_error, errors, no_face, ray_workers, ray_address):
            yield i, key, None
        return
    embedder.backbone()  # before the progress bar: weights that cannot load (ImageNet offline) fail at once
    for (i, _, key), frames, valid, found in _read_videos(todo, embedder.read, workers, on_error, errors, no_face,
                                                          f"Embedding with {embedder.spec.name}", quiet):
        yield i, key, embedder.embed(key, frames, valid, found)


class _Embedder:
    """One backbone's embedding of single videos into the cache: what both engines run per video.

    Checks every setting on creation; builds the backbone on the first `embed` only, so a
    fully cached call never builds it.
    """

    def __init__(self, img_model_name, weights, num_frames, strategy, seed, face_crop, cache_dir, batch_size, track=0,
                 on_truncated="raise", feature_dtype="float32", perturb=None):
        self.spec = backbones.get_spec(img_model_name)
        self.face = face_settings(face_crop)
        self.track, self.on_truncated, self.perturb = track, check_on_truncated(on_truncated), perturb
        self.num_frames = check_num_frames(num_frames)
        sample_indices(0, num_frames, strategy, seed)
        check_int("batch_size", batch_size, 1)
        self.weights = backbone_models.resolve_weights(self.spec.name, weights)
        self.strategy, self.seed = strategy, sampling_seed(strategy, seed)
        self.cache, self.cache_dir = DiskCache(cache_dir, "embeddings"), cache_dir
        self.chunk = min(batch_size, num_frames)
        self.settings = dict(num_frames=num_frames, strategy=strategy, seed=self.seed, size=self.spec.input_size,
                             face=self.face.crop_key() if self.face else None, backbone=self.spec.name,
                             weights=backbones.weights_identity(self.weights))
        self.settings.update(_extra_keys(track, on_truncated, perturb))
        self.dtype = np.dtype(check_feature_dtype(feature_dtype))
        if feature_dtype != "float32":  # float32 entries keep the keys they had before this setting
            self.settings.update(dtype=feature_dtype)
        self.model = None

    def key(self, path: str) -> str:
        return cache_key(path, **self.settings)

    def cached(self, key: str) -> int | None:
        """The `face_found` (-1: no face crops) of a complete entry under `key`, None when the video
        must be embedded. Reads the small arrays and the features' header, never the features."""
        file = self.cache.entry_file(key)
        if file is None or not file.is_file():
            return None
        small = self.cache.load(key, ("mask", "face_found"))
        features = npz_member(file, "features")
        expected = ((self.num_frames, self.spec.feature_dim), self.dtype)
        if small is None or small["mask"].shape != (self.num_frames,) or features is None or features[1:] != expected:
            return None  # unreadable, or not what these settings make: embed again and overwrite
        return int(small["face_found"])

    def read(self, path: str):
        """`(frames, valid, face found)`, or raises VideoReadError (NoFaceError: skip by face settings)."""
        return read_frames_and_face(path, self.num_frames, self.spec.input_size, self.strategy, self.seed,
                                         self.face, cache_dir=self.cache_dir, track=self.track,
                                         on_truncated=self.on_truncated, perturb=self.perturb)

    def backbone(self):
        """The backbone, built on first use (a fully cached call never builds it)."""
        if self.model is None:
            self.model = backbone_models.build_backbone(self.spec.name, self.weights)
        return self.model

    def embed(self, key: str, frames: np.ndarray, valid: np.ndarray, found) -> tuple[np.ndarray, np.ndarray]:
        """Features and mask of one video's frames, saved under `key`."""
        features = np.zeros((self.num_frames, self.spec.feature_dim), np.float32)
        features[valid] = _run_backbone(self.backbone(), self.spec, frames[valid], self.chunk)
        stored = features.astype(self.dtype, copy=False)
        self.cache.save(key, features=stored, mask=valid, face_found=np.int8(-1 if found is None else found))
        return stored.astype(np.float32, copy=False), valid  # what a warm call reads back


def _embed_on_ray(embedder: _Embedder, todo: list, on_error: str, errors: dict, no_face: list,
                  workers: int | None, address: str | None) -> Iterable:
    """Embed `todo` on Ray actors that write the cache; yield the items embedded, applying on_error
    on the driver as the local engine does."""
    rows = [dict(index=i, path=path, key=key) for i, path, key in todo]
    items = {i: (i, path, key) for i, path, key in todo}
    # Batches of 16 videos: decoding overlaps inference within a batch, not across two.
    for row in ray_engine.map_rows(rows, _RayEmbedWorker, (embedder,), 16, workers, address):
        item = items[int(row["index"])]
        if row["status"] == "ok":  # the local engine's (frames, valid, found), frames left in the cache
            result = (None, None, {-1: None, 0: False, 1: True}[int(row["found"])])
        else:
            result = (NoFaceError if row["status"] == "no_face" else VideoReadError)(str(row["error"]))
        if _usable(item[1], result, on_error, errors, no_face):
            yield item


class _RayEmbedWorker:
    """A Ray actor: builds the backbone once, then embeds each batch of videos into the cache,
    decoding the next video while the current one runs through the backbone."""

    def __init__(self, embedder: _Embedder):
        self.embedder = embedder

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        todo = [(int(i), str(p), str(k)) for i, p, k in zip(batch["index"], batch["path"], batch["key"])]
        status, error, found = [], [], []
        for (_, _, key), result in _decode_ahead(todo, self.embedder.read, workers=2):
            ray_engine.fault_hook()
            if isinstance(result, VideoReadError):
                status.append("no_face" if isinstance(result, NoFaceError) else "error")
                error.append(str(result))
                found.append(-1)
                continue
            frames, valid, face = result
            self.embedder.embed(key, frames, valid, face)
            status.append("ok")
            error.append("")
            found.append(-1 if face is None else int(face))
        return {"index": batch["index"], "status": np.array(status), "error": np.array(error),
                "found": np.array(found, np.int8)}


def _extra_keys(track: int, on_truncated: str, perturb=None) -> dict:
    """Cache-key settings present only when not the default, so the main track's clean entries
    keep their keys (`read_variant`: truncated files kept, perturbed frames)."""
    return {**({"track": track} if track else {}), **read_variant(on_truncated, perturb)}


def _read_videos(todo: list, read, workers: int, on_error: str, errors: dict, no_face: list, description: str,
                 quiet: bool = False):
    """Yield `(item, frames, valid, found)` for each readable video of `todo` (items end in
    their path), decoded ahead in threads. Skipped videos go into `errors` with a warning;
    those where face cropping found no face are appended to `no_face`."""
    progress = progress_bar(len(todo), description, show=not quiet and len(todo) >= 5)
    try:
        for item, result in _decode_ahead(todo, read, workers):
            progress.update(1)
            if _usable(item[1], result, on_error, errors, no_face):
                yield (item, *result)
    finally:
        progress.close()


def _usable(path: str, result, on_error: str, errors: dict, no_face: list) -> bool:
    """Whether a video's read `result` (frames, valid, found) or VideoReadError can be embedded:
    on_error applied, skips recorded in `errors` with a warning, faceless videos in `no_face`."""
    if isinstance(result, NoFaceError):  # the face settings ask for these to be skipped
        errors[path] = str(result)
        warnings.warn(f"Skipped video without a face {path}", SkippedVideoWarning, stacklevel=5)
        return False
    if isinstance(result, VideoReadError):
        if on_error == "raise":
            raise result
        errors[path] = str(result)
        warnings.warn(f"Skipped unreadable video {path}: {result}", SkippedVideoWarning, stacklevel=5)
        return False
    if result[2] is False:
        no_face.append(path)
    return True


def _decode_ahead(todo: list, read, workers: int) -> Iterable:
    """Yield `(item, frames or VideoReadError)` in order, decoding up to 2*workers videos ahead."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        pending: collections.deque = collections.deque()
        items = iter(todo)
        for item in items:
            pending.append((item, pool.submit(read, item[1])))
            if len(pending) >= 2 * workers:
                break
        while pending:
            item, future = pending.popleft()
            next_item = next(items, None)
            if next_item is not None:
                pending.append((next_item, pool.submit(read, next_item[1])))
            try:
                yield item, future.result()
            except VideoReadError as err:
                yield item, err
            except Exception as err:  # e.g. cv2.error on a corrupt stream: still this one video's failure
                yield item, VideoReadError(f"{type(err).__name__}: {err} in video {item[1]!r}")


def _run_backbone(model, spec, frames: np.ndarray, chunk: int) -> np.ndarray:
    """Pooled features of `frames`, in fixed-size chunks so the graph is traced once."""
    out = np.zeros((len(frames), spec.feature_dim), np.float32)
    for start in range(0, len(frames), chunk):
        batch = spec.preprocess(frames[start : start + chunk])
        n = len(batch)
        if n < chunk:
            batch = np.concatenate([batch, np.zeros((chunk - n, *batch.shape[1:]), batch.dtype)])
        out[start : start + n] = np.asarray(model.predict_on_batch(batch))[:n]
    return out


def cache_crops(paths, num_frames: int, image_size: int, face, cache_dir: Path, strategy: str, seed: int,
                 quiet: bool = False, track: int = 0, on_truncated: str = "raise", perturb=None):
    """Write each video's sampled crops (of face track `track`, degraded by `perturb`) to the
    cache once: `(files (None if skipped), errors, no_face)`."""
    seed = sampling_seed(strategy, seed)
    cache = DiskCache(cache_dir, "crops")
    settings = dict(num_frames=num_frames, strategy=strategy, seed=seed, size=image_size,
                    face=face.crop_key() if face else None)
    settings.update(_extra_keys(track, on_truncated, perturb))
    files: list[Path | None] = [None] * len(paths)
    errors: dict[str, str] = {}
    no_face: list[str] = []
    todo = []
    for i, path in enumerate(paths):
        key = cache_key(path, **settings)
        meta = cache.load_json(key)
        if meta is not None and cache.array_file(key).is_file():
            files[i] = cache.array_file(key)
            if meta["face_found"] is False:
                no_face.append(str(path))
        else:
            todo.append((i, str(path), key))

    def read(path: str):
        return read_frames_and_face(path, num_frames, (image_size, image_size), strategy, seed, face,
                                    cache_dir=cache_dir, track=track, on_truncated=on_truncated, perturb=perturb)

    for (i, _, key), frames, valid, found in _read_videos(todo, read, 2, "skip", errors, no_face, "Cropping frames",
                                                          quiet):
        cache.save_array(key, frames[valid])
        cache.save_json(key, {"frames": int(valid.sum()), "face_found": found})  # last: marks the entry complete
        files[i] = cache.array_file(key)
    return files, errors, no_face
