"""The face detectors that `FaceCrop(detector=...)` names, as data: YuNet (the default) and MTCNN.

YuNet (Wu, Peng, Yu: "YuNet: A Tiny Millisecond-level Face Detector", 2023) runs in
OpenCV's `cv2.FaceDetectorYN`; its model file (YuNet-s, 232,589 bytes, Apache-2.0) ships in
the package, `vidseq/data/yunet/`, and is checked against its sha256 before first use.
MTCNN (the `mtcnn` package, on TensorFlow) is about 6x slower per frame (bench/bench_faces.py);
runs saved before detectors were a setting used it. Each detector's scores have their own scale (YuNet calls
a clear face 0.90-0.95, MTCNN 0.99-1.0), so each carries the confidence levels that the
face tracker's rules use (`vidseq.data.faces.track_faces`), calibrated on the same clips.

    >>> DETECTORS["yunet"].sure, DETECTORS["mtcnn"].sure
    (0.85, 0.98)
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

YUNET_FILE = Path(__file__).parent / "yunet" / "face_detection_yunet_2023mar.onnx"
YUNET_SHA256 = "8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4"
YUNET_NMS = 0.3  # OpenCV Zoo's setting: overlapping boxes of one face merged


class FaceModelError(OSError):
    """A face detector's model file is missing or is not the file vidseq ships (broken install)."""


@dataclass(frozen=True)
class Detector:
    """One face detector and the confidence levels of its own score scale.

    `detect(frames, min_face_size, min_confidence)`: per RGB frame a `(k, 5)` array of
    `x, y, w, h, confidence` in that frame's pixels, faces at least `min_face_size` pixels
    (None: any size). With `pyramid`, `FaceCrop.min_face_size` is given to the detector at
    each pass, where its image pyramid starts (MTCNN, as vidseq always did); without, it is
    the smallest face at `detect_size`, the same at every pass (`faces.detect_at_size`).
    `version` is part of every face cache key. `min_confidence` is `FaceCrop.min_confidence`'s
    default; `sure`, `persistent`, `strict`: the tracker's levels (a face that settles a
    frame in the first pass, and that a recurring track, a track in half the frames, a
    single detection must reach; docs/faces.md says how YuNet's were chosen).
    `check()` raises `FaceModelError` when the detector cannot run (cheap: before any work).
    """

    name: str
    version: str
    detect: Callable[[Sequence[np.ndarray], int | None, float], list[np.ndarray]]
    min_confidence: float
    sure: float
    persistent: float
    strict: float
    pyramid: bool = False
    max_min_face_size: int = 1024  # the largest `FaceCrop.min_face_size` it accepts
    check: Callable[[], object] = lambda: None


_MTCNN = None
_MTCNN_LOCK = threading.Lock()


def mtcnn_detector():
    """The process's one MTCNN detector (loaded on the first call: it imports TensorFlow)."""
    global _MTCNN
    with _MTCNN_LOCK:
        if _MTCNN is None:
            from vidseq.utils.quiet import import_keras_quietly

            import_keras_quietly()  # mtcnn loads TensorFlow: without its start-up lines
            from mtcnn import MTCNN

            _MTCNN = MTCNN()
    return _MTCNN


def detect_mtcnn(frames: Sequence[np.ndarray], min_face_size: int, min_confidence: float,
                 batch: int = 8) -> list[np.ndarray]:
    """MTCNN's faces in each frame, batched; calls are serialised (TensorFlow uses every core)."""
    mtcnn, found = mtcnn_detector(), []
    with _MTCNN_LOCK:
        for start in range(0, len(frames), batch):
            found += mtcnn.detect_faces(list(frames[start : start + batch]), min_face_size=min_face_size)
    return [np.array([[*f["box"], f["confidence"]] for f in faces if f["confidence"] >= min_confidence],
                     float).reshape(-1, 5) for faces in found]


_YUNET_BYTES: np.ndarray | None = None
_YUNET_LOCK = threading.Lock()
_YUNET_LOCAL = threading.local()  # a FaceDetectorYN keeps the input size: one per thread


def yunet_model() -> np.ndarray:
    """The shipped YuNet model's bytes, read and checked against `YUNET_SHA256` once per process."""
    global _YUNET_BYTES
    with _YUNET_LOCK:
        if _YUNET_BYTES is None:
            if not YUNET_FILE.is_file():
                raise FaceModelError(f"Received: no YuNet model file at {str(YUNET_FILE)!r}. Expected the file that "
                                     "ships with vidseq: reinstall vidseq, or use FaceCrop(detector='mtcnn').")
            data = YUNET_FILE.read_bytes()
            digest = hashlib.sha256(data).hexdigest()
            if digest != YUNET_SHA256:
                raise FaceModelError(f"Received: a YuNet model file {str(YUNET_FILE)!r} with sha256 {digest[:12]}... "
                                     f"Expected sha256 {YUNET_SHA256[:12]}... (the file vidseq ships): reinstall "
                                     "vidseq, or use FaceCrop(detector='mtcnn').")
            _YUNET_BYTES = np.frombuffer(data, np.uint8)
    return _YUNET_BYTES


def yunet_detector(min_confidence: float):
    """This thread's `cv2.FaceDetectorYN` on the shipped model, keeping faces at `min_confidence` or above."""
    import cv2

    detector = getattr(_YUNET_LOCAL, "detector", None)
    if detector is None:
        model = yunet_model()
        # OpenCV warns that its new graph engine ignores the (default) target: not the user's
        # concern. The log level is global: threads change it one at a time.
        with _YUNET_LOCK:
            level = cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
            try:
                detector = cv2.FaceDetectorYN.create("onnx", model, np.zeros(0, np.uint8), (320, 320),
                                                     min_confidence, YUNET_NMS)
            finally:
                cv2.utils.logging.setLogLevel(level)
        _YUNET_LOCAL.detector = detector
    detector.setScoreThreshold(min_confidence)
    return detector


def detect_yunet(frames: Sequence[np.ndarray], min_face_size: float | None, min_confidence: float) -> list[np.ndarray]:
    """YuNet's faces in each frame at or above `min_confidence`, at least `min_face_size` wide.

    Frames go one by one (OpenCV's network runs on every core, and releases the GIL: the
    threads that decode videos detect in parallel, each with its own detector)."""
    detector, results, size = yunet_detector(min_confidence), [], None
    for frame in frames:
        if frame.shape[:2] != size:
            size = frame.shape[:2]
            detector.setInputSize((size[1], size[0]))
        _, faces = detector.detect(np.ascontiguousarray(frame[..., ::-1]))  # YuNet reads BGR
        faces = np.zeros((0, 15), np.float32) if faces is None else faces
        faces = faces[faces[:, 2] >= (min_face_size or 0)]
        results.append(faces[:, [0, 1, 2, 3, 14]].astype(float))  # x, y, w, h, score (landmarks between)
    return results


# YuNet's levels sit lower than MTCNN's: its score is sqrt(class score x box IoU), and it
# calls a clear, frontal face 0.90-0.95 where MTCNN says 0.99-1.0 (docs/faces.md: calibration).
DETECTORS = {
    "yunet": Detector("yunet", "yunet-2023mar", detect_yunet, min_confidence=0.7, sure=0.85, persistent=0.75,
                      strict=0.9, check=yunet_model),
    "mtcnn": Detector("mtcnn", "mtcnn-1", detect_mtcnn, min_confidence=0.9, sure=0.98, persistent=0.95,
                      strict=0.995, pyramid=True, max_min_face_size=24),  # mtcnn 1.0 crashes above about 24
}
DEFAULT_DETECTOR = "yunet"


def get_detector(name: str) -> Detector:
    """The detector called `name`; a one-line error listing the valid names otherwise."""
    if not isinstance(name, str) or name not in DETECTORS:
        raise ValueError(f"Received: detector={name!r}. Expected one of {list(DETECTORS)}.")
    return DETECTORS[name]
