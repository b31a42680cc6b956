"""The seed toolkit's keyword names as aliases of vidseq's run options, and the training callbacks.

The seed toolkit (github.com/a-leena/Deepfake_Video_Detection, `model_builder.py`:
`train_test_classifier`) names its options `num_gru`, `gru_units`, `num_dense`,
`smallest_dense_units`, `batchnorm`, `dropout_rate`, `optimizer_name`, `optimizer_lr`,
`split_ratio`, `estop` and `reduce_lr_on_plateau`. `translate_seed_options` turns them into
vidseq's options with the same meaning, printing one line per alias; runs record vidseq's
names only. The callback options (`early_stopping`, `reduce_lr`, `callbacks`) and SGD's
`momentum` / `nesterov` are checked here and turned into Keras callbacks and config entries.

    >>> translate_seed_options({"num_gru": 2, "gru_units": 64, "batchnorm": True}, say=lambda line: None)
    {'rnn_units': (64, 64), 'batch_norm': True}
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable

from vidseq.quiet import import_keras_quietly

import_keras_quietly()  # before Keras loads: TensorFlow's start-up lines stay hidden
import keras

from vidseq.checks import check_int

from vidseq.config import CALLBACK_OPTIONS, TrainConfig

# seed keyword -> the vidseq option(s) it becomes
SEED_ALIASES = {
    "num_gru": ("rnn_units",), "gru_units": ("rnn_units",),
    "num_dense": ("dense_units",), "smallest_dense_units": ("dense_units",),
    "batchnorm": ("batch_norm",), "dropout_rate": ("dropout",),
    "optimizer_name": ("optimizer",), "optimizer_lr": ("learning_rate",),
    "split_ratio": ("val_size", "test_size"),
    "estop": ("early_stopping",), "reduce_lr_on_plateau": ("reduce_lr",),
}
# The seed's defaults for the half of a pair that is not given (its train_test_classifier signature).
SEED_DEFAULTS = dict(num_gru=2, gru_units=256, num_dense=0, smallest_dense_units=128)

# Options vidseq adds for the seed's optimizer and callback arguments, with their defaults: a
# run folder records them through `training_config` (settings, never callback objects).
TRAINING_OPTIONS = {f.name: f.default for f in dataclasses.fields(TrainConfig) if f.name in CALLBACK_OPTIONS}
SGD_MOMENTUM = 0.9  # vidseq's SGD momentum when `momentum` is not given

_EARLY_STOPPING_KEYS = ("monitor", "mode", "min_delta", "patience", "baseline", "restore_best_weights",
                        "start_from_epoch")
_REDUCE_LR_KEYS = ("monitor", "mode", "factor", "patience", "min_delta", "cooldown", "min_lr")
MONITORS = tuple(p + m for p in ("", "val_") for m in ("loss", "accuracy", "auc"))  # what training logs


def translate_seed_options(options: dict, say: Callable[[str], Any] = print) -> dict:
    """`options` with the seed toolkit's keywords replaced by vidseq's, one `say` line per alias.

    Raises ValueError when an alias and the option it becomes are both given, or on a bad
    `num_gru`, `gru_units`, `num_dense`, `smallest_dense_units` or `split_ratio`.

    >>> translate_seed_options({"num_dense": 3, "split_ratio": (0.7, 0.15, 0.15)}, say=print)
    Seed option num_dense=3 -> vidseq option dense_units=(512, 256, 128)
    Seed option split_ratio=(0.7, 0.15, 0.15) -> vidseq option val_size=0.15, test_size=0.15
    {'dense_units': (512, 256, 128), 'val_size': 0.15, 'test_size': 0.15}
    """
    given = [k for k in options if k in SEED_ALIASES]
    if not given:
        return dict(options)
    for alias in given:
        for target in SEED_ALIASES[alias]:
            if target in options:
                raise ValueError(f"Received: {alias}={_show(options[alias])} and {target}={_show(options[target])}. "
                                 f"Expected one of them: {alias} is the seed toolkit's name for {target}.")
    out = {k: v for k, v in options.items() if k not in SEED_ALIASES}
    seed = {**SEED_DEFAULTS, **{k: options[k] for k in given}}
    if "num_gru" in given or "gru_units" in given:
        layers = check_int("num_gru", seed["num_gru"], 1)
        out["rnn_units"] = (check_int("gru_units", seed["gru_units"], 1),) * layers
    if "num_dense" in given or "smallest_dense_units" in given:
        layers = check_int("num_dense", seed["num_dense"], 0)
        smallest = check_int("smallest_dense_units", seed["smallest_dense_units"], 1)
        # As the seed's get_temporal_model stacks them: widest first, halving down to `smallest`.
        out["dense_units"] = tuple(smallest * 2 ** i for i in reversed(range(layers)))
    for alias, target in (("batchnorm", "batch_norm"), ("dropout_rate", "dropout"), ("optimizer_name", "optimizer"),
                          ("optimizer_lr", "learning_rate"), ("estop", "early_stopping"),
                          ("reduce_lr_on_plateau", "reduce_lr")):
        if alias in given:
            out[target] = options[alias]
    if "split_ratio" in given:
        out["val_size"], out["test_size"] = _check_split_ratio(options["split_ratio"])
    for alias in given:
        became = ", ".join(f"{t}={_show(out[t])}" for t in SEED_ALIASES[alias])
        say(f"Seed option {alias}={_show(options[alias])} -> vidseq option {became}")
    if options.get("optimizer_name") == "sgd" and "momentum" not in options:
        out["momentum"] = 0.0  # the seed's train_test_classifier always built SGD without momentum
        say("Seed option optimizer_name='sgd' without momentum -> vidseq option momentum=0.0 (plain SGD, as the seed)")
    return out


def _check_split_ratio(ratio) -> tuple[float, float]:
    numbers = isinstance(ratio, (list, tuple)) and len(ratio) == 3 and all(
        isinstance(r, (int, float)) and not isinstance(r, bool) and math.isfinite(r) and r >= 0 for r in ratio)
    if not numbers or ratio[0] <= 0 or ratio[1] <= 0 or ratio[2] <= 0 or abs(sum(ratio) - 1) > 1e-6:
        raise ValueError(f"Received: split_ratio={ratio!r}. Expected 3 fractions (train, val, test), each > 0, "
                         "that sum to 1, e.g. (0.7, 0.15, 0.15).")
    return float(ratio[1]), float(ratio[2])


def sync_patience(options: dict, opts: dict) -> None:
    """Make `opts["patience"]` the given early stopping's; an explicit different `patience` is an error.

    `options`: what the caller gave (vidseq names); `opts`: the options completed with defaults.
    """
    stop = opts["early_stopping"]
    if not isinstance(stop, (dict, keras.callbacks.EarlyStopping)):
        return
    patience = stop.get("patience", 0) if isinstance(stop, dict) else stop.patience
    if "patience" in options and options["patience"] != patience:
        raise ValueError(f"Received: patience={options['patience']!r} and early_stopping with patience={patience!r}. "
                         "Expected one of them (the early stopping's settings are used as given).")
    opts["patience"] = patience


def check_training_options(train: TrainConfig) -> None:
    """Validate `momentum`, `nesterov`, `early_stopping`, `reduce_lr` and `callbacks` (ValueError)."""
    momentum, nesterov, optimizer = train.momentum, train.nesterov, train.optimizer
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
    stop = train.early_stopping
    if not (stop is None or isinstance(stop, bool)):
        _check_callback("early_stopping", stop, keras.callbacks.EarlyStopping, _EARLY_STOPPING_KEYS,
                        "True (vidseq's: val_loss, `patience`, best weights restored), False or None (off)")
    reduce = train.reduce_lr
    if reduce is not None:
        _check_callback("reduce_lr", reduce, keras.callbacks.ReduceLROnPlateau, _REDUCE_LR_KEYS, "None (off)")
        if train.schedule != "constant":
            raise ValueError(f"Received: reduce_lr with schedule={train.schedule!r}. Expected schedule='constant': "
                             "ReduceLROnPlateau changes a fixed learning rate, not a schedule.")
    callbacks = train.callbacks
    if callbacks is not None:
        if not isinstance(callbacks, (list, tuple)) or not all(isinstance(c, keras.callbacks.Callback)
                                                                for c in callbacks):
            raise ValueError(f"Received: callbacks={callbacks!r}. Expected None or a list of keras.callbacks.Callback.")
        for c, name in ((keras.callbacks.EarlyStopping, "early_stopping"),
                        (keras.callbacks.ReduceLROnPlateau, "reduce_lr")):
            if any(isinstance(cb, c) for cb in callbacks):
                raise ValueError(f"Received: callbacks holding an {c.__name__}. Expected it as {name}=... instead, "
                                 "so that its settings are saved with the run (and vidseq's own is replaced).")


def _check_callback(name: str, value, kind: type, keys: tuple, other: str) -> None:
    if isinstance(value, dict):
        unknown = sorted(set(value) - set(keys))
        if unknown:
            raise ValueError(f"Received: {name} with unknown setting(s) {unknown}. Expected some of {list(keys)}.")
        try:
            value = kind(**value)
        except (TypeError, ValueError) as err:
            raise ValueError(f"Received: {name}={value!r}. Expected valid {kind.__name__} settings: {err}") from None
    if not isinstance(value, kind):
        raise ValueError(f"Received: {name}={value!r}. Expected a keras.callbacks.{kind.__name__}, a dict of its "
                         f"settings, or {other}.")
    if value.monitor not in MONITORS:
        raise ValueError(f"Received: {name} with monitor={value.monitor!r}. Expected one of {list(MONITORS)} "
                         "(what training logs).")


def callback_settings(callback) -> dict | None:
    """The constructor settings of an EarlyStopping / ReduceLROnPlateau (or a dict of them): JSON-ready."""
    if callback is None or isinstance(callback, dict):
        return None if callback is None else dict(callback)
    keys = _EARLY_STOPPING_KEYS if isinstance(callback, keras.callbacks.EarlyStopping) else _REDUCE_LR_KEYS
    settings = {k: getattr(callback, k) for k in keys}
    settings["min_delta"] = abs(float(settings["min_delta"]))  # Keras flips its sign once training starts
    return {k: (v.item() if hasattr(v, "item") else v) for k, v in settings.items()}


def _early_stopping(train: TrainConfig):
    stop = train.early_stopping
    if stop is True:
        return keras.callbacks.EarlyStopping("val_loss", patience=train.patience, restore_best_weights=True)
    if not stop:
        return None
    return keras.callbacks.EarlyStopping(**stop) if isinstance(stop, dict) else stop


def build_callbacks(train: TrainConfig) -> list:
    """The run's callbacks: its early stopping (unless off), learning-rate reduction, then the user's."""
    reduce = train.reduce_lr
    reduce = keras.callbacks.ReduceLROnPlateau(**reduce) if isinstance(reduce, dict) else reduce
    return [c for c in (_early_stopping(train), reduce) if c is not None] + list(train.callbacks or ())


def sgd_momentum(train: TrainConfig) -> float | None:
    """The momentum SGD trains with (None for other optimizers)."""
    if train.optimizer != "sgd":
        return None
    return SGD_MOMENTUM if train.momentum is None else float(train.momentum)


def training_config(train: TrainConfig) -> dict:
    """What config.json records of these options: settings, never callback objects (`callbacks` not at all)."""
    return dict(momentum=sgd_momentum(train), nesterov=bool(train.nesterov),
                early_stopping=callback_settings(_early_stopping(train)),
                reduce_lr=callback_settings(train.reduce_lr))


def for_search(options: dict) -> dict:
    """`search`'s options: aliases translated once, callbacks rejected, callback objects as settings.

    A run's name in a search is a hash of its options; settings dicts hash the same in every
    session, objects do not. User `callbacks` are refused: they can change what trains but
    are not part of a run's identity, so a resumed search could skip a run that differs.
    """
    options = translate_seed_options(options)
    if options.get("callbacks"):
        raise ValueError("Received: callbacks with search. Expected none: a search skips runs already finished "
                         "by their configuration, which callbacks are not part of. Use early_stopping=/reduce_lr= "
                         "(recorded), or train_test_classifier for runs with your own callbacks.")
    for name in ("early_stopping", "reduce_lr"):
        if isinstance(options.get(name), keras.callbacks.Callback):
            options[name] = callback_settings(options[name])
    return options


def _show(value) -> str:
    if isinstance(value, (keras.callbacks.EarlyStopping, keras.callbacks.ReduceLROnPlateau)):
        return f"{type(value).__name__}(monitor={value.monitor!r}, patience={value.patience!r}, ...)"
    return repr(value)


__all__ = ["SEED_ALIASES", "TRAINING_OPTIONS", "translate_seed_options", "check_training_options", "sync_patience",
           "build_callbacks", "training_config", "callback_settings", "for_search"]
