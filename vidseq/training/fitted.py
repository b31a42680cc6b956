"""What a training recipe hands back: a trained run before it is saved (`vidseq.runs.folders.save_run`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Fitted:
    """A trained run before it is saved: the model, its scores on the validation and test videos
    (`scores[split]`, aligned with `videos.used[split]`), per-frame scores of frame classifiers
    (`frame_scores[split] = (labels, scores)`), the Keras history and what config.json records
    of the model beyond the options."""

    model: Any  # a keras.Model
    scores: dict[str, np.ndarray]
    history: dict[str, list]
    train_seconds: float
    train_videos: int
    recorded: dict[str, Any]
    frame_scores: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
