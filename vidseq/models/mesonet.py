"""MesoNet (Afchar, Nozick, Yamagishi, Echizen, WIFS 2018): Meso4 and MesoInception4 in Keras.

Two small frame classifiers on 256 x 256 face crops, built layer for layer as the authors'
reference code (DariusAf/MesoNet, `classifiers.py`), so that their published weights load
into them unchanged (`vidseq.models.mesonet_weights`):

- Meso4 (28,073 parameters): four blocks of Conv2D (ReLU) -> BatchNormalization ->
  MaxPooling (8 3x3, 8 5x5, 16 5x5, 16 5x5 filters; pools 2, 2, 2, 4), then Flatten,
  Dropout 0.5, Dense 16, LeakyReLU 0.1, Dropout 0.5, Dense 1 (sigmoid).
- MesoInception4: its first two blocks are inception modules (1x1; 1x1 -> 3x3; 1x1 -> 3x3
  dilated 2; 1x1 -> 3x3 dilated 3, concatenated) of (1, 4, 4, 2) and (2, 4, 4, 2) filters.

The reference scales its input by 1/255; here a Rescaling layer does it inside the model,
which takes raw 0-255 RGB crops as every frame classifier of vidseq. The published weights'
sigmoid is P(real); loading them negates the last Dense layer's kernel and bias,
sigmoid(-z) = 1 - sigmoid(z), so that the model outputs P(fake), as every vidseq model.
One training setting differs: BatchNormalization's momentum (`BN_MOMENTUM`).

    >>> from vidseq.models.mesonet import build_mesonet
    >>> build_mesonet("Meso4").count_params()
    28073
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from vidseq.utils.quiet import import_keras_quietly

import_keras_quietly()  # before Keras loads: TensorFlow's start-up lines stay hidden
import keras
from keras import layers

from vidseq.models.config import ImageConfig
from vidseq.models.mesonet_weights import (IMAGE_SIZE, MESONET_NAMES, WEIGHTS_KEYWORDS, check_image_size_for,
                                          check_mesonet_weights, weights_path)
from vidseq.utils.checks import check_choice

# The moving statistics' momentum: Keras' 0.99 (the reference's) needs hundreds of steps to forget
# its initial (0, 1); a small dataset gives 20 steps per epoch, and a model trained from scratch
# then scores every validation crop alike for epochs. A training setting, not a weight: the
# published weights load and score the same.
BN_MOMENTUM = 0.9


def build_mesonet(name: str = "Meso4", image_size: int = IMAGE_SIZE) -> keras.Model:
    """Meso4 or MesoInception4 over raw 0-255 RGB crops `(image_size, image_size, 3)` -> P(fake),
    from scratch (Keras' initializers, as the reference).

    >>> build_mesonet("MesoInception4", 128).output_shape
    (None, 1)
    """
    check_choice("img_model_name", name, MESONET_NAMES)
    inputs = keras.Input((image_size, image_size, 3), name="crops")
    x = layers.Rescaling(1 / 255, name="rescale")(inputs)  # the reference's ImageDataGenerator(rescale=1./255)
    if name == "Meso4":
        x = _block(layers.Conv2D(8, 3, padding="same", activation="relu", name="block1_conv")(x), 2, "block1")
        x = _block(layers.Conv2D(8, 5, padding="same", activation="relu", name="block2_conv")(x), 2, "block2")
    else:
        x = _block(_inception(x, (1, 4, 4, 2), "block1"), 2, "block1")
        x = _block(_inception(x, (2, 4, 4, 2), "block2"), 2, "block2")
    x = _block(layers.Conv2D(16, 5, padding="same", activation="relu", name="block3_conv")(x), 2, "block3")
    x = _block(layers.Conv2D(16, 5, padding="same", activation="relu", name="block4_conv")(x), 4, "block4")
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dropout(0.5, name="dropout1")(x)
    x = layers.Dense(16, name="dense")(x)
    x = layers.LeakyReLU(negative_slope=0.1, name="leaky_relu")(x)
    x = layers.Dropout(0.5, name="dropout2")(x)
    outputs = layers.Dense(1, activation="sigmoid", name="p_fake")(x)
    return keras.Model(inputs, outputs, name=name.lower())


def _block(x, pool: int, prefix: str):
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{prefix}_bn")(x)
    return layers.MaxPooling2D(pool, padding="same", name=f"{prefix}_pool")(x)


def _inception(x, filters: tuple[int, int, int, int], prefix: str):
    """The reference's InceptionLayer(a, b, c, d); its layers are created in the same order."""
    a, b, c, d = filters
    conv = lambda n, size, name, rate=1: layers.Conv2D(n, size, padding="same", activation="relu",  # noqa: E731
                                                        dilation_rate=rate, name=f"{prefix}_{name}")
    x1 = conv(a, 1, "1x1")(x)
    x2 = conv(b, 1, "3x3_reduce")(x)
    x2 = conv(b, 3, "3x3")(x2)
    x3 = conv(c, 1, "dilated2_reduce")(x)
    x3 = conv(c, 3, "3x3_dilated2", 2)(x3)
    x4 = conv(d, 1, "dilated3_reduce")(x)
    x4 = conv(d, 3, "3x3_dilated3", 3)(x4)
    return layers.Concatenate(axis=-1, name=f"{prefix}_concat")([x1, x2, x3, x4])


def load_published_weights(model: keras.Model, path: str | os.PathLike) -> None:
    """Load a reference-code weights file (the published ones: P(real)) into `model` and make it
    output P(fake): the last Dense layer's kernel and bias are negated."""
    try:
        model.load_weights(path)
    except ValueError as err:  # shapes that do not fit: another image size or network
        raise ValueError(f"Received: weights={str(path)!r}, which do not fit {model.name} at "
                         f"{model.input_shape[1]} px ({str(err).splitlines()[0]}).") from None
    head = model.get_layer("p_fake")
    head.kernel.assign(-head.kernel)
    head.bias.assign(-head.bias)


def build_for_run(name: str, weights: Any, image: ImageConfig) -> tuple[keras.Model, dict]:
    """A run's MesoNet (`vidseq.training.families`): from scratch (`weights=None`) or from the
    published or reference-code weights (fetched and checked first), and what config.json
    records of it beyond the options."""
    check_mesonet_weights(weights, name)
    check_image_size_for(weights, name, image.image_size)
    file = None if weights is None else weights_path(name, weights)
    model = build_mesonet(name, image.image_size)
    if file is not None:
        load_published_weights(model, file)
    entry = weights if weights is None or weights in WEIGHTS_KEYWORDS else str(Path(weights).resolve())
    return model, dict(weights=entry, weights_file=None if file is None else file.name)


__all__ = ["build_mesonet", "load_published_weights", "build_for_run"]
