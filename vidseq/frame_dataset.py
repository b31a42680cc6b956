"""Frame-level data for image classifiers (CoAtNet): per-video crops on disk, streamed in batches.

Each video's sampled face crops are one uint8 `.npy` file `(n, S, S, 3)` in the cache; a
batch memory-maps only the frames it needs, so a dataset never has to fit in RAM. Every
frame carries its video's label; scores go back to videos through `video_scores`.
"""

from __future__ import annotations

import math
import os
from typing import Sequence

from vidseq.quiet import import_keras_quietly

import_keras_quietly()  # before Keras loads: TensorFlow's start-up lines stay hidden
import keras
import numpy as np

from vidseq.augment import augment_face
from vidseq.distribution import pad_rows

VIDEO_SCORES = ("mean", "confident")


class FrameDataset(keras.utils.PyDataset):
    """Batches `(images float32 0-255, labels, sample weights)` over all frames of `files`.

    `files[i]` is video i's crop file and `labels[i]` its label. With `shuffle`, frames are
    reshuffled across videos every epoch; with `augment`, each image goes through
    `augment_face`. Both are seeded by `(seed, epoch, batch)`, so a run is reproducible
    whatever the number of loader workers. `class_weight` weights each label's frames.
    `pad_to` pads the last batch with zero-weight copies to a multiple of that many rows
    (data-parallel training splits every batch evenly between devices).
    """

    def __init__(self, files: Sequence[str | os.PathLike], labels: Sequence[int], batch_size: int,
                 shuffle: bool = False, augment: bool = False, seed: int = 0,
                 class_weight: dict[int, float] | None = None, pad_to: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.files, self.labels = [str(f) for f in files], np.asarray(labels, np.int64)
        counts = [len(np.load(f, mmap_mode="r")) for f in self.files]
        self.video_ids = np.repeat(np.arange(len(self.files)), counts)  # per frame: which video
        self.frame_ids = np.concatenate([np.arange(n) for n in counts]) if counts else np.zeros(0, np.int64)
        self.batch_size, self.shuffle, self.augment, self.seed = batch_size, shuffle, augment, seed
        self.class_weight = class_weight or {0: 1.0, 1: 1.0}
        self.pad_to = pad_to
        self.epoch = 0
        self.order = self._order()

    def _order(self) -> np.ndarray:
        if not self.shuffle:
            return np.arange(len(self.video_ids))
        return np.random.default_rng((self.seed, self.epoch)).permutation(len(self.video_ids))

    def __len__(self) -> int:
        return math.ceil(len(self.video_ids) / self.batch_size)

    def __getitem__(self, index: int):
        rows = self.order[index * self.batch_size : (index + 1) * self.batch_size]
        rng = np.random.default_rng((self.seed, self.epoch, index))
        images = []
        for row in rows:
            image = np.load(self.files[self.video_ids[row]], mmap_mode="r")[self.frame_ids[row]]
            images.append(augment_face(np.asarray(image), rng) if self.augment else image)
        labels = self.labels[self.video_ids[rows]]
        weights = np.array([self.class_weight[int(y)] for y in labels], np.float32)
        return pad_rows(self.pad_to, np.stack(images).astype(np.float32), labels.astype(np.float32), weights)

    def on_epoch_end(self) -> None:
        self.epoch += 1
        self.order = self._order()


def video_scores(frame_scores: np.ndarray, video_ids: np.ndarray, num_videos: int, how: str = "mean") -> np.ndarray:
    """One P(fake) per video from its frames' scores.

    "mean" averages them. "confident" is the DFDC winner's rule (Seferbekov, 2020): when
    many frames are confidently fake (> 0.8: more than 11 and more than 40% of them), average
    those; when over 90% are confidently real (< 0.2), average those; else the plain mean.

    >>> video_scores(np.array([0.9, 0.7, 0.1]), np.array([0, 0, 1]), 2).round(2).tolist()
    [0.8, 0.1]
    """
    if how not in VIDEO_SCORES:
        raise ValueError(f"Received: video_score={how!r}. Expected one of {VIDEO_SCORES}.")
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
