"""Backbones as Keras models: built once per process, from ImageNet, "random", a weights file or
a fine-tuned run; "auto" resolved to ImageNet when it loads, else "random".

Keras is imported inside the functions: importing this module is cheap. The table of
backbones and the weights checks are `vidseq.features.backbones`.

    >>> model = build_backbone("MobileNetV2", "random")  # doctest: +SKIP
    >>> model.output_shape  # doctest: +SKIP
    (None, 1280)
"""

from __future__ import annotations

import contextlib
import io
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from vidseq.features.backbones import (CALIBRATION_IMAGES, RANDOM_WEIGHTS_SEED, BackboneSpec, check_weights, get_spec,
                                       weights_identity)
from vidseq.utils.notices import VidseqWarning

_BUILT: dict[tuple[str, str], Any] = {}
_AUTO: dict[str, str] = {}  # "auto" resolved once per process and backbone


def build_backbone(name: str, weights: Any = "imagenet") -> Any:
    """Build (once per process) the frozen backbone `name` with resolved `weights`."""
    spec = get_spec(name)
    if weights == "auto":
        weights = resolve_weights(name, weights)
    key = (name, weights_identity(weights))
    if key not in _BUILT:
        _BUILT[key] = _construct(spec, weights)
    return _BUILT[key]


def clear_cache() -> None:
    """Forget the backbones this process built and what "auto" resolved to: the next
    `build_backbone` builds afresh (same seed, same weights; a benchmark's cold start)."""
    _BUILT.clear()
    _AUTO.clear()


def new_backbone(name: str, weights: Any = "imagenet", layer_name: str | None = None) -> Any:
    """A fresh backbone `name` (not the shared one `build_backbone` keeps): one to train.

    Frozen like every backbone (`trainable=False`); `layer_name` names it as a layer.
    """
    return _construct(get_spec(name), resolve_weights(name, weights), layer_name)


def is_built(name: str, weights: Any) -> bool:
    """Whether `build_backbone(name, weights)` would return a model this process already built."""
    weights = _AUTO.get(name) if weights == "auto" else weights
    try:
        return weights is not None and (name, weights_identity(weights)) in _BUILT
    except (ValueError, OSError):
        return False


def resolve_weights(name: str, weights: Any) -> Any:
    """Turn "auto" into "imagenet" (when it loads) or "random"; other values pass through."""
    check_weights(weights, name)
    if weights != "auto":
        return weights
    if name not in _AUTO:
        try:
            # Keras prints "Downloading data from ..." before it fails offline: "auto" says it in one line below.
            with contextlib.redirect_stdout(io.StringIO()):
                build_backbone(name, "imagenet")
            _AUTO[name] = "imagenet"
        except ImageNetUnavailable as err:
            print(f"ImageNet weights unavailable ({err.reason}); using weights='random' for {name}.")
            _AUTO[name] = "random"
    return _AUTO[name]


class ImageNetUnavailable(RuntimeError):
    def __init__(self, name: str, reason: str):
        self.reason = reason
        super().__init__(
            f"Cannot load ImageNet weights for {name}: {reason}. Offline, use weights='random' "
            "(seeded init with BatchNorm statistics estimated on bundled images), weights='auto', "
            "or the path of a local weights file (e.g. Keras' *_notop.h5)."
        )


def _construct(spec: BackboneSpec, weights: Any, layer_name: str | None = None) -> Any:
    import keras

    constructor = getattr(keras.applications, spec.constructor)
    kwargs = dict(include_top=False, pooling="avg", input_shape=(*spec.input_size, 3),
                  **({} if layer_name is None else {"name": layer_name}))
    if isinstance(weights, (str, os.PathLike)) and Path(weights).is_dir():
        from vidseq.features.fine_tuned import load_backbone  # vidseq's Keras layers: only for a fine-tuned run

        model = load_backbone(weights, spec.name)
        if layer_name is not None:
            model.name = layer_name
    elif weights == "imagenet":
        try:
            model = constructor(weights="imagenet", **kwargs)
        except Exception as err:  # Keras raises a bare Exception on a failed download
            raise ImageNetUnavailable(spec.name, " ".join(str(err).split())) from err  # the whole reason, one line
    elif weights in ("random", None):
        keras.utils.set_random_seed(RANDOM_WEIGHTS_SEED)
        model = constructor(weights=None, **kwargs)
        if weights == "random":
            calibrate_batchnorm(model, spec.preprocess(calibration_images(spec.input_size)))
        else:
            warnings.warn(
                f"weights=None: {spec.name}'s pooled features are (nearly) constant with plain random "
                "init. Use weights='random' for live features without a download.",
                VidseqWarning, stacklevel=3,
            )
    else:
        model = constructor(weights=str(weights), **kwargs)
    model.trainable = False
    return model


def calibration_images(size: tuple[int, int], seed: int = 0, count: int = 64) -> np.ndarray:
    """`count` deterministic random crops (uint8 RGB, `size`) of scikit-image's bundled photos."""
    import cv2
    from skimage import color, data

    rng = np.random.default_rng(seed)
    photos = []
    for name in CALIBRATION_IMAGES:
        image = getattr(data, name)()
        image = color.gray2rgb(image) if image.ndim == 2 else image[..., :3]
        photos.append(image.astype(np.uint8))
    crops = []
    for i in range(count):
        photo = photos[i % len(photos)]
        h, w = photo.shape[:2]
        side = int(rng.uniform(0.35, 1.0) * min(h, w))
        top, left = rng.integers(0, h - side + 1), rng.integers(0, w - side + 1)
        crop = photo[top : top + side, left : left + side]
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        crops.append(cv2.resize(np.ascontiguousarray(crop), size[::-1], interpolation=cv2.INTER_AREA))
    return np.stack(crops)


def calibrate_batchnorm(model: Any, images: np.ndarray, chunk: int = 8) -> None:
    """Set every BatchNormalization layer's moving statistics to its batch statistics.

    A forward pass in training mode does it for all layers at once: each layer sees inputs
    normalised by the layers before it, exactly as at inference. The images go through in
    chunks (one pass over 64 images at 300 px holds ~11 GB of activations), with the
    momentum of chunk k set to (k-1)/k so the moving statistics end as the chunks' average.
    """
    import keras

    layers = [layer for layer in model._flatten_layers() if isinstance(layer, keras.layers.BatchNormalization)]
    momenta = [layer.momentum for layer in layers]
    try:
        for k, start in enumerate(range(0, len(images), chunk), start=1):
            for layer in layers:
                layer.momentum = (k - 1) / k
            model(images[start : start + chunk], training=True)
    finally:
        for layer, momentum in zip(layers, momenta):
            layer.momentum = momentum
