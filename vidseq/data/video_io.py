"""Video decoding and encoding: one forward pass, only the wanted frames converted.

`grab()` advances the decoder; `retrieve()` converts the current frame to BGR. Converting
only the sampled frames and never seeking is what makes sampling fast: seeking re-decodes
from the previous keyframe for every frame.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

# A broken file is reported through VideoReadError; OpenCV's own log lines would only add noise.
os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # FFmpeg's own lines ("moov atom not found"): quiet
import cv2  # noqa: E402

cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)  # also when cv2 was imported before vidseq

from vidseq.utils.atomic import atomic_path

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm")


class VideoReadError(ValueError):
    """A file that cannot be decoded as a video: missing, empty, truncated or not a video."""


class TruncatedVideoError(VideoReadError):
    """A video whose decodable frames stop well short of what its container declares."""

    def __init__(self, path: str | os.PathLike, decoded: int, declared: int):
        self.path, self.decoded, self.declared = str(path), decoded, declared
        super().__init__(f"Truncated video: {decoded} of the {declared} frames its container declares decode "
                         f"({decoded / declared:.0%}): {str(path)!r}")


def is_truncated(decoded: int, declared: int) -> bool:
    """Whether `decoded` frames fall short of a container's `declared` count by more than its
    usual slack (a frame or two, or 2%, off in files written by some encoders)."""
    return declared > 0 and decoded < declared - max(2, declared // 50)


def open_video(path: str | os.PathLike) -> cv2.VideoCapture:
    """Open `path` for decoding, or raise `VideoReadError` naming it."""
    path = Path(path)
    if not path.is_file():
        raise VideoReadError(f"Video not found: {str(path)!r}")
    if path.stat().st_size == 0:
        raise VideoReadError(f"Video file is empty: {str(path)!r}")
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    if not cap.isOpened():
        cap.release()
        raise VideoReadError(f"Cannot open video (not a video, or truncated): {str(path)!r}")
    return cap


def frame_count_hint(cap: cv2.VideoCapture) -> int:
    """The container's frame count: a hint only, it can be wrong or 0."""
    n = cap.get(cv2.CAP_PROP_FRAME_COUNT)
    return int(n) if np.isfinite(n) and n > 0 else 0


def no_frames_error(path: str | os.PathLike, declared: int = 0) -> VideoReadError:
    """The error of a file that opens but in which no frame decodes (e.g. cut before its data)."""
    said = f" of the {declared} its container declares" if declared else ""
    return VideoReadError(f"No decodable frames{said} in video: {str(path)!r}")


def check_truncation(path: str | os.PathLike) -> TruncatedVideoError | None:
    """The error describing a truncated file (frames stopping short of its container's
    count), or None for a whole one. Costs one decode pass (`count_frames`). Raises
    `VideoReadError` for a file that is not a video or in which no frame decodes: there is
    nothing to score.

    >>> check_truncation("data/demo/real/real_000.mp4") is None  # doctest: +SKIP
    True
    """
    cap = open_video(path)
    declared = frame_count_hint(cap)
    cap.release()
    decoded = count_frames(path)
    if not decoded:
        raise no_frames_error(path, declared)
    return TruncatedVideoError(path, decoded, declared) if is_truncated(decoded, declared) else None


def count_frames(path: str | os.PathLike) -> int:
    """Count decodable frames by grabbing them all (exact, costs a decode pass)."""
    cap = open_video(path)
    try:
        n = 0
        while cap.grab():
            n += 1
        return n
    finally:
        cap.release()


def grab_frames(
    path: str | os.PathLike,
    indices: Sequence[int],
    transform: Callable[[np.ndarray, int], np.ndarray] | None = None,
    rows: int | None = None,
) -> tuple[np.ndarray | None, int]:
    """Decode the frames at sorted, unique `indices` in one forward pass.

    Returns `(frames, n)`: a uint8 RGB array of `rows` (default `len(indices)`) frames
    whose first `n` were decoded and the rest are zeros (the video ended early); None
    when nothing decoded. Each frame goes through `transform(frame, k)` (k = its position
    in `indices`) right away, so only small frames are held; without a transform frames
    are converted straight into the output, with no per-frame allocation.
    """
    cap = open_video(path)
    out, n, bgr = None, 0, None
    try:
        wanted = iter(indices)
        target = next(wanted, None)
        position = 0
        while target is not None and cap.grab():
            if position == target:
                ok, bgr = cap.retrieve(bgr)
                if not ok:
                    break
                if transform is None:
                    if out is None:
                        out = np.zeros((rows or len(indices), *bgr.shape), np.uint8)
                    cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB, dst=out[n])
                else:
                    frame = transform(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), n)
                    if out is None:
                        out = np.zeros((rows or len(indices), *frame.shape), np.uint8)
                    out[n] = frame
                n += 1
                target = next(wanted, None)
            position += 1
    finally:
        cap.release()
    return out, n


def resize_frame(frame: np.ndarray, size: tuple[int, int], crop: str | None = None) -> np.ndarray:
    """Resize an RGB frame to `size=(h, w)`; `crop="center"` first crops to that aspect ratio."""
    h, w = size
    if crop == "center":
        fh, fw = frame.shape[:2]
        scale = min(fh / h, fw / w)
        ch, cw = round(h * scale), round(w * scale)
        top, left = (fh - ch) // 2, (fw - cw) // 2
        frame = frame[top : top + ch, left : left + cw]
    if frame.shape[:2] == (h, w):
        return frame
    shrinking = h * w < frame.shape[0] * frame.shape[1]
    return cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)


def write_video(
    path: str | os.PathLike,
    frames: Iterable[np.ndarray],
    fps: float = 25.0,
    quality: int = 23,
    faststart: bool = True,
) -> Path:
    """Encode RGB uint8 frames (all the same even-sized shape) as H.264 with imageio-ffmpeg.

    The file appears only once it is complete.
    """
    import imageio_ffmpeg  # imported here: only writers need it

    path = Path(path)
    frames = iter(frames)
    first = next(frames, None)
    if first is None:
        raise ValueError(f"No frames to write to {str(path)!r}")
    h, w = first.shape[:2]
    if first.dtype != np.uint8 or first.ndim != 3 or first.shape[2] != 3 or h % 2 or w % 2:
        raise ValueError(
            f"Received a frame of shape {first.shape} and dtype {first.dtype}. "
            "Expected uint8 RGB frames (H, W, 3) with even H and W (H.264 yuv420p)."
        )
    params = ["-crf", str(quality), "-preset", "veryfast"] + (["-movflags", "+faststart"] if faststart else [])
    with atomic_path(path) as tmp:
        writer = imageio_ffmpeg.write_frames(
            str(tmp), (w, h), fps=fps, codec="libx264", pix_fmt_in="rgb24", pix_fmt_out="yuv420p",
            macro_block_size=1, output_params=params, ffmpeg_log_level="error",
        )
        writer.send(None)
        try:
            for frame in itertools.chain([first], frames):
                if frame.shape != first.shape:
                    raise ValueError(f"Frame shape changed from {first.shape} to {frame.shape} in {str(path)!r}")
                writer.send(np.ascontiguousarray(frame))
        finally:
            writer.close()
    return path

