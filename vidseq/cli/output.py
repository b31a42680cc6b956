"""How the `vidseq` command speaks on stderr besides its errors: warnings, one line each.

Only the command installs this (`one_line_warnings`); in a notebook vidseq's warnings stay
ordinary Python warnings, which users filter by category (`vidseq.utils.notices.VidseqWarning`).
"""

from __future__ import annotations

import contextlib
import sys
import warnings
from pathlib import Path
from typing import Iterator

from tqdm import tqdm

from vidseq.utils.notices import VidseqWarning


def warning_line(command: str, message: Warning | str, category: type[Warning], filename: str, lineno: int) -> str:
    """One line for a warning: vidseq's own as "vidseq COMMAND: warning: ...", another library's
    with its category and where it was raised (that is the only clue to what raised it).

    >>> warning_line("demo", "Skipped unreadable video x.mp4", VidseqWarning, "/x/extract.py", 249)
    'vidseq demo: warning: Skipped unreadable video x.mp4'
    >>> warning_line("demo", "y is\\n deprecated", DeprecationWarning, "/site-packages/lib/mod.py", 7)
    'vidseq demo: DeprecationWarning from lib/mod.py:7: y is deprecated'
    """
    text = " ".join(str(message).split())
    if issubclass(category, VidseqWarning):
        return f"vidseq {command}: warning: {text}"
    where = "/".join(Path(filename).parts[-2:])
    return f"vidseq {command}: {category.__name__} from {where}:{lineno}: {text}"


@contextlib.contextmanager
def one_line_warnings(command: str) -> Iterator[None]:
    """While inside, every warning Python shows prints as `warning_line` (stderr); restored after."""
    shown = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        # tqdm.write: a progress bar on the same stream is cleared, and redrawn below the line
        tqdm.write(warning_line(command, message, category, filename, lineno), file=file or sys.stderr)

    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = shown
