"""Training on several devices with `keras.distribution` (JAX backend): data parallelism.

`DataParallel` replicates the model on every local device and splits each batch between
them, so a batch must divide evenly: `pad_rows` pads a split with zero-weight copies of
its first rows to a whole number of batches (the copies count in no loss or metric).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from vidseq.utils.quiet import import_keras_quietly

import_keras_quietly()  # before Keras loads: TensorFlow's start-up lines stay hidden
import keras
import numpy as np

DISTRIBUTIONS = (None, "data_parallel")


def check_distribution(name: str | None, batch_size: int) -> int:
    """How many devices `name` trains on, or a ValueError saying what is missing."""
    if name not in DISTRIBUTIONS:
        raise ValueError(f"Received: distribution={name!r}. Expected one of {DISTRIBUTIONS}.")
    if name is None:
        return 1
    backend = keras.backend.backend()
    if backend != "jax":
        raise ValueError(f"Received: distribution={name!r} on the {backend} backend. Expected the JAX backend: "
                         'pip install "vidseq[jax]" and set KERAS_BACKEND=jax before Python starts.')
    devices = len(keras.distribution.list_devices())
    if batch_size % devices:
        raise ValueError(f"Received: batch_size={batch_size} with distribution={name!r} over {devices} devices. "
                         f"Expected a multiple of {devices}, so that each device gets an equal share.")
    return devices


@contextlib.contextmanager
def distribution_scope(name: str | None) -> Iterator[None]:
    """Build, train and predict inside this block to use every local device; no-op for None."""
    if name is None:
        yield
        return
    previous = keras.distribution.distribution()
    keras.distribution.set_distribution(keras.distribution.DataParallel(devices=keras.distribution.list_devices()))
    try:
        yield
    finally:
        keras.distribution.set_distribution(previous)


def pad_rows(multiple: int, x: np.ndarray, y: np.ndarray | None = None, weights: np.ndarray | None = None):
    """`(x, y, weights)` padded to a multiple of `multiple` rows: copies of the first rows, with
    weight 0 (y and weights may be None: predict needs x only)."""
    extra = -len(x) % multiple
    if not extra:
        return x, y, weights
    rows = np.arange(extra) % len(x)
    return (np.concatenate([x, x[rows]]), None if y is None else np.concatenate([y, y[rows]]),
            None if weights is None else np.concatenate([weights, np.zeros(extra, weights.dtype)]))
