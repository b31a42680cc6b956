"""The settings of the models a run trains, checked without building a model or importing TensorFlow.

`HeadConfig`: a sequence head over cached frame embeddings (`vidseq.models.heads`).
`ImageConfig`: a frame classifier on face crops (CoAtNet, a fine-tuned backbone, MesoNet).
`vidseq.training.config.RunConfig` holds one of them per run.

    >>> HeadConfig(rnn="lstm", rnn_units=64).name
    'lstm64'
    >>> HeadConfig(rnn="attention", num_layers=1, key_dim=32, num_heads=2).name
    'attention1x32h2'
"""

from __future__ import annotations

from dataclasses import dataclass

from vidseq.models.coatnet_variants import check_image_size
from vidseq.models.frame_scores import VIDEO_SCORES
from vidseq.utils.checks import check_bool, check_choice, check_fraction, check_int, int_tuple
from vidseq.utils.options import option, set_frozen

RNNS = ("gru", "lstm", "attention", None)
RNN_POOLINGS = ("last", "mean")
READOUTS = ("mean", "token")  # the attention head's readouts (vidseq.models.attention.SequenceReadout)


@dataclass(frozen=True)
class HeadConfig:
    """A sequence head over `(num_frames, feature_dim)` embeddings (`vidseq.models.heads.build_classifier`)."""

    rnn: str | None = option("gru", "gru | lstm | attention (a transformer encoder) | none (masked mean pooling)",
                             type="rnn")
    rnn_units: tuple[int, ...] = option((256, 256), "recurrent layer sizes", type=int, nargs="+")
    bidirectional: bool = option(False, "bidirectional recurrent layers")
    batch_norm: bool = option(False, "BatchNormalization between recurrent layers")
    dense_units: tuple[int, ...] = option((), "ReLU layers after the recurrent ones", type=int, nargs="*")
    dropout: float = option(0.5, "the head's dropout: before and after each dense layer (fine-tune: before "
                                           "its sigmoid)", type=float)
    normalize: bool = option(True, "standardize each feature with the training videos' statistics")
    rnn_pooling: str = option("last", "read the recurrent states at the last frame or average them",
                              choices=RNN_POOLINGS)
    recurrent_dropout: float = option(0.0, "dropout inside the recurrent or attention layers", type=float)
    l2: float = option(0.0, "L2 weight penalty on the head's layers", type=float)
    num_layers: int = option(2, "--rnn attention: encoder blocks", type=int)
    num_heads: int = option(4, "--rnn attention: attention heads per block", type=int)
    key_dim: int = option(64, "--rnn attention: the frame tokens' width, split evenly between the heads "
                              "(a multiple of --num-heads)", type=int)
    readout: str = option("mean", "--rnn attention: the masked mean of the frames' outputs, or a class token's",
                          choices=READOUTS)

    def __post_init__(self):
        check_choice("rnn", self.rnn, RNNS)
        set_frozen(self, **{name: check_bool(name, getattr(self, name)) for name in ("bidirectional", "batch_norm",
                                                                                     "normalize")})
        set_frozen(self, rnn_units=int_tuple("rnn_units", self.rnn_units),
                   dense_units=int_tuple("dense_units", self.dense_units))
        if self.rnn in ("gru", "lstm") and not self.rnn_units:
            raise ValueError(f"Received: rnn_units={self.rnn_units!r} with rnn={self.rnn!r}. Expected at least one "
                             "layer size.")
        for name in ("dropout", "recurrent_dropout", "l2"):
            check_fraction(name, getattr(self, name))
        check_choice("rnn_pooling", self.rnn_pooling, RNN_POOLINGS)
        for name in ("num_layers", "num_heads", "key_dim"):
            check_int(name, getattr(self, name), 1)
        check_choice("readout", self.readout, READOUTS)
        if self.rnn == "attention" and self.key_dim % self.num_heads:
            raise ValueError(f"Received: key_dim={self.key_dim} with num_heads={self.num_heads}. Expected key_dim a "
                             "multiple of num_heads: each head gets key_dim / num_heads of the token.")

    @property
    def name(self) -> str:
        """A short name saying what the head is, e.g. "bigru256x256_bn_fc64", "gru64_avg" or
        "attention2x64h4" (2 blocks, 64 wide, 4 heads; "_token": class-token readout)."""
        recurrent = self.rnn in ("gru", "lstm")
        if self.rnn == "attention":
            name = f"attention{self.num_layers}x{self.key_dim}h{self.num_heads}"
            name += "_token" if self.readout == "token" else ""
        else:
            name = ("meanpool" if self.rnn is None
                    else ("bi" if self.bidirectional else "") + self.rnn + "x".join(map(str, self.rnn_units)))
        if self.batch_norm and recurrent:
            name += "_bn"
        if self.rnn_pooling == "mean" and recurrent:
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
    """A frame classifier on face crops: CoAtNet or MesoNet, or a fine-tuned backbone."""

    image_size: int = option(224, "CoAtNet's and MesoNet's input side: a multiple of 32", type=int)
    augment: bool = option(True, "the source's face augmentations on training crops")
    video_score: str = option("mean", "frame scores -> video score", choices=VIDEO_SCORES)
    dropout: float = option(0.2, "dropout before the fine-tuned backbone's sigmoid", type=float)
    trainable_layers: int | None = option(None, "unfreeze the backbone's top N layers after the warm-up "
                                                "(default: all)", type=int)
    fine_tune_learning_rate: float | None = option(None, "learning rate once unfrozen (default: --learning-rate / 10)",
                                                   type=float)

    def __post_init__(self):
        set_frozen(self, image_size=check_image_size(self.image_size), augment=check_bool("augment", self.augment))
        check_choice("video_score", self.video_score, VIDEO_SCORES)
        if self.trainable_layers is not None:
            check_int("trainable_layers", self.trainable_layers, 1)
        rate = self.fine_tune_learning_rate
        if rate is not None and (not isinstance(rate, float) or not 0 < rate < 1):
            raise ValueError(f"Received: fine_tune_learning_rate={rate!r}. Expected None (learning_rate / 10) or a "
                             "float in (0, 1).")
        check_fraction("dropout", self.dropout)
