"""`vidseq.coatnet`, the public name of DESIGN.md: the network lives in `vidseq.models.coatnet`.

    >>> from vidseq.coatnet import build_coatnet
    >>> build_coatnet("CoAtNet-0", image_size=64, num_classes=2).output_shape  # doctest: +SKIP
    (None, 2)
"""

from vidseq.models.coatnet import build_coatnet

__all__ = ["build_coatnet"]
