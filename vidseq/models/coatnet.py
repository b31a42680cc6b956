"""CoAtNet (Dai et al. 2021, "CoAtNet: Marrying Convolution and Attention for All Data Sizes") in Keras.

The network follows the PyTorch reimplementation that the project's source material trained
on DFDC face crops (chinhsuanwu/coatnet-pytorch), plus the paper's relative position bias:

- stem (stage 0): 3x3 conv (no bias), BatchNorm, GELU; the first with stride 2;
- MBConv stages: pre-BatchNorm, 1x1 expansion to 4x the input channels (carrying a stage's
  stride), depthwise 3x3, squeeze-excitation, 1x1 projection; a stage's first block adds
  a max-pool + 1x1 conv shortcut;
- Transformer stages: pre-LayerNorm relative attention (8 heads of 32), then a pre-LayerNorm
  FFN; a stage's first block max-pools both the shortcut and the attention input;
- head: global average pool, dense without bias.

Backend-agnostic (`keras.ops` only): it trains under TensorFlow on a CPU and under JAX on a GPU.

    >>> from vidseq.models.coatnet import build_coatnet
    >>> model = build_coatnet("CoAtNet-0", image_size=64, num_classes=2)
    >>> model.output_shape
    (None, 2)
"""

from __future__ import annotations

from pathlib import Path

from vidseq.utils.quiet import import_keras_quietly

import_keras_quietly()  # before Keras loads: TensorFlow's start-up lines stay hidden
import keras
import numpy as np
from keras import layers, ops

from vidseq.models.config import ImageConfig
from vidseq.models.coatnet_variants import BLOCK_TYPES, CoAtNetConfig, check_image_size, get_variant
from vidseq.utils.checks import check_int

# ImageNet statistics, for 0-255 RGB input: the model normalizes its own input.
IMAGENET_MEAN = (0.485 * 255, 0.456 * 255, 0.406 * 255)
IMAGENET_STD = (0.229 * 255, 0.224 * 255, 0.225 * 255)
# PyTorch's defaults, which the reference uses.
_BN = dict(momentum=0.9, epsilon=1e-5)
_LN_EPSILON = 1e-5


def build_coatnet(
    variant: str | CoAtNetConfig = "CoAtNet-0",
    image_size: int = 224,
    num_classes: int = 1000,
    classifier_activation: str | None = None,
    name: str | None = None,
) -> keras.Model:
    """A CoAtNet over 0-255 RGB images `(image_size, image_size, 3)`.

    The model standardizes its input with ImageNet's mean and std itself. It outputs
    logits unless `classifier_activation` ("softmax", "sigmoid") says otherwise.
    CoAtNet-0 at 224 px has 17,789,624 trainable parameters with 1000 classes.

    >>> build_coatnet("CoAtNet-0", image_size=64, num_classes=1, classifier_activation="sigmoid").output_shape
    (None, 1)
    """
    config = variant if isinstance(variant, CoAtNetConfig) else get_variant(variant)
    if not isinstance(variant, CoAtNetConfig):
        name = name or variant.lower().replace("-", "_")
    check_image_size(image_size)
    check_int("num_classes", num_classes, 1)
    if any(t not in BLOCK_TYPES for t in config.block_types):
        raise ValueError(f"Received: block_types={config.block_types}. Expected each of {BLOCK_TYPES}.")

    inputs = keras.Input((image_size, image_size, 3), name="image")
    x = layers.Normalization(mean=IMAGENET_MEAN, variance=np.square(IMAGENET_STD), name="imagenet_norm")(inputs)
    for i in range(config.num_blocks[0]):
        x = layers.Conv2D(config.channels[0], 3, strides=2 if i == 0 else 1, padding="same", use_bias=False,
                          name=f"s0_conv{i}")(x)
        x = layers.BatchNormalization(**_BN, name=f"s0_bn{i}")(x)
        x = layers.Activation("gelu", name=f"s0_gelu{i}")(x)
    for stage, block_type in enumerate(config.block_types, start=1):
        for i in range(config.num_blocks[stage]):
            block = _mbconv if block_type == "C" else _transformer
            x = block(x, config.channels[stage], downsample=i == 0, config=config, prefix=f"s{stage}_b{i}")
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    outputs = layers.Dense(num_classes, use_bias=False, activation=classifier_activation, name="predictions")(x)
    return keras.Model(inputs, outputs, name=name or "coatnet")


def _mbconv(x, channels: int, downsample: bool, config: CoAtNetConfig, prefix: str):
    in_channels = x.shape[-1]
    hidden = 4 * in_channels
    y = layers.BatchNormalization(**_BN, name=f"{prefix}_prenorm")(x)
    y = layers.Conv2D(hidden, 1, strides=2 if downsample else 1, use_bias=False, name=f"{prefix}_expand")(y)
    y = layers.BatchNormalization(**_BN, name=f"{prefix}_expand_bn")(y)
    y = layers.Activation("gelu", name=f"{prefix}_expand_gelu")(y)
    y = layers.DepthwiseConv2D(3, padding="same", use_bias=False, name=f"{prefix}_dw")(y)
    y = layers.BatchNormalization(**_BN, name=f"{prefix}_dw_bn")(y)
    y = layers.Activation("gelu", name=f"{prefix}_dw_gelu")(y)
    # Squeeze-excitation, squeezed to a quarter of the block's INPUT channels (as the reference).
    s = layers.GlobalAveragePooling2D(keepdims=True, name=f"{prefix}_se_pool")(y)
    s = layers.Dense(in_channels // 4, use_bias=False, activation="gelu", name=f"{prefix}_se_reduce")(s)
    s = layers.Dense(hidden, use_bias=False, activation="sigmoid", name=f"{prefix}_se_expand")(s)
    y = layers.Multiply(name=f"{prefix}_se")([y, s])
    y = layers.Conv2D(channels, 1, use_bias=False, name=f"{prefix}_project")(y)
    y = layers.BatchNormalization(**_BN, name=f"{prefix}_project_bn")(y)
    shortcut = _downsample_shortcut(x, channels, prefix) if downsample else x
    return layers.Add(name=f"{prefix}_add")([shortcut, y])


def _transformer(x, channels: int, downsample: bool, config: CoAtNetConfig, prefix: str):
    in_channels = x.shape[-1]
    if downsample:
        shortcut = _downsample_shortcut(x, channels, prefix)
        x = layers.MaxPooling2D(3, 2, padding="same", name=f"{prefix}_attn_pool")(x)
    else:
        shortcut = x
    y = layers.LayerNormalization(epsilon=_LN_EPSILON, name=f"{prefix}_attn_norm")(x)
    y = RelativeAttention(channels, config.heads, config.head_dim, name=f"{prefix}_attn")(y)
    x = layers.Add(name=f"{prefix}_attn_add")([shortcut, y])
    y = layers.LayerNormalization(epsilon=_LN_EPSILON, name=f"{prefix}_ffn_norm")(x)
    y = layers.Dense(4 * in_channels, activation="gelu", name=f"{prefix}_ffn_expand")(y)
    y = layers.Dense(channels, name=f"{prefix}_ffn_project")(y)
    return layers.Add(name=f"{prefix}_ffn_add")([x, y])


def _downsample_shortcut(x, channels: int, prefix: str):
    x = layers.MaxPooling2D(3, 2, padding="same", name=f"{prefix}_shortcut_pool")(x)
    return layers.Conv2D(channels, 1, use_bias=False, name=f"{prefix}_shortcut_proj")(x)


@keras.saving.register_keras_serializable(package="vidseq")
class RelativeAttention(layers.Layer):
    """Multi-head self-attention over an (H, W) grid with a learned relative position bias.

    Input `(B, H, W, C)`, output `(B, H, W, output_dim)`. The bias table holds one value
    per head for each of the (2H-1)(2W-1) relative offsets, as in CoAtNet and Swin.
    """

    def __init__(self, output_dim: int, heads: int = 8, head_dim: int = 32, **kwargs):
        super().__init__(**kwargs)
        self.output_dim, self.heads, self.head_dim = output_dim, heads, head_dim
        self.qkv = layers.Dense(3 * heads * head_dim, use_bias=False, name="qkv")
        self.out = layers.Dense(output_dim, name="out")

    def build(self, input_shape):
        _, height, width, channels = input_shape
        self.grid = (height, width)
        self.qkv.build((None, height * width, channels))
        self.out.build((None, height * width, self.heads * self.head_dim))
        self.bias_table = self.add_weight(
            shape=((2 * height - 1) * (2 * width - 1), self.heads), initializer="zeros", name="relative_bias_table")
        # index[i, j] = the table row for the offset from position j to position i.
        rows, cols = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
        coords = np.stack([rows.ravel(), cols.ravel()])  # (2, N)
        relative = coords[:, :, None] - coords[:, None, :] + np.array([height - 1, width - 1])[:, None, None]
        self.bias_index = (relative[0] * (2 * width - 1) + relative[1]).astype("int32")  # (N, N)

    def call(self, x):
        height, width = self.grid
        n = height * width
        qkv = ops.reshape(self.qkv(ops.reshape(x, (-1, n, x.shape[-1]))), (-1, n, 3, self.heads, self.head_dim))
        q, k, v = (ops.transpose(qkv[:, :, i], (0, 2, 1, 3)) for i in range(3))  # (B, heads, N, d)
        logits = ops.matmul(q, ops.transpose(k, (0, 1, 3, 2))) * (self.head_dim**-0.5)
        bias = ops.take(self.bias_table, ops.reshape(self.bias_index, (-1,)), axis=0)  # (N*N, heads)
        logits = logits + ops.transpose(ops.reshape(bias, (n, n, self.heads)), (2, 0, 1))[None]
        attended = ops.matmul(ops.softmax(logits, axis=-1), v)  # (B, heads, N, d)
        merged = ops.reshape(ops.transpose(attended, (0, 2, 1, 3)), (-1, n, self.heads * self.head_dim))
        return ops.reshape(self.out(merged), (-1, height, width, self.output_dim))

    def compute_output_shape(self, input_shape):
        return (*input_shape[:3], self.output_dim)

    def get_config(self):
        return {**super().get_config(), "output_dim": self.output_dim, "heads": self.heads, "head_dim": self.head_dim}


def build_for_run(name: str, weights: str | None, image: ImageConfig) -> tuple[keras.Model, dict]:
    """A run's CoAtNet (`vidseq.training.families`): P(fake) of a face crop, from scratch or from a
    weights file, and what config.json records of it beyond the options."""
    model = build_coatnet(name, image.image_size, num_classes=1, classifier_activation="sigmoid")
    if weights is not None:
        model.load_weights(weights)
    return model, dict(weights=None if weights is None else str(Path(weights).resolve()))
