"""The sections of a run's configuration (`vidseq.config.RunConfig`): the sequence head, the
frame classifier, the data and the training, each a frozen dataclass checking itself.

Each field is an `option`: its default, and the help its CLI flag shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from vidseq.checks import check_int
from vidseq.faces import FaceCrop, face_settings
from vidseq.sampling import STRATEGIES
from vidseq.splits import SPLIT_BY

RNNS = ("gru", "lstm", None)
RNN_POOLINGS = ("last", "mean")
OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop")
SCHEDULES = ("constant", "cosine")  # cosine: linear warm-up over `warmup_epochs`, then cosine decay to 0
TRUNCATED = ("skip", "keep")  # a video whose frames stop short of its container's count: skipped, or kept
VIDEO_SCORES = ("mean", "confident")  # vidseq.frame_dataset.VIDEO_SCORES
DISTRIBUTIONS = (None, "data_parallel")  # vidseq.distribution.DISTRIBUTIONS
# TrainConfig's options for the seed toolkit's optimizer and callback arguments: config.json
# records their settings (`seed_compat.training_config`), never callback objects.
CALLBACK_OPTIONS = ("momentum", "nesterov", "early_stopping", "reduce_lr", "callbacks")


def option(default: Any, help: str, **flag: Any) -> Any:
    """A config field: its default, the help its CLI flag shows, and how the flag parses where
    the default's type does not say it (`type`, `choices`, `nargs`, `metavar`; `flag`: another
    flag name, or None for no flag: say why in `help`)."""
    return field(default=default, metadata={"help": help, **flag})


def _check_choice(name: str, value: Any, valid: Sequence) -> None:
    if value not in valid:
        raise ValueError(f"Received: {name}={value!r}. Expected one of {list(valid)}.")


def _check_fraction(name: str, value: Any, low_open: bool = False) -> None:
    """A float in [0, 1) ((0, 1) with `low_open`); ints pass where 0 is allowed."""
    if low_open:
        ok = isinstance(value, float) and 0 < value < 1
    else:
        ok = not isinstance(value, bool) and isinstance(value, (int, float)) and 0 <= value < 1
    if not ok:
        raise ValueError(f"Received: {name}={value!r}. Expected a float in {'(0, 1)' if low_open else '[0, 1)'}.")


def _int_tuple(values: Any, name: str) -> tuple[int, ...]:
    if isinstance(values, (int, np.integer)):
        values = (values,)
    return tuple(check_int(name, v, 1) for v in values)


def set_frozen(obj: Any, **values: Any) -> None:
    """Normalize fields of a frozen dataclass in its own __post_init__."""
    for name, value in values.items():
        object.__setattr__(obj, name, value)


@dataclass(frozen=True)
class HeadConfig:
    """A sequence head over `(num_frames, feature_dim)` embeddings (`vidseq.heads.build_classifier`)."""

    rnn: str | None = option("gru", "gru | lstm | none (masked mean pooling)", type="rnn")
    rnn_units: tuple[int, ...] = option((256, 256), "recurrent layer sizes", type=int, nargs="+")
    bidirectional: bool = option(False, "bidirectional recurrent layers")
    batch_norm: bool = option(False, "BatchNormalization between recurrent layers")
    dense_units: tuple[int, ...] = option((), "ReLU layers after the recurrent ones", type=int, nargs="*")
    dropout: float = option(0.5, "the head's dropout: before and after each dense layer (fine-tune: before "
                                           "its sigmoid)", type=float)
    normalize: bool = option(True, "standardize each feature with the training videos' statistics")
    rnn_pooling: str = option("last", "read the recurrent states at the last frame or average them",
                              choices=RNN_POOLINGS)
    recurrent_dropout: float = option(0.0, "dropout inside the recurrent layers", type=float)
    l2: float = option(0.0, "L2 weight penalty on the head's layers", type=float)

    def __post_init__(self):
        _check_choice("rnn", self.rnn, RNNS)
        set_frozen(self, rnn_units=_int_tuple(self.rnn_units, "rnn_units"),
             dense_units=_int_tuple(self.dense_units, "dense_units"))
        if self.rnn and not self.rnn_units:
            raise ValueError(f"Received: rnn_units={self.rnn_units!r} with rnn={self.rnn!r}. Expected at least one "
                             "layer size.")
        for name in ("dropout", "recurrent_dropout", "l2"):
            _check_fraction(name, getattr(self, name))
        _check_choice("rnn_pooling", self.rnn_pooling, RNN_POOLINGS)

    @property
    def name(self) -> str:
        """A short name saying what the head is, e.g. "bigru256x256_bn_fc64" or "gru64_avg"."""
        name = ("meanpool" if self.rnn is None
                else ("bi" if self.bidirectional else "") + self.rnn + "x".join(map(str, self.rnn_units)))
        if self.batch_norm and self.rnn:
            name += "_bn"
        if self.rnn_pooling == "mean" and self.rnn:
            name += "_avg"
        if self.dense_units:
            name += "_fc" + "x".join(map(str, self.dense_units))
        if not self.normalize:
            name += "_raw"
        if self.recurrent_dropout and self.rnn:
            name += f"_rd{self.recurrent_dropout:g}"
        if self.l2:
            name += f"_l2{self.l2:g}"
        return name


@dataclass(frozen=True)
class ImageConfig:
    """A frame classifier on face crops: CoAtNet from scratch, or a fine-tuned backbone."""

    image_size: int = option(224, "CoAtNet's input side: a multiple of 32", type=int)
    augment: bool = option(True, "the source's face augmentations on training crops")
    video_score: str = option("mean", "frame scores -> video score", choices=VIDEO_SCORES)
    dropout: float = option(0.2, "dropout before the fine-tuned backbone's sigmoid", type=float)
    trainable_layers: int | None = option(None, "unfreeze the backbone's top N layers after the warm-up "
                                                "(default: all)", type=int)
    fine_tune_learning_rate: float | None = option(None, "learning rate once unfrozen (default: --learning-rate / 10)",
                                                   type=float)

    def __post_init__(self):
        set_frozen(self, image_size=check_int("image_size", self.image_size, 32, 4096))
        if self.image_size % 32:
            raise ValueError(f"Received: image_size={self.image_size}. Expected a multiple of 32 (five stride-2 "
                             "stages).")
        _check_choice("video_score", self.video_score, VIDEO_SCORES)
        if self.trainable_layers is not None:
            check_int("trainable_layers", self.trainable_layers, 1)
        rate = self.fine_tune_learning_rate
        if rate is not None and (not isinstance(rate, float) or not 0 < rate < 1):
            raise ValueError(f"Received: fine_tune_learning_rate={rate!r}. Expected None (learning_rate / 10) or a "
                             "float in (0, 1).")
        _check_fraction("dropout", self.dropout)


@dataclass(frozen=True)
class DataConfig:
    """Which videos go where, and which frames of them are read."""

    strategy: str = option("uniform", "which frames to sample", choices=STRATEGIES)
    face_crop: bool | FaceCrop = option(False, "crop around each video's face with MTCNN")
    val_size: float = option(0.15, "share of the videos for validation (model selection)", type=float)
    test_size: float = option(0.15, "share of the videos for the test", type=float)
    split_by: str = option("identities", "identities: no person in two splits, fakes that straddle left out; "
                                         "group: only each video's main (target) identity kept apart",
                           choices=SPLIT_BY)
    identities: str | None = option(None, "a CSV file,identities saying who each video shows (overrides what file "
                                          "names say)", metavar="CSV")
    truncated: str = option("skip", "a video whose frames stop short of what its container declares: skip it or "
                                    "keep the frames that decode", choices=TRUNCATED)
    compression: str = option("c23", "FaceForensics++/DFD quality folder: raw, c23 or c40")

    def __post_init__(self):
        _check_choice("strategy", self.strategy, STRATEGIES)
        face_settings(self.face_crop)
        _check_choice("split_by", self.split_by, SPLIT_BY)
        _check_choice("truncated", self.truncated, TRUNCATED)

    @property
    def face(self) -> FaceCrop | None:
        """The face-crop settings (None: whole frames)."""
        return face_settings(self.face_crop)

    @property
    def on_truncated(self) -> str:
        """How reads treat a truncated file: refuse it ("raise"; the run skips it) or "keep" its frames."""
        return "keep" if self.truncated == "keep" else "raise"


@dataclass(frozen=True)
class TrainConfig:
    """How a model is fitted: epochs, optimizer, schedule, callbacks."""

    epochs: int = option(100, "at most (early stopping)", type=int)
    batch_size: int = option(16, "videos per batch (frames for frame classifiers)", type=int)
    learning_rate: float = option(1e-5, "the optimizer's (peak) learning rate", type=float)
    patience: int = option(10, "early-stopping patience on val loss", type=int)
    optimizer: str = option("adam", "the optimizer", choices=OPTIMIZERS)
    schedule: str = option("constant", "learning rate over training: constant, or cosine with --warmup-epochs",
                           choices=SCHEDULES)
    warmup_epochs: int = option(0, "with --schedule cosine: its linear warm-up epochs; with --fine-tune: epochs of "
                                   "the new head alone, backbone frozen", type=int)
    weight_decay: float = option(0.0, "decoupled weight decay (not on norms, biases)", type=float)
    label_smoothing: float = option(0.0, "binary cross-entropy label smoothing", type=float)
    momentum: float | None = option(None, "SGD only (default 0.9)", type=float)
    nesterov: bool = option(False, "SGD only")
    early_stopping: Any = option(True, "stop when the validation loss stops improving for --patience epochs, keeping "
                                       "the best epoch")
    reduce_lr: dict | Any = option(None, 'ReduceLROnPlateau settings, e.g. \'{"factor": 0.5, "patience": 3}\'',
                                   type="json", metavar="JSON")
    callbacks: Sequence | None = option(None, "your own Keras callbacks (Python objects: no flag)", flag=None)
    distribution: str | None = option(None, "train on every local device (JAX backend: KERAS_BACKEND=jax)",
                                      choices=("data_parallel",))

    def __post_init__(self):
        for name in ("epochs", "batch_size", "patience"):
            check_int(name, getattr(self, name), 0 if name == "patience" else 1)
        _check_fraction("learning_rate", self.learning_rate, low_open=True)
        for name in ("weight_decay", "label_smoothing"):
            _check_fraction(name, getattr(self, name))
        check_int("warmup_epochs", self.warmup_epochs, 0)
        _check_choice("distribution", self.distribution, DISTRIBUTIONS)
        if self.distribution is not None:  # the device count needs Keras: only asked for then
            from vidseq.distribution import check_distribution

            check_distribution(self.distribution, self.batch_size)
        for name, valid in (("optimizer", OPTIMIZERS), ("schedule", SCHEDULES)):
            _check_choice(name, getattr(self, name), valid)
        from vidseq import seed_compat  # momentum, nesterov and the callbacks

        seed_compat.check_training_options(self)
