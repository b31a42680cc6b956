"""Data layer: find videos, split them without identity leaks, sample and decode frames.

A facade: the code lives in `vidseq.data.layouts` (discovery), `vidseq.data.splits` (splits),
`vidseq.data.sampling` (frame sampling and decoding) and `vidseq.data.video_io`. Nothing here imports
TensorFlow, so `import util` is cheap.

    >>> import util
    >>> videos = util.split_videos(util.discover_videos("data/demo"))  # doctest: +SKIP
    >>> frames, mask = util.read_frames(videos.path[0], 16, size=(224, 224))  # doctest: +SKIP
"""

from __future__ import annotations

from vidseq.data.faces import FaceCrop
from vidseq.data.identities import identities_from_name
from vidseq.data.layouts import SPLITS, discover_videos
from vidseq.data.sampling import (MAX_FRAMES, ON_TRUNCATED, STRATEGIES, NoFaceError, check_num_frames, check_on_truncated,
                             count_face_tracks, read_frames, read_frames_and_boxes, read_frames_and_face,
                             sample_indices)
from vidseq.data.splits import SPLIT_BY, describe_split, split_fingerprint, split_report, split_videos
from vidseq.data.video_io import TruncatedVideoError, VideoReadError, check_truncation
from vidseq.utils.notices import SkippedVideoWarning, VidseqWarning

__all__ = [
    "STRATEGIES", "SPLITS", "SPLIT_BY", "ON_TRUNCATED", "MAX_FRAMES", "VideoReadError", "TruncatedVideoError",
    "NoFaceError", "FaceCrop", "discover_videos", "identities_from_name", "split_videos", "split_report",
    "describe_split", "split_fingerprint", "sample_indices", "read_frames", "read_frames_and_face",
    "read_frames_and_boxes", "check_num_frames", "check_on_truncated", "check_truncation", "count_face_tracks",
    "VidseqWarning", "SkippedVideoWarning",
]
