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

No Keras here: the config and the CLI check names and weights without TensorFlow.
`vidseq.features.backbone_models` builds the models.
"""

from __future__ import annotations

import functools
import hashlib
import os
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


def weights_entry(weights: Any) -> Any:
    """What config.json records of `weights`: the keyword, or the file's or run folder's absolute path."""
    return weights if weights in WEIGHT_KEYWORDS else str(Path(weights).resolve())


@functools.lru_cache(maxsize=16)
def _file_digest(path: str, size: int, mtime_ns: int) -> str:
    """sha256 prefix of a weights file, hashed once per (path, size, mtime): a run asks several times."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]
