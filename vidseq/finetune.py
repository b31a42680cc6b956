"""Fine-tuning a backbone on face crops: the frame classifier, its two training phases, and
taking the fine-tuned backbone back out of a run for sequence heads.

The model (saved whole in the run's model.keras, loadable with safe_mode):

    raw 0-255 RGB crop (S, S, 3) -> BackbonePreprocess (the backbone's own preprocess_input)
    -> backbone (keras.applications, pooled features, layer "backbone", called training=False)
    -> Dropout -> Dense(1, sigmoid) = P(fake) of the frame

Training follows Keras' transfer-learning guide: first the new head alone with the backbone
frozen (`warmup_epochs`), then the top `trainable_layers` layers of the backbone (None: all)
unfrozen at `fine_tune_learning_rate` (default `learning_rate / 10`). BatchNormalization
layers stay frozen and in inference mode throughout (the backbone is called with
`training=False`): small batches of face crops would otherwise overwrite the statistics the
backbone learned.

    >>> from vidseq.finetune import build_frame_classifier, set_phase
    >>> model = build_frame_classifier("MobileNetV2", weights="random")  # doctest: +SKIP
    >>> set_phase(model, "head")  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from vidseq.quiet import import_keras_quietly

import_keras_quietly()  # before Keras loads: TensorFlow's start-up lines stay hidden
import keras
from keras import layers

from vidseq import backbones

if TYPE_CHECKING:
    from vidseq.config import RunConfig, TrainConfig

BACKBONE_LAYER = "backbone"
HEAD_NAME = "finetune"  # the model's name: the run's "head" in the leaderboard and run names
PHASES = ("head", "fine_tune")


@keras.saving.register_keras_serializable(package="vidseq")
class BackbonePreprocess(layers.Layer):
    """The backbone's own `preprocess_input`, on raw 0-255 RGB images, inside the model."""

    def __init__(self, backbone_name: str, **kwargs):
        super().__init__(**kwargs)
        self.backbone_name = backbone_name
        self._module = getattr(keras.applications, backbones.get_spec(backbone_name).module)

    def call(self, images):
        return self._module.preprocess_input(images)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "backbone_name": self.backbone_name}


def build_frame_classifier(name: str, weights: Any = "imagenet", dropout: float = 0.2) -> keras.Model:
    """Raw face crops at the backbone's input size -> P(fake); the backbone starts from `weights`
    ("imagenet", "random", "auto", a weights file or a fine-tuned run folder) and starts frozen."""
    spec = backbones.get_spec(name)
    backbone = backbones.new_backbone(name, weights, layer_name=BACKBONE_LAYER)
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


class _History:
    """Both phases' `keras.callbacks.History.history`, one row per epoch."""

    def __init__(self):
        self.history: dict[str, list] = {}

    def extend(self, history: dict[str, list]) -> None:
        for key, values in history.items():
            self.history.setdefault(key, []).extend(values)


def fit_phases(model: keras.Model, train, val, config: RunConfig, compile: Callable[[keras.Model, TrainConfig], None],
               callbacks: list, verbose: int = 0) -> _History:
    """Phase 1: `warmup_epochs` epochs of the head alone at `learning_rate` (no callbacks).
    Phase 2: up to `epochs` epochs with the top `trainable_layers` unfrozen at
    `fine_tune_learning_rate`, with `callbacks` (early stopping: best phase-2 weights kept).
    `compile(model, train_config)` compiles with the phase's settings. Returns the joined history."""
    history = _History()
    warmup = config.train.warmup_epochs
    # Each phase compiles its own schedule; "cosine" decays over the phase, without a warm-up.
    if warmup:
        set_phase(model, "head")
        compile(model, dataclasses.replace(config.train, epochs=warmup, warmup_epochs=0))
        history.extend(model.fit(train, validation_data=val, epochs=warmup, verbose=verbose).history)
    set_phase(model, "fine_tune", config.image.trainable_layers)
    compile(model, dataclasses.replace(config.train, learning_rate=config.fine_tune_rate, warmup_epochs=0))
    history.extend(model.fit(train, validation_data=val, initial_epoch=warmup, epochs=warmup + config.train.epochs,
                             verbose=verbose, callbacks=callbacks).history)
    return history


def recorded_entries(name: str, weights: Any) -> dict:
    """What config.json records of a fine-tuned run beyond its options: the backbone and its starting weights."""
    spec = backbones.get_spec(name)
    return dict(feature_dim=spec.feature_dim, image_size=spec.input_size[0],
                weights=weights if weights in backbones.WEIGHT_KEYWORDS else str(Path(weights).resolve()),
                weights_identity=backbones.weights_identity(weights), backbone_layer=BACKBONE_LAYER)


def load_backbone(run_dir: str | os.PathLike, name: str | None = None) -> keras.Model:
    """The fine-tuned backbone of a run (pooled features, frozen), from its model.keras with safe_mode."""
    backbones.check_run_weights(run_dir, name)
    model = keras.saving.load_model(Path(run_dir) / "model.keras", safe_mode=True)
    backbone = model.get_layer(BACKBONE_LAYER)
    backbone.trainable = False
    return backbone
