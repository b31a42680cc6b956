"""The temporal attention head's layers: a small transformer encoder over a video's frame tokens.

`vidseq.models.heads.build_classifier(rnn="attention")` stacks them, after the head's
Masking (padded frames are all-zero rows) and feature standardization, and a Dense layer
that projects each frame's embedding to a `key_dim`-wide token:

    FrameTokens      + a learned position embedding per frame; optionally a learned class
                     token in front (its mask entry True)
    TransformerBlock x num_layers: pre-LayerNorm multi-head self-attention and a GELU
                     feed-forward layer (2 x key_dim), each with dropout and a residual
    LayerNormalization
    SequenceReadout  the masked mean of the frames' outputs, or the class token's output

The frame mask travels with the tensors (Keras masking): every block's attention gets a mask
that hides the padded frames as keys, so no valid frame ever attends to one, and the readout
leaves them out. A video with no valid frame reads out zeros (never NaN); the APIs that take
a mask refuse one (`vidseq.utils.checks.check_mask`). Every layer is registered serializable
with its `get_config`, so the head saves and reloads with safe_mode.

    >>> import numpy as np
    >>> layer = FrameTokens(class_token=True)
    >>> tuple(layer(np.zeros((2, 5, 8), "float32")).shape)
    (2, 6, 8)
"""

from __future__ import annotations

from vidseq.utils.quiet import import_keras_quietly

import_keras_quietly()  # before Keras loads: TensorFlow's start-up lines stay hidden
import keras
from keras import layers, ops

from vidseq.models.config import READOUTS
from vidseq.utils.checks import check_choice

FFN_EXPANSION = 2  # the feed-forward layer's width, in multiples of key_dim: small data, small blocks
# Weights that must not decay (`vidseq.training.fit.compile_model`): the position table and the class token.
NO_DECAY = ("positions", "class_token")


@keras.saving.register_keras_serializable(package="vidseq")
class FrameTokens(layers.Layer):
    """Adds a learned position embedding to each frame's token `(B, T, D)`; with `class_token`, puts
    a learned token (with its own position) in front: `(B, T + 1, D)`. The mask follows."""

    def __init__(self, class_token: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.class_token = class_token
        self.supports_masking = True

    def build(self, input_shape):
        _, frames, width = input_shape
        init = keras.initializers.RandomNormal(stddev=0.02)
        self.positions = self.add_weight(shape=(frames + self.class_token, width), initializer=init, name="positions")
        if self.class_token:
            self.token = self.add_weight(shape=(1, 1, width), initializer=init, name="class_token")

    def call(self, x):
        if self.class_token:
            x = ops.concatenate([ops.tile(ops.cast(self.token, x.dtype), (ops.shape(x)[0], 1, 1)), x], axis=1)
        return x + ops.cast(self.positions, x.dtype)[None]

    def compute_mask(self, inputs, mask=None):
        if mask is None or not self.class_token:
            return mask
        return ops.concatenate([ops.ones_like(mask[:, :1]), mask], axis=1)

    def compute_output_shape(self, input_shape):
        batch, frames, width = input_shape
        return (batch, None if frames is None else frames + self.class_token, width)

    def get_config(self):
        return {**super().get_config(), "class_token": self.class_token}


@keras.saving.register_keras_serializable(package="vidseq")
class TransformerBlock(layers.Layer):
    """One pre-LayerNorm encoder block over `(B, T, D)` tokens: x + attention(LN(x)), then
    x + FFN(LN(x)). Masked tokens are never attended to (they are hidden as keys)."""

    def __init__(self, num_heads: int, key_dim: int, dropout: float = 0.0, l2: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.num_heads, self.key_dim, self.dropout, self.l2 = num_heads, key_dim, dropout, l2
        self.supports_masking = True
        regularizer = keras.regularizers.L2(l2) if l2 else None
        self.attention_norm = layers.LayerNormalization(epsilon=1e-6, name="attention_norm")
        self.attention = layers.MultiHeadAttention(num_heads, key_dim // num_heads, dropout=dropout,
                                                   kernel_regularizer=regularizer, name="attention")
        self.ffn_norm = layers.LayerNormalization(epsilon=1e-6, name="ffn_norm")
        self.ffn_expand = layers.Dense(FFN_EXPANSION * key_dim, activation="gelu", kernel_regularizer=regularizer,
                                       name="ffn_expand")
        self.ffn_project = layers.Dense(key_dim, kernel_regularizer=regularizer, name="ffn_project")
        self.drop = layers.Dropout(dropout)

    def build(self, input_shape):
        if input_shape[-1] != self.key_dim:
            raise ValueError(f"Received: tokens of width {input_shape[-1]}. Expected key_dim={self.key_dim}.")
        for norm in (self.attention_norm, self.ffn_norm):
            norm.build(input_shape)
        self.attention.build(input_shape, input_shape)
        self.ffn_expand.build(input_shape)
        self.ffn_project.build((*input_shape[:-1], FFN_EXPANSION * self.key_dim))

    def call(self, x, mask=None, training=None):
        keys = None if mask is None else ops.logical_and(ops.ones_like(mask[:, :, None]), mask[:, None, :])
        y = self.attention_norm(x)
        y = self.attention(y, y, attention_mask=keys, training=training)
        x = x + self.drop(y, training=training)
        y = self.ffn_project(self.ffn_expand(self.ffn_norm(x)))
        return x + self.drop(y, training=training)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "num_heads": self.num_heads, "key_dim": self.key_dim,
                "dropout": self.dropout, "l2": self.l2}


@keras.saving.register_keras_serializable(package="vidseq")
class SequenceReadout(layers.Layer):
    """`(B, T, D)` -> `(B, D)`: the mean over the valid tokens ("mean"; zeros when there are none),
    or the first token ("token": the class token FrameTokens put there)."""

    def __init__(self, readout: str = "mean", **kwargs):
        super().__init__(**kwargs)
        check_choice("readout", readout, READOUTS)
        self.readout = readout
        self.supports_masking = True

    def call(self, x, mask=None):
        if self.readout == "token":
            return x[:, 0]
        if mask is None:
            return ops.mean(x, axis=1)
        weights = ops.cast(mask, x.dtype)[:, :, None]
        return ops.sum(x * weights, axis=1) / ops.maximum(ops.sum(weights, axis=1), 1.0)

    def compute_mask(self, inputs, mask=None):
        return None  # one vector per video: nothing left to mask

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])

    def get_config(self):
        return {**super().get_config(), "readout": self.readout}


def attention_encoder(x, num_layers: int, num_heads: int, key_dim: int, readout: str, dropout: float,
                      l2: float):
    """Frame embeddings `(B, T, D)` (masked) -> one `key_dim` vector per video, as the module docstring says."""
    regularizer = keras.regularizers.L2(l2) if l2 else None
    x = layers.Dense(key_dim, kernel_regularizer=regularizer, name="frame_tokens")(x)
    x = FrameTokens(class_token=readout == "token", name="positions")(x)
    for i in range(num_layers):
        x = TransformerBlock(num_heads, key_dim, dropout, l2, name=f"attention{i + 1}")(x)
    x = layers.LayerNormalization(epsilon=1e-6, name="attention_norm")(x)
    return SequenceReadout(readout, name="readout")(x)


__all__ = ["NO_DECAY", "FrameTokens", "TransformerBlock", "SequenceReadout",
           "attention_encoder"]
