"""MesoNet's published weights as data, found and checked without TensorFlow.

Afchar et al. published four Keras weight files with MesoNet (GitHub DariusAf/MesoNet,
`weights/`, Apache-2.0): Meso4 and MesoInception4, each trained on their Deepfake dataset
("df") and on FaceForensics' Face2Face ("f2f"). `weights="mesonet-df"` or `"mesonet-f2f"`
picks the file of the run's architecture. A file is taken, in this order, from the folder
`$VIDSEQ_MESONET_WEIGHTS` names (offline use, tests), from Keras' cache (~/.keras/models,
or `$KERAS_HOME/models`), or downloaded from the repository at a fixed commit into that
cache; its sha256 is checked every time.

Their output is P(real): the reference code's data generator orders the class folders
alphabetically ("df" < "real", and any "fake"/"f2f" folder too), so the sigmoid's class 1
is "real". `vidseq.models.mesonet` turns it into P(fake) (checked on the authors' own face
crops in tests/test_mesonet.py).

    >>> PRETRAINED["mesonet-df"]
    ('Meso4', 'mesonet-df')
    >>> published_file("MesoInception4", "mesonet-f2f")
    'MesoInception_F2F.h5'
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from pathlib import Path
from typing import Any

MESONET_NAMES = ("Meso4", "MesoInception4")
WEIGHTS_KEYWORDS = ("mesonet-df", "mesonet-f2f")
IMAGE_SIZE = 256  # the published weights' face crops: 256 x 256
WEIGHTS_ENV = "VIDSEQ_MESONET_WEIGHTS"  # a folder holding the published files (offline use)
COMMIT = "2144d56a30e48cdcac1976ff13a1c5cdc86376c6"  # DariusAf/MesoNet, the files' last change
URL = f"https://raw.githubusercontent.com/DariusAf/MesoNet/{COMMIT}/weights/{{}}"
SHA256 = {
    "Meso4_DF.h5": "036ed30d04ffd9c7506f825b97c86aa64915f5818931da96817b169aad790af5",
    "Meso4_F2F.h5": "bcfda015d217b9f8d6557693edbdf9f4e79cfd22672541968dd0e2954462b5d7",
    "MesoInception_DF.h5": "234586d40058e76ef8b6f27ca4b63c06e31c2a5a69c0d8ba6f30b1468ab7bafa",
    "MesoInception_F2F.h5": "d4533ac8a3197dc35c47405d23d99e888c1d0135e267e03540c7451feaccff3f",
}
# Ready-made detectors: `vidseq predict VIDEO --model mesonet-df` (name -> model, weights).
PRETRAINED = {
    "mesonet-df": ("Meso4", "mesonet-df"),
    "mesonet-f2f": ("Meso4", "mesonet-f2f"),
    "mesoinception-df": ("MesoInception4", "mesonet-df"),
    "mesoinception-f2f": ("MesoInception4", "mesonet-f2f"),
}
# What tells the two architectures' weight files apart: their layers with weights, by kind.
_LAYERS = {"Meso4": {"conv2d": 4, "batch_normalization": 4, "dense": 2},
           "MesoInception4": {"conv2d": 16, "batch_normalization": 4, "dense": 2}}
_FEATURES_PER_PIXEL = 16 / 32**2  # the last block's 16 channels, after pooling by 32 in each direction


def published_file(name: str, weights: str) -> str:
    """The file name of the published `weights` ("mesonet-df", "mesonet-f2f") for architecture `name`."""
    prefix = "Meso4" if name == "Meso4" else "MesoInception"
    return f"{prefix}_{weights.rsplit('-', 1)[1].upper()}.h5"


def check_mesonet_weights(weights: Any, name: str) -> None:
    """ValueError unless a `name` run can start from `weights`: None (from scratch), a keyword of
    `WEIGHTS_KEYWORDS`, or a weights file of the reference code for this architecture."""
    if weights is None or weights in WEIGHTS_KEYWORDS:
        return
    expected = (f"Expected None (train {name} from scratch), one of {list(WEIGHTS_KEYWORDS)} (the published "
                f"weights) or the path of a {name} weights file of the reference code (.h5).")
    if not isinstance(weights, (str, os.PathLike)) or not Path(weights).is_file():
        path_like = isinstance(weights, os.PathLike) or (isinstance(weights, str) and (Path(weights).suffix or os.sep in weights))
        raise ValueError(f"Received: weights={str(weights) if path_like else weights!r}"
                         f"{', which is not a file' if path_like else ''}. {expected}")
    weights_image_size(weights, name)


def weights_image_size(path: str | os.PathLike, name: str) -> int:
    """The face-crop side a reference-code weights file of architecture `name` was trained on
    (its dense layer's input), or a ValueError saying what the file is instead."""
    import h5py  # Keras' own dependency; no TensorFlow

    try:
        with h5py.File(path, "r") as f:
            group = f["model_weights"] if "layer_names" not in f.attrs and "model_weights" in f else f
            names = [n.decode() if isinstance(n, bytes) else n for n in group.attrs.get("layer_names", [])]
            weighted = [n for n in names if len(group[n].attrs.get("weight_names", []))]
            dense = [n for n in weighted if n.startswith("dense")]
            rows = group[dense[0]][group[dense[0]].attrs["weight_names"][0]].shape[0] if dense else 0
    except (OSError, KeyError) as err:
        raise ValueError(f"Received: weights={str(path)!r}, which is not a Keras weights file of the reference "
                         f"code ({type(err).__name__}). Expected {name}'s, e.g. {published_file(name, 'mesonet-df')}.") \
            from None
    kinds = Counter(n.rstrip("0123456789").rstrip("_") for n in weighted)
    found = next((arch for arch, layers in _LAYERS.items() if kinds == Counter(layers)), None)
    if found != name:
        what = f"weights of {found}" if found else f"weights of another network ({dict(kinds)})"
        raise ValueError(f"Received: weights={str(path)!r}, {what}, for img_model_name={name!r}. Expected {name}'s "
                         f"weights, e.g. {published_file(name, 'mesonet-df')}.")
    return int(round((rows / _FEATURES_PER_PIXEL) ** 0.5))


def check_image_size_for(weights: Any, name: str, image_size: int) -> None:
    """Published or reference-code weights fix the input side: a ValueError for another `image_size`."""
    if weights is None:
        return
    side = IMAGE_SIZE if weights in WEIGHTS_KEYWORDS else weights_image_size(weights, name)
    if image_size != side:
        raise ValueError(f"Received: image_size={image_size} with weights={str(weights)!r}. Expected "
                         f"image_size={side}: those weights' dense layer takes the features of {side} x {side} "
                         "face crops.")


def weights_path(name: str, weights: str | os.PathLike) -> Path:
    """The file of `weights` for architecture `name`: a given path as it is; a keyword's published
    file from `$VIDSEQ_MESONET_WEIGHTS`, else Keras' cache (downloaded there when missing), its
    sha256 checked. Downloading imports Keras."""
    if weights not in WEIGHTS_KEYWORDS:
        return Path(weights)
    file = published_file(name, weights)
    folder = os.environ.get(WEIGHTS_ENV)
    if folder:
        path = Path(folder) / file
        if not path.is_file():
            raise FileNotFoundError(f"Received: ${WEIGHTS_ENV}={folder!r}, which holds no {file}. Expected the "
                                    f"folder of the published MesoNet weights (or leave it unset to download them).")
        return _checked(path)
    cached = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "models" / file
    if cached.is_file():
        return _checked(cached)
    from vidseq.utils.quiet import import_keras_quietly

    import_keras_quietly()
    import keras  # its download: progress bar, atomic, into its own cache

    try:
        return Path(keras.utils.get_file(file, URL.format(file), file_hash=SHA256[file], hash_algorithm="sha256",
                                         cache_subdir="models"))
    except ValueError as err:  # Keras: "Incomplete or corrupted file detected"
        raise ValueError(f"Downloaded {file} from {URL.format(file)}, but its sha256 is not the published file's "
                         f"{SHA256[file][:12]}... ({err}).") from None
    except Exception as err:  # noqa: BLE001: Keras wraps every network error in a bare Exception
        raise OSError(f"Could not download {file} from {URL.format(file)} ({err}). Expected network access, or the "
                      f"file: set ${WEIGHTS_ENV} to a folder holding it, or give weights=<path of {file}>.") from None


def _checked(path: Path) -> Path:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != SHA256[path.name]:
        raise ValueError(f"Received: {str(path)!r} with sha256 {digest[:12]}... Expected the published file's "
                         f"{SHA256[path.name][:12]}...: the copy is corrupted or another file. Delete it to download "
                         "it again.")
    return path


__all__ = ["MESONET_NAMES", "WEIGHTS_KEYWORDS", "IMAGE_SIZE", "WEIGHTS_ENV", "SHA256", "PRETRAINED", "published_file",
           "check_mesonet_weights", "weights_image_size", "check_image_size_for", "weights_path"]
