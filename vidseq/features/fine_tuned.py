"""A backbone with its own preprocessing inside the model, and the fine-tuned backbone of a run.

A fine-tuned run (`train_test_classifier(..., fine_tune=True)`, `vidseq.models.finetune`)
saves one model: raw 0-255 RGB crops -> `BackbonePreprocess` -> the backbone (layer
`BACKBONE_LAYER`) -> its head. Its run folder can stand for backbone weights
(`vidseq.features.backbones`): `load_backbone` takes the fine-tuned backbone back out, so
sequence heads train on its features. Both live here, with the backbones, because
embedding needs them and embedding comes before the models that are trained on it.

    >>> backbone = load_backbone("saved_models/<fine-tuned run>", "MobileNetV2")  # doctest: +SKIP
"""

from __future__ import annotations

import os
from pathlib import Path

from vidseq.utils.quiet import import_keras_quietly

import_keras_quietly()  # before Keras loads: TensorFlow's start-up lines stay hidden
import keras
from keras import layers

from vidseq.features.backbones import check_run_weights, get_spec

BACKBONE_LAYER = "backbone"  # the backbone's layer name inside a fine-tuned run's model


@keras.saving.register_keras_serializable(package="vidseq")
class BackbonePreprocess(layers.Layer):
    """The backbone's own `preprocess_input`, on raw 0-255 RGB images, inside the model."""

    def __init__(self, backbone_name: str, **kwargs):
        super().__init__(**kwargs)
        self.backbone_name = backbone_name
        self._module = getattr(keras.applications, get_spec(backbone_name).module)

    def call(self, images):
        return self._module.preprocess_input(images)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "backbone_name": self.backbone_name}


def load_backbone(run_dir: str | os.PathLike, name: str | None = None) -> keras.Model:
    """The fine-tuned backbone of a run (pooled features, frozen), from its model.keras with safe_mode."""
    check_run_weights(run_dir, name)
    model = keras.saving.load_model(Path(run_dir) / "model.keras", safe_mode=True)
    backbone = model.get_layer(BACKBONE_LAYER)
    backbone.trainable = False
    return backbone


__all__ = ["BACKBONE_LAYER", "BackbonePreprocess", "load_backbone"]
