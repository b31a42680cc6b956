"""Data layer: find videos, split them without identity leaks, sample and decode frames.

Nothing here imports TensorFlow, so `import util` is cheap.

    >>> import util
    >>> videos = util.split_videos(util.discover_videos("data/demo"))  # doctest: +SKIP
    >>> frames, mask = util.read_frames(videos.path[0], 16, size=(224, 224))  # doctest: +SKIP
"""

from __future__ import annotations

import os

import numpy as np

from vidseq.cache import DiskCache, cache_key
from vidseq.checks import check_int
from vidseq.faces import FaceCrop, crop_face, detect_faces, face_settings, shrink_for_detection, track_face
from vidseq.layouts import SPLITS, discover_videos, identities_from_name
from vidseq.splits import SPLIT_BY, describe_split, split_fingerprint, split_report, split_videos
from vidseq.video_io import VideoReadError, count_frames, frame_count_hint, grab_frames, open_video, resize_frame

__all__ = [
    "STRATEGIES", "SPLITS", "SPLIT_BY", "VideoReadError", "NoFaceError", "FaceCrop", "discover_videos",
    "identities_from_name", "split_videos", "split_report", "describe_split", "split_fingerprint",
    "sample_indices", "read_frames", "check_num_frames",
]

STRATEGIES = ("uniform", "random", "clip", "stride")
MAX_FRAMES = 1024


class NoFaceError(VideoReadError):
    """No face in any sampled frame, and the face-crop settings say to skip such videos."""


def check_num_frames(num_frames: int) -> int:
    """Validate a frame count: an int in [1, 1024]."""
    return check_int("num_frames", num_frames, 1, MAX_FRAMES)


def sample_indices(
    total_frames: int,
    num_frames: int,
    strategy: str = "uniform",
    seed: int | None = None,
    stride: int = 2,
) -> np.ndarray:
    """Indices of the frames to decode: sorted, unique, at most `min(total_frames, num_frames)`.

    Strategies:
      - "uniform": evenly spaced over the whole video (centre of `num_frames` equal bins).
      - "random": a sorted random subset, reproducible with `seed`.
      - "clip": `num_frames` contiguous frames; centred when `seed` is None, else a random start.
      - "stride": every `stride`-th frame from the first one.

    >>> sample_indices(100, 4).tolist()
    [12, 37, 62, 87]
    >>> sample_indices(10, 4, "stride", stride=3).tolist()
    [0, 3, 6, 9]
    """
    num_frames = check_num_frames(num_frames)
    check_int("total_frames", total_frames, 0)
    if strategy not in STRATEGIES:
        raise ValueError(f"Received: strategy={strategy!r}. Expected one of {list(STRATEGIES)}.")
    check_int("stride", stride, 1)
    total_frames, n = int(total_frames), min(int(total_frames), num_frames)
    if n == 0:
        return np.zeros(0, np.int64)
    if strategy == "uniform":
        # Integer arithmetic: exact, and unique whenever total_frames >= num_frames.
        return (np.arange(n, dtype=np.int64) * 2 + 1) * total_frames // (2 * n)
    if strategy == "random":
        rng = np.random.default_rng(seed)
        return np.sort(rng.choice(total_frames, size=n, replace=False)).astype(np.int64)
    if strategy == "clip":
        slack = total_frames - n
        start = slack // 2 if seed is None else int(np.random.default_rng(seed).integers(0, slack + 1))
        return np.arange(start, start + n, dtype=np.int64)
    return np.arange(0, total_frames, stride, dtype=np.int64)[:num_frames]


def read_frames(
    path: str | os.PathLike,
    num_frames: int,
    size: tuple[int, int] | None = None,
    strategy: str = "uniform",
    seed: int | None = None,
    face_crop: bool | FaceCrop = False,
    crop: str | None = None,
    stride: int = 2,
    cache_dir: str | os.PathLike | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Decode `num_frames` sampled frames of a video in one forward pass.

    Returns `(frames, mask)`: frames uint8 RGB `(num_frames, H, W, 3)` and mask bool
    `(num_frames,)`. A video shorter than `num_frames` is zero-padded at the end, mask
    False there. `size=(h, w)` resizes each frame as it is decoded (INTER_AREA when
    shrinking); `crop="center"` first crops to the target aspect ratio.
    `face_crop=True` (or a `vidseq.faces.FaceCrop` with other settings) returns square
    crops around one tracked face instead, `size` defaulting to (224, 224); the boxes are
    cached under `cache_dir` when given. A video without any face falls back to full
    frames, or raises `NoFaceError` with `FaceCrop(no_face="skip")`.
    Raises `VideoReadError` for missing, empty, truncated or non-video files.

    >>> frames, mask = read_frames("data/demo/real/real_000.mp4", 16, size=(224, 224))  # doctest: +SKIP
    >>> frames.shape, mask.all()  # doctest: +SKIP
    ((16, 224, 224, 3), True)
    """
    frames, mask, _ = read_frames_and_face(path, num_frames, size, strategy, seed, face_crop, crop, stride, cache_dir)
    return frames, mask


def read_frames_and_face(
    path, num_frames, size=None, strategy="uniform", seed=None, face_crop=False, crop=None, stride=2, cache_dir=None,
) -> tuple[np.ndarray, np.ndarray, bool | None]:
    """`read_frames`, plus whether a face was found (None when `face_crop` is off)."""
    num_frames = check_num_frames(num_frames)
    sample_indices(0, num_frames, strategy, seed, stride)  # validate before touching the file
    face = face_settings(face_crop)
    if crop not in (None, "center"):
        raise ValueError(f"Received: crop={crop!r}. Expected None or 'center'.")
    if crop and face:
        raise ValueError("Received: crop='center' with face_crop. Expected one of them: a face crop is already square.")
    if face and size is None:
        size = (224, 224)
    if crop and size is None:
        raise ValueError("Received: crop='center' with size=None. A crop needs a target size=(h, w).")
    if size is not None:
        if len(size) != 2 or not all(isinstance(s, (int, np.integer)) and s > 0 for s in size):
            raise ValueError(f"Received: size={size!r}. Expected (height, width) positive ints.")
        size = (int(size[0]), int(size[1]))

    def sample(transform):
        return _sample_and_grab(path, num_frames, strategy, seed, stride, transform)

    resize = (lambda f, k: resize_frame(f, size, crop)) if size else None
    boxes = _face_boxes(path, face, num_frames, strategy, seed, stride, cache_dir, sample) if face else None
    if face and boxes is None and face.no_face == "skip":
        raise NoFaceError(f"No face found in video (no_face='skip'): {str(path)!r}")
    if boxes is None:
        _, frames, n = sample(resize)
    else:
        indices = np.asarray(boxes["indices"], np.int64)
        frames, n = grab_frames(path, indices, lambda f, k: crop_face(f, boxes["boxes"][k], size, face.margin),
                                rows=num_frames)
    if not n:
        raise VideoReadError(f"No decodable frames in video: {str(path)!r}")
    return frames, np.arange(num_frames) < n, (boxes is not None) if face else None


def read_frames_and_boxes(
    path: str | os.PathLike,
    num_frames: int,
    strategy: str = "uniform",
    seed: int | None = None,
    face_crop: bool | FaceCrop = True,
    max_side: int = 320,
    cache_dir: str | os.PathLike | None = None,
    stride: int = 2,
) -> tuple[np.ndarray, np.ndarray | None]:
    """The sampled frames as a run sees them before cropping, shrunk to at most `max_side`
    pixels, with the tracked face box `(x, y, w, h)` in each (None without face_crop or face).

    For looking at data, e.g. `vidseq.plots.plot_frames(*read_frames_and_boxes(path, 8))`.
    """
    num_frames = check_num_frames(num_frames)
    sample_indices(0, num_frames, strategy, seed, stride)
    face = face_settings(face_crop)
    shrink, scales = _shrinker(max_side)

    def sample(transform):
        return _sample_and_grab(path, num_frames, strategy, seed, stride, transform)

    boxes = _face_boxes(path, face, num_frames, strategy, seed, stride, cache_dir, sample) if face else None
    _, frames, n = sample(shrink)
    if not n:
        raise VideoReadError(f"No decodable frames in video: {str(path)!r}")
    return frames[:n], None if boxes is None else np.asarray(boxes["boxes"])[:n] * scales[-1]


def _sample_and_grab(path, num_frames, strategy, seed, stride, transform) -> tuple[np.ndarray, np.ndarray | None, int]:
    """Sampled indices, then `grab_frames`' `(frames, n)` padded to `num_frames` rows.

    The container's frame count is trusted only if the video really has those frames.
    """
    cap = open_video(path)
    total = frame_count_hint(cap)
    cap.release()
    if total:
        indices = sample_indices(total, num_frames, strategy, seed, stride)
        frames, n = grab_frames(path, indices, transform, rows=num_frames)
        if n == len(indices):
            return indices, frames, n
    # The container's count was missing or too high: count what really decodes, then
    # sample again from that count (a second pass, only for such files).
    indices = sample_indices(count_frames(path), num_frames, strategy, seed, stride)
    return (indices, *grab_frames(path, indices, transform, rows=num_frames))


def _shrinker(max_side: int):
    """A grab transform shrinking frames to at most `max_side` pixels, and the list of scales it used."""
    scales: list[float] = []

    def shrink(frame, k):
        small, scale = shrink_for_detection(frame, max_side)
        scales.append(scale)
        return small

    return shrink, scales


def _face_boxes(path, face: FaceCrop, num_frames, strategy, seed, stride, cache_dir, sample) -> dict | None:
    """`{"indices", "boxes"}` of the tracked face at the sampled frames, None without a face; cached."""
    detection = dict(detect_size=face.detect_size, min_face_size=face.min_face_size, min_confidence=face.min_confidence)
    key = cache_key(path, num_frames=num_frames, strategy=strategy, seed=seed, stride=stride, detection=detection)
    cache = DiskCache(cache_dir, "faces")
    cached = cache.load_json(key)
    if cached is None:
        # Detection sees small frames (only those are held); boxes go back to the video's pixels.
        shrink, scales = _shrinker(face.detect_size)
        indices, small, n = sample(shrink)
        track = track_face(detect_faces(small[:n], face)) if n else None
        boxes = None if track is None else (track / scales[-1]).tolist()
        cached = {"indices": indices.tolist(), "boxes": boxes}
        cache.save_json(key, cached)
    return cached if cached["boxes"] is not None else None
