"""Shared fixtures: tiny real H.264 videos generated on the fly (never downloaded)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vidseq.video_io import write_video


def make_frames(num_frames: int, height: int = 48, width: int = 64, seed: int = 0) -> np.ndarray:
    """Frames that differ from each other: a moving bright square over seeded noise."""
    rng = np.random.default_rng(seed)
    frames = rng.integers(0, 80, size=(num_frames, height, width, 3), dtype=np.uint8)
    for i, frame in enumerate(frames):
        x = (i * 3) % (width - 12)
        frame[8:20, x : x + 12] = (255, 40 + (i * 7) % 200, 30)
    return frames


@pytest.fixture(scope="session")
def video_factory(tmp_path_factory):
    """Write a tiny H.264 video and return its path: `video_factory(num_frames, **kwargs)`."""
    root = tmp_path_factory.mktemp("videos")

    def make(num_frames: int = 30, height: int = 48, width: int = 64, seed: int = 0, name: str | None = None,
             faststart: bool = True) -> Path:
        path = root / (name or f"v{num_frames}_{height}x{width}_s{seed}_{int(faststart)}.mp4")
        if not path.exists():
            write_video(path, make_frames(num_frames, height, width, seed), fps=15, faststart=faststart)
        return path

    return make
