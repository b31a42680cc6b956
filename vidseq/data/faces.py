"""Face crops: faces detected on downscaled frames (YuNet by default, or MTCNN), linked into
face tracks per video.

Deepfake evidence is in the face; a full frame resized to 224 px leaves it a few dozen
pixels wide. Detection runs on frames whose longest side is at most `detect_size` (the
boxes are scaled back), after a cheaper first pass at `first_pass` pixels that settles every
frame where it finds a sure face. The detectors and their confidence levels are in
`vidseq.data.face_detectors`. Sampled frames are far
apart in time (16 frames of a 10 s clip are 0.6 s apart), so detections are linked into
tracks by position and size relative to the face, not by overlap (`link_detections`). A
video shows a face only if some track recurs with confidence: a detector's occasional false
face in a cartoon, a texture or a blurred object gives no track (`track_faces`). Tracks
rank by presence (seen often and large); the main one is followed while its person is
detected, and in a frame where it is not but another face is (a cut to another shot, the
followed person gone), the crop shows that face. `FaceCrop.max_faces` tracks are read and
scored per video. The crop is a square of `margin` times the box, kept inside the frame.
"""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np

from vidseq.utils.checks import check_int, is_int
from vidseq.data.face_detectors import DEFAULT_DETECTOR, DETECTORS, Detector, get_detector
from vidseq.data.video_io import VideoReadError, resize_frame

NO_FACE_POLICIES = ("full_frame", "skip")
# MTCNN's version before detectors were named: keys without a detector field stand for it.
UNNAMED_VERSION = "mtcnn-1"
# Bump when tracking changes what boxes come out: part of the face-box, crop and embedding cache keys.
TRACKER_VERSION = 2  # 2: tracks linked by position and size, kept only with support, several per video
MAX_TRACKS = 8  # tracks cached per video, so max_faces can be raised without detecting again
MAX_LINK_DISTANCE = 4.0  # face sizes a face may move (plus log size ratio) between two sampled frames
MIN_SUPPORT = 2  # frames a face must be detected in, at the detector's `sure` median confidence
MIN_COVERAGE = 0.2  # and such faces must be in this fraction of the sampled frames
MIN_ASPECT, MAX_ASPECT = 0.8, 2.0  # height / width of a face box (MTCNN's and YuNet's: about 1.1-1.4)
MAX_FACE_FRACTION = 0.9  # of the frame's shorter side
MIN_FRAME_SIDE = 32  # pixels: a frame the detector sees must be at least this high and wide


@dataclass(frozen=True)
class FaceCrop:
    """Face-crop settings; part of every cache key that depends on them.

    `detector`: "yunet" (the default: OpenCV's YuNet, shipped with vidseq) or "mtcnn" (runs
    saved before this setting existed used it, and still do). `min_confidence=None` takes
    the detector's own floor (YuNet 0.7, MTCNN 0.9: their scores have different scales).

    >>> FaceCrop().detector, FaceCrop().min_confidence, FaceCrop(detector="mtcnn").min_confidence
    ('yunet', 0.7, 0.9)
    """

    detector: str = DEFAULT_DETECTOR
    margin: float = 1.3  # FF++ and DeepfakeBench enlarge the box 1.3x
    detect_size: int = 640  # longest side of the frames the detector sees
    first_pass: int | None = 320  # a cheaper first search at this size; None: detect_size only
    min_face_size: int = 20  # smallest face found, in pixels at detect_size (MTCNN: at each pass)
    min_confidence: float | None = None  # None: the detector's own (DETECTORS[detector].min_confidence)
    no_face: str = "full_frame"  # or "skip" the video
    max_faces: int = 1  # face tracks per video that are read and scored (tracks 0 .. max_faces - 1)

    def __post_init__(self):
        detector = get_detector(self.detector)
        if not isinstance(self.margin, (int, float)) or not 1.0 <= self.margin <= 3.0:
            raise ValueError(f"Received: margin={self.margin!r}. Expected a float in [1, 3].")
        check_int("detect_size", self.detect_size, 64, 4096)
        if self.first_pass is not None:
            check_int("first_pass", self.first_pass, 64, 4096)
        top = detector.max_min_face_size
        if not is_int(self.min_face_size) or not 4 <= self.min_face_size <= top:
            raise ValueError(f"Received: min_face_size={self.min_face_size!r}. Expected an int in [4, {top}]" + (
                " (mtcnn crashes on larger values; detect on smaller frames instead)." if self.detector == "mtcnn"
                else "."))
        if self.min_confidence is None:  # stored resolved: config.json records the floor that was used
            object.__setattr__(self, "min_confidence", detector.min_confidence)
        if not isinstance(self.min_confidence, (int, float)) or not 0 < self.min_confidence < 1:
            raise ValueError(f"Received: min_confidence={self.min_confidence!r}. Expected a float in (0, 1).")
        if self.no_face not in NO_FACE_POLICIES:
            raise ValueError(f"Received: no_face={self.no_face!r}. Expected one of {list(NO_FACE_POLICIES)}.")
        check_int("max_faces", self.max_faces, 1, MAX_TRACKS)

    @property
    def face_detector(self) -> Detector:
        """The detector's entry in `vidseq.data.face_detectors.DETECTORS` (its version, confidence levels)."""
        return DETECTORS[self.detector]

    def key(self) -> dict:
        """Every field: what a run's config.json stores and `FaceCrop.from_key(key)` rebuilds."""
        return asdict(self)

    @classmethod
    def from_key(cls, key: dict) -> FaceCrop:
        """The settings a run's config.json recorded (`key()`). A run saved before `detector`
        was a setting detected with MTCNN: it still does, so it scores as it did."""
        return cls(**{"detector": "mtcnn", **key})

    def with_detector(self, detector: str) -> FaceCrop:
        """These settings with another detector; a floor left at the old detector's default
        becomes the new one's (the scales differ), a floor set by hand is kept."""
        floor = None if self.min_confidence == self.face_detector.min_confidence else self.min_confidence
        return dataclasses.replace(self, detector=detector, min_confidence=floor)

    def detection_key(self) -> dict:
        """What the detections depend on, for cache keys: the detector by its version (boxes of
        one detector, or of one version of it, never stand for another's) and its settings."""
        return dict(**self._detector_key(), detect_size=self.detect_size, min_face_size=self.min_face_size,
                    min_confidence=self.min_confidence, first_pass=self.first_pass)

    def crop_key(self) -> dict:
        """What one track's crops depend on, for cache keys: not `max_faces` (track 0 is the
        same whatever it is), plus the detector's and the tracker's versions."""
        key = asdict(self)
        del key["max_faces"], key["detector"]
        return {**key, **self._detector_key(), "tracker": TRACKER_VERSION}

    def _detector_key(self) -> dict:
        """The detector's version, except MTCNN's first: its boxes, crops and embeddings keep the
        keys they had before the detector was a setting, so caches filled then stay warm."""
        version = self.face_detector.version
        return {} if version == UNNAMED_VERSION else {"detector": version}


def face_settings(face_crop: "bool | FaceCrop | None") -> FaceCrop | None:
    """The settings a `face_crop` argument asks for: True = defaults, False or None = no crop.
    Raises `FaceModelError` if their detector cannot run (YuNet's model file missing or
    corrupted), before any video is read."""
    if isinstance(face_crop, (bool, np.bool_)):
        face_crop = FaceCrop() if face_crop else None
    elif face_crop is not None and not isinstance(face_crop, FaceCrop):
        raise ValueError(f"Received: face_crop={face_crop!r}. Expected a bool or a vidseq.data.faces.FaceCrop.")
    if face_crop is not None:
        face_crop.face_detector.check()
    return face_crop


def detection_size(frame_size: tuple[int, int], detect_size: int) -> tuple[tuple[int, int], float]:
    """`((height, width), scale)` of a frame of `frame_size` shrunk so its longest side is at most `detect_size`."""
    h, w = frame_size
    scale = min(1.0, detect_size / max(h, w))
    return (round(h * scale), round(w * scale)), scale


def shrink_for_detection(frame: np.ndarray, detect_size: int) -> tuple[np.ndarray, float]:
    """`(frame, scale)`: the frame downscaled so its longest side is at most `detect_size`."""
    size, scale = detection_size(frame.shape[:2], detect_size)
    return resize_frame(frame, size), scale


def check_frame_size(frame_size: tuple[int, int], path=None) -> None:
    """Raise `VideoReadError` (naming `path`, if given) for frames too small to detect faces in."""
    if min(frame_size) < MIN_FRAME_SIDE:
        where = f": {str(path)!r}" if path is not None else ""
        raise VideoReadError(f"Received: {frame_size[1]}x{frame_size[0]} frames for face detection. Expected frames "
                             f"at least {MIN_FRAME_SIDE} pixels high and wide{where}")


def detect_faces(frames: Sequence[np.ndarray], settings: FaceCrop = FaceCrop()) -> list[np.ndarray]:
    """Faces in each RGB frame: a `(k, 5)` array of `x, y, w, h, confidence` per frame.

    Frames larger than `settings.detect_size` are downscaled for detection; the boxes
    are in the given frames' pixels. With `settings.first_pass` below `detect_size`, every
    frame is first searched at that size (a quarter of the pixels); only the frames where
    that finds no sure face (the detector's `sure` confidence) are searched again at
    `detect_size`, so small or unclear faces are still found. Frames smaller than
    `MIN_FRAME_SIDE` pixels at `detect_size` raise `VideoReadError`.
    """
    for frame in frames:
        check_frame_size(detection_size(frame.shape[:2], settings.detect_size)[0])
    if not settings.first_pass or settings.first_pass >= settings.detect_size:
        return detect_at_size(frames, settings, settings.detect_size)
    found = detect_at_size(frames, settings, settings.first_pass)
    sure = settings.face_detector.sure
    # Searched again: frames without a sure face that the first pass saw shrunk.
    again = [t for t, faces in enumerate(found)
             if not (faces[:, 4] >= sure).any() and max(frames[t].shape[:2]) > settings.first_pass]
    for t, faces in zip(again, detect_at_size([frames[t] for t in again], settings, settings.detect_size)):
        found[t] = faces
    return found


def detect_at_size(frames: Sequence[np.ndarray], settings: FaceCrop, detect_size: int) -> list[np.ndarray]:
    """One detection pass: the detector's faces at or above `settings.min_confidence` in frames
    shrunk to `detect_size`, boxes in the given frames' pixels (`detect_faces` makes one or two passes)."""
    if not len(frames):
        return []
    detector = settings.face_detector
    small, scales = zip(*(shrink_for_detection(f, detect_size) for f in frames))
    found = detector.detect(small, settings.min_face_size if detector.pyramid else None, settings.min_confidence)
    found = [faces * np.array([1 / scale] * 4 + [1.0]) for faces, scale in zip(found, scales)]
    if detector.pyramid:
        return found
    # The smallest face is min_face_size pixels at detect_size, whichever pass found it.
    return [faces[faces[:, 2] * detection_size(frame.shape[:2], settings.detect_size)[1] >= settings.min_face_size]
            for faces, frame in zip(found, frames)]


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two `x, y, w, h` boxes."""
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return float(inter / union) if union > 0 else 0.0


def box_distance(a: np.ndarray, b: np.ndarray) -> float:
    """How far apart two `x, y, w, h` faces are in face sizes: centre distance over the larger
    face's size (the square root of its area), plus the log of their size ratio."""
    size_a, size_b = np.sqrt(max(a[2] * a[3], 1e-9)), np.sqrt(max(b[2] * b[3], 1e-9))
    centre = np.hypot(a[0] + a[2] / 2 - b[0] - b[2] / 2, a[1] + a[3] / 2 - b[1] - b[3] / 2)
    return float(centre / max(size_a, size_b) + abs(np.log(size_a / size_b)))


def link_detections(detections: Sequence[np.ndarray], max_distance: float = MAX_LINK_DISTANCE) -> list[dict[int, int]]:
    """Group detections across frames into tracks: `{frame: row of detections[frame]}` per track.

    Frame by frame, each track's latest face is paired with the closest detection
    (`box_distance`, greedily, closest pairs first) within `max_distance` face sizes; a
    detection left unpaired starts a new track. The gate is wide because sampled frames are
    far apart in time: a face may move several of its widths between them.
    """
    tracks: list[dict[int, int]] = []
    last: list[np.ndarray] = []
    for t, found in enumerate(detections):
        pairs = sorted((box_distance(last[j], found[i, :4]), j, i) for j in range(len(tracks)) for i in range(len(found)))
        free_tracks, free_rows = set(range(len(tracks))), set(range(len(found)))
        for distance, j, i in pairs:
            if distance <= max_distance and j in free_tracks and i in free_rows:
                tracks[j][t] = i
                last[j] = found[i, :4]
                free_tracks.discard(j)
                free_rows.discard(i)
        for i in sorted(free_rows):
            tracks.append({t: i})
            last.append(found[i, :4])
    return tracks


def plausible(box: np.ndarray, frame_size: tuple[int, int] | None) -> bool:
    """Whether a detection has a face's shape (MTCNN's and YuNet's boxes are about 1.1-1.4x
    taller than wide) and, given the frame's `(height, width)`, a face's size in it."""
    x, y, w, h = box[:4]
    if not MIN_ASPECT <= h / max(w, 1e-9) <= MAX_ASPECT:
        return False
    return frame_size is None or w <= MAX_FACE_FRACTION * min(frame_size)


def is_supported(support: int, confidence: float, count: int, detector: str = DEFAULT_DETECTOR) -> bool:
    """Whether a track detected in `support` of `count` sampled frames at median `confidence`
    is believable as a face on its own (see `track_faces`), on `detector`'s confidence scale."""
    levels = get_detector(detector)
    if support >= max(MIN_SUPPORT, count / 2) and confidence >= levels.persistent:
        return True
    return support >= min(MIN_SUPPORT, count) and confidence >= levels.sure or confidence >= levels.strict


def track_faces(detections: Sequence[np.ndarray], frame_size: tuple[int, int] | None = None,
                max_tracks: int = MAX_TRACKS, detector: str = DEFAULT_DETECTOR) -> list[np.ndarray]:
    """Face tracks over a video's sampled frames: one `(T, 4)` array of `x, y, w, h` boxes per
    track, main track first; an empty list when no face is believable.

    `detections`: per frame, a `(k, 5)` array of `x, y, w, h, confidence` (`detect_faces`);
    `frame_size`: the frames' `(height, width)`, to reject boxes too large to be a face;
    `detector`: whose confidences these are (the levels below are on its own scale,
    `vidseq.data.face_detectors.DETECTORS`). Detections are linked into tracks
    (`link_detections`). A video shows a face only if one track has support
    (`is_supported`): detections in at least `MIN_SUPPORT` frames (every frame when the video
    has fewer) at the detector's `sure` median confidence, in half the frames at its
    `persistent` one, or a single detection at its `strict` one, which may be all a shot
    shows; and those tracks together must cover `MIN_COVERAGE` of the sampled frames. False
    faces (textures, blurred objects) rarely recur at that confidence, and a cartoon's
    face-like character that a detector believes (MTCNN: 0.99 in a few consecutive frames of
    Big Buck Bunny; YuNet: 0.83) is rarely on screen for long: a face-free video gets no track.
    In a video that shows a face, every track is kept (a face seen once after a cut is a
    face), and tracks rank by presence: those with the support above first, then by the
    face's size summed over the frames it is detected in (seen often and large).

    Track k's box in each frame is its own detection there; where it has none but the frame
    shows another kept face, that face (the one closest to where the track would be), so a
    crop shows a face wherever one is visible: the face of the new shot after a cut, the
    person still in view after the followed one left; elsewhere the track's box interpolated
    between its own detections (held before the first and after the last).
    """
    count = len(detections)
    detections = [np.asarray(d, float).reshape(-1, 5) for d in detections]
    detections = [d[[plausible(box, frame_size) for box in d]] if len(d) else d for d in detections]
    tracks = link_detections(detections)
    confidence = [np.median([detections[t][i, 4] for t, i in track.items()]) for track in tracks]
    supported = [is_supported(len(track), c, count, detector) for track, c in zip(tracks, confidence)]
    covered = {t for track, ok in zip(tracks, supported) if ok for t in track}
    if not covered or len(covered) < MIN_COVERAGE * count:
        return []
    # Support and size in one: the face's size summed over the frames it was detected in.
    presence = [sum(np.sqrt(detections[t][i, 2] * detections[t][i, 3]) for t, i in track.items()) for track in tracks]
    order = sorted(range(len(tracks)), key=lambda j: (not supported[j], -presence[j]))
    kept = [tracks[j] for j in order]
    faces_in = [[detections[t][i, :4] for track in kept for s, i in track.items() if s == t] for t in range(count)]
    boxes = []
    for track in kept[:max_tracks]:
        frames = np.array(sorted(track))
        own = np.stack([detections[t][track[t], :4] for t in frames])
        # Linear interpolation between the track's own detections, held at both ends.
        guess = np.stack([np.interp(np.arange(count), frames, own[:, c]) for c in range(4)], axis=1)
        for t in range(count):
            if t in track:
                guess[t] = detections[t][track[t], :4]
            elif faces_in[t]:
                guess[t] = min(faces_in[t], key=lambda box: box_distance(guess[t], box))
        boxes.append(guess)
    return boxes


def track_face(detections: Sequence[np.ndarray], frame_size: tuple[int, int] | None = None,
               detector: str = DEFAULT_DETECTOR) -> np.ndarray | None:
    """The main face track's `(T, 4)` boxes (`track_faces`), or None when no face is believable."""
    tracks = track_faces(detections, frame_size, max_tracks=1, detector=detector)
    return tracks[0] if tracks else None


def crop_face(frame: np.ndarray, box: Sequence[float], size: tuple[int, int], margin: float = 1.3) -> np.ndarray:
    """A square of `margin` times the box around its centre, kept inside the frame, resized."""
    fh, fw = frame.shape[:2]
    x, y, w, h = box
    side = min(max(w, h) * margin, fh, fw)
    left = int(round(np.clip(x + w / 2 - side / 2, 0, fw - side)))
    top = int(round(np.clip(y + h / 2 - side / 2, 0, fh - side)))
    side = int(round(side))
    return resize_frame(frame[top : top + side, left : left + side], size)
