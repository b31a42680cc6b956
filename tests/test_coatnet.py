"""CoAtNet: the reference's exact parameter counts, every variant trains and reloads, attention is right."""

import keras
import numpy as np
import pytest

from vidseq.models.coatnet import RelativeAttention, build_coatnet
from vidseq.models.coatnet_variants import COATNET_VARIANTS, get_variant


def trainable_params(model) -> int:
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


@pytest.mark.parametrize("num_classes, expected", [(1000, 17_789_624), (2, 17_023_160)])
def test_coatnet0_has_the_reference_parameter_count(num_classes, expected):
    # The PyTorch reimplementation's 17,757,760 plus the relative position tables:
    # 5 blocks x 27*27*8 at 14x14 and 2 blocks x 13*13*8 at 7x7.
    model = build_coatnet("CoAtNet-0", 224, num_classes)
    assert trainable_params(model) == expected
    assert model.output_shape == (None, num_classes)


# Each variant takes 40 s to 3 minutes on 2 cores (graph tracing of 10-45 blocks): second tier;
# tier 1 builds, saves and reloads a tiny CoAtNet (test_families).
@pytest.mark.slow
@pytest.mark.parametrize("variant", list(COATNET_VARIANTS))
def test_every_variant_runs_trains_and_reloads(variant, tmp_path):
    keras.utils.set_random_seed(0)
    model = build_coatnet(variant, 64, num_classes=1, classifier_activation="sigmoid")
    images = np.random.default_rng(0).uniform(0, 255, (4, 64, 64, 3)).astype("float32")
    labels = np.array([0, 1, 0, 1], "float32")
    scores = model(images, training=False).numpy()  # eager: no predict graph to trace for a 4-image check
    assert scores.shape == (4, 1) and np.isfinite(scores).all() and scores.std() > 1e-6

    model.compile(keras.optimizers.AdamW(1e-3), "binary_crossentropy")
    head = model.get_layer("predictions").kernel.numpy().copy()
    loss = model.train_on_batch(images, labels)
    assert np.isfinite(loss) and not np.allclose(head, model.get_layer("predictions").kernel.numpy())

    model.save(tmp_path / "model.keras")
    reloaded = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    np.testing.assert_allclose(reloaded(images, training=False), model(images, training=False), rtol=1e-5, atol=1e-6)


def test_relative_attention_matches_a_naive_reference():
    """Loop-by-loop attention with the bias looked up per offset, on a non-square grid."""
    rng = np.random.default_rng(1)
    height, width, channels, heads, dim = 3, 4, 6, 2, 3
    layer = RelativeAttention(5, heads=heads, head_dim=dim)
    x = rng.normal(size=(2, height, width, channels)).astype("float32")
    layer(x)
    assert tuple(layer.bias_table.shape) == ((2 * height - 1) * (2 * width - 1), heads)
    table = rng.normal(size=tuple(layer.bias_table.shape)).astype("float32")
    layer.bias_table.assign(table)

    w_qkv = layer.qkv.kernel.numpy()
    w_out, b_out = layer.out.kernel.numpy(), layer.out.bias.numpy()
    positions = [(r, c) for r in range(height) for c in range(width)]
    expected = np.zeros((2, height * width, 5))
    for b in range(2):
        tokens = x[b].reshape(-1, channels)
        q, k, v = (tokens @ w_qkv).reshape(-1, 3, heads, dim).transpose(1, 2, 0, 3)  # each (heads, N, dim)
        merged = np.zeros((height * width, heads * dim))
        for h in range(heads):
            for i, (r1, c1) in enumerate(positions):
                logits = np.array([
                    q[h, i] @ k[h, j] / np.sqrt(dim) + table[(r1 - r2 + height - 1) * (2 * width - 1) + c1 - c2 + width - 1, h]
                    for j, (r2, c2) in enumerate(positions)
                ])
                weights = np.exp(logits - logits.max())
                merged[i, h * dim : (h + 1) * dim] = (weights / weights.sum()) @ v[h]
        expected[b] = merged @ w_out + b_out
    np.testing.assert_allclose(layer(x).numpy().reshape(2, -1, 5), expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("image_size", [100, 0, 16, "224", 224.0])
def test_bad_image_size_is_named(image_size):
    with pytest.raises(ValueError, match=f"image_size={image_size!r}"):
        build_coatnet("CoAtNet-0", image_size)


def test_unknown_variant_lists_the_valid_ones():
    with pytest.raises(ValueError, match="CoAtNet-9.*CoAtNet-0.*CoAtNet-4"):
        build_coatnet("CoAtNet-9")
    assert get_variant("coatnet-2").channels[-1] == 1026  # any case; the reference's table as published
