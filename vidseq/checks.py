"""Argument checks shared by every module: one wording for every error."""

from __future__ import annotations

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
