"""From frame scores to a video score: how a frame classifier (CoAtNet, a fine-tuned backbone,
MesoNet) says P(fake) of a whole video. NumPy only.
"""

from __future__ import annotations

import numpy as np

from vidseq.utils.checks import check_choice

VIDEO_SCORES = ("mean", "confident")


def video_scores(frame_scores: np.ndarray, video_ids: np.ndarray, num_videos: int, how: str = "mean") -> np.ndarray:
    """One P(fake) per video from its frames' scores.

    "mean" averages them. "confident" is the DFDC winner's rule (Seferbekov, 2020): when
    many frames are confidently fake (> 0.8: more than 11 and more than 40% of them), average
    those; when over 90% are confidently real (< 0.2), average those; else the plain mean.

    >>> video_scores(np.array([0.9, 0.7, 0.1]), np.array([0, 0, 1]), 2).round(2).tolist()
    [0.8, 0.1]
    """
    check_choice("video_score", how, VIDEO_SCORES)
    out = np.full(num_videos, np.nan)
    for v in range(num_videos):
        scores = frame_scores[video_ids == v]
        if len(scores):
            out[v] = _confident(scores) if how == "confident" else scores.mean()
    return out


def _confident(scores: np.ndarray, threshold: float = 0.8) -> float:
    fakes = scores > threshold
    if fakes.sum() > len(scores) // 2.5 and fakes.sum() > 11:
        return float(scores[fakes].mean())
    reals = scores < 0.2
    if reals.sum() > 0.9 * len(scores):
        return float(scores[reals].mean())
    return float(scores.mean())
