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
]


def head_id(head):
    return model_builder.head_name(**{k: v for k, v in head.items() if k != "dropout"})


def plain_keras_head(num_frames, feature_dim, rnn, rnn_units=(), bidirectional=False, batch_norm=False,
                     dense_units=(), dropout=0.5, normalize=True, rnn_pooling="last", recurrent_dropout=0.0, l2=0.0):
    """The same stack from plain Keras layers, without the vidseq builder."""
    layers = [keras.Input((num_frames, feature_dim))]
    if normalize:
        layers.append(keras.layers.Normalization(axis=-1))
    if rnn is None:
        layers.append(keras.layers.GlobalAveragePooling1D())
    for i, units in enumerate(rnn_units if rnn else ()):
        sequences = i < len(rnn_units) - 1 or rnn_pooling == "mean"
        cell = (keras.layers.GRU if rnn == "gru" else keras.layers.LSTM)(units, return_sequences=sequences)
        layers.append(keras.layers.Bidirectional(cell) if bidirectional else cell)
        if batch_norm and i < len(rnn_units) - 1:
            layers.append(keras.layers.BatchNormalization())
    if rnn and rnn_pooling == "mean":
        layers.append(keras.layers.GlobalAveragePooling1D())
    layers += [keras.layers.Dense(u) for u in dense_units] + [keras.layers.Dense(1)]
    return keras.Sequential(layers)


@pytest.mark.parametrize("head", HEADS, ids=lambda h: head_id(h))
def test_head_parameter_count_matches_plain_keras(head):
    model = model_builder.build_classifier(8, 20, **head)
    assert model.count_params() == plain_keras_head(8, 20, **head).count_params()
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
    long.set_weights(short.get_weights())
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
])
def test_head_bad_arguments(kwargs, match):
    args = {"num_frames": 8, "feature_dim": 20, **kwargs}
    with pytest.raises(ValueError, match=match):
        model_builder.build_classifier(**args)
