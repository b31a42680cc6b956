"""Batches read from disk as training goes: the order, shuffling and weighting every reader shares.

A subclass reads its items (a video's cached features, a frame's face crop) in `__getitem__`
for the rows `rows(index)` gives and returns `batch(x, rows)`. The order is reshuffled every
epoch, seeded by `(seed, epoch)`, so a run is reproducible whatever the number of loader workers.
"""

from __future__ import annotations

import math

from vidseq.utils.quiet import import_keras_quietly

import_keras_quietly()  # before Keras loads: TensorFlow's start-up lines stay hidden
import keras
import numpy as np

from vidseq.training.distribution import pad_rows


class ShuffledBatches(keras.utils.PyDataset):
    """Batches of `batch_size` rows over items labelled `item_labels`, `(x, labels float32,
    sample weights)`: `class_weight` weights each label's items; `pad_to` pads a batch with
    zero-weight copies of its first rows to a multiple of that many rows (data-parallel training
    splits every batch evenly between devices; a prediction in batches of one shape is traced once)."""

    def __init__(self, item_labels: np.ndarray, batch_size: int, shuffle: bool = False, seed: int = 0,
                 class_weight: dict[int, float] | None = None, pad_to: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.item_labels = np.asarray(item_labels, np.int64)
        self.batch_size, self.shuffle, self.seed = batch_size, shuffle, seed
        self.class_weight = class_weight or {0: 1.0, 1: 1.0}
        self.pad_to = pad_to
        self.epoch = 0
        self.order = self._order()

    def _order(self) -> np.ndarray:
        if not self.shuffle:
            return np.arange(len(self.item_labels))
        return np.random.default_rng((self.seed, self.epoch)).permutation(len(self.item_labels))

    def __len__(self) -> int:
        return math.ceil(len(self.item_labels) / self.batch_size)

    def rows(self, index: int) -> np.ndarray:
        """The items of batch `index` in this epoch's order."""
        return self.order[index * self.batch_size : (index + 1) * self.batch_size]

    def batch(self, x: np.ndarray, rows: np.ndarray):
        """`(x, labels, weights)` of the items `rows`, padded to a multiple of `pad_to` rows."""
        labels = self.item_labels[rows]
        weights = np.array([self.class_weight[int(y)] for y in labels], np.float32)
        return pad_rows(self.pad_to, x, labels.astype(np.float32), weights)

    def on_epoch_end(self) -> None:
        self.epoch += 1
        self.order = self._order()


__all__ = ["ShuffledBatches"]
