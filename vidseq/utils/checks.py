"""Argument checks shared by every module: one wording for every error."""

from __future__ import annotations

from typing import Sequence

import numpy as np


def is_int(value: object) -> bool:
    """An int (numpy ints included), but not a bool."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def check_int(name: str, value: object, low: int | None = None, high: int | None = None, even: bool = False) -> int:
    """`value` as an int, or a ValueError like "Received: num_frames=0. Expected an int in [1, 1024]."."""
    if not is_int(value) or (low is not None and value < low) or (high is not None and value > high) \
            or (even and value % 2):
        kind = "an even int" if even else "an int"
        bounds = f" in [{low}, {high}]" if low is not None and high is not None else (
            f" >= {low}" if low is not None else (f" <= {high}" if high is not None else ""))
        raise ValueError(f"Received: {name}={value!r}. Expected {kind}{bounds}.")
    return int(value)


def check_bool(name: str, value: object) -> bool:
    """`value` if it is True or False (numpy's too), else a ValueError: "yes" or 1 is not a setting's answer."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"Received: {name}={value!r}. Expected True or False.")
    return bool(value)


def check_choice(name: str, value: object, valid: Sequence) -> None:
    """A ValueError like "Received: rnn='transformer'. Expected one of ['gru', 'lstm', None]." unless `value` is valid."""
    if value not in valid:
        raise ValueError(f"Received: {name}={value!r}. Expected one of {list(valid)}.")


def check_fraction(name: str, value: object, low_open: bool = False) -> None:
    """A float in [0, 1) ((0, 1) with `low_open`); ints pass where 0 is allowed."""
    if low_open:
        ok = isinstance(value, float) and 0 < value < 1
    else:
        ok = not isinstance(value, bool) and isinstance(value, (int, float)) and 0 <= value < 1
    if not ok:
        raise ValueError(f"Received: {name}={value!r}. Expected a float in {'(0, 1)' if low_open else '[0, 1)'}.")


def int_tuple(name: str, values: object) -> tuple[int, ...]:
    """One int or a sequence of them, each >= 1, as a tuple."""
    if is_int(values):
        values = (values,)
    return tuple(check_int(name, v, 1) for v in values)


def check_mask(mask: object) -> np.ndarray:
    """A frame mask `(T,)` or `(N, T)` as bool, or a ValueError when a video in it has no valid frame."""
    mask = np.asarray(mask, bool)
    empty = np.flatnonzero(~mask.reshape(-1, mask.shape[-1] if mask.ndim else 1).any(axis=-1))
    if len(empty):
        raise ValueError(f"Received: a frame mask with no valid frame (video {int(empty[0])}). Expected at least one "
                         "True per video: a video without frames is skipped, never scored.")
    return mask
