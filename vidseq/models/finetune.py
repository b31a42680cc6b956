"""Fine-tuning a backbone on face crops: the frame classifier and which of its layers train.

The model (saved whole in the run's model.keras, loadable with safe_mode):

    raw 0-255 RGB crop (S, S, 3) -> BackbonePreprocess (the backbone's own preprocess_input)
    -> backbone (keras.applications, pooled features, layer "backbone", called training=False)
    -> Dropout -> Dense(1, sigmoid) = P(fake) of the frame

Training follows Keras' transfer-learning guide: first the new head alone with the backbone
frozen (`warmup_epochs`), then the top `trainable_layers` layers of the backbone (None: all)
unfrozen at `fine_tune_learning_rate` (default `learning_rate / 10`). BatchNormalization
layers stay frozen and in inference mode throughout (the backbone is called with
`training=False`): small batches of face crops would otherwise overwrite the statistics the
backbone learned. The phases' fits are `vidseq.training.frames.fit_phases`; the backbone
with its preprocessing layer, and taking it back out of a run, `vidseq.features.fine_tuned`.

    >>> from vidseq.models.finetune import build_frame_classifier, set_phase
    >>> model = build_frame_classifier("MobileNetV2", weights="random")  # doctest: +SKIP
    >>> set_phase(model, "head")  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from vidseq.utils.quiet import import_keras_quietly

import_keras_quietly()  # before Keras loads: TensorFlow's start-up lines stay hidden
import keras
from keras import layers

from vidseq.features import backbone_models, backbones
from vidseq.features.fine_tuned import BACKBONE_LAYER, BackbonePreprocess
from vidseq.models.config import ImageConfig

HEAD_NAME = "finetune"  # the model's name: the run's "head" in the leaderboard and run names
PHASES = ("head", "fine_tune")


def build_frame_classifier(name: str, weights: Any = "imagenet", dropout: float = 0.2) -> keras.Model:
    """Raw face crops at the backbone's input size -> P(fake); the backbone starts from `weights`
    ("imagenet", "random", "auto", a weights file or a fine-tuned run folder) and starts frozen."""
    spec = backbones.get_spec(name)
    backbone = backbone_models.new_backbone(name, weights, layer_name=BACKBONE_LAYER)
    inputs = keras.Input((*spec.input_size, 3), name="crops")
    x = BackbonePreprocess(spec.name, name="preprocess")(inputs)
    x = backbone(x, training=False)  # BatchNormalization in inference mode, also when unfrozen
    x = layers.Dropout(dropout, name="head_dropout")(x)
    outputs = layers.Dense(1, activation="sigmoid", name="head")(x)
    return keras.Model(inputs, outputs, name=HEAD_NAME)


def set_phase(model: keras.Model, phase: str, trainable_layers: int | None = None) -> list[str]:
    """Freeze the backbone ("head") or unfreeze its top `trainable_layers` layers ("fine_tune";
    None: all). BatchNormalization layers stay frozen. Returns the backbone layers now trainable.
    Compile the model after calling this."""
    if phase not in PHASES:
        raise ValueError(f"Received: phase={phase!r}. Expected one of {PHASES}.")
    backbone = model.get_layer(BACKBONE_LAYER)
    if phase == "head":
        backbone.trainable = False
        return []
    backbone.trainable = True
    top = backbone.layers if trainable_layers is None else backbone.layers[-trainable_layers:]
    unfrozen = {id(layer) for layer in top if not isinstance(layer, layers.BatchNormalization)}
    for layer in backbone.layers:
        layer.trainable = id(layer) in unfrozen
    return [layer.name for layer in backbone.layers if layer.trainable and layer.weights]


def build_for_run(name: str, weights: Any, image: ImageConfig) -> tuple[keras.Model, dict]:
    """A run's frame classifier (`vidseq.training.families`) and what config.json records of it
    beyond the options: the backbone and its starting weights ("auto" resolved)."""
    weights = backbone_models.resolve_weights(name, weights)
    spec = backbones.get_spec(name)
    recorded = dict(feature_dim=spec.feature_dim, image_size=spec.input_size[0],
                    weights=backbones.weights_entry(weights), weights_identity=backbones.weights_identity(weights), backbone_layer=BACKBONE_LAYER)
    return build_frame_classifier(name, weights, image.dropout), recorded
