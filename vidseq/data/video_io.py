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

from vidseq.data.containers import declared_size
from vidseq.utils.atomic import atomic_path

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm")


class VideoReadError(ValueError):
    """A file that cannot be decoded as a video: missing, empty, truncated or not a video."""


class TruncatedVideoError(VideoReadError):
    """A video cut short: it holds fewer bytes than its container declares (`unit="bytes"`), or,
    in a container that declares no size, decoding stops well before the duration it declares
    (`unit="seconds"`). `have` and `declared` are in `unit`."""

    def __init__(self, path: str | os.PathLike, have: float, declared: float, unit: str, note: str = ""):
        self.path, self.have, self.declared, self.unit = str(path), have, declared, unit
        super().__init__(f"Truncated video: {self.extent}{note}: {str(path)!r}")

    @property
    def extent(self) -> str:
        """How much of the file there is, in words: "the file holds 60% of the 68,948 bytes ..."."""
        share = f"{self.have / self.declared:.0%}"
        if self.unit == "bytes":
            return f"the file holds {share} of the {self.declared:,} bytes its container declares"
        return f"decoding stops at {self.have:.2f} s of the {self.declared:.2f} s its container declares ({share})"


def open_video(path: str | os.PathLike) -> cv2.VideoCapture:
    """Open `path` for decoding, or raise `VideoReadError` naming it (`TruncatedVideoError` for a
    file cut before anything decodes, e.g. an MP4 cut before its index)."""
    path = Path(path)
    if not path.is_file():
        raise VideoReadError(f"Video not found: {str(path)!r}")
    if path.stat().st_size == 0:
        raise VideoReadError(f"Video file is empty: {str(path)!r}")
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    if not cap.isOpened():
        cap.release()
        cut = size_truncation(path)[1]
        if cut is not None:  # e.g. an MP4 cut before its index (written last): nothing decodes
            raise TruncatedVideoError(path, cut.have, cut.declared, cut.unit, note=", and nothing of it decodes")
        raise VideoReadError(f"Cannot open video (not a video, or truncated): {str(path)!r}")
    return cap


def frame_count_hint(cap: cv2.VideoCapture) -> int:
    """The container's frame count: a hint only, it can be wrong or 0 (containers that keep no
    count, WebM and Matroska, declare their duration times a nominal rate)."""
    n = cap.get(cv2.CAP_PROP_FRAME_COUNT)
    return int(n) if np.isfinite(n) and n > 0 else 0


def no_frames_error(path: str | os.PathLike, declared: int = 0) -> VideoReadError:
    """The error of a file that opens but in which no frame decodes (e.g. cut before its data)."""
    said = f" of the {declared} its container declares" if declared else ""
    return VideoReadError(f"No decodable frames{said} in video: {str(path)!r}")


def _first_frame_decodes(path: str | os.PathLike) -> bool:
    """Whether the video's first frame decodes (cheap: one frame), e.g. in a cut file."""
    cap = open_video(path)
    try:
        return bool(cap.grab())
    finally:
        cap.release()


def declared_extent(path: str | os.PathLike) -> tuple[int, float | None, float]:
    """`(frame count hint, declared duration in seconds or None, nominal frame rate)` of a video.

    The duration is the frame count over the frame rate: OpenCV derives that count from the
    duration the container declares when it keeps no count (WebM, Matroska)."""
    cap = open_video(path)
    count, fps = frame_count_hint(cap), cap.get(cv2.CAP_PROP_FPS)
    cap.release()
    fps = float(fps) if np.isfinite(fps) and fps > 0 else 0.0
    return count, count / fps if count and fps else None, fps


def size_truncation(path: str | os.PathLike) -> tuple[bool, TruncatedVideoError | None]:
    """`(whether the container declares its size, the error when the file holds fewer bytes)`:
    exact and free, no decoding (`vidseq.data.containers.declared_size`)."""
    declared = declared_size(path)
    if declared is None:
        return False, None
    size = Path(path).stat().st_size
    return True, TruncatedVideoError(path, size, declared, "bytes") if size < declared else None


def usable_size_truncation(path: str | os.PathLike) -> tuple[bool, TruncatedVideoError | None]:
    """`size_truncation`, raising `no_frames_error` instead for a cut file in which no frame
    decodes: there is nothing to keep or score, whatever the caller would do with a cut file."""
    says, cut = size_truncation(path)
    if cut is not None and not _first_frame_decodes(path):
        raise no_frames_error(path, declared_extent(path)[0])
    return says, cut


def decode_extent(path: str | os.PathLike) -> tuple[int, float]:
    """`(frames that decode, where decoding stops in seconds)`: the last decoded frame's timestamp
    plus one frame (the median interval between frames). Costs one decode pass."""
    cap = open_video(path)
    try:
        stamps = []
        while cap.grab():
            stamps.append(cap.get(cv2.CAP_PROP_POS_MSEC) / 1000)
        fps = cap.get(cv2.CAP_PROP_FPS)
    finally:
        cap.release()
    if not stamps:
        return 0, 0.0
    steps = np.diff(stamps)
    if not len(steps) or not (steps > 0).all():  # no usable timestamps: the nominal rate
        period = 1 / fps if np.isfinite(fps) and fps > 0 else 0.0
        return len(stamps), len(stamps) * period
    return len(stamps), stamps[-1] + float(np.median(steps))


def time_truncation(path: str | os.PathLike, stopped: float, declared: float | None, fps: float
                    ) -> TruncatedVideoError | None:
    """The error when decoding stops (`stopped` s) well before the `declared` end: by more than
    two frames or 2% of it (the slack of encoders that round their durations)."""
    if not declared:
        return None
    slack = max(2 / fps if fps > 0 else 0.0, 0.02 * declared)
    return TruncatedVideoError(path, stopped, declared, "seconds") if stopped < declared - slack else None


def check_truncation(path: str | os.PathLike) -> TruncatedVideoError | None:
    """The error describing a cut file (a partial download), or None for a whole one.

    Decided from where the file stops against where it says it ends, never from a frame count
    (variable-frame-rate footage decodes fewer frames than its duration times its nominal
    rate, and is whole): MP4/MOV, Matroska/WebM and AVI files declare their sizes, so a file
    holding fewer bytes is cut (free: no decoding). A file that declares no size (a WebM
    recorded live) is cut when its last decoded frame ends well before the duration its
    container declares (one decode pass); one declaring neither cannot be told from a whole one.
    Raises `VideoReadError` for a file that is no video, or a cut one in which no frame
    decodes: there is nothing to score.

    >>> check_truncation("data/demo/real/real_000.mp4") is None  # doctest: +SKIP
    True
    """
    says, cut = usable_size_truncation(path)
    if says:
        return cut
    _, declared, fps = declared_extent(path)
    if declared is None:
        return None
    _, stopped = decode_extent(path)
    return time_truncation(path, stopped, declared, fps)


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

