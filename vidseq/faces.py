"""Face crops with MTCNN: detected on downscaled frames, one tracked face per video.

Deepfake evidence is in the face; a full frame resized to 224 px leaves it a few dozen
pixels wide. Detection runs on frames whose longest side is at most `detect_size` (the
boxes are scaled back), batched over a video's sampled frames. One face is followed per
video: the largest face of the first frame that has one, then the detection overlapping
it most in each later frame, so the crop never jumps to another person; frames without a
detection reuse the nearest frame's box. The crop is a square of `margin` times the box,
kept inside the frame.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np

from vidseq.checks import check_int, is_int
from vidseq.video_io import resize_frame

NO_FACE_POLICIES = ("full_frame", "skip")
MAX_MIN_FACE_SIZE = 24  # mtcnn 1.0 crashes above about this


@dataclass(frozen=True)
class FaceCrop:
    """Face-crop settings; part of every cache key that depends on them."""

    margin: float = 1.3  # FF++ and DeepfakeBench enlarge the box 1.3x
    detect_size: int = 640  # longest side of the frames MTCNN sees
    min_face_size: int = 20  # in detection pixels
    min_confidence: float = 0.9
    no_face: str = "full_frame"  # or "skip" the video

    def __post_init__(self):
        if not isinstance(self.margin, (int, float)) or not 1.0 <= self.margin <= 3.0:
            raise ValueError(f"Received: margin={self.margin!r}. Expected a float in [1, 3].")
        check_int("detect_size", self.detect_size, 64, 4096)
        if not is_int(self.min_face_size) or not 4 <= self.min_face_size <= MAX_MIN_FACE_SIZE:
            raise ValueError(
                f"Received: min_face_size={self.min_face_size!r}. Expected an int in [4, {MAX_MIN_FACE_SIZE}] "
                "(mtcnn crashes on larger values; detect on smaller frames instead).")
        if not 0 < self.min_confidence < 1:
            raise ValueError(f"Received: min_confidence={self.min_confidence!r}. Expected a float in (0, 1).")
        if self.no_face not in NO_FACE_POLICIES:
            raise ValueError(f"Received: no_face={self.no_face!r}. Expected one of {list(NO_FACE_POLICIES)}.")

    def key(self) -> dict:
        return asdict(self)


def face_settings(face_crop: "bool | FaceCrop | None") -> FaceCrop | None:
    """The settings a `face_crop` argument asks for: True = defaults, False or None = no crop."""
    if face_crop is None or isinstance(face_crop, FaceCrop):
        return face_crop
    if isinstance(face_crop, (bool, np.bool_)):
        return FaceCrop() if face_crop else None
    raise ValueError(f"Received: face_crop={face_crop!r}. Expected a bool or a vidseq.faces.FaceCrop.")


def shrink_for_detection(frame: np.ndarray, detect_size: int) -> tuple[np.ndarray, float]:
    """`(frame, scale)`: the frame downscaled so its longest side is at most `detect_size`."""
    h, w = frame.shape[:2]
    scale = min(1.0, detect_size / max(h, w))
    return resize_frame(frame, (round(h * scale), round(w * scale))), scale


_DETECTOR = None
_DETECTOR_LOCK = threading.Lock()


def detect_faces(frames: Sequence[np.ndarray], settings: FaceCrop = FaceCrop(), batch: int = 8) -> list[np.ndarray]:
    """Faces in each RGB frame: a `(k, 5)` array of `x, y, w, h, confidence` per frame.

    Frames larger than `settings.detect_size` are downscaled for detection; the boxes
    are in the given frames' pixels.
    """
    global _DETECTOR
    results = []
    # One detector per process; TensorFlow runs it on all cores, so calls are serialised.
    with _DETECTOR_LOCK:
        if _DETECTOR is None:
            from mtcnn import MTCNN

            _DETECTOR = MTCNN()
        for start in range(0, len(frames), batch):
            small, scales = zip(*(shrink_for_detection(f, settings.detect_size) for f in frames[start : start + batch]))
            found = _DETECTOR.detect_faces(list(small), min_face_size=settings.min_face_size)
            for faces, scale in zip(found, scales):
                rows = [[*np.asarray(f["box"], float) / scale, f["confidence"]] for f in faces
                        if f["confidence"] >= settings.min_confidence]
                results.append(np.array(rows, float).reshape(-1, 5))
    return results


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two `x, y, w, h` boxes."""
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return float(inter / union) if union > 0 else 0.0


def track_face(detections: Sequence[np.ndarray], min_iou: float = 0.2) -> np.ndarray | None:
    """One `x, y, w, h` box per frame following a single face, or None when no frame has one."""
    first = next((t for t, d in enumerate(detections) if len(d)), None)
    if first is None:
        return None
    areas = detections[first][:, 2] * detections[first][:, 3]
    current = detections[first][int(np.argmax(areas)), :4]
    tracked: list[np.ndarray | None] = [None] * len(detections)
    for t in range(first, len(detections)):
        overlaps = [iou(current, d[:4]) for d in detections[t]]
        if overlaps and max(overlaps) >= min_iou:
            current = detections[t][int(np.argmax(overlaps)), :4]
            tracked[t] = current
    known = np.array([t for t, box in enumerate(tracked) if box is not None])
    return np.stack([tracked[known[np.argmin(np.abs(known - t))]] for t in range(len(tracked))])


def crop_face(frame: np.ndarray, box: Sequence[float], size: tuple[int, int], margin: float = 1.3) -> np.ndarray:
    """A square of `margin` times the box around its centre, kept inside the frame, resized."""
    fh, fw = frame.shape[:2]
    x, y, w, h = box
    side = min(max(w, h) * margin, fh, fw)
    left = int(round(np.clip(x + w / 2 - side / 2, 0, fw - side)))
    top = int(round(np.clip(y + h / 2 - side / 2, 0, fh - side)))
    side = int(round(side))
    return resize_frame(frame[top : top + side, left : left + side], size)
