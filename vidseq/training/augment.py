"""Training augmentations for face crops: the seed CoAtNet project's albumentations pipeline.

The same transforms and probabilities as the source's DFDC training, from albumentations
(`pip install "vidseq[augment]"`; the CoAtNet and fine-tuning paths need it when `augment`
is on, the default):

    RandomRotate90 0.2, Transpose 0.2, HorizontalFlip 0.5, VerticalFlip 0.5, GaussNoise 0.2,
    ShiftScaleRotate 0.2, OneOf(CLAHE, Sharpen, Emboss, RandomBrightnessContrast) 0.2,
    HueSaturationValue 0.2.

The source ran albumentations 1.x with its defaults; albumentations 2 changed two of them, so
they are given here as 1.x had them: GaussNoise's variance 10-50 (in 0-255 units), and
ShiftScaleRotate (now `Affine`, as albumentations 2 advises) reflecting the image at its
borders. A batch's images are drawn from one seed (FrameDataset's `(seed, epoch, batch)`),
so a run is reproducible whatever the number of loader threads.

    >>> import numpy as np
    >>> from vidseq.training.augment import augment_faces
    >>> images = np.zeros((2, 64, 64, 3), np.uint8)
    >>> [image.shape for image in augment_faces(images, (0, 0, 0))]  # doctest: +SKIP
    [(64, 64, 3), (64, 64, 3)]
"""

from __future__ import annotations

import importlib.util
import os
import threading
from typing import Sequence

import numpy as np

INSTALL = 'pip install "vidseq[augment]"'
_LOCAL = threading.local()  # one pipeline per loader thread: reseeding a shared one would race


def check_augment_available(augment: bool, model: str) -> None:
    """Raise before any work when `augment` is on and albumentations is missing."""
    if augment and importlib.util.find_spec("albumentations") is None:
        raise ValueError(f"Received: augment=True for {model} without albumentations installed. Expected it "
                         f"({INSTALL}), or augment=False.")


def face_pipeline():
    """The source's albumentations `Compose` for face crops (albumentations imported here: it takes seconds)."""
    os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")  # no version check over the network
    import albumentations as A
    import cv2

    return A.Compose([
        A.RandomRotate90(p=0.2),
        A.Transpose(p=0.2),
        A.HorizontalFlip(p=0.5),
        A.VerticalFlip(p=0.5),
        A.GaussNoise(std_range=(np.sqrt(10) / 255, np.sqrt(50) / 255), p=0.2),  # 1.x: var_limit=(10, 50)
        A.Affine(translate_percent=(-0.0625, 0.0625), scale=(0.9, 1.1), rotate=(-45, 45),  # ShiftScaleRotate's
                 border_mode=cv2.BORDER_REFLECT_101, p=0.2),
        A.OneOf([A.CLAHE(), A.Sharpen(), A.Emboss(), A.RandomBrightnessContrast()], p=0.2),
        A.HueSaturationValue(p=0.2),
    ])


def augment_faces(images: Sequence[np.ndarray], seed: Sequence[int] | int) -> list[np.ndarray]:
    """Each square RGB uint8 face crop through `face_pipeline`, all drawn from `seed` (same
    shapes and dtype out)."""
    for image in images:
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[0] != image.shape[1] or image.shape[2] != 3:
            raise ValueError(f"Received: an image of shape {image.shape} and dtype {image.dtype}. "
                             "Expected a square RGB uint8 image (S, S, 3).")
    if getattr(_LOCAL, "pipeline", None) is None:
        check_augment_available(True, "face crops")
        _LOCAL.pipeline = face_pipeline()
    pipeline = _LOCAL.pipeline
    pipeline.set_random_seed(int(np.random.default_rng(seed).integers(2**31)))
    return [pipeline(image=np.ascontiguousarray(image))["image"] for image in images]


__all__ = ["augment_faces", "face_pipeline", "check_augment_available"]
