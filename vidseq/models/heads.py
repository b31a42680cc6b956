"""Sequence heads: cached frame embeddings `(num_frames, feature_dim)` -> P(fake).

Their settings and checks are `vidseq.models.config.HeadConfig`; the model is plain Keras layers,
so it saves and reloads with safe_mode.

    >>> from vidseq.models.heads import build_classifier
    >>> build_classifier(16, 1280, rnn="gru", rnn_units=(64,)).name
    'gru64'
"""

from __future__ import annotations

from typing import Iterable, Sequence

from vidseq.utils.quiet import import_keras_quietly

import_keras_quietly()  # before Keras loads: TensorFlow's start-up lines stay hidden
import keras
import numpy as np

from vidseq.data.sampling import check_num_frames
from vidseq.models.attention import attention_encoder
from vidseq.models.config import HeadConfig
from vidseq.utils.checks import check_int, check_mask

FEATURE_NORM = "feature_norm"  # the standardization layer's name


def build_classifier(
    num_frames: int,
    feature_dim: int,
    rnn: str | None = "gru",
    rnn_units: Sequence[int] = (256, 256),
    bidirectional: bool = False,
    batch_norm: bool = False,
    dense_units: Sequence[int] = (),
    dropout: float = 0.5,
    normalize: bool = True,
    rnn_pooling: str = "last",
    recurrent_dropout: float = 0.0,
    l2: float = 0.0,
    num_layers: int = 2,
    num_heads: int = 4,
    key_dim: int = 64,
    readout: str = "mean",
) -> keras.Model:
    """A sequence head over `(num_frames, feature_dim)` embeddings -> P(fake).

    Masking (padded frames are all-zero rows), optionally a per-feature standardization
    (`normalize`: a Normalization layer, identity until `set_feature_stats` fills it with
    the training set's statistics; frozen backbones' features are far from zero-mean and
    unit-variance), a stack of `rnn` layers ("gru", "lstm", or None for a masked temporal
    mean), optionally bidirectional with BatchNormalization between them, read out at the
    last frame (`rnn_pooling="last"`) or averaged over the valid frames ("mean": on small
    datasets it overfits less, as every frame's state meets the loss), dropout, then
    `dense_units` ReLU layers each followed by dropout, then `Dense(1, sigmoid)`.
    `recurrent_dropout` drops recurrent connections; `l2` penalizes every recurrent and
    dense kernel. Keras layers only: it saves and reloads with safe_mode.

    `rnn="attention"`: a transformer encoder instead of the recurrent layers
    (`vidseq.models.attention`): each frame projected to a `key_dim`-wide token, a learned
    position embedding, `num_layers` pre-LayerNorm blocks of `num_heads`-head self-attention
    (padded frames are never attended to) and a feed-forward layer, `recurrent_dropout`
    inside them, read out as the masked mean of the frames' outputs (`readout="mean"`) or a
    class token's (`"token"`).

    >>> model = build_classifier(16, 1280, rnn="gru", rnn_units=(64,), dense_units=(32,))
    >>> model.output_shape
    (None, 1)
    """
    num_frames = check_num_frames(num_frames)
    check_int("feature_dim", feature_dim, 1)
    head = HeadConfig(rnn, rnn_units, bidirectional, batch_norm, dense_units, dropout, normalize, rnn_pooling,
                      recurrent_dropout, l2, num_layers, num_heads, key_dim, readout)  # checks every setting
    rnn_units, dense_units = head.rnn_units, head.dense_units
    regularizer = keras.regularizers.L2(l2) if l2 else None

    inputs = keras.Input((num_frames, feature_dim), name="frame_features")
    x = keras.layers.Masking(mask_value=0.0)(inputs)
    if normalize:
        norm = keras.layers.Normalization(axis=-1, name=FEATURE_NORM)
        x = norm(x)
        _set_normalization(norm, np.zeros(feature_dim), np.ones(feature_dim), 0)
    if rnn is None:
        x = keras.layers.GlobalAveragePooling1D(name="masked_mean")(x)
    elif rnn == "attention":
        x = attention_encoder(x, num_layers, num_heads, key_dim, readout, recurrent_dropout, l2)
    else:
        layer_type = keras.layers.GRU if rnn == "gru" else keras.layers.LSTM
        for i, units in enumerate(rnn_units):
            last = i == len(rnn_units) - 1
            layer = layer_type(units, return_sequences=not last or rnn_pooling == "mean",
                               recurrent_dropout=recurrent_dropout, kernel_regularizer=regularizer)
            x = (keras.layers.Bidirectional(layer) if bidirectional else layer)(x)
            if batch_norm and not last:
                x = keras.layers.BatchNormalization()(x)
        if rnn_pooling == "mean":
            x = keras.layers.GlobalAveragePooling1D(name="state_mean")(x)  # the mask keeps padded frames out
    x = keras.layers.Dropout(dropout)(x)
    for units in dense_units:
        x = keras.layers.Dense(units, activation="relu", kernel_regularizer=regularizer)(x)
        x = keras.layers.Dropout(dropout)(x)
    outputs = keras.layers.Dense(1, activation="sigmoid", kernel_regularizer=regularizer, name="p_fake")(x)
    return keras.Model(inputs, outputs, name=head.name)


def set_feature_stats(model: keras.Model, features: np.ndarray, mask: np.ndarray) -> None:
    """Fill the head's feature standardization with the mean and variance of the valid frames."""
    set_streamed_feature_stats(model, [(features, check_mask(mask))])


def set_streamed_feature_stats(model: keras.Model, parts: Iterable[tuple[np.ndarray, np.ndarray]]) -> None:
    """`set_feature_stats` over `parts`, `(features (..., D), mask (...))` each (a video, a batch),
    read once: per-part statistics merged as they come (Chan, Golub and LeVeque's update, in
    float64), so memory holds one part.

    >>> model = build_classifier(4, 3, rnn=None)
    >>> set_streamed_feature_stats(model, [(np.ones((4, 3)), np.ones(4, bool))] * 2)
    """
    count, mean, m2 = 0, 0.0, 0.0
    for features, mask in parts:
        valid = np.asarray(features, np.float64)[np.asarray(mask, bool)]
        if not len(valid):
            continue
        part_mean = valid.mean(axis=0)
        delta, total = part_mean - mean, count + len(valid)
        m2 = m2 + ((valid - part_mean) ** 2).sum(axis=0) + delta**2 * count * len(valid) / total
        mean, count = mean + delta * len(valid) / total, total
    if not count:
        raise ValueError("Received no valid frame to compute the feature statistics from. Expected at least one.")
    _set_normalization(model.get_layer(FEATURE_NORM), mean, m2 / count, count)


def _set_normalization(layer, mean: np.ndarray, variance: np.ndarray, count: int) -> None:
    layer.set_weights([mean.astype("float32"), variance.astype("float32"), np.asarray(count, "int64")])
    layer.finalize_state()


def head_name(rnn, rnn_units=(256, 256), bidirectional=False, batch_norm=False, dense_units=(), normalize=True,
              rnn_pooling="last", recurrent_dropout=0.0, l2=0.0, **attention) -> str:
    """A short name saying what the head is, e.g. "bigru256x256_bn_fc64", "gru64_avg" or "attention2x64h4"
    (`attention`: num_layers, num_heads, key_dim, readout)."""
    return HeadConfig(rnn, rnn_units, bidirectional, batch_norm, dense_units, normalize=normalize,
                      rnn_pooling=rnn_pooling, recurrent_dropout=recurrent_dropout, l2=l2, **attention).name


__all__ = ["build_classifier", "set_feature_stats", "set_streamed_feature_stats", "head_name", "FEATURE_NORM"]
