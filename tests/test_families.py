"""Every model family of the registry: a tiny model builds, saves and reloads with safe_mode, and its
config round-trips. A family added to `vidseq.training.families` is tested here without a new test."""

import dataclasses
import json

import keras
import numpy as np
import pytest

from vidseq.models.config import HeadConfig, ImageConfig
from vidseq.training.families import FAMILIES

# Each family with its defaults; the sequence family also with the attention head. CoAtNet's
# smallest model is CoAtNet-0 (17 M parameters: 10 s to save and reload here), second tier.
CASES = [(family, {}) if family.name != "coatnet" else pytest.param(family, {}, marks=pytest.mark.slow)
         for family in FAMILIES.values()] + [
    (FAMILIES["sequence"], dict(rnn="attention", num_layers=1, num_heads=2, key_dim=8, readout="token"))]


def tiny_model(family, head: dict):
    """The family's first model, as small as its builder allows, from scratch (no weights to fetch)."""
    if family.frame_classifier:
        return family.build()(family.names[0], None, ImageConfig(image_size=32))[0]
    options = dataclasses.asdict(HeadConfig(**{"rnn_units": (4,), **head}))
    return family.build()(4, 8, **options)


def as_json(config: dict) -> str:
    """A config as config.json would hold it (Keras gives a slice's indices as a tuple, its clone as a list)."""
    return json.dumps(config, sort_keys=True, default=str)


def vidseq_layers(model):
    """Every layer of `model` and of the models nested in it that vidseq registered (custom layers)."""
    for layer in model.layers:
        if keras.saving.get_registered_name(type(layer)).startswith("vidseq>"):
            yield layer
        if hasattr(layer, "layers"):
            yield from vidseq_layers(layer)


@pytest.mark.parametrize("family, head", CASES, ids=lambda case: case.name if hasattr(case, "name") else
                         (case.get("rnn") or "default"))
def test_every_family_builds_saves_and_reloads_a_tiny_model(family, head, tmp_path):
    keras.utils.set_random_seed(0)
    model = tiny_model(family, head)
    x = np.random.default_rng(0).uniform(0, 255, size=(2, *model.input_shape[1:])).astype("float32")
    expected = model.predict(x, verbose=0)
    assert expected.shape == (2, 1) and ((0 <= expected) & (expected <= 1)).all()
    model.save(tmp_path / "model.keras")
    reloaded = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    np.testing.assert_allclose(reloaded.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)
    clone = keras.Model.from_config(model.get_config())
    assert as_json(clone.get_config()) == as_json(model.get_config()) and clone.count_params() == model.count_params()
    for layer in vidseq_layers(model):
        assert type(layer).from_config(layer.get_config()).get_config() == layer.get_config(), layer.name
