"""What every training recipe shares: compiling a model as the training settings say, class
weights and Keras' verbosity.

    >>> class_weight(np.array([0, 0, 0, 1]))
    {0: 0.6666666666666666, 1: 2.0}
"""

from __future__ import annotations

from vidseq.utils.quiet import import_keras_quietly

import_keras_quietly()  # TensorFlow's start-up lines stay out of the terminal and notebooks
import keras
import numpy as np

from vidseq.models.attention import NO_DECAY
from vidseq.training.config import RunConfig
from vidseq.training.train_config import TrainConfig, sgd_momentum


def compile_model(model: keras.Model, train: TrainConfig, steps_per_epoch: int) -> None:
    """Optimizer, learning-rate schedule, weight decay and loss as the training settings say."""
    rate = train.learning_rate
    if train.schedule == "cosine":
        steps = steps_per_epoch * train.epochs
        warmup = min(steps_per_epoch * train.warmup_epochs, steps - 1)
        rate = keras.optimizers.schedules.CosineDecay(0.0 if warmup else rate, decay_steps=steps - warmup,
                                                      warmup_target=rate if warmup else None, warmup_steps=warmup)
    kind = {"adam": keras.optimizers.Adam, "adamw": keras.optimizers.AdamW, "rmsprop": keras.optimizers.RMSprop,
            "sgd": lambda rate, **kw: keras.optimizers.SGD(rate, momentum=sgd_momentum(train),
                                                           nesterov=bool(train.nesterov), **kw),
            }[train.optimizer]
    # AdamW insists on a float; the others take None for "no decay".
    optimizer = kind(rate, weight_decay=train.weight_decay or (0.0 if train.optimizer == "adamw" else None))
    if train.weight_decay:  # decay weights, not the scales and shifts of norms, biases, position tables or tokens
        optimizer.exclude_from_weight_decay(var_names=["gamma", "beta", "bias", "relative_bias_table", *NO_DECAY])
    model.compile(optimizer=optimizer, loss=keras.losses.BinaryCrossentropy(label_smoothing=train.label_smoothing),
                  metrics=["accuracy", keras.metrics.AUC(name="auc")])


def class_weight(labels: np.ndarray) -> dict[int, float]:
    """Weights that make both classes count equally in the loss."""
    counts = np.bincount(labels, minlength=2)
    return {c: len(labels) / (2 * counts[c]) for c in (0, 1) if counts[c]}


def keras_verbose(config: RunConfig) -> int:
    """Keras' own per-epoch lines only at verbose=2 (the CLI's --verbose); verbose=1 shows a bar."""
    return 2 if config.verbose >= 2 else 0


__all__ = ["compile_model", "class_weight", "keras_verbose"]
