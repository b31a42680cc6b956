"""One typed run configuration: every option of a run, its default, its check and its CLI help.

A run is one `RunConfig`: frozen dataclasses, each checking itself on construction, without
building a model or importing TensorFlow (`vidseq train --help` builds its flags from these
fields). Each stage declares its own section: `DataConfig` (vidseq.data.config),
`HeadConfig` / `ImageConfig` (vidseq.models.config), `TrainConfig`
(vidseq.training.train_config). The model family (`RunConfig.family`, an entry of
`vidseq.training.families.FAMILIES`: sequence heads on a frozen backbone's cached
embeddings, CoAtNet, a fine-tuned backbone, MesoNet) says which model section a run carries and
its own defaults. A new option is one field in its section plus the line that uses it. `config.json` holds `to_json()`'s entries (plus what the run measured);
`from_json` reads them back, also from folders saved by earlier versions.

    >>> config = RunConfig.from_options(16, "MobileNetV2", rnn_units=(64,), weights="random")
    >>> config.family.name, config.head.name, config.train.epochs
    ('sequence', 'gru64', 100)
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vidseq.data.config import DataConfig
from vidseq.data.faces import FaceCrop
from vidseq.data.sampling import check_num_frames
from vidseq.features.backbones import BACKBONES
from vidseq.features.store import FEATURE_DTYPES, check_feature_dtype
from vidseq.models.config import HeadConfig, ImageConfig
from vidseq.training.families import Family, family_for, family_only_options
from vidseq.training.seed_compat import translate_seed_options
from vidseq.training.train_config import CALLBACK_OPTIONS, TrainConfig, sync_patience, training_config
from vidseq.utils.cache import default_cache_dir
from vidseq.utils.checks import check_bool, check_int
from vidseq.utils.options import option, set_frozen


@dataclass(frozen=True)
class RunConfig:
    """Every setting of one run (`train_test_classifier`): build it with `from_options`."""

    num_frames: int = option(64, "frames sampled per video (1-1024)", type=int)
    img_model_name: str = option("MobileNetV2", "a frozen backbone, CoAtNet-0 ... CoAtNet-4, Meso4, MesoInception4 or "
                                                "features:NAME (a feature set written with write_features)",
                                 flag="--model")
    weights: Any = option("imagenet", "imagenet | random | auto | none | PATH to a weights file | a --fine-tune run "
                                      "folder (CoAtNet: none or PATH; MesoNet: none, mesonet-df, mesonet-f2f or PATH)",
                          type="weights")
    seed: int = option(42, "split, sampling and training seed", type=int)
    fine_tune: bool = option(False, "train the backbone (--model) as a frame classifier on face crops; its run "
                                    "folder can then be given as --weights to embed with the fine-tuned backbone",
                             action="store_true")
    embed_batch_size: int = option(32, "frames per backbone batch", type=int)
    feature_dtype: str = option("float32", "precision of the cached embeddings: float16 halves the disk and the "
                                           "reading (cached apart from float32)", choices=FEATURE_DTYPES)
    cache_dir: str | None = option(None, "cache (default: $VIDSEQ_CACHE or ~/.cache/vidseq)")
    save_dir: str = option("saved_models", "where the run folder is written")
    run_name: str | None = option(None, "the run folder's name (default: dataset, model, frames, head, time)")
    verbose: int = option(1, "0 silent, 1 progress bars, 2 also Keras' per-epoch lines", flag="--verbose")
    explain: bool = option(True, "write explain.png, where the model looked in a real and a fake test video (seconds "
                                 "per run on a CPU; explain_video draws it later)")
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    head: HeadConfig | None = field(default_factory=HeadConfig)  # sequence family only
    image: ImageConfig | None = None  # frame-classifier families only

    def __post_init__(self):
        set_frozen(self, num_frames=check_num_frames(self.num_frames), seed=check_int("seed", self.seed, 0))
        verbose = int(self.verbose) if isinstance(self.verbose, bool) else self.verbose
        set_frozen(self, verbose=check_int("verbose", verbose, 0, 2), explain=check_bool("explain", self.explain))
        family = self.family
        family.check_weights(self.weights, self.img_model_name)
        if "embed_batch_size" in family.options:
            check_int("embed_batch_size", self.embed_batch_size, 1)
        if "feature_dtype" in family.options:
            check_feature_dtype(self.feature_dtype)
        if family.input_size == "none" and self.data.face:
            raise ValueError(f"Received: face_crop={self.data.face!r} with img_model_name={self.img_model_name!r}. "
                             "Expected face_crop=False: a feature set holds features computed already, its videos "
                             "are not read.")
        for section, kind in (("head", HeadConfig), ("image", ImageConfig)):
            if (getattr(self, section) is None) == (family.section is kind):
                raise ValueError(f"Received: {section}={getattr(self, section)!r} for a {family.name} run. Expected "
                                 f"a {family.section.__name__} section only.")
        family.check_config(self)
        for name in ("cache_dir", "save_dir"):
            folder = getattr(self, name)
            if not (isinstance(folder, (str, os.PathLike)) or folder is None and name == "cache_dir"):
                raise ValueError(f"Received: {name}={folder!r}. Expected the path of a folder (a str or a Path)"
                                 + (" or None (the default cache)." if name == "cache_dir" else "."))
        if self.run_name is not None and not re.fullmatch(r"[\w.+-]+", str(self.run_name)):
            raise ValueError(f"Received: run_name={self.run_name!r}. Expected letters, digits and . _ + - only.")

    @property
    def family(self) -> Family:
        """The model family (`vidseq.training.families`) this run's model name and `fine_tune` select."""
        return family_for(self.img_model_name, self.fine_tune)

    @classmethod
    def from_options(cls, num_frames: int, img_model_name: str, **options: Any) -> RunConfig:
        """Check one run's arguments (`train_test_classifier`'s) without touching any video.

        The model name becomes canonical ("coatnet-0" -> "CoAtNet-0"), the seed toolkit's
        keywords vidseq's (one printed line each), missing options the family's defaults.
        Raises ValueError naming the first bad value.

        >>> RunConfig.from_options(16, "coatnet-0").train.optimizer
        'adamw'
        """
        family = family_for(img_model_name, options.get("fine_tune", False))
        options = translate_seed_options(options)
        if not options.get("fine_tune", False):
            options.pop("fine_tune", None)  # the default: not recorded
        valid = family_options(family)
        unknown = sorted(set(options) - set(valid))
        if unknown:
            raise ValueError(f"Received unknown option(s) {unknown}. Expected some of {sorted(valid)}.")
        given = dict(options)
        options = {**valid, **options}
        sync_patience(given, options)
        if options["identities"] is not None:
            identities = options["identities"]
            if not isinstance(identities, (str, os.PathLike)) or not Path(identities).is_file():
                raise ValueError(f"Received: identities={identities!r}. Expected None or the path of a CSV file "
                                 "with columns file,identities.")
            options["identities"] = str(Path(identities).resolve())  # recorded in config.json: reusable
        return cls._from_flat(num_frames, family.canonical(img_model_name), family, options)

    @classmethod
    def _from_flat(cls, num_frames: int, name: str, family: Family, options: dict) -> RunConfig:
        sections = {"data": DataConfig, "train": TrainConfig, "head": HeadConfig, "image": ImageConfig}
        sections = {section: kind(**{f.name: options[f.name] for f in dataclasses.fields(kind) if f.name in options})
                    if kind in (DataConfig, TrainConfig, family.section) else None
                    for section, kind in sections.items()}
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
        face = self.data.face
        entries = {k: v for k, v in self.options().items()
                   if k not in ("cache_dir", "weights", "verbose", "face_crop", *CALLBACK_OPTIONS)}
        entries.update(face_crop=face.key() if face else False, **training_config(self.train))
        if "fine_tune_learning_rate" in entries:
            entries["fine_tune_learning_rate"] = self.fine_tune_rate  # the rate used, not None
        return entries

    @property
    def input_size(self) -> tuple[int, int] | None:
        """The `(height, width)` of the images the model sees: the backbone's, the `image_size`
        option, or None (a feature set: no images)."""
        if self.family.input_size == "image_size":
            return (self.image.image_size,) * 2
        if self.family.input_size == "none":
            return None
        return tuple(BACKBONES[self.img_model_name].input_size)

    @property
    def cache_path(self) -> Path:
        """The cache this run reads and fills: `cache_dir`, else the default (`$VIDSEQ_CACHE` or ~/.cache/vidseq)."""
        return Path(self.cache_dir) if self.cache_dir is not None else default_cache_dir()

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
        family = family_for(config["img_model_name"], bool(config.get("fine_tune")))
        valid = family_options(family)
        options = {k: v for k, v in config.items() if k in valid and k not in ("early_stopping", "reduce_lr")}
        if config.get("face_crop"):
            options["face_crop"] = FaceCrop.from_key(config["face_crop"])  # saved before detectors: MTCNN
        options.setdefault("split_by", "group")  # runs saved before split_by kept only groups apart
        weights = options.get("weights")
        if family.frame_classifier and isinstance(weights, str) and os.sep in weights and not Path(weights).exists():
            options["weights"] = None  # its starting point, gone since: the trained model is in model.keras
        return cls._from_flat(config["num_frames"], config["img_model_name"], family,
                              {**valid, **options, "verbose": 0})


def family_options(family: Family) -> dict[str, Any]:
    """Every option a family's runs take, with the family's default."""
    defaults: dict[str, Any] = {}
    for kind in (RunConfig, DataConfig, TrainConfig, ImageConfig, HeadConfig):
        defaults.update({f.name: f.default for f in dataclasses.fields(kind) if f.default is not dataclasses.MISSING})
    defaults.update(family.defaults)
    keep = set(family.options) | {name for name in defaults if name not in family_only_options()}
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


__all__ = ["RunConfig", "HeadConfig", "ImageConfig", "DataConfig", "TrainConfig", "family_options", "option_fields",
           "check_run_options"]
