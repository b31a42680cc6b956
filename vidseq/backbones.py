"""Frozen image backbones as data: name -> keras.applications constructor, input size, features.

Weights:
  - "imagenet": Keras' own download and cache.
  - "random": seeded random init, then every BatchNormalization layer's moving statistics
    estimated on natural images that ship with scikit-image. Plain random init leaves
    the pooled features dead (exactly 0 for MobileNetV2, ~1e-5 for EfficientNet and
    Xception); estimated statistics keep them alive without any download.
  - None: plain Keras init (dead features; for timing only).
  - a path to a weights file (e.g. a Keras `*_notop.h5`).
  - "auto": "imagenet" when it can be had, else "random".
  - a run folder of a fine-tuned run (`train_test_classifier(..., fine_tune=True)`) of the
    same backbone: its fine-tuned backbone, taken out of the run's model.keras.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

CALIBRATION_VERSION = "skimage9-crops64-chunks8-v2"
CALIBRATION_IMAGES = (
    "astronaut", "camera", "chelsea", "coffee", "rocket", "coins", "hubble_deep_field",
    "immunohistochemistry", "retina",
)
WEIGHT_KEYWORDS = ("imagenet", "random", "auto", None)
# One fixed seed for "random" weights: every run, whatever its own seed, shares the
# same backbone and so the same cached embeddings.
RANDOM_WEIGHTS_SEED = 0


@dataclass(frozen=True)
class BackboneSpec:
    """One frozen feature extractor: `keras.applications.<constructor>` with average pooling."""

    name: str
    constructor: str  # attribute of keras.applications
    module: str  # keras.applications.<module>.preprocess_input
    input_size: tuple[int, int]
    feature_dim: int
    gradcam_layer: str  # the last convolutional block's output, which the average pooling reads (Grad-CAM)

    def preprocess(self, images: np.ndarray) -> np.ndarray:
        """uint8 RGB images -> the float input this backbone was trained on."""
        import keras

        fn: Callable = getattr(keras.applications, self.module).preprocess_input
        return fn(images.astype(np.float32))


BACKBONES: dict[str, BackboneSpec] = {
    spec.name: spec
    for spec in (
        BackboneSpec("MobileNetV2", "MobileNetV2", "mobilenet_v2", (224, 224), 1280, "out_relu"),
        BackboneSpec("EfficientNetB0", "EfficientNetB0", "efficientnet", (224, 224), 1280, "top_activation"),
        BackboneSpec("EfficientNetB3", "EfficientNetB3", "efficientnet", (300, 300), 1536, "top_activation"),
        BackboneSpec("Xception", "Xception", "xception", (299, 299), 2048, "block14_sepconv2_act"),
        BackboneSpec("InceptionV3", "InceptionV3", "inception_v3", (299, 299), 2048, "mixed10"),
        BackboneSpec("DenseNet121", "DenseNet121", "densenet", (224, 224), 1024, "relu"),
        BackboneSpec("ResNet50", "ResNet50", "resnet50", (224, 224), 2048, "conv5_block3_out"),
    )
}


def get_spec(name: str) -> BackboneSpec:
    """The registry entry for `name`, or a ValueError listing the valid names."""
    if name not in BACKBONES:
        raise ValueError(f"Received: img_model_name={name!r}. Expected one of {sorted(BACKBONES)}.")
    return BACKBONES[name]


def check_weights(weights: Any, name: str | None = None) -> None:
    """Validate a weights argument without building anything (`name`: the backbone it is for)."""
    if weights in WEIGHT_KEYWORDS:
        return
    if isinstance(weights, (str, os.PathLike)):
        if Path(weights).is_dir():
            check_run_weights(weights, name)
            return
        if not Path(weights).is_file():
            looks_like_path = Path(weights).suffix or os.sep in str(weights)
            raise (FileNotFoundError if looks_like_path else ValueError)(
                f"Received: weights={str(weights)!r}, which is not a file. Expected one of "
                f"{list(WEIGHT_KEYWORDS)}, the path of a weights file or a fine-tuned run folder."
            )
        return
    raise ValueError(f"Received: weights={weights!r}. Expected one of {list(WEIGHT_KEYWORDS)} or a weights file path.")


def check_run_weights(run_dir: Any, name: str | None = None) -> None:
    """A run folder can stand for backbone weights when it holds a fine-tuned run (of backbone `name`)."""
    import json

    run_dir = Path(run_dir)
    expected = (f"Expected a run folder of train_test_classifier(..., fine_tune=True)"
                f"{'' if name is None else f' with img_model_name={name!r}'} (model.keras and config.json).")
    if not (run_dir / "model.keras").is_file() or not (run_dir / "config.json").is_file():
        raise ValueError(f"Received: weights={str(run_dir)!r}, a folder without model.keras and config.json. {expected}")
    config = json.loads((run_dir / "config.json").read_text())
    if not config.get("fine_tune"):
        raise ValueError(f"Received: weights={str(run_dir)!r}, a run of {config.get('img_model_name')!r} that "
                         f"did not fine-tune its backbone. {expected}")
    if name is not None and config.get("img_model_name") != name:
        raise ValueError(f"Received: weights={str(run_dir)!r}, a fine-tuned {config.get('img_model_name')!r}, for "
                         f"img_model_name={name!r}. {expected}")


def weights_identity(weights: Any) -> str:
    """A string that changes whenever the features would: part of cache keys and run configs."""
    check_weights(weights)
    if weights == "random":
        return f"random-seed{RANDOM_WEIGHTS_SEED}-{CALIBRATION_VERSION}"
    if weights is None:
        return "none"
    if weights == "auto":
        raise ValueError("weights='auto' has no identity until resolve_weights() picks imagenet or random.")
    if weights == "imagenet":
        return weights
    if Path(weights).is_dir():  # a fine-tuned run: its model.keras's content
        model_file = Path(weights) / "model.keras"
        stat = model_file.stat()
        return f"run-{_file_digest(str(model_file.resolve()), stat.st_size, stat.st_mtime_ns)}"
    stat = Path(weights).stat()
    return f"file-{_file_digest(str(Path(weights).resolve()), stat.st_size, stat.st_mtime_ns)}"


@functools.lru_cache(maxsize=16)
def _file_digest(path: str, size: int, mtime_ns: int) -> str:
    """sha256 prefix of a weights file, hashed once per (path, size, mtime): a run asks several times."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


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
        from vidseq import finetune  # the run's model holds vidseq's preprocessing layer

        model = finetune.load_backbone(weights, spec.name)
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
                stacklevel=3,
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
