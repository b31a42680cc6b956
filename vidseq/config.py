"""One typed run configuration: every option of a run, its default, its check and its CLI help.

A run is one `RunConfig`: frozen dataclasses, each checking itself on construction, without
building a model or importing TensorFlow (`vidseq train --help` builds its flags from these
fields). Three model families share it, told apart by `RunConfig.family`:

- "sequence": a frozen backbone's cached frame embeddings -> a sequence head (`HeadConfig`);
- "coatnet": a CoAtNet image classifier trained from scratch on face crops (`ImageConfig`);
- "finetune": a backbone fine-tuned on face crops as a frame classifier (`ImageConfig`).

`FAMILY_DEFAULTS` holds the families' own defaults; a new option is one field here plus the
line that uses it. `config.json` holds `to_json()`'s entries (plus what the run measured);
`from_json` reads them back, also from folders saved by earlier versions.

    >>> config = RunConfig.from_options(16, "MobileNetV2", rnn_units=(64,), weights="random")
    >>> config.family, config.head.name, config.train.epochs
    ('sequence', 'gru64', 100)
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vidseq.backbones import BACKBONES, check_weights
from vidseq.checks import check_int
from vidseq.config_sections import (CALLBACK_OPTIONS, OPTIMIZERS, DataConfig, HeadConfig, ImageConfig, TrainConfig,
                                    option, set_frozen)
from vidseq.faces import FaceCrop
from vidseq.sampling import check_num_frames

SEQUENCE, COATNET, FINETUNE = "sequence", "coatnet", "finetune"
COATNET_NAMES = tuple(f"CoAtNet-{i}" for i in range(5))  # vidseq.coatnet.COATNET_VARIANTS, without Keras


@dataclass(frozen=True)
class RunConfig:
    """Every setting of one run (`train_test_classifier`): build it with `from_options`."""

    num_frames: int = option(64, "frames sampled per video (1-1024)", type=int)
    img_model_name: str = option("MobileNetV2", "a frozen backbone or CoAtNet-0 ... CoAtNet-4", flag="--model")
    weights: Any = option("imagenet", "imagenet | random | auto | none | PATH to a weights file | a --fine-tune run "
                                      "folder (CoAtNet: none or PATH)", type="weights")
    seed: int = option(42, "split, sampling and training seed", type=int)
    fine_tune: bool = option(False, "train the backbone (--model) as a frame classifier on face crops; its run "
                                    "folder can then be given as --weights to embed with the fine-tuned backbone",
                             action="store_true")
    embed_batch_size: int = option(32, "frames per backbone batch", type=int)
    cache_dir: str | None = option(None, "cache (default: $VIDSEQ_CACHE or ~/.cache/vidseq)")
    save_dir: str = option("saved_models", "where the run folder is written")
    run_name: str | None = option(None, "the run folder's name (default: dataset, model, frames, head, time)")
    verbose: int = option(1, "0 silent, 1 progress bars, 2 also Keras' per-epoch lines", flag="--verbose")
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    head: HeadConfig | None = field(default_factory=HeadConfig)  # sequence family only
    image: ImageConfig | None = None  # frame-classifier families only

    def __post_init__(self):
        set_frozen(self, num_frames=check_num_frames(self.num_frames), seed=check_int("seed", self.seed, 0))
        verbose = int(self.verbose) if isinstance(self.verbose, bool) else self.verbose
        set_frozen(self, verbose=check_int("verbose", verbose, 0, 2))
        family = family_of(self.img_model_name, self.fine_tune)
        if family != COATNET:
            check_weights(self.weights, self.img_model_name)
        if family == SEQUENCE:
            check_int("embed_batch_size", self.embed_batch_size, 1)
        if (self.head is None) != (family != SEQUENCE) or (self.image is None) != (family == SEQUENCE):
            raise ValueError(f"Received: head={self.head!r}, image={self.image!r} for a {family} run. Expected a "
                             "HeadConfig for sequence heads only, an ImageConfig for frame classifiers only.")
        if self.run_name is not None and not re.fullmatch(r"[\w.+-]+", str(self.run_name)):
            raise ValueError(f"Received: run_name={self.run_name!r}. Expected letters, digits and . _ + - only.")

    @property
    def family(self) -> str:
        """"sequence", "coatnet" or "finetune"."""
        return family_of(self.img_model_name, self.fine_tune)

    @classmethod
    def from_options(cls, num_frames: int, img_model_name: str, **options: Any) -> RunConfig:
        """Check one run's arguments (`train_test_classifier`'s) without touching any video.

        The model name becomes canonical ("coatnet-0" -> "CoAtNet-0"), the seed toolkit's
        keywords vidseq's (one printed line each), missing options the family's defaults.
        Raises ValueError naming the first bad value.

        >>> RunConfig.from_options(16, "coatnet-0").train.optimizer
        'adamw'
        """
        family = _family_from_name(img_model_name, options.get("fine_tune", False))
        from vidseq import seed_compat  # the seed toolkit's names, one printed line each

        options = seed_compat.translate_seed_options(options)
        if not options.get("fine_tune", False):
            options.pop("fine_tune", None)  # the default: not recorded
        valid = family_options(family)
        unknown = sorted(set(options) - set(valid))
        if unknown:
            raise ValueError(f"Received unknown option(s) {unknown}. Expected some of {sorted(valid)}.")
        given = dict(options)
        options = {**valid, **options}
        seed_compat.sync_patience(given, options)
        if family == COATNET:
            weights = options["weights"]
            if weights is not None and not (isinstance(weights, (str, os.PathLike)) and Path(weights).is_file()):
                raise ValueError(f"Received: weights={weights!r}. Expected None (train CoAtNet from scratch: no "
                                 "pretrained CoAtNet weights exist offline) or the path of an existing weights file.")
        if options["identities"] is not None:
            identities = options["identities"]
            if not isinstance(identities, (str, os.PathLike)) or not Path(identities).is_file():
                raise ValueError(f"Received: identities={identities!r}. Expected None or the path of a CSV file "
                                 "with columns file,identities.")
            options["identities"] = str(Path(identities).resolve())  # recorded in config.json: reusable
        name = next(n for n in COATNET_NAMES if n.lower() == img_model_name.lower()) if family == COATNET \
            else img_model_name
        return cls._from_flat(num_frames, name, family, options)

    @classmethod
    def _from_flat(cls, num_frames: int, name: str, family: str, options: dict) -> RunConfig:
        sections = {}
        for section, kind in (("head", HeadConfig), ("image", ImageConfig), ("data", DataConfig),
                              ("train", TrainConfig)):
            names = [f.name for f in dataclasses.fields(kind)]
            if section == "head" and family != SEQUENCE or section == "image" and family == SEQUENCE:
                sections[section] = None
                continue
            sections[section] = kind(**{n: options[n] for n in names if n in options})
        top = {f.name: options[f.name] for f in dataclasses.fields(cls) if f.name in options
               and f.name not in ("num_frames", "img_model_name", *sections)}
        return cls(num_frames=num_frames, img_model_name=name, **top, **sections)

    def options(self) -> dict:
        """The run's options as `train_test_classifier` keywords, complete: what `from_options`
        made of the arguments (the family's option names only)."""
        flat = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if f.name not in ("num_frames", "img_model_name", "data", "train", "head", "image")}
        for section in (self.data, self.train, self.head, self.image):
            if section is not None:  # not dataclasses.asdict: it would copy callbacks and unpack FaceCrop
                flat.update({f.name: getattr(section, f.name) for f in dataclasses.fields(section)})
        return {k: v for k, v in flat.items() if k in family_options(self.family)}

    def replace(self, **changes: Any) -> RunConfig:
        """This config with some options changed (flat option names), checked again."""
        unknown = sorted(set(changes) - set(self.options()))
        if unknown:
            raise ValueError(f"Received unknown option(s) {unknown}. Expected some of {sorted(self.options())}.")
        return type(self)._from_flat(self.num_frames, self.img_model_name, self.family,
                                     {**self.options(), **changes})

    def to_json(self) -> dict:
        """The options config.json records: settings only (no callback objects, no paths of this
        machine's caches), under the same keys as `train_test_classifier`'s options."""
        from vidseq import seed_compat

        face = self.data.face
        entries = {k: v for k, v in self.options().items()
                   if k not in ("cache_dir", "weights", "verbose", "face_crop", *CALLBACK_OPTIONS)}
        entries.update(face_crop=face.key() if face else False, **seed_compat.training_config(self.train))
        if self.family == FINETUNE:
            entries["fine_tune_learning_rate"] = self.fine_tune_rate
        return entries

    @property
    def input_size(self) -> tuple[int, int]:
        """The `(height, width)` of the images the model sees: the backbone's, or CoAtNet's `image_size`."""
        if self.family == COATNET:
            return (self.image.image_size,) * 2
        return tuple(BACKBONES[self.img_model_name].input_size)

    @property
    def fine_tune_rate(self) -> float | None:
        """A fine-tuning run's second-phase learning rate: `fine_tune_learning_rate`, else `learning_rate / 10`."""
        if self.image is None:
            return None
        rate = self.image.fine_tune_learning_rate
        return self.train.learning_rate / 10 if rate is None else rate

    @classmethod
    def from_json(cls, config: dict) -> RunConfig:
        """The settings of a saved run from its config.json, also one written by an earlier
        version (options it lacks take the value that version used)."""
        family = family_of(config["img_model_name"], bool(config.get("fine_tune")))
        valid = family_options(family)
        options = {k: v for k, v in config.items() if k in valid and k not in ("early_stopping", "reduce_lr")}
        if config.get("face_crop"):
            options["face_crop"] = FaceCrop(**config["face_crop"])
        options.setdefault("split_by", "group")  # runs saved before split_by kept only groups apart
        if family == FINETUNE:
            options.pop("image_size", None)  # the backbone's own input size, recorded, not an option
        if family == COATNET and options.get("weights") is not None and not Path(options["weights"]).is_file():
            options["weights"] = None  # its starting point, gone since: the trained model is in model.keras
        return cls._from_flat(config["num_frames"], config["img_model_name"], family,
                              {**valid, **options, "verbose": 0})


def family_of(img_model_name: str, fine_tune: bool = False) -> str:
    """The model family of a (canonical) model name."""
    if img_model_name in COATNET_NAMES:
        return COATNET
    return FINETUNE if fine_tune else SEQUENCE


def _family_from_name(img_model_name: Any, fine_tune: Any) -> str:
    """The family a user's model name and `fine_tune` ask for, or a one-line error."""
    coatnet = isinstance(img_model_name, str) and img_model_name.lower() in (n.lower() for n in COATNET_NAMES)
    if not coatnet and img_model_name not in BACKBONES:
        raise ValueError(f"Received: img_model_name={img_model_name!r}. Expected one of {sorted(BACKBONES)} "
                         f"(frozen backbones) or {list(COATNET_NAMES)}.")
    if fine_tune not in (True, False):
        raise ValueError(f"Received: fine_tune={fine_tune!r}. Expected True or False.")
    if fine_tune and coatnet:
        raise ValueError(f"Received: fine_tune=True with img_model_name={img_model_name!r}. Expected a backbone of "
                         f"{sorted(BACKBONES)}: {img_model_name} trains all its layers already.")
    return COATNET if coatnet else FINETUNE if fine_tune else SEQUENCE


# The families' defaults where they differ from the fields': CoAtNet keeps its source's 25
# epochs, batch 32, AdamW and warm-up + cosine; fine-tuning Keras' transfer-learning recipe.
FAMILY_DEFAULTS: dict[str, dict[str, Any]] = {
    SEQUENCE: {},
    COATNET: dict(weights=None, epochs=25, batch_size=32, learning_rate=1e-4, patience=5, face_crop=True,
                  optimizer="adamw", schedule="cosine", warmup_epochs=1, weight_decay=0.05),
    FINETUNE: dict(epochs=10, batch_size=32, learning_rate=1e-3, patience=3, face_crop=True, warmup_epochs=2,
                   fine_tune=True, dropout=0.2),
}
# The options of each family beyond the common ones (RunConfig's own, DataConfig's, TrainConfig's).
_FAMILY_ONLY = {
    SEQUENCE: ("embed_batch_size", *(f.name for f in dataclasses.fields(HeadConfig))),
    COATNET: ("image_size", "augment", "video_score"),
    FINETUNE: ("fine_tune", "augment", "video_score", "dropout", "trainable_layers", "fine_tune_learning_rate"),
}


def family_options(family: str) -> dict[str, Any]:
    """Every option a family's runs take, with the family's default."""
    defaults: dict[str, Any] = {}
    for kind in (RunConfig, DataConfig, TrainConfig, ImageConfig, HeadConfig):
        defaults.update({f.name: f.default for f in dataclasses.fields(kind) if f.default is not dataclasses.MISSING})
    defaults.update(FAMILY_DEFAULTS[family])
    family_only = {name for names in _FAMILY_ONLY.values() for name in names}
    keep = set(_FAMILY_ONLY[family]) | {name for name in defaults if name not in family_only}
    keep -= {"num_frames", "img_model_name", "data", "train", "head", "image"}
    return {name: value for name, value in defaults.items() if name in keep}


def option_fields() -> dict[str, tuple[type, dataclasses.Field]]:
    """Every option's `(config class, field)` by option name (help and flag in the field's
    `metadata`): what the CLI builds its flags from."""
    fields: dict[str, tuple[type, dataclasses.Field]] = {}
    for kind in (RunConfig, DataConfig, TrainConfig, HeadConfig, ImageConfig):
        for f in dataclasses.fields(kind):
            if "help" in f.metadata:
                fields.setdefault(f.name, (kind, f))  # "dropout": the head's (the fine-tune head's is the same flag)
    return fields


def check_run_options(num_frames: int, img_model_name: str, options: dict) -> tuple[int, str, dict]:
    """`RunConfig.from_options` as `(num_frames, canonical model name, every option as a dict)`.

    >>> check_run_options(16, "coatnet-0", {})[1]
    'CoAtNet-0'
    """
    config = RunConfig.from_options(num_frames, img_model_name, **options)
    return config.num_frames, config.img_model_name, config.options()


__all__ = ["RunConfig", "HeadConfig", "ImageConfig", "DataConfig", "TrainConfig", "FAMILY_DEFAULTS", "family_options",
           "family_of", "option_fields", "check_run_options", "CALLBACK_OPTIONS", "OPTIMIZERS", "COATNET_NAMES",
           "SEQUENCE", "COATNET", "FINETUNE"]
