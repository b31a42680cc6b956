"""Classifier heads: parameter counts against plain Keras, safe-mode reloads, masking, feature statistics."""

import keras
import numpy as np
import pytest

import model_builder

HEADS = [
    dict(rnn="gru", rnn_units=(16, 8)),
    dict(rnn="gru", rnn_units=(16,), normalize=False),
    dict(rnn="lstm", rnn_units=(12,), bidirectional=True),
    dict(rnn="gru", rnn_units=(8, 8), bidirectional=True, batch_norm=True, dense_units=(16,)),
    dict(rnn=None, dense_units=(32, 8), dropout=0.2),
    dict(rnn="gru", rnn_units=(12, 8), rnn_pooling="mean"),
    dict(rnn="lstm", rnn_units=(8,), bidirectional=True, rnn_pooling="mean"),
    dict(rnn="gru", rnn_units=(8,), recurrent_dropout=0.2, l2=1e-4),
    dict(rnn="attention", num_layers=1, num_heads=2, key_dim=8),
    dict(rnn="attention", num_layers=2, num_heads=4, key_dim=8, readout="token", dense_units=(8,),
         recurrent_dropout=0.1, l2=1e-4),
]


def head_id(head):
    return model_builder.head_name(**{k: v for k, v in head.items() if k != "dropout"})


def plain_attention(num_frames, num_layers=2, num_heads=4, key_dim=64, readout="mean", **_):
    """The parameters of the attention encoder's blocks from Keras' own layers, plus its position
    table and class token (vidseq's layers' weights)."""
    tokens, wide = (None, num_frames, key_dim), (None, num_frames, 2 * key_dim)
    total = 0
    for _ in range(num_layers):
        attention = keras.layers.MultiHeadAttention(num_heads, key_dim // num_heads)
        attention.build(tokens, tokens)
        expand, project = keras.layers.Dense(2 * key_dim), keras.layers.Dense(key_dim)
        expand.build(tokens)
        project.build(wide)
        total += attention.count_params() + expand.count_params() + project.count_params() + 2 * 2 * key_dim
    token = readout == "token"
    return total + 2 * key_dim + (num_frames + token) * key_dim + token * key_dim  # final norm, positions, token


def plain_keras_head(num_frames, feature_dim, rnn, rnn_units=(), bidirectional=False, batch_norm=False,
                     dense_units=(), dropout=0.5, normalize=True, rnn_pooling="last", recurrent_dropout=0.0, l2=0.0,
                     **attention):
    """The same stack from plain Keras layers, without the vidseq builder; `attention`'s blocks are
    counted by `plain_attention` and stand in as a Dense projection to key_dim."""
    layers = [keras.Input((num_frames, feature_dim))]
    if normalize:
        layers.append(keras.layers.Normalization(axis=-1))
    if rnn == "attention":
        layers += [keras.layers.Dense(attention["key_dim"]), keras.layers.GlobalAveragePooling1D()]
    elif rnn is None:
        layers.append(keras.layers.GlobalAveragePooling1D())
    for i, units in enumerate(rnn_units if rnn in ("gru", "lstm") else ()):
        sequences = i < len(rnn_units) - 1 or rnn_pooling == "mean"
        cell = (keras.layers.GRU if rnn == "gru" else keras.layers.LSTM)(units, return_sequences=sequences)
        layers.append(keras.layers.Bidirectional(cell) if bidirectional else cell)
        if batch_norm and i < len(rnn_units) - 1:
            layers.append(keras.layers.BatchNormalization())
    if rnn in ("gru", "lstm") and rnn_pooling == "mean":
        layers.append(keras.layers.GlobalAveragePooling1D())
    layers += [keras.layers.Dense(u) for u in dense_units] + [keras.layers.Dense(1)]
    return keras.Sequential(layers)


@pytest.mark.parametrize("head", HEADS, ids=lambda h: head_id(h))
def test_head_parameter_count_matches_plain_keras(head):
    model = model_builder.build_classifier(8, 20, **head)
    encoder = plain_attention(8, **head) if head["rnn"] == "attention" else 0
    assert model.count_params() == plain_keras_head(8, 20, **head).count_params() + encoder
    assert model.name == head_id(head)


@pytest.mark.parametrize("head", HEADS, ids=lambda h: head_id(h))
def test_head_saves_and_reloads_with_safe_mode(tmp_path, head):
    model = model_builder.build_classifier(8, 20, **head)
    x = np.random.default_rng(0).normal(2.0, 3.0, size=(3, 8, 20)).astype("float32")
    x[0, 5:] = 0  # padded frames
    if head.get("normalize", True):
        model_builder.set_feature_stats(model, x, np.abs(x).sum(-1) > 0)
    file = tmp_path / "head.keras"
    model.save(file)
    reloaded = keras.saving.load_model(file, safe_mode=True)
    np.testing.assert_allclose(reloaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5)


@pytest.mark.parametrize("head", HEADS, ids=lambda h: head_id(h))
def test_padded_frames_are_masked(head):
    """A video padded with zero rows scores as the same video without the padding."""
    short, long = model_builder.build_classifier(5, 20, **head), model_builder.build_classifier(9, 20, **head)
    # The same weights; a position table has a row per frame: the short head's rows come first.
    long.set_weights([np.concatenate([s, w[len(s):]]) if s.shape != w.shape else s
                      for s, w in zip(short.get_weights(), long.get_weights())])
    x = np.random.default_rng(1).normal(size=(2, 5, 20)).astype("float32")
    padded = np.concatenate([x, np.zeros((2, 4, 20), "float32")], axis=1)
    assert np.ptp(short.predict(x, verbose=0)) > 0
    np.testing.assert_allclose(long.predict(padded, verbose=0), short.predict(x, verbose=0), rtol=1e-4, atol=1e-6)


def test_feature_stats_standardize_valid_frames_only():
    model = model_builder.build_classifier(6, 4, rnn=None)
    rng = np.random.default_rng(2)
    x = rng.normal([10, -5, 0, 3], [2, 1, 5, 0.5], size=(50, 6, 4)).astype("float32")
    x[:, 4:] = 0  # padding must not pull the statistics towards zero
    mask = np.arange(6) < 4
    model_builder.set_feature_stats(model, x, np.tile(mask, (50, 1)))
    standardized = keras.ops.convert_to_numpy(model.get_layer("feature_norm")(x[:, :4]))
    np.testing.assert_allclose(standardized.reshape(-1, 4).mean(0), 0, atol=1e-4)
    np.testing.assert_allclose(standardized.reshape(-1, 4).std(0), 1, atol=1e-3)


@pytest.mark.parametrize("kwargs,match", [
    (dict(rnn="rnn"), "rnn='rnn'"), (dict(rnn_units=()), "rnn_units"), (dict(rnn_pooling="max"), "rnn_pooling='max'"),
    (dict(recurrent_dropout=-0.1), "recurrent_dropout=-0.1"), (dict(l2=True), "l2=True"), (dict(dropout=1.0), "dropout=1.0"),
    (dict(dense_units=(0,)), "dense_units=0"), (dict(num_frames=0), "num_frames=0"), (dict(feature_dim=-1), "feature_dim=-1"),
    (dict(rnn="attention", key_dim=10, num_heads=4), "key_dim=10 with num_heads=4. Expected key_dim a multiple"),
    (dict(rnn="attention", num_layers=0), "num_layers=0"), (dict(rnn="attention", readout="max"), "readout='max'"),
    (dict(rnn="attention", num_heads=0), "num_heads=0"),
])
def test_head_bad_arguments(kwargs, match):
    args = {"num_frames": 8, "feature_dim": 20, **kwargs}
    with pytest.raises(ValueError, match=match):
        model_builder.build_classifier(**args)


def test_a_mask_without_a_valid_frame_is_refused():
    model = model_builder.build_classifier(4, 3, rnn="attention", num_heads=1, key_dim=4)
    features, mask = np.ones((2, 4, 3), np.float32), np.array([[True, True, False, False], [False] * 4])
    with pytest.raises(ValueError, match=r"no valid frame \(video 1\)"):
        model_builder.set_feature_stats(model, features, mask)
    from vidseq.runs import explain

    with pytest.raises(ValueError, match="no valid frame"):
        explain.occlusion_evidence(model, features[1], mask[1])
    # Inside the model there is nothing to raise: an all-padding row reads out zeros, never NaN.
    assert np.isfinite(model.predict(np.zeros((1, 4, 3), np.float32), verbose=0)).all()


def attention_weights(model, x):
    """Each attention block's weights `(1, heads, queries, keys)` when `model` scores `x`."""
    from vidseq.models.attention import TransformerBlock

    weights = []
    blocks = [layer.attention for layer in model.layers if isinstance(layer, TransformerBlock)]
    for attention in blocks:
        def call(*args, _call=attention.call, **kwargs):
            output, scores = _call(*args, return_attention_scores=True, **kwargs)
            weights.append(keras.ops.convert_to_numpy(scores))
            return output
        attention.call = call
    try:
        model(x, training=False)
    finally:
        for attention in blocks:
            del attention.call  # the class's own method again
    return weights


@pytest.mark.parametrize("readout", ["mean", "token"])
def test_padded_frames_are_never_attended(readout):
    """Every block gives padded frames zero attention weight, from every valid frame in every head."""
    model = model_builder.build_classifier(6, 5, rnn="attention", num_layers=2, num_heads=2, key_dim=8,
                                           readout=readout)
    x = np.random.default_rng(3).normal(size=(1, 6, 5)).astype("float32")
    x[0, 4:] = 0  # 4 frames, 2 padded
    valid = 4 + (readout == "token")  # the class token comes first
    weights = attention_weights(model, x)
    assert len(weights) == 2
    for scores in weights:
        np.testing.assert_allclose(scores[0, :, :valid, valid:], 0, atol=1e-7)
        assert (scores[0, :, :valid, :valid] > 0).all()
