"""CoAtNet's variants as data: blocks, channels and stage types of CoAtNet-0 ... CoAtNet-4.

Without Keras, so that the run config and the CLI know the names without importing
TensorFlow; `vidseq.models.coatnet` builds the networks from this table.

    >>> COATNET_NAMES
    ('CoAtNet-0', 'CoAtNet-1', 'CoAtNet-2', 'CoAtNet-3', 'CoAtNet-4')
"""

from __future__ import annotations

from dataclasses import dataclass

from vidseq.utils.checks import check_int

BLOCK_TYPES = ("C", "T")  # MBConv, Transformer


@dataclass(frozen=True)
class CoAtNetConfig:
    """One variant: blocks and channels for the stem and the four stages, and the stage types."""

    num_blocks: tuple[int, int, int, int, int]
    channels: tuple[int, int, int, int, int]
    block_types: tuple[str, str, str, str] = ("C", "C", "T", "T")
    heads: int = 8
    head_dim: int = 32


# The reference implementation's table (CoAtNet-2's 1026 channels are its, kept as published).
COATNET_VARIANTS: dict[str, CoAtNetConfig] = {
    "CoAtNet-0": CoAtNetConfig((2, 2, 3, 5, 2), (64, 96, 192, 384, 768)),
    "CoAtNet-1": CoAtNetConfig((2, 2, 6, 14, 2), (64, 96, 192, 384, 768)),
    "CoAtNet-2": CoAtNetConfig((2, 2, 6, 14, 2), (128, 128, 256, 512, 1026)),
    "CoAtNet-3": CoAtNetConfig((2, 2, 6, 14, 2), (192, 192, 384, 768, 1536)),
    "CoAtNet-4": CoAtNetConfig((2, 2, 12, 28, 2), (192, 192, 384, 768, 1536)),
}


def get_variant(name: str) -> CoAtNetConfig:
    """The config of a variant by name, case-insensitively ("coatnet-0" works too)."""
    key = canonical_name(name)
    if key:
        return COATNET_VARIANTS[key]
    raise ValueError(f"Received: variant={name!r}. Expected one of {list(COATNET_VARIANTS)}.")


def canonical_name(name: str) -> str | None:
    """"CoAtNet-0" for any spelling of a variant name, None for anything else."""
    return next((key for key in COATNET_VARIANTS if isinstance(name, str) and key.lower() == name.lower()), None)


def check_image_size(image_size: int) -> int:
    """`image_size` if CoAtNet can take it: five stride-2 stages need a multiple of 32."""
    check_int("image_size", image_size, 32, 4096)
    if image_size % 32:
        raise ValueError(f"Received: image_size={image_size}. Expected a multiple of 32 (five stride-2 stages).")
    return int(image_size)


COATNET_NAMES = tuple(COATNET_VARIANTS)
