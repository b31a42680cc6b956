"""Sequence-head data: each video's cached frame features, read from disk batch by batch.

Every video is one cache entry (a backbone's embeddings or a feature set's, an `.npz` as
`vidseq.features.store` writes them), so memory holds a few batches and some bookkeeping
per video (its file, where its features lie in it), never the dataset: a head trains on as
many videos as the disk holds.

The reader is a `tf.data` pipeline rather than a `keras.utils.PyDataset` or grain: its reads
run in TensorFlow's C++ threads, in parallel and ahead of the training step, holding no
Python lock against the training loop; a PyDataset reads in Python (measured with
`bench/bench_stream.py` on this project's 2-core machine: see docs/scaling-out.md).
TensorFlow is a core dependency already, Keras feeds a `tf.data.Dataset` to every backend,
and grain would be a new dependency.

    >>> batches = feature_batches(["a.npz", "b.npz"], [0, 1], batch_size=2)  # doctest: +SKIP
    >>> x, labels, weights = next(iter(batches))  # doctest: +SKIP
"""

from __future__ import annotations

import os
from typing import Sequence

from vidseq.utils.quiet import import_keras_quietly

import_keras_quietly()  # before Keras loads: TensorFlow's start-up lines stay hidden
import keras
import numpy as np
import tensorflow as tf

from vidseq.utils.cache import npz_member

_STORED = {np.dtype("<f4"): False, np.dtype("<f2"): True}  # what an entry's features may be: is it float16?


def feature_batches(files: Sequence[str | os.PathLike], labels: Sequence[int], batch_size: int,
                    shape: tuple[int, int], shuffle: bool = False, seed: int = 0,
                    class_weight: dict[int, float] | None = None, pad_to: int = 1) -> tf.data.Dataset:
    """Batches `(features float32 (B, T, D), labels float32, sample weights)` over the videos
    whose cache entries are `files` (`labels[i]`: video i's), every entry's features of
    `shape` `(T, D)`, float32 or float16.

    With `shuffle`, the videos are reshuffled every epoch (every pass over the dataset),
    seeded by `seed` and Keras' global seed. `class_weight` weights each label's videos.
    `pad_to` pads the videos with zero-weight copies of the first ones to a multiple of that
    many (data-parallel training splits every batch evenly between devices;
    `pad_to=batch_size` makes every batch full, as predictions want them). Every entry is
    located first (its header read, not its features): one of another shape or precision
    is a one-line error naming it, before any training.
    """
    if keras.backend.backend() != "tensorflow":  # tf.data only reads files: leave the GPUs to the backend
        try:
            tf.config.set_visible_devices([], "GPU")
        except RuntimeError:  # TensorFlow's devices are set up already
            pass
    files = [str(f) for f in files]
    offsets, half = np.zeros(len(files), np.int64), np.zeros(len(files), bool)
    for i, file in enumerate(files):
        where = npz_member(file, "features")
        if where is None or where[1] != tuple(shape) or where[2] not in _STORED:
            found = "no readable features" if where is None else f"features of shape {where[1]}, dtype {where[2]}"
            raise ValueError(f"Received a feature cache entry with {found}: {file!r}. Expected {tuple(shape)} "
                             "float32 or float16 features: delete the file and run again.")
        offsets[i], half[i] = where[0], _STORED[where[2]]
    labels = np.asarray(labels, np.float32)
    weights = np.array([(class_weight or {0: 1.0, 1: 1.0})[int(y)] for y in labels], np.float32)
    extra = np.arange(-len(files) % pad_to) % max(len(files), 1)  # padding: copies of the first videos
    nbytes = np.where(half, 2, 4) * int(np.prod(shape))
    rows = tuple(np.concatenate([column, column[extra]]) for column in (
        np.array(files, str), offsets, nbytes, half, labels))
    rows += (np.concatenate([weights, np.zeros(len(extra), np.float32)]),)

    def read(file, offset, size, is_half, label, weight):
        data = tf.strings.substr(tf.io.read_file(file), offset, size)
        features = tf.cond(is_half, lambda: tf.cast(tf.io.decode_raw(data, tf.float16), tf.float32),
                           lambda: tf.io.decode_raw(data, tf.float32))
        return tf.reshape(features, shape), label, weight

    batches = tf.data.Dataset.from_tensor_slices(rows)
    if shuffle:
        batches = batches.shuffle(len(rows[0]), seed=seed, reshuffle_each_iteration=True)
    return batches.map(read, num_parallel_calls=tf.data.AUTOTUNE).batch(batch_size).prefetch(tf.data.AUTOTUNE)


__all__ = ["feature_batches"]
