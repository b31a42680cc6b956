"""Training augmentations for face crops, as the source's CoAtNet DFDC training used them.

The source composed them with albumentations; this is the same pipeline in numpy/OpenCV,
with albumentations' default ranges, so it runs in data-loading workers under any Keras
backend and needs no extra dependency:

    RandomRotate90 0.2, Transpose 0.2, HorizontalFlip 0.5, VerticalFlip 0.5, GaussNoise 0.2,
    ShiftScaleRotate 0.2, OneOf(CLAHE, Sharpen, Emboss, RandomBrightnessContrast) 0.2,
    HueSaturationValue 0.2.

    >>> import numpy as np
    >>> from vidseq.training.augment import augment_face
    >>> image = np.zeros((64, 64, 3), np.uint8)
    >>> augment_face(image, np.random.default_rng(0)).shape
    (64, 64, 3)
"""

from __future__ import annotations

import cv2
import numpy as np


def augment_face(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One random augmentation of a square RGB uint8 face crop (same shape and dtype)."""
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[0] != image.shape[1] or image.shape[2] != 3:
        raise ValueError(f"Received: an image of shape {image.shape} and dtype {image.dtype}. "
                         "Expected a square RGB uint8 image (S, S, 3).")
    if rng.random() < 0.2:
        image = np.rot90(image, int(rng.integers(4)))
    if rng.random() < 0.2:
        image = image.transpose(1, 0, 2)
    if rng.random() < 0.5:
        image = image[:, ::-1]
    if rng.random() < 0.5:
        image = image[::-1]
    image = np.ascontiguousarray(image)
    if rng.random() < 0.2:
        sigma = np.sqrt(rng.uniform(10, 50))  # GaussNoise's var_limit, in 0-255 units
        image = _to_uint8(image + rng.normal(0, sigma, image.shape))
    if rng.random() < 0.2:
        image = _shift_scale_rotate(image, rng)
    if rng.random() < 0.2:
        image = ONE_OF[rng.integers(len(ONE_OF))](image, rng)
    if rng.random() < 0.2:
        image = _hue_saturation_value(image, rng)
    return image


def _to_uint8(image: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def _shift_scale_rotate(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    size = image.shape[0]
    angle, scale = rng.uniform(-45, 45), 1 + rng.uniform(-0.1, 0.1)
    matrix = cv2.getRotationMatrix2D((size / 2, size / 2), angle, scale)
    matrix[:, 2] += rng.uniform(-0.0625, 0.0625, 2) * size
    return cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)


def _clahe(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    lab = cv2.cvtColor(image, cv2.COLOR_RGB2LAB)
    lab[:, :, 0] = cv2.createCLAHE(clipLimit=rng.uniform(1, 4), tileGridSize=(8, 8)).apply(lab[:, :, 0])
    return cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)


def _sharpen(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    alpha, lightness = rng.uniform(0.2, 0.5), rng.uniform(0.5, 1.0)
    effect = np.array([[-1, -1, -1], [-1, 8 + lightness, -1], [-1, -1, -1]], np.float32)
    return _blend_kernel(image, alpha, effect)


def _emboss(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    alpha, s = rng.uniform(0.2, 0.5), rng.uniform(0.2, 0.7)
    effect = np.array([[-1 - s, -s, 0], [-s, 1, s], [0, s, 1 + s]], np.float32)
    return _blend_kernel(image, alpha, effect)


def _blend_kernel(image: np.ndarray, alpha: float, effect: np.ndarray) -> np.ndarray:
    identity = np.zeros((3, 3), np.float32)
    identity[1, 1] = 1
    kernel = (1 - alpha) * identity + alpha * effect
    return _to_uint8(cv2.filter2D(image.astype(np.float32), -1, kernel))


def _brightness_contrast(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    contrast, brightness = 1 + rng.uniform(-0.2, 0.2), rng.uniform(-0.2, 0.2)
    return _to_uint8(image.astype(np.float32) * contrast + brightness * 255)


def _hue_saturation_value(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    hsv = cv2.cvtColor(image, cv2.COLOR_RGB2HSV).astype(np.int16)
    hsv[:, :, 0] = (hsv[:, :, 0] + int(rng.integers(-20, 21))) % 180  # OpenCV's uint8 hue is 0-179
    hsv[:, :, 1] = np.clip(hsv[:, :, 1] + int(rng.integers(-30, 31)), 0, 255)
    hsv[:, :, 2] = np.clip(hsv[:, :, 2] + int(rng.integers(-20, 21)), 0, 255)
    return cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB)


ONE_OF = (_clahe, _sharpen, _emboss, _brightness_contrast)  # at most one of these per image
PIXEL_OPS = (_shift_scale_rotate, *ONE_OF, _hue_saturation_value)  # every pixel-changing op augment_face draws from
