"""A run's videos: discovered, split (no identity in two splits), and without the unusable ones.

    >>> from vidseq.training.config import RunConfig
    >>> videos = RunVideos("data/demo", RunConfig.from_options(16, "MobileNetV2", weights="random"))  # doctest: +SKIP
    >>> videos.videos.split.value_counts()  # doctest: +SKIP
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from vidseq.data.layouts import SPLITS, discover_videos
from vidseq.data.splits import describe_split, fold_split, fold_videos, split_videos
from vidseq.training.config import RunConfig


class RunVideos:
    """One run's videos, split as its config says; what every training recipe reads.

    Discovers and splits `data_dir` (a bad one fails here, before any folder is made; `split`:
    that table already split, as `split_as_run` makes it), and checks that `config.save_dir`
    is writable before any training. `drop_unusable` then takes out what extraction could not read.
    """

    def __init__(self, data_dir: str | os.PathLike, config: RunConfig, split: pd.DataFrame | None = None):
        self.data_dir, self.config = data_dir, config
        self.say: Callable[..., Any] = print if config.verbose else (lambda *a, **k: None)
        self.face = config.data.face
        self.cache_dir = config.cache_path
        self.videos = split_as_run(data_dir, config) if split is None else split
        self.labels = self.videos.label.to_numpy()
        self.rows = {s: (self.videos.split == s).to_numpy() for s in SPLITS}
        self.errors: dict[str, str] = {}
        self.no_face: list[str] = []
        require_both_classes(self.labels, self.rows, "Expected val_size > 0 and test_size > 0.")
        save_dir = Path(config.save_dir)
        save_dir.mkdir(parents=True, exist_ok=True)
        if not os.access(save_dir, os.W_OK):
            raise PermissionError(f"Received: save_dir={str(save_dir)!r}, which is not writable.")

    def drop_unusable(self, usable: np.ndarray, errors: dict, no_face: list) -> dict[str, np.ndarray]:
        """The split rows without skipped videos; both classes must remain in every split."""
        self.errors, self.no_face = errors, no_face
        if errors:
            self.say(f"Skipped {len(errors)} video(s) (unreadable, or no face with no_face='skip'); "
                     "listed in metrics.json.")
        if no_face:
            self.say(f"No face found in {len(no_face)} video(s): full frames used; listed in metrics.json.")
        self.used = {s: r & usable for s, r in self.rows.items()}
        # The split as trained and tested: counts after skipping, so they match metrics.json.
        self.used_videos = self.videos.assign(split=np.where(usable, self.videos.split, "skipped"))
        self.say(describe_split(self.used_videos))
        require_both_classes(self.labels, self.used, f"After skipping {len(errors)} unusable video(s); "
                             "expected both classes.")
        return self.used


def split_as_run(data_dir: str | os.PathLike, config: RunConfig, run_data_dir: str | None = None) -> pd.DataFrame:
    """The videos of `data_dir`, split as a run with `config` splits them. `run_data_dir`: the
    data the run trained on, when not `data_dir` (its identities CSV is then not used)."""
    same_data = Path(data_dir).resolve() == Path(run_data_dir or data_dir).resolve()
    data = config.data
    videos = discover_videos(data_dir, data.compression, identities=data.identities if same_data else None)
    if data.fold is not None:  # one run of a cross-validation: its fold is the test split
        return fold_split(fold_videos(videos, data.folds, config.seed, data.split_by, data.split_tolerance), data.fold,
                          data.val_size, config.seed, data.split_by, data.split_tolerance)
    return split_videos(videos, data.val_size, data.test_size, config.seed, data.split_by, data.split_tolerance)


def require_both_classes(labels: np.ndarray, rows: dict[str, np.ndarray], hint: str) -> None:
    """Every split needs real and fake videos: training, early stopping and AUC depend on it."""
    for split, r in rows.items():
        if len(np.unique(labels[r])) < 2:
            counts = f"{(labels[r] == 0).sum()} real, {(labels[r] == 1).sum()} fake"
            raise ValueError(f"Received: a {split!r} split of {r.sum()} video(s) ({counts}). {hint}")


__all__ = ["RunVideos", "split_as_run", "require_both_classes"]
