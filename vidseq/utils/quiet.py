"""Import Keras (and TensorFlow) without their start-up noise on stderr.

TensorFlow's native code prints a block of log lines when it loads and again when it
first touches a device ("oneDNN custom operations are on", "Could not find cuda drivers",
"failed call to cuInit" on a CPU machine), straight to file descriptor 2, before Python's
logging or TF_CPP_MIN_LOG_LEVEL apply to all of them. Loading and one tiny operation run
with that descriptor pointed at a temporary file; if the import fails, what was printed is
replayed so that nothing useful is lost. Later, TF_CPP_MIN_LOG_LEVEL=3 (unless set) keeps
TensorFlow's native log lines out.
`VIDSEQ_VERBOSE=1` (the CLI's `--verbose`) keeps everything. One message of TensorFlow's
Python logger is dropped, with its reason: `KerasStepRetracing`.
"""

from __future__ import annotations

import contextlib
import logging
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


# The functions traced once per model: Keras' own steps, and the Grad-CAM steps of
# vidseq.runs.explain (one per run's model, like Keras' own).
PER_MODEL_STEPS = ("TensorFlowTrainer.", "_frames_step.<locals>", "_sequence_step.<locals>")


class KerasStepRetracing(logging.Filter):
    """Drops TensorFlow's "N out of the last M calls to <...TensorFlowTrainer...step...>
    triggered tf.function retracing" warning, and only about functions traced once per model
    (`PER_MODEL_STEPS`: Keras' own steps, and explain.png's Grad-CAM steps).

    Why: every Keras model traces its own predict (and train, test) step once, on its first
    call. TensorFlow counts traces per Python code object, and all models' steps share Keras'
    one `one_step_on_data_distributed`, so a process that trains or loads five models (the
    demo's two heads, a search, explain.png, the backbone) is told of "excessive retracing"
    that is one trace per model, the expected cost. Keras already traces its steps with
    `reduce_retracing=True` (a new batch shape does not trace again). Retracing of any other
    function (a user's own `tf.function`) is still reported.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not ("triggered tf.function retracing" in message and any(s in message for s in PER_MODEL_STEPS))


def import_keras_quietly() -> None:
    """Load Keras and its backend, and initialise its devices, with the start-up lines hidden."""
    tf_logger = logging.getLogger("tensorflow")  # TensorFlow's Python warnings: set up before it loads
    if not any(isinstance(f, KerasStepRetracing) for f in tf_logger.filters):
        tf_logger.addFilter(KerasStepRetracing())
    if "keras" in sys.modules or os.environ.get("VIDSEQ_VERBOSE", "") not in ("", "0"):
        return
    # Later native log lines too: on a CPU machine TensorFlow's ERROR lines are noise as well
    # ("oneDNN supports DT_BOOL only on platforms with AVX-512" at every masked GRU); a real
    # failure raises a Python exception with its own message.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with native_stderr_to_file():
        import keras

        keras.ops.convert_to_numpy(keras.ops.zeros(1))  # device start-up prints a second block
