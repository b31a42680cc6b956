"""Progress: one bar per long step (embedding, cropping, a search) on a terminal or in a
notebook; plain lines in logs.

Where stderr is not a terminal (a pipe, CI, `nohup`, a file), a redrawn bar becomes a line
per refresh, and nested bars interleave; there each step says where it is once a minute and
once when it finishes: `Embedding with MobileNetV2: 40/40 videos in 5m12s`. The bar over
training epochs is a Keras callback: `vidseq.training.callbacks.EpochBar`.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from tqdm import tqdm  # plain tqdm in notebooks too: tqdm.auto needs ipywidgets there, else escape codes fill them

LOG_EVERY = 60.0  # seconds between a running step's lines off a terminal


def interactive(stream: TextIO | None = None) -> bool:
    """Whether a bar can redraw in place on `stream` (default stderr): a terminal, or a notebook's output."""
    stream = sys.stderr if stream is None else stream
    if type(stream).__module__.startswith("ipykernel"):
        return True
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


class ProgressLines:
    """A step's progress as log lines on stderr: every `every` seconds while it runs, and once when
    it closes. Takes the calls vidseq makes on a tqdm bar (`update`, `set_postfix(_str)`, `write`, `close`)."""

    def __init__(self, total: int, description: str, unit: str = "video", every: float = LOG_EVERY):
        self.total, self.description, self.unit, self.every = total, description, unit, every
        self.n, self.postfix, self.closed = 0, "", False
        self.started = self.last = time.monotonic()

    def update(self, n: int = 1) -> None:
        self.n += n
        if self.n < self.total and time.monotonic() - self.last >= self.every:
            self._line()

    def set_postfix(self, values: dict[str, Any], refresh: bool = False) -> None:
        self.set_postfix_str(", ".join(f"{k} {v}" for k, v in values.items()))

    def set_postfix_str(self, text: str, refresh: bool = False) -> None:
        self.postfix = text

    def write(self, text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._line()

    def _line(self) -> None:
        self.last = time.monotonic()
        elapsed = tqdm.format_interval(self.last - self.started)
        print(f"{self.description}: {self.n}/{self.total} {self.unit}s in {elapsed}"
              + (f" ({self.postfix})" if self.postfix else ""), file=sys.stderr, flush=True)


def progress_bar(total: int, description: str, unit: str = "video", show: bool = True) -> tqdm | ProgressLines:
    """A tqdm bar left in place when done, or `ProgressLines` off a terminal (a silent bar when
    `show` is False)."""
    if show and not interactive():
        return ProgressLines(total, description, unit)
    return tqdm(total=total, desc=description, unit=unit, disable=not show)
