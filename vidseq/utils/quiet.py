"""Import Keras (and TensorFlow) without their start-up noise on stderr.

TensorFlow's native code prints a block of log lines when it loads and again when it
first touches a device ("oneDNN custom operations are on", "Could not find cuda drivers",
"failed call to cuInit" on a CPU machine), straight to file descriptor 2, before Python's
logging or TF_CPP_MIN_LOG_LEVEL apply to all of them. Loading and one tiny operation run
with that descriptor pointed at a temporary file; if the import fails, what was printed is
replayed so that nothing useful is lost. Later, TF_CPP_MIN_LOG_LEVEL=3 (unless set) keeps
TensorFlow's native log lines out.
`VIDSEQ_VERBOSE=1` (the CLI's `--verbose`) keeps everything.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from typing import Iterator


@contextlib.contextmanager
def native_stderr_to_file() -> Iterator[None]:
    """Redirect fd 2 (what C++ code writes) while inside; replay it if an exception escapes."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            captured.seek(0)
            sys.stderr.write(captured.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def import_keras_quietly() -> None:
    """Load Keras and its backend, and initialise its devices, with the start-up lines hidden."""
    if "keras" in sys.modules or os.environ.get("VIDSEQ_VERBOSE", "") not in ("", "0"):
        return
    # Later native log lines too: on a CPU machine TensorFlow's ERROR lines are noise as well
    # ("oneDNN supports DT_BOOL only on platforms with AVX-512" at every masked GRU); a real
    # failure raises a Python exception with its own message.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with native_stderr_to_file():
        import keras

        keras.ops.convert_to_numpy(keras.ops.zeros(1))  # device start-up prints a second block
