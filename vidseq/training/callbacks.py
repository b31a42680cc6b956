"""The Keras callbacks of a fit: early stopping, learning-rate reduction, the user's, and a progress bar.

`TrainConfig` holds their settings (`vidseq.training.train_config`); config.json records
them as settings (`train_config.training_config`), never as callback objects.

    >>> from vidseq.training.train_config import TrainConfig
    >>> [type(c).__name__ for c in build_callbacks(TrainConfig(patience=3))]
    ['EarlyStopping']
"""

from __future__ import annotations

from vidseq.utils.quiet import import_keras_quietly

import_keras_quietly()  # before Keras loads: TensorFlow's start-up lines stay hidden
import keras

from vidseq.training.train_config import TrainConfig, early_stopping_settings
from vidseq.utils.progress import progress_bar


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


class PruningCallback(keras.callbacks.Callback):
    """Reports each epoch's validation AUC to an Optuna trial, and stops training when the study's
    pruner finds the trial hopeless (a search's `pruner=`).

    `trial`: an `optuna.Trial` (anything with `report` and `should_prune`); `settings`: the
    pruner's, recorded in config.json as `pruner`, with `pruned_at_epoch` (None: not pruned).
    """

    def __init__(self, trial, settings: dict, monitor: str = "val_auc"):
        super().__init__()
        self.trial, self.settings, self.monitor, self.pruned_at_epoch = trial, dict(settings), monitor, None

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None:
            return
        self.trial.report(float(value), epoch)
        if self.trial.should_prune():
            self.pruned_at_epoch = epoch + 1
            self.model.stop_training = True

    def config_entries(self) -> dict:
        """What config.json records of it (`train_config.callback_entries`)."""
        return {"pruner": self.settings, "pruned_at_epoch": self.pruned_at_epoch}


def build_callbacks(train: TrainConfig, progress: bool = False) -> list:
    """The run's callbacks: its early stopping (unless off), learning-rate reduction, the user's,
    then with `progress` one bar over the epochs."""
    reduce = train.reduce_lr
    reduce = keras.callbacks.ReduceLROnPlateau(**reduce) if isinstance(reduce, dict) else reduce
    bar = [EpochBar(train.epochs)] if progress else []
    stop = early_stopping_settings(train)
    stop = keras.callbacks.EarlyStopping(**stop) if isinstance(stop, dict) else stop
    return [c for c in (stop, reduce) if c is not None] + list(train.callbacks or ()) + bar


__all__ = ["EpochBar", "PruningCallback", "build_callbacks"]
