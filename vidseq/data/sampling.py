"""Frame sampling and decoding: which frames of a video to read, read them (resized or face-cropped).

Nothing here imports TensorFlow.

    >>> from vidseq.data.sampling import sample_indices
    >>> sample_indices(100, 4).tolist()
    [12, 37, 62, 87]
"""

from __future__ import annotations

import os
import warnings

import numpy as np

from vidseq.utils.cache import DiskCache, cache_key
from vidseq.utils.checks import check_int
from vidseq.utils.notices import VidseqWarning
from vidseq.data.faces import (TRACKER_VERSION, FaceCrop, check_frame_size, crop_face, detect_faces, face_settings,
                               shrink_for_detection, track_faces)
from vidseq.data.perturb import Perturbation
from vidseq.data.video_io import (TruncatedVideoError, VideoReadError, declared_extent, decode_extent, grab_frames,
                                  no_frames_error, resize_frame, time_truncation, usable_size_truncation)

STRATEGIES = ("uniform", "random", "clip", "stride")
ON_TRUNCATED = ("raise", "keep")
MAX_FRAMES = 1024
# A face read that detects keeps the sampled frames it decodes, up to this many bytes per video
# (32 frames of 1080p), and crops from them: one decoding pass instead of two.
HOLD_BYTES = 200 * 2**20


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
    *,
    track: int = 0,
    on_truncated: str = "raise",
    perturb: Perturbation | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Decode `num_frames` sampled frames of a video in one forward pass.

    Returns `(frames, mask)`: frames uint8 RGB `(num_frames, H, W, 3)` and mask bool
    `(num_frames,)`. A video shorter than `num_frames` is zero-padded at the end, mask
    False there. `size=(h, w)` resizes each frame as it is decoded (INTER_AREA when
    shrinking); `crop="center"` first crops to the target aspect ratio.
    `face_crop=True` (or a `vidseq.data.faces.FaceCrop` with other settings) returns square
    crops around one tracked face instead, `size` defaulting to (224, 224); the boxes are
    cached under `cache_dir` when given. A video without any face falls back to full
    frames, or raises `NoFaceError` with `FaceCrop(no_face="skip")`. `track=k` crops the
    video's k-th face track (0 = the main face; `count_face_tracks` says how many there are,
    at most `FaceCrop.max_faces`); a track the video lacks raises `NoFaceError`.
    Raises `VideoReadError` for missing, empty or non-video files, and its subclass
    `TruncatedVideoError` for a file cut short of where its container says it ends (a
    partial download, `vidseq.data.video_io.check_truncation`); `on_truncated="keep"` samples
    what decodes instead, with a warning. Frames are sampled evenly in decoding order, also
    in variable-frame-rate footage (docs/robustness.md says why). `perturb` (a `vidseq.data.perturb.Perturbation`) degrades the sampled frames
    as decoded, before face detection and resizing: what a robustness evaluation scores.

    >>> frames, mask = read_frames("data/demo/real/real_000.mp4", 16, size=(224, 224))  # doctest: +SKIP
    >>> frames.shape, mask.all()  # doctest: +SKIP
    ((16, 224, 224, 3), True)
    """
    frames, mask, _ = read_frames_and_face(path, num_frames, size, strategy, seed, face_crop, crop, stride, cache_dir,
                                           track=track, on_truncated=on_truncated, perturb=perturb)
    return frames, mask


def read_frames_and_face(
    path, num_frames, size=None, strategy="uniform", seed=None, face_crop=False, crop=None, stride=2, cache_dir=None,
    *, track: int = 0, on_truncated: str = "raise", perturb: Perturbation | None = None,
) -> tuple[np.ndarray, np.ndarray, bool | None]:
    """`read_frames`, plus whether a face was found (None when `face_crop` is off)."""
    num_frames, face, sample = _checked_read(path, num_frames, strategy, seed, face_crop, stride, track, on_truncated,
                                             perturb)
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
    resize = (lambda f, k: resize_frame(f, size, crop)) if size else None
    held: dict = {}  # the frames a detecting read decoded: cropped without decoding again
    boxes = (_face_boxes(path, face, num_frames, strategy, seed, stride, cache_dir, sample, track,
                         read_variant(on_truncated, perturb), held) if face else None)
    if face and boxes is None and face.no_face == "skip":
        raise NoFaceError(f"No face found in video (no_face='skip'): {str(path)!r}")
    if boxes is None:
        _, frames, n = _held_or(sample, held, num_frames)(resize)
    else:
        indices = np.asarray(boxes["indices"], np.int64)
        _, frames, n = _held_or(lambda transform: sample(transform, indices), held, num_frames)(
            lambda f, k: crop_face(f, boxes["boxes"][k], size, face.margin))
    if not n:
        raise no_frames_error(path)
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
    *,
    track: int = 0,
    on_truncated: str = "raise",
    perturb: Perturbation | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """The sampled frames as a run sees them before cropping, shrunk to at most `max_side`
    pixels, with the tracked face box `(x, y, w, h)` in each (None without face_crop or face).
    `track=k`: the k-th face track's boxes, as `read_frames(..., track=k)` crops them; `perturb`:
    the degraded frames and the boxes found in them.

    For looking at data, e.g. `vidseq.runs.plots.plot_frames(*read_frames_and_boxes(path, 8))`.
    """
    num_frames, face, sample = _checked_read(path, num_frames, strategy, seed, face_crop, stride, track, on_truncated,
                                             perturb)
    shrink, scales = _shrinker(max_side)
    held: dict = {}
    boxes = (_face_boxes(path, face, num_frames, strategy, seed, stride, cache_dir, sample, track,
                         read_variant(on_truncated, perturb), held) if face else None)
    _, frames, n = _held_or(sample, held, num_frames)(shrink)
    if not n:
        raise no_frames_error(path)
    return frames[:n], None if boxes is None else np.asarray(boxes["boxes"])[:n] * scales[-1]


def sampling_seed(strategy: str, seed: int | None) -> int | None:
    """The seed as far as sampling uses it: only "random" and "clip" do, so runs with other
    seeds share cache entries under the other strategies."""
    return seed if strategy in ("random", "clip") else None


def check_on_truncated(on_truncated: str) -> str:
    """`on_truncated` if valid: "raise" (a truncated file is an error) or "keep" (sample what decodes)."""
    if on_truncated not in ON_TRUNCATED:
        raise ValueError(f"Received: on_truncated={on_truncated!r}. Expected one of {list(ON_TRUNCATED)}.")
    return on_truncated


def _sample_and_grab(path, num_frames, strategy, seed, stride, transform, on_truncated: str = "raise",
                     perturb: Perturbation | None = None) -> tuple[np.ndarray, np.ndarray | None, int]:
    """Sampled indices, then `grab_frames`' `(frames, n)` padded to `num_frames` rows.

    Indices are positions in decoding order (`sample_indices`). A cut file (`check_truncation`:
    fewer bytes than its container declares, else decoding stopping well before its declared
    duration) raises, or with `on_truncated="keep"` warns and samples what decodes. `perturb`
    degrades the frames before `transform` (`grab_degraded`). The
    container's frame count is trusted only if the video really has those frames: a
    variable-frame-rate WebM or Matroska file declares its duration times a nominal rate.
    """
    total, declared, fps = declared_extent(path)  # opening it first: a missing or non-video file says so
    says_size, cut = usable_size_truncation(path)  # nothing decodes: one error, whatever on_truncated says
    if cut is not None:
        _truncated(cut, on_truncated)
    if total:
        indices = sample_indices(total, num_frames, strategy, seed, stride)
        frames, n = grab_degraded(path, indices, transform, num_frames, perturb)
        if n == len(indices):
            return indices, frames, n
    # The container's count was missing or too high: count what really decodes, then
    # sample again from that count (a second pass, only for such files).
    decodable, stopped = decode_extent(path)
    if not decodable:  # nothing to keep: one error, whatever on_truncated says
        raise no_frames_error(path, total)
    if not says_size:
        cut = time_truncation(path, stopped, declared, fps)
        if cut is not None:
            _truncated(cut, on_truncated)
    indices = sample_indices(decodable, num_frames, strategy, seed, stride)
    return (indices, *grab_degraded(path, indices, transform, num_frames, perturb))


def grab_degraded(path, indices: np.ndarray, transform, rows: int, perturb: Perturbation | None = None
                  ) -> tuple[np.ndarray | None, int]:
    """`grab_frames`, the frames degraded by `perturb` before `transform`: all of them at once
    (an H.264 re-encode takes them together), so they are held at full size for a moment."""
    if perturb is None:
        return grab_frames(path, indices, transform, rows=rows)
    frames, n = grab_frames(path, indices, rows=len(indices))
    if not n:
        return None, 0
    out = None
    for k, frame in enumerate(perturb.apply(frames[:n], indices[:n], path)):
        frame = transform(frame, k) if transform else frame
        if out is None:
            out = np.zeros((rows, *frame.shape), np.uint8)
        out[k] = frame
    return out, n


def read_variant(on_truncated: str = "raise", perturb: Perturbation | None = None) -> dict:
    """Cache-key settings of a read that are present only when not the default, so a default read
    keeps its keys: a truncated file kept on request must never serve a read that refuses it,
    nor perturbed frames (or what is made of them) a clean read."""
    return {**({"truncated": "keep"} if on_truncated == "keep" else {}),
            **({"perturb": perturb.key()} if perturb is not None else {})}


def _truncated(error: TruncatedVideoError, on_truncated: str) -> None:
    """Raise a cut file's error, or warn that what decodes is kept."""
    if on_truncated == "raise":
        raise error
    warnings.warn(f"{error} (kept: sampling what decodes)", VidseqWarning, stacklevel=4)


def _holding(transform, held: dict | None, num_frames: int):
    """`transform`, also keeping each decoded frame in `held` by its position while `num_frames`
    such frames fit in `HOLD_BYTES` (a decoding pass that starts over replaces them)."""
    if held is None:
        return transform

    def hold(frame, k):
        if frame.nbytes * num_frames <= HOLD_BYTES:
            held[k] = frame
        return transform(frame, k)

    return hold


def _held_or(grab, held: dict, num_frames: int):
    """`grab(transform) -> (indices, frames, n)`, or the same from the frames a detecting read
    held (`_face_tracks`), transformed here: the video is not decoded a second time."""
    if "frames" not in held:
        return grab

    def from_held(transform):
        frames = held["frames"]
        if not frames:
            return held["indices"], None, 0
        first = frames[0] if transform is None else transform(frames[0], 0)
        out = np.zeros((num_frames, *first.shape), np.uint8)
        out[0] = first
        for k in range(1, len(frames)):
            out[k] = frames[k] if transform is None else transform(frames[k], k)
        return held["indices"], out, len(frames)

    return from_held


def _shrinker(max_side: int):
    """A grab transform shrinking frames to at most `max_side` pixels, and the list of scales it used."""
    scales: list[float] = []

    def shrink(frame, k):
        small, scale = shrink_for_detection(frame, max_side)
        scales.append(scale)
        return small

    return shrink, scales


def count_face_tracks(
    path: str | os.PathLike,
    num_frames: int,
    strategy: str = "uniform",
    seed: int | None = None,
    face_crop: bool | FaceCrop = True,
    cache_dir: str | os.PathLike | None = None,
    stride: int = 2,
    perturb: Perturbation | None = None,
) -> int:
    """How many face tracks `read_frames(..., track=k)` can read for these settings: 0 for a
    face-free video, at most `FaceCrop.max_faces`. Detects faces only when the boxes are not
    cached yet (reading the video's frames with the same `cache_dir` caches them)."""
    num_frames, face, sample = _checked_read(path, num_frames, strategy, seed, face_crop, stride, perturb=perturb)
    if face is None:
        raise ValueError(f"Received: face_crop={face_crop!r}. Expected True or a FaceCrop: tracks are face tracks.")
    return min(len(_face_tracks(path, face, num_frames, strategy, seed, stride, cache_dir, sample,
                                read_variant(perturb=perturb))["tracks"]), face.max_faces)


def _checked_read(path, num_frames, strategy, seed, face_crop, stride, track=0, on_truncated="raise", perturb=None):
    """A read's settings checked before the file is touched: `(num_frames, FaceCrop or None,
    sample)`, where `sample(transform)` grabs the sampled frames (`_sample_and_grab`) and
    `sample(transform, indices)` those at `indices`, as `(indices, frames, n)`, degraded by `perturb`."""
    num_frames = check_num_frames(num_frames)
    sample_indices(0, num_frames, strategy, seed, stride)
    face = face_settings(face_crop)
    _check_track(track, face)
    check_on_truncated(on_truncated)

    if perturb is not None and not isinstance(perturb, Perturbation):
        raise ValueError(f"Received: perturb={perturb!r}. Expected None or a vidseq.data.perturb.Perturbation.")

    def sample(transform, indices=None):
        if indices is None:
            return _sample_and_grab(path, num_frames, strategy, seed, stride, transform, on_truncated, perturb)
        return (indices, *grab_degraded(path, indices, transform, num_frames, perturb))

    return num_frames, face, sample


def _check_track(track: int, face: FaceCrop | None) -> None:
    if face is None and track != 0:
        raise ValueError(f"Received: track={track!r} without face_crop. Expected track=0: tracks are face tracks.")
    if face is not None:
        check_int("track", track, 0, face.max_faces - 1)


def _face_tracks(path, face: FaceCrop, num_frames, strategy, seed, stride, cache_dir, sample, variant: dict,
                 held: dict | None = None) -> dict:
    """`{"indices", "tracks"}`: the sampled frames and every face track's boxes there (main
    track first, none for a face-free video), in the video's pixels; cached under the read's
    `variant` (`read_variant`). When it detects, the frames it decodes go into `held`
    (`_holding`), if given."""
    # The detector's and the tracker's versions too: boxes cached by another detector, or by an
    # older tracker, are detected or tracked again.
    key = cache_key(path, num_frames=num_frames, strategy=strategy, seed=seed, stride=stride,
                    detection=face.detection_key(), tracker=TRACKER_VERSION, **variant)
    cache = DiskCache(cache_dir, "faces")
    cached = cache.load_json(key)
    if cached is None:
        # Detection sees small frames (only those are held); boxes go back to the video's pixels.
        shrink, scales = _shrinker(face.detect_size)
        indices, small, n = sample(_holding(shrink, held, num_frames))
        if not n:  # nothing decoded: nothing to remember either
            raise no_frames_error(path)
        if held:  # by position, from the pass that counted: a list of the n frames decoded
            frames = [held[k] for k in range(n)]
            held.clear()
            held.update(indices=indices, frames=frames)
        check_frame_size(small.shape[1:3], path)
        tracks = track_faces(detect_faces(small[:n], face), small.shape[1:3], detector=face.detector)
        cached = {"indices": indices.tolist(), "tracks": [(track / scales[-1]).tolist() for track in tracks]}
        cache.save_json(key, cached)
    return cached


def _face_boxes(path, face: FaceCrop, num_frames, strategy, seed, stride, cache_dir, sample, track: int,
                variant: dict, held: dict | None = None) -> dict | None:
    """`{"indices", "boxes"}` of face track `track` at the sampled frames, None without a face
    (`held`: see `_face_tracks`).

    Raises NoFaceError when the video has a face but not that many tracks."""
    cached = _face_tracks(path, face, num_frames, strategy, seed, stride, cache_dir, sample, variant, held)
    tracks = cached["tracks"]
    if track and track >= len(tracks):
        raise NoFaceError(f"Received: track={track} for a video with {len(tracks)} face track(s). "
                          f"Expected track < {len(tracks)}: {str(path)!r}")
    return {"indices": cached["indices"], "boxes": tracks[track]} if tracks else None
