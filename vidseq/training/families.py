"""Model families as data: one registry entry per kind of model a run can train.

A family names the models that select it, the config section its runs carry, its own
defaults and options, and (as import paths, so that this table loads without TensorFlow)
the function that builds its model and the recipe module that trains and scores it. The
config, the CLI, training, scoring and the search read this table; adding a family is one
`register_family` call plus its modules, in the spirit of timm's `register_model`.

A recipe module defines `fit(videos, config) -> Fitted` and
`score(config, paths, model, track) -> (scores, errors, frame_scores)`. A frame classifier's
builder takes `(img_model_name, weights, image: ImageConfig)` and returns the model and
what config.json records of it; a sequence head's is `vidseq.models.heads.build_classifier`.

    >>> family_for("CoAtNet-0").name, family_for("MobileNetV2").name, family_for("MobileNetV2", True).name
    ('coatnet', 'sequence', 'finetune')
    >>> family_for("meso4").name, pretrained_models()["mesonet-df"][1:]
    ('mesonet', ('Meso4', 'mesonet-df'))
    >>> family_for("features:clip-vit").name
    'features'
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from vidseq.features.backbones import BACKBONES, check_weights
from vidseq.features.store import PREFIX as FEATURE_SET_PREFIX
from vidseq.features.store import SET_NAME
from vidseq.models.coatnet_variants import COATNET_NAMES
from vidseq.models.config import HeadConfig, ImageConfig
from vidseq.models.mesonet_weights import MESONET_NAMES, PRETRAINED, check_image_size_for, check_mesonet_weights


@dataclass(frozen=True)
class Family:
    """One model family: what selects it, what its runs hold, what builds, trains and scores it."""

    name: str  # recorded nowhere: a run's family follows from its model name and `fine_tune`
    label: str  # how help texts name it ("CoAtNet", "fine-tune"; "" for the default family)
    names: tuple[str, ...]  # the `img_model_name`s it answers to (any capitalization)
    section: type  # the config section its runs carry: HeadConfig or ImageConfig
    builder: str  # "module:function" that builds its model
    recipe: str  # the module whose `fit` trains a run and whose `score` scores videos with one
    defaults: Mapping[str, Any] = field(default_factory=dict)  # where its defaults differ from the fields'
    options: tuple[str, ...] = ()  # options only this family takes
    fine_tune: bool = False  # selected by `fine_tune=True` (its names are shared with another family)
    fit_in_phases: bool = False  # frame classifiers: a warm-up of the new head, then the whole model
    # The images it sees: "backbone" (its input size), "image_size" (an option), or "none"
    # (features computed elsewhere: its runs read no frames, so face crops do not apply).
    input_size: str = "backbone"
    prefix: str = ""  # it also answers to every `img_model_name` "<prefix><name>" (feature sets)
    head_name: Callable[[Mapping[str, Any]], str] = lambda options: ""  # a run's "head" from its options
    check_weights: Callable[[Any, str], None] = check_weights  # ValueError unless its runs can start from `weights`
    check_config: Callable[[Any], None] = lambda config: None  # checks across a run's options (its RunConfig)
    pretrained: Mapping[str, tuple[str, Any]] = field(default_factory=dict)  # ready-made: name -> (model, weights)

    @property
    def frame_classifier(self) -> bool:
        """Frame classifiers score each frame's face crop; the others score a sequence of embeddings."""
        return self.section is ImageConfig

    def build(self) -> Callable:
        """The model builder (imports its module: TensorFlow loads)."""
        return _resolve(self.builder)

    def trainer(self):
        """The recipe module (`fit`, `score`)."""
        return importlib.import_module(self.recipe)

    def canonical(self, name: Any) -> str | None:
        """The family's spelling of `name`, or None when `name` is not one of its models."""
        if (self.prefix and isinstance(name, str) and name.lower().startswith(self.prefix)
                and re.fullmatch(SET_NAME, name[len(self.prefix) :])):
            return self.prefix + name[len(self.prefix) :]
        return next((n for n in self.names if isinstance(name, str) and n.lower() == name.lower()), None)

    @property
    def shown_names(self) -> tuple[str, ...]:
        """Its model names as help and errors list them."""
        return self.names + ((f"{self.prefix}<name>",) if self.prefix else ())


FAMILIES: dict[str, Family] = {}


def register_family(family: Family) -> Family:
    """Add a family to the registry (its name must be new)."""
    if family.name in FAMILIES:
        raise ValueError(f"Received: a family named {family.name!r}. Expected a new name: {sorted(FAMILIES)} exist.")
    FAMILIES[family.name] = family
    return family


def family_for(img_model_name: Any, fine_tune: Any = False) -> Family:
    """The family a model name and `fine_tune` select, or a one-line error listing the valid names."""
    if fine_tune not in (True, False):
        raise ValueError(f"Received: fine_tune={fine_tune!r}. Expected True or False.")
    matches = [f for f in FAMILIES.values() if f.canonical(img_model_name)]
    if not matches:
        listed = "; ".join(f"{f.label or 'frozen backbones'}: {', '.join(f.shown_names)}" for f in FAMILIES.values()
                           if not f.fine_tune)
        raise ValueError(f"Received: img_model_name={img_model_name!r}. Expected one of {listed}.")
    chosen = [f for f in matches if f.fine_tune == bool(fine_tune)]
    if not chosen:
        raise ValueError(f"Received: fine_tune=True with img_model_name={img_model_name!r}. Expected a backbone of "
                         f"{sorted(BACKBONES)}: {matches[0].canonical(img_model_name)} trains all its layers already.")
    return chosen[0]


def family_only_options() -> set[str]:
    """The options some family takes and others do not."""
    return {name for f in FAMILIES.values() for name in f.options}


def pretrained_models() -> dict[str, tuple[Family, str, Any]]:
    """Every ready-made model the families offer: name -> (family, model name, weights)."""
    return {name: (f, model, weights) for f in FAMILIES.values() for name, (model, weights) in f.pretrained.items()}


def _weights_file_or_none(weights: Any, name: str) -> None:
    """Models without pretrained weights offline (CoAtNet) start from scratch or from a weights file."""
    if weights is not None and not (isinstance(weights, (str, os.PathLike)) and Path(weights).is_file()):
        raise ValueError(f"Received: weights={weights!r}. Expected None (train {name} from scratch: no pretrained "
                         f"weights exist offline) or the path of an existing weights file.")


def _no_weights(weights: Any, name: str) -> None:
    """A feature set's features are computed already: no backbone, so no weights."""
    if weights is not None:
        raise ValueError(f"Received: weights={weights!r} with img_model_name={name!r}. Expected weights=None: a "
                         "feature set holds features computed already.")


def _head_name(options: Mapping[str, Any]) -> str:
    return HeadConfig(**{name: options[name] for name in _HEAD_OPTIONS}).name


_HEAD_OPTIONS = tuple(f.name for f in dataclasses.fields(HeadConfig))


def _resolve(path: str) -> Callable:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


register_family(Family(
    "sequence", "", tuple(BACKBONES), HeadConfig, builder="vidseq.models.heads:build_classifier",
    recipe="vidseq.training.sequence", options=("embed_batch_size", "feature_dtype", *_HEAD_OPTIONS),
    head_name=_head_name,
))
# Bring your own features: a named feature set (vidseq.features.store) in place of a backbone,
# with the sequence heads' recipe, which reads either from the cache.
register_family(Family(
    "features", "feature sets", (), HeadConfig, builder="vidseq.models.heads:build_classifier",
    recipe="vidseq.training.sequence", input_size="none", prefix=FEATURE_SET_PREFIX, defaults=dict(weights=None),
    options=_HEAD_OPTIONS, head_name=_head_name, check_weights=_no_weights,
))
# CoAtNet keeps its source's 25 epochs, batch 32, AdamW and warm-up + cosine.
register_family(Family(
    "coatnet", "CoAtNet", COATNET_NAMES, ImageConfig, builder="vidseq.models.coatnet:build_for_run",
    recipe="vidseq.training.frames", input_size="image_size",
    defaults=dict(weights=None, epochs=25, batch_size=32, learning_rate=1e-4, patience=5, face_crop=True,
                  optimizer="adamw", schedule="cosine", warmup_epochs=1, weight_decay=0.05),
    options=("image_size", "augment", "video_score"),
    head_name=lambda options: f"{options['image_size']}px", check_weights=_weights_file_or_none,
))
# Fine-tuning follows Keras' transfer-learning recipe: a warm-up of the new head, then the backbone.
register_family(Family(
    "finetune", "fine-tune", tuple(BACKBONES), ImageConfig, builder="vidseq.models.finetune:build_for_run",
    recipe="vidseq.training.frames", fine_tune=True, fit_in_phases=True,
    defaults=dict(epochs=10, batch_size=32, learning_rate=1e-3, patience=3, face_crop=True, warmup_epochs=2,
                  fine_tune=True, dropout=0.2),
    options=("fine_tune", "augment", "video_score", "dropout", "trainable_layers", "fine_tune_learning_rate"),
    head_name=lambda options: "finetune",
))
# MesoNet trains from scratch as its paper (Adam at 1e-3), or starts from its published weights.
register_family(Family(
    "mesonet", "MesoNet", MESONET_NAMES, ImageConfig, builder="vidseq.models.mesonet:build_for_run",
    recipe="vidseq.training.frames", input_size="image_size",
    defaults=dict(weights=None, image_size=256, epochs=30, batch_size=32, learning_rate=1e-3, patience=5,
                  face_crop=True),
    options=("image_size", "augment", "video_score"),
    head_name=lambda options: f"{options['image_size']}px", check_weights=check_mesonet_weights,
    check_config=lambda config: check_image_size_for(config.weights, config.img_model_name, config.image.image_size),
    pretrained=PRETRAINED,
))
