"""How a model is fitted: `TrainConfig` (epochs, optimizer, schedule, callbacks), checked on construction.

Keras is imported only to check callback objects a user passes (`early_stopping=`,
`reduce_lr=`, `callbacks=`): every other value is checked without TensorFlow.

    >>> TrainConfig(epochs=5, optimizer="sgd", momentum=0.5).momentum
    0.5
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Sequence

from vidseq.utils.checks import check_choice, check_fraction, check_int
from vidseq.utils.options import option
from vidseq.utils.quiet import import_keras_quietly

OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop")
SCHEDULES = ("constant", "cosine")  # cosine: linear warm-up over `warmup_epochs`, then cosine decay to 0
DISTRIBUTIONS = (None, "data_parallel")
# TrainConfig's options for the seed toolkit's optimizer and callback arguments: config.json
# records their settings (`vidseq.training.callbacks.training_config`), never callback objects.
CALLBACK_OPTIONS = ("momentum", "nesterov", "early_stopping", "reduce_lr", "callbacks")
EARLY_STOPPING_KEYS = ("monitor", "mode", "min_delta", "patience", "baseline", "restore_best_weights",
                       "start_from_epoch")
REDUCE_LR_KEYS = ("monitor", "mode", "factor", "patience", "min_delta", "cooldown", "min_lr")
# Keras' defaults for the settings vidseq's own early stopping does not set.
EARLY_STOPPING_DEFAULTS = dict(monitor="val_loss", mode="auto", min_delta=0.0, patience=0, baseline=None,
                               restore_best_weights=False, start_from_epoch=0)
SGD_MOMENTUM = 0.9  # vidseq's SGD momentum when `momentum` is not given
MONITORS = tuple(p + m for p in ("", "val_") for m in ("loss", "accuracy", "auc"))  # what training logs
CALLBACK_MODES = ("auto", "min", "max")


@dataclass(frozen=True)
class TrainConfig:
    """How a model is fitted: epochs, optimizer, schedule, callbacks."""

    epochs: int = option(100, "at most (early stopping)", type=int)
    batch_size: int = option(16, "videos per batch (frames for frame classifiers)", type=int)
    learning_rate: float = option(1e-5, "the optimizer's (peak) learning rate", type=float)
    patience: int = option(10, "early-stopping patience on val loss", type=int)
    optimizer: str = option("adam", "the optimizer", choices=OPTIMIZERS)
    schedule: str = option("constant", "learning rate over training: constant, or cosine with --warmup-epochs",
                           choices=SCHEDULES)
    warmup_epochs: int = option(0, "with --schedule cosine: its linear warm-up epochs; with --fine-tune: epochs of "
                                   "the new head alone, backbone frozen", type=int)
    weight_decay: float = option(0.0, "decoupled weight decay (not on norms, biases)", type=float)
    label_smoothing: float = option(0.0, "binary cross-entropy label smoothing", type=float)
    momentum: float | None = option(None, "SGD only (default 0.9)", type=float)
    nesterov: bool = option(False, "SGD only")
    early_stopping: Any = option(True, "stop when the validation loss stops improving for --patience epochs, keeping "
                                       "the best epoch")
    reduce_lr: dict | Any = option(None, 'ReduceLROnPlateau settings, e.g. \'{"factor": 0.5, "patience": 3}\'',
                                   type="json", metavar="JSON")
    callbacks: Sequence | None = option(None, "your own Keras callbacks (Python objects: no flag)", flag=None)
    distribution: str | None = option(None, "train on every local device (JAX backend: KERAS_BACKEND=jax)",
                                      choices=DISTRIBUTIONS[1:])

    def __post_init__(self):
        for name in ("epochs", "batch_size", "patience"):
            check_int(name, getattr(self, name), 0 if name == "patience" else 1)
        check_fraction("learning_rate", self.learning_rate, low_open=True)
        for name in ("weight_decay", "label_smoothing"):
            check_fraction(name, getattr(self, name))
        check_int("warmup_epochs", self.warmup_epochs, 0)
        check_choice("distribution", self.distribution, DISTRIBUTIONS)
        if self.distribution is not None:  # the device count needs Keras: only asked for then
            from vidseq.training.distribution import check_distribution

            check_distribution(self.distribution, self.batch_size)
        for name, valid in (("optimizer", OPTIMIZERS), ("schedule", SCHEDULES)):
            check_choice(name, getattr(self, name), valid)
        _check_sgd(self.optimizer, self.momentum, self.nesterov)
        _check_callbacks(self)


def _check_sgd(optimizer: str, momentum: Any, nesterov: Any) -> None:
    """`momentum` and `nesterov` are SGD's settings, with SGD only."""
    if momentum is not None:
        if isinstance(momentum, bool) or not isinstance(momentum, (int, float)) or not 0 <= momentum < 1:
            raise ValueError(f"Received: momentum={momentum!r}. Expected None or a float in [0, 1).")
        if optimizer != "sgd":
            raise ValueError(f"Received: momentum={momentum!r} with optimizer={optimizer!r}. Expected "
                             "optimizer='sgd' (momentum and nesterov are SGD settings), or no momentum.")
    if not isinstance(nesterov, bool):
        raise ValueError(f"Received: nesterov={nesterov!r}. Expected True or False.")
    if nesterov and optimizer != "sgd":
        raise ValueError(f"Received: nesterov=True with optimizer={optimizer!r}. Expected optimizer='sgd'.")
    if nesterov and momentum == 0:
        raise ValueError("Received: nesterov=True with momentum=0. Expected a momentum > 0 (Nesterov momentum "
                         "needs momentum).")


def _check_callbacks(train: TrainConfig) -> None:
    """Validate `early_stopping`, `reduce_lr` and `callbacks` (ValueError)."""
    stop = train.early_stopping
    if not (stop is None or isinstance(stop, bool)):
        _check_callback("early_stopping", stop, "EarlyStopping", EARLY_STOPPING_KEYS,
                        "True (vidseq's: val_loss, `patience`, best weights restored), False or None (off)")
    reduce = train.reduce_lr
    if reduce is not None:
        _check_callback("reduce_lr", reduce, "ReduceLROnPlateau", REDUCE_LR_KEYS, "None (off)")
        if train.schedule != "constant":
            raise ValueError(f"Received: reduce_lr with schedule={train.schedule!r}. Expected schedule='constant': "
                             "ReduceLROnPlateau changes a fixed learning rate, not a schedule.")
    callbacks = train.callbacks
    if callbacks is None:
        return
    expected = f"Received: callbacks={callbacks!r}. Expected None or a list of keras.callbacks.Callback."
    if not isinstance(callbacks, (list, tuple)) or not all(map(_may_be_callback, callbacks)):
        raise ValueError(expected)  # said without Keras: these are no callbacks at all
    import_keras_quietly()
    import keras  # a user's callback objects are Keras objects: checking them needs Keras

    if not all(isinstance(c, keras.callbacks.Callback) for c in callbacks):
        raise ValueError(expected)
    for kind, name in ((keras.callbacks.EarlyStopping, "early_stopping"),
                       (keras.callbacks.ReduceLROnPlateau, "reduce_lr")):
        if any(isinstance(cb, kind) for cb in callbacks):
            raise ValueError(f"Received: callbacks holding an {kind.__name__}. Expected it as {name}=... instead, "
                             "so that its settings are saved with the run (and vidseq's own is replaced).")


def _check_callback(name: str, value, kind: str, keys: tuple, other: str) -> None:
    """A dict of `keras.callbacks.<kind>` settings (each checked here, without Keras), or such an
    object (checked with Keras: it is a Keras object)."""
    if isinstance(value, dict):
        _check_settings(name, value, keys)
        return
    expected = f"Received: {name}={value!r}. Expected a keras.callbacks.{kind}, a dict of its settings, or {other}."
    if not _may_be_callback(value):
        raise ValueError(expected)  # a string, a number...: said without loading Keras
    import_keras_quietly()
    import keras  # only here: a callback object is a Keras object

    if not isinstance(value, getattr(keras.callbacks, kind)):
        raise ValueError(expected)
    _check_monitor(name, value.monitor)


def _may_be_callback(value) -> bool:
    """Whether `value` could be a Keras callback (telling for sure needs Keras): an object with its methods."""
    return callable(getattr(value, "on_epoch_end", None)) and callable(getattr(value, "set_model", None))


def _check_monitor(name: str, monitor) -> None:
    if monitor not in MONITORS:
        raise ValueError(f"Received: {name} with monitor={monitor!r}. Expected one of {list(MONITORS)} "
                         "(what training logs).")


def _check_settings(name: str, settings: dict, keys: tuple) -> None:
    """Each of a callback's settings checked as Keras would take it (the callback is built at training)."""
    unknown = sorted(set(settings) - set(keys))
    if unknown:
        raise ValueError(f"Received: {name} with unknown setting(s) {unknown}. Expected some of {list(keys)}.")
    for key, value in settings.items():
        said = f"{name}[{key!r}]"  # not key=value: that would read as the run option of the same name
        if key == "monitor":
            _check_monitor(name, value)
        elif key == "mode":
            check_choice(said, value, CALLBACK_MODES)
        elif key in ("patience", "cooldown", "start_from_epoch"):
            check_int(said, value, 0)
        elif key == "factor":
            check_fraction(said, value, low_open=True)
        elif key == "restore_best_weights" and not isinstance(value, bool):
            raise ValueError(f"Received: {said}={value!r}. Expected True or False.")
        elif key in ("min_delta", "baseline") and not (_is_number(value) or value is None and key == "baseline"):
            raise ValueError(f"Received: {said}={value!r}. Expected a number" + (" or None." if key == "baseline" else "."))
        elif key == "min_lr" and not (_is_number(value) and value >= 0):
            raise ValueError(f"Received: {said}={value!r}. Expected a number >= 0.")


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# The callback options' defaults: a search leaves options at these out of a run's identity.
CALLBACK_DEFAULTS = {f.name: f.default for f in dataclasses.fields(TrainConfig) if f.name in CALLBACK_OPTIONS}


def sync_patience(options: dict, opts: dict) -> None:
    """Make `opts["patience"]` the given early stopping's; an explicit different `patience` is an error.

    `options`: what the caller gave (vidseq names); `opts`: the options completed with defaults.
    """
    stop = opts["early_stopping"]
    patience = stop.get("patience", 0) if isinstance(stop, dict) else getattr(stop, "patience", None)
    if patience is None or isinstance(stop, bool):
        return
    if "patience" in options and options["patience"] != patience:
        raise ValueError(f"Received: patience={options['patience']!r} and early_stopping with patience={patience!r}. "
                         "Expected one of them (the early stopping's settings are used as given).")
    opts["patience"] = patience


def callback_settings(callback: Any) -> dict | None:
    """The constructor settings of an EarlyStopping / ReduceLROnPlateau (or a dict of them): JSON-ready."""
    if callback is None or isinstance(callback, dict):
        return None if callback is None else dict(callback)
    keys = EARLY_STOPPING_KEYS if type(callback).__name__ == "EarlyStopping" else REDUCE_LR_KEYS
    settings = {k: getattr(callback, k) for k in keys}
    settings["min_delta"] = abs(float(settings["min_delta"]))  # Keras flips its sign once training starts
    return {k: (v.item() if hasattr(v, "item") else v) for k, v in settings.items()}


def early_stopping_settings(train: TrainConfig) -> dict | Any | None:
    """The early stopping a run trains with: a dict of EarlyStopping settings, the user's object, or None (off)."""
    stop = train.early_stopping
    if stop is True:
        return {**EARLY_STOPPING_DEFAULTS, "patience": train.patience, "restore_best_weights": True}
    if not stop:
        return None
    return {**EARLY_STOPPING_DEFAULTS, **stop} if isinstance(stop, dict) else stop


def sgd_momentum(train: TrainConfig) -> float | None:
    """The momentum SGD trains with (None for other optimizers)."""
    if train.optimizer != "sgd":
        return None
    return SGD_MOMENTUM if train.momentum is None else float(train.momentum)


def training_config(train: TrainConfig) -> dict[str, Any]:
    """What config.json records of these options: settings, never callback objects (of `callbacks`,
    only what a callback's `config_entries()` says, e.g. a search's pruner)."""
    return dict(momentum=sgd_momentum(train), nesterov=bool(train.nesterov),
                early_stopping=callback_settings(early_stopping_settings(train)),
                reduce_lr=callback_settings(train.reduce_lr),
                **{k: v for c in train.callbacks or () if hasattr(c, "config_entries")
                   for k, v in c.config_entries().items()})
