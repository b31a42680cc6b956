"""Frame-level data for image classifiers (CoAtNet): per-video crops on disk, streamed in batches.

Each video's sampled face crops are one uint8 `.npy` file `(n, S, S, 3)` in the cache; a
batch memory-maps only the frames it needs, so a dataset never has to fit in RAM. Every
frame carries its video's label; scores go back to videos through `vidseq.models.frame_scores.video_scores`.
"""

from __future__ import annotations

import math
import os
from typing import Sequence

from vidseq.utils.quiet import import_keras_quietly

import_keras_quietly()  # before Keras loads: TensorFlow's start-up lines stay hidden
import keras
import numpy as np

from vidseq.models.frame_scores import video_scores
from vidseq.training.augment import augment_face
from vidseq.training.distribution import pad_rows

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


def score_frames(model: keras.Model, frames: FrameDataset, how: str) -> tuple[np.ndarray, np.ndarray]:
    """`(P(fake) per frame, P(fake) per video)` of a frame classifier over `frames`."""
    frame_scores = model.predict(frames, verbose=0).ravel()[: len(frames.video_ids)]  # without padding rows
    return frame_scores, video_scores(frame_scores, frames.video_ids, len(frames.files), how)
