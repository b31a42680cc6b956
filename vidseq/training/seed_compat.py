"""The seed toolkit's keyword names as aliases of vidseq's run options.

The seed toolkit (github.com/a-leena/Deepfake_Video_Detection, `model_builder.py`:
`train_test_classifier`) names its options `num_gru`, `gru_units`, `num_dense`,
`smallest_dense_units`, `batchnorm`, `dropout_rate`, `optimizer_name`, `optimizer_lr`,
`split_ratio`, `estop` and `reduce_lr_on_plateau`. `translate_seed_options` turns them into
vidseq's options with the same meaning, printing one line per alias; runs record vidseq's
names only. No TensorFlow: the aliases are translated before anything heavy.

    >>> translate_seed_options({"num_gru": 2, "gru_units": 64, "batchnorm": True}, say=lambda line: None)
    {'rnn_units': (64, 64), 'batch_norm': True}
"""

from __future__ import annotations

import math
from typing import Any, Callable

from vidseq.utils.checks import check_int

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


def _show(value) -> str:
    if hasattr(value, "monitor") and hasattr(value, "patience"):  # a Keras EarlyStopping or ReduceLROnPlateau
        return f"{type(value).__name__}(monitor={value.monitor!r}, patience={value.patience!r}, ...)"
    return repr(value)


__all__ = ["SEED_ALIASES", "SEED_DEFAULTS", "translate_seed_options"]
