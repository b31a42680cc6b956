"""Progress bars: one per long step (embedding, cropping, training epochs), on stderr.

Keras' own per-epoch lines (`verbose=2`) come back with the CLI's `--verbose`.
"""

from __future__ import annotations

from vidseq.quiet import import_keras_quietly

import_keras_quietly()  # before Keras loads: TensorFlow's start-up lines stay hidden
import keras
from tqdm import tqdm  # plain tqdm in notebooks too: tqdm.auto needs ipywidgets there, else escape codes fill them


def progress_bar(total: int, description: str, unit: str = "video", show: bool = True) -> tqdm:
    """A tqdm bar (a silent one when `show` is False), left in place when done."""
    return tqdm(total=total, desc=description, unit=unit, disable=not show)


class EpochBar(keras.callbacks.Callback):
    """One bar over a fit's epochs, showing the latest loss and validation loss.

    Not saved with the model (callbacks never are). Early stopping ends the bar early;
    the bar then shows how many epochs ran.
    """

    def __init__(self, epochs: int, description: str = "Training"):
        super().__init__()
        self.epochs, self.description, self.bar = epochs, description, None

    def on_train_begin(self, logs=None):
        self.bar = progress_bar(self.epochs, self.description, unit="epoch")

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.bar.set_postfix({k: f"{logs[k]:.4f}" for k in ("loss", "val_loss") if k in logs}, refresh=False)
        self.bar.update(1)

    def on_train_end(self, logs=None):
        self.bar.close()
