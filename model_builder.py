"""Models, training and runs: frozen backbone -> cached (N, T, D) embeddings -> sequence head.

    >>> import model_builder
    >>> labels, model, (test_loss, test_acc) = model_builder.train_test_classifier(
    ...     "data/demo", num_frames=16, img_model_name="MobileNetV2", weights="random",
    ...     learning_rate=1e-3, epochs=30)  # doctest: +SKIP
    >>> model_builder.compare_saved_models("saved_models")  # doctest: +SKIP
"""

from __future__ import annotations

import collections
import concurrent.futures
import hashlib
import json
import os
import re
import time
import warnings
from pathlib import Path
from typing import Any, Iterable, Sequence

from vidseq.quiet import import_keras_quietly

import_keras_quietly()  # TensorFlow's start-up lines stay out of the terminal and notebooks
import keras  # noqa: E402
import numpy as np
import pandas as pd

import util
from vidseq import __version__, backbones, coatnet, explain, finetune, ray_engine, seed_compat
from vidseq.atomic import atomic_path, write_json, write_text
from vidseq.backbones import BACKBONES
from vidseq.cache import DiskCache, cache_key, content_fingerprint
from vidseq.checks import check_int
from vidseq.distribution import check_distribution, distribution_scope, pad_rows
from vidseq.faces import FaceCrop, face_settings
from vidseq.frame_dataset import VIDEO_SCORES, FrameDataset, video_scores
from vidseq.metrics import binary_metrics
from vidseq.plots import plot_frames, plot_leaderboard, plot_learning_curves, plot_roc, plot_score_histograms
from vidseq.progress import EpochBar, progress_bar

__all__ = [
    "BACKBONES", "LABELS", "embed_videos", "build_classifier", "train_test_classifier",
    "compare_saved_models", "load_classifier", "predict_video", "explain_video", "evaluate", "search",
    "check_run_options", "default_cache_dir", "classifier", "run_threshold",
]

LABELS = ["real", "fake"]  # class names by output index: the sigmoid output is P(fake)
RNNS = ("gru", "lstm", None)
RNN_POOLINGS = ("last", "mean")
ENGINES = ("local", "ray")
FEATURE_NORM = "feature_norm"


def default_cache_dir() -> Path:
    """`$VIDSEQ_CACHE`, else `~/.cache/vidseq`: embeddings are shared by every run."""
    return Path(os.environ.get("VIDSEQ_CACHE", Path.home() / ".cache" / "vidseq"))


# --------------------------------------------------------------------------- embeddings


def embed_videos(
    paths: Sequence[str | os.PathLike],
    num_frames: int,
    img_model_name: str = "MobileNetV2",
    weights: Any = "imagenet",
    cache_dir: str | os.PathLike | None = None,
    face_crop: bool | FaceCrop = False,
    batch_size: int = 32,
    on_error: str = "raise",
    strategy: str = "uniform",
    seed: int | None = None,
    workers: int = 2,
    engine: str = "local",
    ray_workers: int | None = None,
    ray_address: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Frame embeddings of each video from a frozen backbone: `(features (N, T, D), mask (N, T))`.

    Decoding runs in `workers` threads ahead of inference, a few videos at a time, so memory
    holds the output array and a bounded number of frames. With `cache_dir`, each video's
    embeddings are stored once (content-addressed `.npz`); a warm call neither decodes nor
    builds the backbone, and a killed run resumes where it stopped. `on_error="skip"` leaves
    an unreadable video's row at zeros with mask False and warns naming it. `face_crop=True`
    (or a `FaceCrop`) embeds square crops around each video's tracked face (see
    `util.read_frames`); their boxes are cached too, so other backbones never re-detect. `seed` drives
    the "random" and "clip" frame sampling; "random" weights always use one fixed seed.

    `engine="ray"` embeds the videos missing from the cache on a Ray cluster (`pip install
    "vidseq[ray]"`): `ray_address` ("auto" joins the cluster `ray start` made; default: the
    session already connected, else a local one), `ray_workers` actors (default: one per
    GPU, else one per node with all its CPUs), each building its backbone once and writing
    into the same cache, which must then be on a filesystem every node sees, as must the
    videos. Results and cache entries are those of the local engine.

    >>> features, mask = embed_videos(["data/demo/real/real_000.mp4"], 16, "MobileNetV2",
    ...                               weights="random", cache_dir="/tmp/vidseq-cache")  # doctest: +SKIP
    >>> features.shape  # doctest: +SKIP
    (1, 16, 1280)
    """
    features, mask, _, _ = _embed(paths, num_frames, img_model_name, weights, cache_dir, face_crop, batch_size,
                                  on_error, strategy, seed, workers, engine=engine, ray_workers=ray_workers,
                                  ray_address=ray_address)
    return features, mask


def _embed(paths, num_frames, img_model_name, weights, cache_dir, face_crop, batch_size, on_error, strategy, seed,
           workers, quiet=False, engine="local", ray_workers=None, ray_address=None, track=0, on_truncated="raise"):
    """embed_videos, also returning `{path: error}` of skipped videos and the paths where no face was found.
    `track`: which face track to crop (`util.read_frames`); a video without it is skipped."""
    if engine not in ENGINES:
        raise ValueError(f"Received: engine={engine!r}. Expected one of {ENGINES}.")
    if on_error not in ("raise", "skip"):
        raise ValueError(f"Received: on_error={on_error!r}. Expected 'raise' or 'skip'.")
    check_int("workers", workers, 1)
    if isinstance(paths, (str, os.PathLike)):
        raise ValueError(f"Received: paths={str(paths)!r}, a single path. Expected a list of video paths.")
    if engine == "ray":
        if cache_dir is None:
            raise ValueError("Received: engine='ray' with cache_dir=None. Expected a cache_dir that every node of "
                             "the cluster can read and write (a shared filesystem): Ray workers hand results over "
                             "through it.")
        ray_engine.check_ray()
        ray_engine.check_address(ray_address)
    embedder = _Embedder(img_model_name, weights, num_frames, strategy, seed, face_crop, cache_dir, batch_size, track,
                         on_truncated)
    paths = [str(p) for p in paths]
    cache = embedder.cache
    features = np.zeros((len(paths), embedder.num_frames, embedder.spec.feature_dim), np.float32)
    mask = np.zeros((len(paths), embedder.num_frames), bool)
    no_face: list[str] = []
    todo = []
    for i, path in enumerate(paths):
        key = embedder.key(path)
        hit = cache.load(key)
        if hit is not None and hit["features"].shape == features.shape[1:]:
            features[i], mask[i] = hit["features"], hit["mask"]
            if hit["face_found"] == 0:
                no_face.append(path)
        else:
            todo.append((i, path, key))
    errors: dict[str, str] = {}
    if not todo:
        return features, mask, errors, no_face
    if engine == "ray":
        for i, path, key in _embed_on_ray(embedder, todo, on_error, errors, no_face, ray_workers, ray_address):
            hit = cache.load(key)
            features[i], mask[i] = hit["features"], hit["mask"]
        return features, mask, errors, no_face
    for (i, path, key), frames, valid, found in _read_videos(todo, embedder.read, workers, on_error, errors, no_face,
                                                              f"Embedding with {embedder.spec.name}", quiet):
        features[i], mask[i] = embedder.embed(key, frames, valid, found)
    return features, mask, errors, no_face


class _Embedder:
    """One backbone's embedding of single videos into the cache: what both engines run per video.

    Checks every setting on creation; builds the backbone on the first `embed` only, so a
    fully cached call never builds it.
    """

    def __init__(self, img_model_name, weights, num_frames, strategy, seed, face_crop, cache_dir, batch_size, track=0,
                 on_truncated="raise"):
        self.spec = backbones.get_spec(img_model_name)
        self.face = face_settings(face_crop)
        self.track, self.on_truncated = track, util.check_on_truncated(on_truncated)
        self.num_frames = util.check_num_frames(num_frames)
        util.sample_indices(0, num_frames, strategy, seed)
        check_int("batch_size", batch_size, 1)
        self.weights = backbones.resolve_weights(self.spec.name, weights)
        self.strategy, self.seed = strategy, _sampling_seed(strategy, seed)
        self.cache, self.cache_dir = DiskCache(cache_dir, "embeddings"), cache_dir
        self.chunk = min(batch_size, num_frames)
        self.settings = dict(num_frames=num_frames, strategy=strategy, seed=self.seed, size=self.spec.input_size,
                             face=self.face.crop_key() if self.face else None, backbone=self.spec.name,
                             weights=backbones.weights_identity(self.weights))
        self.settings.update(_extra_keys(track, on_truncated))
        self.model = None

    def key(self, path: str) -> str:
        return cache_key(path, **self.settings)

    def read(self, path: str):
        """`(frames, valid, face found)`, or raises VideoReadError (NoFaceError: skip by face settings)."""
        return util.read_frames_and_face(path, self.num_frames, self.spec.input_size, self.strategy, self.seed,
                                         self.face, cache_dir=self.cache_dir, track=self.track,
                                         on_truncated=self.on_truncated)

    def embed(self, key: str, frames: np.ndarray, valid: np.ndarray, found) -> tuple[np.ndarray, np.ndarray]:
        """Features and mask of one video's frames, saved under `key`."""
        if self.model is None:
            self.model = backbones.build_backbone(self.spec.name, self.weights)
        features = np.zeros((self.num_frames, self.spec.feature_dim), np.float32)
        features[valid] = _run_backbone(self.model, self.spec, frames[valid], self.chunk)
        self.cache.save(key, features=features, mask=valid, face_found=np.int8(-1 if found is None else found))
        return features, valid


def _embed_on_ray(embedder: _Embedder, todo: list, on_error: str, errors: dict, no_face: list,
                  workers: int | None, address: str | None) -> Iterable:
    """Embed `todo` on Ray actors that write the cache; yield the items embedded, applying on_error
    on the driver as the local engine does."""
    rows = [dict(index=i, path=path, key=key) for i, path, key in todo]
    items = {i: (i, path, key) for i, path, key in todo}
    # Batches of 16 videos: decoding overlaps inference within a batch, not across two.
    for row in ray_engine.map_rows(rows, _RayEmbedWorker, (embedder,), 16, workers, address):
        item = items[int(row["index"])]
        if row["status"] == "ok":  # the local engine's (frames, valid, found), frames left in the cache
            result = (None, None, {-1: None, 0: False, 1: True}[int(row["found"])])
        else:
            result = (util.NoFaceError if row["status"] == "no_face" else util.VideoReadError)(str(row["error"]))
        if _usable(item[1], result, on_error, errors, no_face):
            yield item


class _RayEmbedWorker:
    """A Ray actor: builds the backbone once, then embeds each batch of videos into the cache,
    decoding the next video while the current one runs through the backbone."""

    def __init__(self, embedder: _Embedder):
        self.embedder = embedder

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        todo = [(int(i), str(p), str(k)) for i, p, k in zip(batch["index"], batch["path"], batch["key"])]
        status, error, found = [], [], []
        for (_, _, key), result in _decode_ahead(todo, self.embedder.read, workers=2):
            ray_engine.fault_hook()
            if isinstance(result, util.VideoReadError):
                status.append("no_face" if isinstance(result, util.NoFaceError) else "error")
                error.append(str(result))
                found.append(-1)
                continue
            frames, valid, face = result
            self.embedder.embed(key, frames, valid, face)
            status.append("ok")
            error.append("")
            found.append(-1 if face is None else int(face))
        return {"index": batch["index"], "status": np.array(status), "error": np.array(error),
                "found": np.array(found, np.int8)}


def _on_truncated(opts: dict) -> str:
    """How reads treat a truncated file under a run's `truncated` option (runs saved before it: skip)."""
    return "keep" if opts.get("truncated", "skip") == "keep" else "raise"


def _extra_keys(track: int, on_truncated: str) -> dict:
    """Cache-key settings present only when not the default, so the main track's entries
    keep their keys, and a truncated file kept on request never serves a read that refuses it."""
    return {**({"track": track} if track else {}), **({"truncated": "keep"} if on_truncated == "keep" else {})}


def _sampling_seed(strategy: str, seed: int | None) -> int | None:
    """The seed as far as sampling uses it: only "random" and "clip" do, so runs with other
    seeds share cache entries under the other strategies."""
    return seed if strategy in ("random", "clip") else None


def _read_videos(todo: list, read, workers: int, on_error: str, errors: dict, no_face: list, description: str,
                 quiet: bool = False):
    """Yield `(item, frames, valid, found)` for each readable video of `todo` (items end in
    their path), decoded ahead in threads. Skipped videos go into `errors` with a warning;
    those where face cropping found no face are appended to `no_face`."""
    progress = progress_bar(len(todo), description, show=not quiet and len(todo) >= 5)
    try:
        for item, result in _decode_ahead(todo, read, workers):
            progress.update(1)
            if _usable(item[1], result, on_error, errors, no_face):
                yield (item, *result)
    finally:
        progress.close()


def _usable(path: str, result, on_error: str, errors: dict, no_face: list) -> bool:
    """Whether a video's read `result` (frames, valid, found) or VideoReadError can be embedded:
    on_error applied, skips recorded in `errors` with a warning, faceless videos in `no_face`."""
    if isinstance(result, util.NoFaceError):  # the face settings ask for these to be skipped
        errors[path] = str(result)
        warnings.warn(f"Skipped video without a face {path}", stacklevel=5)
        return False
    if isinstance(result, util.VideoReadError):
        if on_error == "raise":
            raise result
        errors[path] = str(result)
        warnings.warn(f"Skipped unreadable video {path}: {result}", stacklevel=5)
        return False
    if result[2] is False:
        no_face.append(path)
    return True


def _decode_ahead(todo: list, read, workers: int) -> Iterable:
    """Yield `(item, frames or VideoReadError)` in order, decoding up to 2*workers videos ahead."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        pending: collections.deque = collections.deque()
        items = iter(todo)
        for item in items:
            pending.append((item, pool.submit(read, item[1])))
            if len(pending) >= 2 * workers:
                break
        while pending:
            item, future = pending.popleft()
            next_item = next(items, None)
            if next_item is not None:
                pending.append((next_item, pool.submit(read, next_item[1])))
            try:
                yield item, future.result()
            except util.VideoReadError as err:
                yield item, err
            except Exception as err:  # e.g. cv2.error on a corrupt stream: still this one video's failure
                yield item, util.VideoReadError(f"{type(err).__name__}: {err} in video {item[1]!r}")


def _run_backbone(model, spec, frames: np.ndarray, chunk: int) -> np.ndarray:
    """Pooled features of `frames`, in fixed-size chunks so the graph is traced once."""
    out = np.zeros((len(frames), spec.feature_dim), np.float32)
    for start in range(0, len(frames), chunk):
        batch = spec.preprocess(frames[start : start + chunk])
        n = len(batch)
        if n < chunk:
            batch = np.concatenate([batch, np.zeros((chunk - n, *batch.shape[1:]), batch.dtype)])
        out[start : start + n] = np.asarray(model.predict_on_batch(batch))[:n]
    return out


# --------------------------------------------------------------------------- heads


def build_classifier(
    num_frames: int,
    feature_dim: int,
    rnn: str | None = "gru",
    rnn_units: Sequence[int] = (256, 256),
    bidirectional: bool = False,
    batch_norm: bool = False,
    dense_units: Sequence[int] = (),
    dropout: float = 0.5,
    normalize: bool = True,
    rnn_pooling: str = "last",
    recurrent_dropout: float = 0.0,
    l2: float = 0.0,
) -> keras.Model:
    """A sequence head over `(num_frames, feature_dim)` embeddings -> P(fake).

    Masking (padded frames are all-zero rows), optionally a per-feature standardization
    (`normalize`: a Normalization layer, identity until `set_feature_stats` fills it with
    the training set's statistics; frozen backbones' features are far from zero-mean and
    unit-variance), a stack of `rnn` layers ("gru", "lstm", or None for a masked temporal
    mean), optionally bidirectional with BatchNormalization between them, read out at the
    last frame (`rnn_pooling="last"`) or averaged over the valid frames ("mean": on small
    datasets it overfits less, as every frame's state meets the loss), dropout, then
    `dense_units` ReLU layers each followed by dropout, then `Dense(1, sigmoid)`.
    `recurrent_dropout` drops recurrent connections; `l2` penalizes every recurrent and
    dense kernel. Plain Keras layers only: it saves and reloads with safe_mode.

    >>> model = build_classifier(16, 1280, rnn="gru", rnn_units=(64,), dense_units=(32,))
    >>> model.output_shape
    (None, 1)
    """
    num_frames = util.check_num_frames(num_frames)
    check_int("feature_dim", feature_dim, 1)
    if rnn not in RNNS:
        raise ValueError(f"Received: rnn={rnn!r}. Expected one of {list(RNNS)}.")
    rnn_units, dense_units = _int_tuple(rnn_units, "rnn_units"), _int_tuple(dense_units, "dense_units")
    if rnn and not rnn_units:
        raise ValueError(f"Received: rnn_units={rnn_units!r} with rnn={rnn!r}. Expected at least one layer size.")
    for name, value in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout), ("l2", l2)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
            raise ValueError(f"Received: {name}={value!r}. Expected a float in [0, 1).")
    regularizer = keras.regularizers.L2(l2) if l2 else None
    if rnn_pooling not in RNN_POOLINGS:
        raise ValueError(f"Received: rnn_pooling={rnn_pooling!r}. Expected one of {RNN_POOLINGS}.")

    inputs = keras.Input((num_frames, feature_dim), name="frame_features")
    x = keras.layers.Masking(mask_value=0.0)(inputs)
    if normalize:
        norm = keras.layers.Normalization(axis=-1, name=FEATURE_NORM)
        x = norm(x)
        _set_normalization(norm, np.zeros(feature_dim), np.ones(feature_dim), 0)
    if rnn is None:
        x = keras.layers.GlobalAveragePooling1D(name="masked_mean")(x)
    else:
        layer_type = keras.layers.GRU if rnn == "gru" else keras.layers.LSTM
        for i, units in enumerate(rnn_units):
            last = i == len(rnn_units) - 1
            layer = layer_type(units, return_sequences=not last or rnn_pooling == "mean",
                               recurrent_dropout=recurrent_dropout, kernel_regularizer=regularizer)
            x = (keras.layers.Bidirectional(layer) if bidirectional else layer)(x)
            if batch_norm and not last:
                x = keras.layers.BatchNormalization()(x)
        if rnn_pooling == "mean":
            x = keras.layers.GlobalAveragePooling1D(name="state_mean")(x)  # the mask keeps padded frames out
    x = keras.layers.Dropout(dropout)(x)
    for units in dense_units:
        x = keras.layers.Dense(units, activation="relu", kernel_regularizer=regularizer)(x)
        x = keras.layers.Dropout(dropout)(x)
    outputs = keras.layers.Dense(1, activation="sigmoid", kernel_regularizer=regularizer, name="p_fake")(x)
    name = head_name(rnn, rnn_units, bidirectional, batch_norm, dense_units, normalize, rnn_pooling,
                     recurrent_dropout, l2)
    return keras.Model(inputs, outputs, name=name)


def set_feature_stats(model: keras.Model, features: np.ndarray, mask: np.ndarray) -> None:
    """Fill the head's feature standardization with the mean and variance of the valid frames."""
    valid = features[mask]
    _set_normalization(model.get_layer(FEATURE_NORM), valid.mean(axis=0), valid.var(axis=0), len(valid))


def _set_normalization(layer, mean: np.ndarray, variance: np.ndarray, count: int) -> None:
    layer.set_weights([mean.astype("float32"), variance.astype("float32"), np.asarray(count, "int64")])
    layer.finalize_state()


def head_name(rnn, rnn_units=(256, 256), bidirectional=False, batch_norm=False, dense_units=(), normalize=True,
              rnn_pooling="last", recurrent_dropout=0.0, l2=0.0) -> str:
    """A short name saying what the head is, e.g. "bigru256x256_bn_fc64" or "gru64_avg"."""
    name = "meanpool" if rnn is None else ("bi" if bidirectional else "") + rnn + "x".join(map(str, rnn_units))
    if batch_norm and rnn:
        name += "_bn"
    if rnn_pooling == "mean" and rnn:
        name += "_avg"
    if dense_units:
        name += "_fc" + "x".join(map(str, dense_units))
    if not normalize:
        name += "_raw"
    if recurrent_dropout and rnn:
        name += f"_rd{recurrent_dropout:g}"
    if l2:
        name += f"_l2{l2:g}"
    return name


def _int_tuple(values, name: str) -> tuple[int, ...]:
    if isinstance(values, (int, np.integer)):
        values = (values,)
    return tuple(check_int(name, v, 1) for v in values)


# --------------------------------------------------------------------------- runs

HEAD_OPTIONS = dict(rnn="gru", rnn_units=(256, 256), bidirectional=False, batch_norm=False, dense_units=(), dropout=0.5,
                    normalize=True, rnn_pooling="last", recurrent_dropout=0.0, l2=0.0)
RUN_OPTIONS = dict(
    weights="imagenet", epochs=100, batch_size=16, learning_rate=1e-5, patience=10, seed=42,
    optimizer="adam", schedule="constant", warmup_epochs=0, weight_decay=0.0, label_smoothing=0.0,
    strategy="uniform", face_crop=False, cache_dir=None, save_dir="saved_models", run_name=None,
    val_size=0.15, test_size=0.15, split_by="identities", identities=None, truncated="skip", compression="c23",
    embed_batch_size=32, distribution=None, verbose=1,
)
OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop")
TRUNCATED = ("skip", "keep")  # a video whose frames stop short of its container's count: skipped, or its frames kept
SCHEDULES = ("constant", "cosine")  # cosine: linear warm-up over `warmup_epochs`, then cosine decay to 0
# The CoAtNet image path: its own defaults (the source's 25 epochs, batch 32), no head options.
IMAGE_RUN_OPTIONS = dict(
    {k: v for k, v in RUN_OPTIONS.items() if k != "embed_batch_size"},
    weights=None, epochs=25, batch_size=32, learning_rate=1e-4, patience=5, face_crop=True,
    optimizer="adamw", schedule="cosine", warmup_epochs=1, weight_decay=0.05,
    image_size=224, augment=True, video_score="mean",
)
# fine_tune=True: any backbone trained on face crops as a frame classifier (vidseq/finetune.py).
# warmup_epochs: epochs of the head alone (backbone frozen) before `epochs` of fine-tuning.
FINETUNE_RUN_OPTIONS = dict(
    {k: v for k, v in IMAGE_RUN_OPTIONS.items() if k != "image_size"},
    weights="imagenet", epochs=10, learning_rate=1e-3, patience=3, optimizer="adam", schedule="constant",
    warmup_epochs=2, weight_decay=0.0, fine_tune=True, trainable_layers=None, fine_tune_learning_rate=None,
    dropout=0.2,
)


def train_test_classifier(
    data_dir: str | os.PathLike,
    num_frames: int = 64,
    img_model_name: str = "MobileNetV2",
    **options: Any,
) -> tuple[list[str], keras.Model, tuple[float, float]]:
    """Discover, split (group-disjoint), embed (cached), train, test and save one run.

    Returns `(labels, classifier, (test_loss, test_acc))`, measured on the TEST split;
    the model kept is the one with the best validation loss (unless a given `early_stopping`
    monitors or restores otherwise). The run folder
    `save_dir/<run_name>/` holds `model.keras`, `config.json`, `metrics.json`,
    `history.csv`, `splits.csv` and plots. Options (keyword): every `build_classifier`
    argument and {run_options}.

    `img_model_name="CoAtNet-0"` (to "-4") trains a CoAtNet image classifier from scratch
    on every sampled frame's face crop instead (crops cached on disk and streamed), with the
    source's augmentations, AdamW and a warm-up + cosine schedule; a video's score is the
    mean of its frames' (`video_score="confident"`: the DFDC winner's rule). Its options:
    {image_options}.

    `fine_tune=True` trains any backbone of `BACKBONES` the same way (its own input size and
    preprocessing, starting from `weights`): first `warmup_epochs` epochs of a new
    dropout + sigmoid head with the backbone frozen, at `learning_rate`; then up to `epochs`
    epochs with the backbone's top `trainable_layers` layers (None: all) unfrozen, at
    `fine_tune_learning_rate` (None: `learning_rate / 10`). BatchNormalization layers stay
    frozen and in inference mode. model.keras keeps the fine-tuned backbone: give the run
    folder as `weights` to `embed_videos`, `train_test_classifier` or `search` and sequence
    heads train on its features (cached apart from other weights'). Its options:
    {finetune_options}.

    `distribution="data_parallel"` trains on every local device with
    `keras.distribution.DataParallel` (JAX backend; `batch_size` a multiple of the device count).

    Training callbacks and SGD: `early_stopping` (True: vidseq's, on val_loss with `patience`,
    best weights restored; False or None: off; a `keras.callbacks.EarlyStopping`, used as
    given, or a dict of its settings), `reduce_lr` (None, a `ReduceLROnPlateau` or a dict of
    its settings; with `schedule="constant"`), `callbacks` (your own Keras callbacks, run after
    vidseq's; NOT saved in config.json, and refused by `search`), `momentum` and `nesterov`
    (with `optimizer="sgd"` only; SGD's momentum is 0.9 unless given). config.json records
    the early stopping's and learning-rate reduction's settings, never callback objects.

    The seed toolkit's keywords are accepted as aliases, each printing the vidseq option it
    became (config.json holds vidseq's names only; giving both names is an error):
    `num_gru` + `gru_units` -> `rnn_units` (`num_gru` layers of `gru_units`), `num_dense` +
    `smallest_dense_units` -> `dense_units` (widest first, halving down to the smallest),
    `batchnorm` -> `batch_norm`, `dropout_rate` -> `dropout`, `optimizer_name` -> `optimizer`
    ("sgd" without `momentum`: momentum 0, as the seed), `optimizer_lr` -> `learning_rate`,
    `split_ratio` -> `val_size`, `test_size` (must sum to 1), `estop` -> `early_stopping`,
    `reduce_lr_on_plateau` -> `reduce_lr`. See docs/migrating.md.

    >>> labels, model, (loss, acc) = train_test_classifier(
    ...     "data/demo", 16, "MobileNetV2", weights="random", epochs=20, learning_rate=1e-3)  # doctest: +SKIP
    >>> labels, model, (loss, acc) = train_test_classifier(   # the seed toolkit's notebook call
    ...     data_dir="data/DFD", num_frames=64, num_gru=2, num_dense=1, batchnorm=True,
    ...     weights="random")  # doctest: +SKIP
    """
    num_frames, model_name, opts = check_run_options(num_frames, img_model_name, options)
    if model_name not in BACKBONES or opts.get("fine_tune"):
        return _train_test_image_classifier(data_dir, num_frames, model_name, opts)
    spec = backbones.get_spec(model_name)
    head = {k: opts[k] for k in HEAD_OPTIONS}
    run = _prepare_run(data_dir, opts, f"Image Model: {spec.name}, Image Size: {spec.input_size}")

    weights = backbones.resolve_weights(spec.name, opts["weights"])
    features, mask, errors, no_face = _embed(run.videos.path, num_frames, spec.name, weights, run.cache_dir, run.face,
                                             opts["embed_batch_size"], "skip", opts["strategy"], opts["seed"], 2,
                                             quiet=not opts["verbose"], on_truncated=_on_truncated(opts))
    rows = run.drop_unusable(mask.any(axis=1), errors, no_face)
    data = {s: (features[r], run.labels[r]) for s, r in rows.items()}

    keras.utils.set_random_seed(opts["seed"])
    devices = check_distribution(opts["distribution"], opts["batch_size"])
    with distribution_scope(opts["distribution"]):
        model = build_classifier(num_frames, spec.feature_dim, **head)
        if head["normalize"]:
            set_feature_stats(model, features[rows["train"]], mask[rows["train"]])
        # Class weights as sample weights: padding rows (several devices) then weigh nothing.
        class_weight = _class_weight(data["train"][1])
        x, y, weight = pad_rows(devices, *data["train"], np.array([class_weight[y] for y in data["train"][1]],
                                                                  np.float32))
        val = pad_rows(devices, *data["val"], np.ones(len(data["val"][1]), np.float32))
        _compile(model, opts, steps_per_epoch=-(-len(y) // opts["batch_size"]))
        started = time.time()
        fit = model.fit(x, y, sample_weight=weight, validation_data=val, epochs=opts["epochs"],
                        batch_size=opts["batch_size"], shuffle=True, verbose=_keras_verbose(opts),
                        callbacks=_callbacks(opts))
        train_seconds = time.time() - started
        # One predict over val and test, in full batches only (a partial last batch is a new
        # shape: TensorFlow traces the step again); the test loss and accuracy are those of
        # `model.evaluate`, computed from the same scores.
        x_val = data["val"][0]
        joint = np.concatenate([x_val, data["test"][0]])
        joint = model.predict(pad_rows(opts["batch_size"], joint)[0], batch_size=opts["batch_size"],
                              verbose=0).ravel()[: len(joint)]
    scores = {"val": joint[: len(x_val)], "test": joint[len(x_val) :]}
    metrics = {s: binary_metrics(data[s][1], scores[s]) for s in ("val", "test")}
    config = dict(
        img_model_name=spec.name, input_size=list(spec.input_size), feature_dim=spec.feature_dim, head=model.name,
        weights=weights if weights in backbones.WEIGHT_KEYWORDS else str(Path(weights).resolve()),
        weights_identity=backbones.weights_identity(weights), **head, **seed_compat.training_config(opts),
    )
    return run.finish(num_frames, model, config, metrics, fit, train_seconds, len(data["train"][1]), scores)


def _train_test_image_classifier(data_dir, num_frames: int, variant: str, opts: dict):
    """train_test_classifier's frame-classifier path: frames -> face crops on disk -> CoAtNet (or, with
    `fine_tune`, a backbone fine-tuned in two phases) -> frame scores -> video scores."""
    fine_tune = bool(opts.get("fine_tune"))
    if fine_tune:
        image_size = BACKBONES[variant].input_size[0]
        weights = backbones.resolve_weights(variant, opts["weights"])
    else:
        image_size, weights = opts["image_size"], opts["weights"]
    run = _prepare_run(data_dir, opts, f"Image Model: {variant}, Image Size: {(image_size, image_size)}")

    files, errors, no_face = _cache_crops(run.videos.path, num_frames, image_size, run.face, run.cache_dir,
                                          opts["strategy"], opts["seed"], quiet=not opts["verbose"],
                                          on_truncated=_on_truncated(opts))
    rows = run.drop_unusable(np.array([f is not None for f in files]), errors, no_face)
    keras.utils.set_random_seed(opts["seed"])
    devices = check_distribution(opts["distribution"], opts["batch_size"])
    sets = {
        split: FrameDataset([files[i] for i in np.flatnonzero(r)], run.labels[r], opts["batch_size"],
                            shuffle=split == "train", augment=split == "train" and bool(opts["augment"]),
                            seed=opts["seed"], class_weight=_class_weight(run.labels[r]) if split == "train" else None,
                            pad_to=devices, workers=2)
        for split, r in rows.items()
    }
    metrics, scores = {}, {}
    with distribution_scope(opts["distribution"]):
        if fine_tune:
            model = finetune.build_frame_classifier(variant, weights, opts["dropout"])
            started = time.time()
            fit = finetune.fit_phases(model, sets["train"], sets["val"], opts,
                                      lambda m, o: _compile(m, o, steps_per_epoch=len(sets["train"])),
                                      _callbacks(opts), verbose=_keras_verbose(opts))
        else:
            model = coatnet.build_coatnet(variant, image_size, num_classes=1, classifier_activation="sigmoid")
            if weights is not None:
                model.load_weights(weights)
            _compile(model, opts, steps_per_epoch=len(sets["train"]))
            started = time.time()
            fit = model.fit(sets["train"], validation_data=sets["val"], epochs=opts["epochs"],
                            verbose=_keras_verbose(opts), callbacks=_callbacks(opts))
        train_seconds = time.time() - started
        for split in ("val", "test"):
            frames = sets[split]
            frame_scores, scores[split] = _score_frames(model, frames, opts["video_score"])
            metrics[split] = binary_metrics(frames.labels, scores[split])
            metrics[f"{split}_frames"] = binary_metrics(frames.labels[frames.video_ids], frame_scores)
    config = dict(img_model_name=variant, input_size=[image_size, image_size], head=model.name,
                  weights=None if weights is None else str(Path(weights).resolve()),
                  **{k: opts[k] for k in ("image_size", "augment", "video_score") if k in opts},
                  **seed_compat.training_config(opts))
    if fine_tune:
        config.update(finetune.config_entries(variant, weights, opts))
    return run.finish(num_frames, model, config, metrics, fit, train_seconds, int(rows["train"].sum()), scores)


def _score_frames(model: keras.Model, frames: FrameDataset, how: str) -> tuple[np.ndarray, np.ndarray]:
    """`(P(fake) per frame, P(fake) per video)` of an image classifier over `frames`."""
    frame_scores = model.predict(frames, verbose=0).ravel()[: len(frames.video_ids)]  # without padding rows
    return frame_scores, video_scores(frame_scores, frames.video_ids, len(frames.files), how)


train_test_classifier.__doc__ = train_test_classifier.__doc__.format(
    run_options=", ".join(f"`{k}`" for k in (*RUN_OPTIONS, *seed_compat.TRAINING_OPTIONS)),
    image_options=", ".join(f"`{k}={v!r}`" for k, v in IMAGE_RUN_OPTIONS.items()),
    finetune_options=", ".join(f"`{k}={v!r}`" for k, v in FINETUNE_RUN_OPTIONS.items()),
)


def _cache_crops(paths, num_frames: int, image_size: int, face, cache_dir: Path, strategy: str, seed: int,
                 quiet: bool = False, track: int = 0, on_truncated: str = "raise"):
    """Write each video's sampled crops (of face track `track`) to the cache once:
    `(files (None if skipped), errors, no_face)`."""
    seed = _sampling_seed(strategy, seed)
    cache = DiskCache(cache_dir, "crops")
    settings = dict(num_frames=num_frames, strategy=strategy, seed=seed, size=image_size,
                    face=face.crop_key() if face else None)
    settings.update(_extra_keys(track, on_truncated))
    files: list[Path | None] = [None] * len(paths)
    errors: dict[str, str] = {}
    no_face: list[str] = []
    todo = []
    for i, path in enumerate(paths):
        key = cache_key(path, **settings)
        meta = cache.load_json(key)
        if meta is not None and cache.array_file(key).is_file():
            files[i] = cache.array_file(key)
            if meta["face_found"] is False:
                no_face.append(str(path))
        else:
            todo.append((i, str(path), key))

    def read(path: str):
        return util.read_frames_and_face(path, num_frames, (image_size, image_size), strategy, seed, face,
                                         cache_dir=cache_dir, track=track, on_truncated=on_truncated)

    for (i, _, key), frames, valid, found in _read_videos(todo, read, 2, "skip", errors, no_face, "Cropping frames",
                                                                       quiet):
        cache.save_array(key, frames[valid])
        cache.save_json(key, {"frames": int(valid.sum()), "face_found": found})  # last: marks the entry complete
        files[i] = cache.array_file(key)
    return files, errors, no_face


def _compile(model: keras.Model, opts: dict, steps_per_epoch: int) -> None:
    """Optimizer, learning-rate schedule, weight decay and loss as the run options say."""
    rate = opts["learning_rate"]
    if opts["schedule"] == "cosine":
        steps = steps_per_epoch * opts["epochs"]
        warmup = min(steps_per_epoch * opts["warmup_epochs"], steps - 1)
        rate = keras.optimizers.schedules.CosineDecay(0.0 if warmup else rate, decay_steps=steps - warmup,
                                                      warmup_target=rate if warmup else None, warmup_steps=warmup)
    kind = {"adam": keras.optimizers.Adam, "adamw": keras.optimizers.AdamW, "rmsprop": keras.optimizers.RMSprop,
            "sgd": lambda rate, **kw: keras.optimizers.SGD(rate, momentum=seed_compat.sgd_momentum(opts),
                                                           nesterov=bool(opts.get("nesterov")), **kw),
            }[opts["optimizer"]]
    # AdamW insists on a float; the others take None for "no decay".
    optimizer = kind(rate, weight_decay=opts["weight_decay"] or (0.0 if opts["optimizer"] == "adamw" else None))
    if opts["weight_decay"]:  # decay weights, not the scales and shifts of norms, biases or position tables
        optimizer.exclude_from_weight_decay(var_names=["gamma", "beta", "bias", "relative_bias_table"])
    model.compile(optimizer=optimizer, loss=keras.losses.BinaryCrossentropy(label_smoothing=opts["label_smoothing"]),
                  metrics=["accuracy", keras.metrics.AUC(name="auc")])


def _class_weight(labels: np.ndarray) -> dict[int, float]:
    """Weights that make both classes count equally in the loss."""
    counts = np.bincount(labels, minlength=2)
    return {c: len(labels) / (2 * counts[c]) for c in (0, 1) if counts[c]}


def _callbacks(opts: dict) -> list:
    """Early stopping (vidseq's, the one given, or none), ReduceLROnPlateau if given, the user's
    callbacks, and at verbose=1 one progress bar over the epochs."""
    bar = [EpochBar(opts["epochs"])] if opts["verbose"] == 1 else []
    return seed_compat.build_callbacks(opts) + bar


def _keras_verbose(opts: dict) -> int:
    """Keras' own per-epoch lines only at verbose=2 (the CLI's --verbose); verbose=1 shows a bar."""
    return 2 if opts["verbose"] >= 2 else 0


class _Run:
    """What both training paths share: checked options, the split videos, the run folder."""

    def __init__(self, data_dir, opts: dict, say, cache_dir: Path, face):
        self.data_dir, self.opts, self.say, self.cache_dir, self.face = data_dir, opts, say, cache_dir, face
        self.videos = _split_as_run(data_dir, opts)
        self.labels = self.videos.label.to_numpy()
        self.rows = {s: (self.videos.split == s).to_numpy() for s in util.SPLITS}
        self.errors: dict[str, str] = {}
        self.no_face: list[str] = []
        _require_both_classes(self.labels, self.rows, "Expected val_size > 0 and test_size > 0.")

    def drop_unusable(self, usable: np.ndarray, errors: dict, no_face: list) -> dict[str, np.ndarray]:
        """The split rows without skipped videos; both classes must remain in every split."""
        self.errors, self.no_face = errors, no_face
        if errors:
            self.say(f"Skipped {len(errors)} video(s) (unreadable, or no face with no_face='skip'); "
                     "listed in metrics.json.")
        if no_face:
            self.say(f"No face found in {len(no_face)} video(s): full frames used; listed in metrics.json.")
        self.used = {s: r & usable for s, r in self.rows.items()}
        # The split as trained and tested: counts after skipping, so they match metrics.json.
        self.used_videos = self.videos.assign(split=np.where(usable, self.videos.split, "skipped"))
        self.say(util.describe_split(self.used_videos))
        _require_both_classes(self.labels, self.used, f"After skipping {len(errors)} unusable video(s); "
                              "expected both classes.")
        return self.used

    def finish(self, num_frames, model, config, metrics, fit, train_seconds, train_videos, scores):
        """Save the run folder (metrics.json last) and return train_test_classifier's result."""
        opts = self.opts
        history = pd.DataFrame(fit.history).rename_axis("epoch").reset_index()
        test_loss, test_acc = metrics["test"]["log_loss"], metrics["test"]["accuracy"]
        tested = self.videos[self.used["test"]]
        metrics.update(
            test_split=util.split_fingerprint(tested.path, tested.label),
            split_report=util.split_report(self.used_videos).to_dict(orient="index"),
            test_loss=test_loss, test_acc=test_acc, train_videos=int(train_videos), epochs_trained=int(len(history)),
            best_epoch=int(history.val_loss.idxmin()) + 1, train_seconds=round(train_seconds, 2),
            skipped=[{"path": p, "error": e} for p, e in self.errors.items()], no_face=self.no_face,
        )
        dataset = dataset_name(self.videos, self.data_dir)
        run_dir = _new_run_dir(opts["save_dir"], opts["run_name"] or _run_name(dataset, config["img_model_name"],
                                                                                num_frames, model.name))
        config = dict(
            data_dir=str(Path(self.data_dir).resolve()), dataset=dataset, num_frames=num_frames,
            params=int(model.count_params()), cache_dir=str(self.cache_dir.resolve()),
            created=time.strftime("%Y-%m-%dT%H:%M:%S"),
            versions=dict(vidseq=__version__, keras=keras.__version__, backend=keras.backend.backend()),
            face_crop=self.face.key() if self.face else False,
            **{k: opts[k] for k in RUN_OPTIONS if k in opts and k not in ("cache_dir", "weights", "verbose", "face_crop")},
            **config,
        )
        table = pd.concat([self.videos.loc[self.used[s], ["path", "split", "label"]].assign(score=scores[s])
                           for s in scores], ignore_index=True)
        self._plot_frames(num_frames, table, run_dir / "frames.png")
        _save_run(run_dir, model, config, metrics, history, self.videos, table)
        _plot_explanations(run_dir, model, table, num_frames)
        self.say(f"TEST: loss {test_loss:.4f}, accuracy {test_acc:.3f}, AUC {_fmt(metrics['test']['auc'])} -> {run_dir}")
        return list(LABELS), model, (test_loss, test_acc)

    def _plot_frames(self, num_frames: int, table: pd.DataFrame, path: Path) -> None:
        """Up to 8 sampled frames (face boxes drawn) of the first fake test video."""
        fakes = table[(table.split == "test") & (table.label == 1)].path
        try:
            frames, boxes = util.read_frames_and_boxes(fakes.iloc[0], min(num_frames, 8), self.opts["strategy"],
                                                       self.opts["seed"], self.face or False, cache_dir=self.cache_dir)
        except (IndexError, util.VideoReadError):
            return
        plot_frames(frames, boxes, title=f"{Path(fakes.iloc[0]).name}: sampled frames", path=path, columns=4)


def _split_as_run(data_dir, opts: dict) -> pd.DataFrame:
    """The videos of `data_dir`, split as a run with options `opts` splits them.

    Runs saved before `split_by` existed kept only each video's group apart ("group").
    """
    same_data = Path(data_dir).resolve() == Path(opts.get("data_dir", data_dir)).resolve()
    videos = util.discover_videos(data_dir, opts.get("compression", "c23"),
                                  identities=opts.get("identities") if same_data else None)
    return util.split_videos(videos, opts["val_size"], opts["test_size"], opts["seed"],
                             split_by=opts.get("split_by", "group"))


def dataset_name(videos: pd.DataFrame, data_dir) -> str:
    """What a run's dataset is called: its layouts ("dfd", "celebdf+dfdc"), where plain
    real/fake folders take the data directory's name (data/DFD -> "DFD")."""
    names = {_file_safe(Path(data_dir).resolve().name) if d == "folders" else d for d in videos.dataset.unique()}
    return "+".join(sorted(names))


def _file_safe(name: str) -> str:
    return re.sub(r"[^\w.+-]", "_", name)


def check_run_options(num_frames: int, img_model_name: str, options: dict) -> tuple[int, str, dict]:
    """Validate one run's arguments without touching any video: `(num_frames, model name, all options)`.

    The model name comes back canonical ("coatnet-0" -> "CoAtNet-0"); options are completed
    with the path's defaults. Raises ValueError naming the first bad value.
    """
    variant = coatnet.canonical_name(img_model_name)
    if variant is None and img_model_name not in BACKBONES:
        raise ValueError(f"Received: img_model_name={img_model_name!r}. Expected one of {sorted(BACKBONES)} "
                         f"(frozen backbones) or {list(coatnet.COATNET_VARIANTS)}.")
    options = seed_compat.translate_seed_options(options)  # the seed toolkit's names, one printed line each
    fine_tune = options.get("fine_tune", False)
    if fine_tune not in (True, False):
        raise ValueError(f"Received: fine_tune={fine_tune!r}. Expected True or False.")
    if fine_tune and variant:
        raise ValueError(f"Received: fine_tune=True with img_model_name={img_model_name!r}. Expected a backbone of "
                         f"{sorted(BACKBONES)}: {variant} trains all its layers already.")
    if not fine_tune:
        options = {k: v for k, v in options.items() if k != "fine_tune"}  # the default: not recorded
    valid = IMAGE_RUN_OPTIONS if variant else FINETUNE_RUN_OPTIONS if fine_tune else {**HEAD_OPTIONS, **RUN_OPTIONS}
    opts = _check_options(options, {**valid, **seed_compat.TRAINING_OPTIONS})
    num_frames = util.check_num_frames(num_frames)
    if variant:
        opts["image_size"] = coatnet.check_image_size(opts["image_size"])
        weights = opts["weights"]
        if weights is not None and not (isinstance(weights, (str, os.PathLike)) and Path(weights).is_file()):
            raise ValueError(f"Received: weights={weights!r}. Expected None (train {variant} from scratch: no "
                             "pretrained CoAtNet weights exist offline) or the path of an existing weights file.")
        if opts["video_score"] not in VIDEO_SCORES:
            raise ValueError(f"Received: video_score={opts['video_score']!r}. Expected one of {VIDEO_SCORES}.")
    elif fine_tune:
        finetune.check_options(img_model_name, opts)
        if opts["video_score"] not in VIDEO_SCORES:
            raise ValueError(f"Received: video_score={opts['video_score']!r}. Expected one of {VIDEO_SCORES}.")
    else:
        build_classifier(num_frames, BACKBONES[img_model_name].feature_dim, **{k: opts[k] for k in HEAD_OPTIONS})
        check_int("embed_batch_size", opts["embed_batch_size"], 1)
        backbones.check_weights(opts["weights"], img_model_name)
    for name in ("epochs", "batch_size", "patience"):
        check_int(name, opts[name], 0 if name == "patience" else 1)
    if not isinstance(opts["learning_rate"], float) or not 0 < opts["learning_rate"] < 1:
        raise ValueError(f"Received: learning_rate={opts['learning_rate']!r}. Expected a float in (0, 1).")
    for name in ("weight_decay", "label_smoothing"):
        if isinstance(opts[name], bool) or not isinstance(opts[name], (int, float)) or not 0 <= opts[name] < 1:
            raise ValueError(f"Received: {name}={opts[name]!r}. Expected a float in [0, 1).")
    check_int("warmup_epochs", opts["warmup_epochs"], 0)
    check_distribution(opts["distribution"], opts["batch_size"])
    for name, valid in (("optimizer", OPTIMIZERS), ("schedule", SCHEDULES), ("split_by", util.SPLIT_BY),
                        ("truncated", TRUNCATED)):
        _check_choice(name, opts[name], valid)
    seed_compat.sync_patience(options, opts)
    seed_compat.check_training_options(opts)
    face_settings(opts["face_crop"])
    if opts["identities"] is not None:
        if not isinstance(opts["identities"], (str, os.PathLike)) or not Path(opts["identities"]).is_file():
            raise ValueError(f"Received: identities={opts['identities']!r}. Expected None or the path of a CSV "
                             "file with columns file,identities.")
        opts["identities"] = str(Path(opts["identities"]).resolve())  # recorded in config.json: reusable
    opts["seed"] = check_int("seed", opts["seed"], 0)
    verbose = opts["verbose"]
    opts["verbose"] = check_int("verbose", int(verbose) if isinstance(verbose, bool) else verbose, 0, 2)
    if opts["run_name"] is not None and not re.fullmatch(r"[\w.+-]+", str(opts["run_name"])):
        raise ValueError(f"Received: run_name={opts['run_name']!r}. Expected letters, digits and . _ + - only.")
    return num_frames, variant or img_model_name, opts


def _prepare_run(data_dir, opts: dict, banner: str) -> _Run:
    """Discover and split, then create save_dir (an unwritable one fails now, not after training)."""
    face = face_settings(opts["face_crop"])
    cache_dir = default_cache_dir() if opts["cache_dir"] is None else Path(opts["cache_dir"])
    say = print if opts["verbose"] else (lambda *a, **k: None)
    run = _Run(data_dir, opts, say, cache_dir, face)  # a bad data_dir fails here, before any folder is made
    save_dir = Path(opts["save_dir"])
    save_dir.mkdir(parents=True, exist_ok=True)
    if not os.access(save_dir, os.W_OK):
        raise PermissionError(f"Received: save_dir={str(save_dir)!r}, which is not writable.")
    say(banner)
    return run


def _class_counts(labels: np.ndarray) -> str:
    return f"{(labels == 0).sum()} real, {(labels == 1).sum()} fake"


def _require_both_classes(labels: np.ndarray, rows: dict[str, np.ndarray], hint: str) -> None:
    """Every split needs real and fake videos: training, early stopping and AUC depend on it."""
    for split, r in rows.items():
        if len(np.unique(labels[r])) < 2:
            raise ValueError(f"Received: a {split!r} split of {r.sum()} video(s) ({_class_counts(labels[r])}). {hint}")


def _check_choice(name: str, value, valid: Sequence) -> Any:
    if value not in valid:
        raise ValueError(f"Received: {name}={value!r}. Expected one of {list(valid)}.")
    return value


def _check_options(options: dict, valid: dict) -> dict:
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise ValueError(f"Received unknown option(s) {unknown}. Expected some of {sorted(valid)}.")
    return {**valid, **options}


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _run_name(dataset: str, backbone: str, num_frames: int, head: str) -> str:
    return f"{dataset}_{backbone}_f{num_frames}_{head}_{time.strftime('%Y%m%d-%H%M%S')}"


def _plot_explanations(run_dir: Path, model, table: pd.DataFrame, num_frames: int, frames: int = 8) -> None:
    """`explain.png`: the test videos with the highest P(fake) (the most confident fake) and the
    lowest (the most confident real), up to `frames` crops each, their Grad-CAM overlays and
    every frame's evidence. Best effort: a failure is a warning, never a failed run (the run
    is complete before this)."""
    test = table[table.split == "test"].dropna(subset=["score"])
    picks = [(kind, rows) for kind, rows in (("highest P(fake)", test.sort_values("score").tail(1)),
                                             ("lowest P(fake)", test.sort_values("score").head(1)))
             if len(rows)]
    config = _read_config(run_dir)
    # Heatmaps need the backbone: a run on cached embeddings never built it, and building it
    # for a picture would cost more than the picture (7 s for MobileNetV2): frames then.
    heatmaps = bool(coatnet.canonical_name(config["img_model_name"]) or config.get("fine_tune")) or backbones.is_built(
        config["img_model_name"], config["weights"])
    try:
        items = []
        for kind, rows in picks:
            path = rows.path.iloc[0]
            result = explain_video(path, run_dir, model=model, heatmaps=heatmaps,
                                   heatmap_frames=explain.shown_frames(num_frames, frames))
            items.append((f"{kind}: {Path(path).name}", result))
        if items:
            explain.plot_explanations(items, run_dir / "explain.png", limit=frames)
    except Exception as err:  # noqa: BLE001: a picture must not fail a finished run
        warnings.warn(f"explain.png not written: {type(err).__name__}: {err}", stacklevel=3)


def _new_run_dir(save_dir, run_name: str) -> Path:
    """`save_dir/run_name`, or `run_name-2`, `-3`, ... : created here, so parallel runs never share one."""
    base, n = Path(save_dir) / run_name, 1
    while True:
        run_dir = base if n == 1 else base.with_name(f"{base.name}-{n}")
        try:
            run_dir.mkdir(parents=True)
            return run_dir
        except FileExistsError:
            n += 1


def _save_run(run_dir: Path, model, config, metrics, history, videos, scores: pd.DataFrame) -> None:
    with atomic_path(run_dir / "model.keras") as tmp:
        model.save(tmp)
    write_json(run_dir / "config.json", config)
    write_text(run_dir / "history.csv", history.to_csv(index=False))
    table = videos.assign(identities=videos.identities.map("|".join))[["path", "label", "identities", "group", "split",
                                                                        "dataset"]]
    write_text(run_dir / "splits.csv", table.to_csv(index=False))
    plot_learning_curves(history, run_dir / "learning_curves.png")
    write_text(run_dir / "scores.csv", scores.to_csv(index=False))
    plot_roc(scores, run_dir / "roc.png")
    plot_score_histograms(scores, run_dir / "scores.png")
    write_json(run_dir / "metrics.json", metrics)  # last: its presence marks a finished run


# --------------------------------------------------------------------------- search

_NOT_IN_RUN_IDENTITY = ("verbose", "save_dir", "cache_dir", "run_name", "distribution")  # same results


def search(
    data_dir: str | os.PathLike,
    num_frames: Sequence[int] = (16,),
    img_model_names: Sequence[str] = ("MobileNetV2",),
    heads: Sequence[dict] = ({},),
    n_trials: int | None = None,
    seed: int = 0,
    **options: Any,
) -> pd.DataFrame:
    """Train every combination of `num_frames` x `img_model_names` x `heads` as a saved run.

    A head is a dict of `train_test_classifier` options (head layers, dropout, optimizer,
    learning rate, ...); a list value in it is a choice, expanded into one head per value
    (for `rnn_units` / `dense_units`, a list of lists). `options` apply to every run.
    Embeddings are computed once per (video, frames, backbone) and shared through the cache.
    Each run's name ends in a hash of its full configuration, so runs already finished in
    `save_dir` are skipped: an interrupted search resumes. With `n_trials`, that many
    combinations are drawn at random (seeded by `seed`) instead of the full grid. Every
    combination is checked before the first run trains. Returns the leaderboard of the
    search's runs (as `compare_saved_models`).

    >>> search("data/demo", num_frames=[16, 32], heads=[{"rnn": "gru", "rnn_units": [[64], [128]]},
    ...        {"rnn": None}], weights="random", learning_rate=1e-3)  # doctest: +SKIP
    """
    options = seed_compat.for_search(options)  # seed names translated once; callbacks refused
    if "run_name" in options:
        raise ValueError("Received: run_name with search. Expected none: each run is named after its configuration.")
    for name, values in (("num_frames", num_frames), ("img_model_names", img_model_names), ("heads", heads)):
        if isinstance(values, (str, dict)) or not isinstance(values, Sequence) or not values:
            raise ValueError(f"Received: {name}={values!r}. Expected a non-empty list.")
    expanded = [h for head in heads for h in _expand_head(head)]
    grid = [(f, m, h) for f in num_frames for m in img_model_names for h in expanded]
    if n_trials is not None:
        check_int("n_trials", n_trials, 1)
        picked = np.random.default_rng(check_int("seed", seed, 0)).permutation(len(grid))[:n_trials]
        grid = [grid[i] for i in sorted(picked)]
    options = {"verbose": 0, **options}
    runs = []
    for frames, model_name, head in grid:  # all checked before any training
        checked = check_run_options(frames, model_name, {**options, **head})
        runs.append((checked, _search_run_name(data_dir, *checked)))
    save_dir = Path(options.get("save_dir", RUN_OPTIONS["save_dir"]))
    progress = progress_bar(len(runs), "Search", unit="run")
    try:
        for (frames, model_name, opts), run_name in runs:
            progress.set_postfix_str(run_name[:48])
            if not (save_dir / run_name / "metrics.json").exists():
                train_test_classifier(data_dir, frames, model_name, **{**opts, "run_name": run_name})
            elif opts["verbose"]:
                progress.write(f"{run_name}: finished already, reused (delete its folder to train it again)")
            progress.update(1)
    finally:
        progress.close()
    table = compare_saved_models(save_dir)
    return table[table.run.isin([name for _, name in runs])].reset_index(drop=True)


def _expand_head(head: dict) -> list[dict]:
    """One dict per combination of the list-valued entries of `head`."""
    if not isinstance(head, dict):
        raise ValueError(f"Received: a head {head!r}. Expected a dict of options.")
    choices = []
    for key, value in head.items():
        nested = key in ("rnn_units", "dense_units")
        is_choice = isinstance(value, list) and (not nested or all(isinstance(v, (list, tuple)) for v in value))
        if nested and is_choice and not value:
            is_choice = False  # dense_units=[] means no dense layers
        choices.append([(key, tuple(v) if nested else v) for v in value] if is_choice
                       else [(key, tuple(value) if nested else value)])
    combos = [{}]
    for options in choices:
        combos = [{**c, k: v} for c in combos for k, v in options]
    return combos


def _search_run_name(data_dir, num_frames: int, model_name: str, opts: dict) -> str:
    """`<data folder>_<model>_f<frames>_<head>_<hash of everything that defines the run>`."""
    identity = {k: v for k, v in opts.items() if k not in _NOT_IN_RUN_IDENTITY
                and not (k in seed_compat.TRAINING_OPTIONS and v == seed_compat.TRAINING_OPTIONS[k])}
    payload = json.dumps(dict(data_dir=str(Path(data_dir).resolve()), num_frames=num_frames, model=model_name,
                              **identity), sort_keys=True, default=str)
    digest = hashlib.sha256(payload.encode()).hexdigest()[:10]
    if opts.get("fine_tune"):
        head = finetune.HEAD_NAME
    elif model_name in BACKBONES:
        head = head_name(**{k: opts[k] for k in HEAD_OPTIONS if k != "dropout"})
    else:
        head = f"{opts['image_size']}px"
    return f"{_file_safe(Path(data_dir).resolve().name)}_{model_name}_f{num_frames}_{head}_{digest}"


# --------------------------------------------------------------------------- saved runs


def compare_saved_models(save_dir: str | os.PathLike = "saved_models", plot: bool = False) -> pd.DataFrame:
    """One row per finished run in `save_dir`, best first by VALIDATION AUC (ties: lower
    validation loss).

    Test metrics are shown, never used to rank: choosing the top row is choosing on
    validation. `test_videos` and `test_split` (a short fingerprint of the test videos)
    show which rows were tested on the same videos and so are comparable. Cross-dataset
    evaluations (`evaluate`) add columns `eval_<dataset>_auc` and `eval_<dataset>_eer`.
    With `plot=True` a chart of the runs' AUCs is written to `save_dir/leaderboard.png`
    and kept in `table.attrs["figure"]` for notebooks. Folders that cannot be read are
    reported in a warning, not fatal.

    >>> compare_saved_models("saved_models")[["run", "backbone", "val_auc", "test_auc"]]  # doctest: +SKIP
    """
    save_dir = Path(save_dir)
    if not save_dir.is_dir():
        raise FileNotFoundError(f"Received: save_dir={str(save_dir)!r}, which is not a directory.")
    rows, unreadable = [], []
    # Hidden folders (.ipynb_checkpoints) and runs still in progress (no metrics.json yet) are not runs.
    finished = (p for p in save_dir.iterdir() if p.is_dir() and not p.name.startswith(".") and (p / "metrics.json").exists())
    for run_dir in sorted(finished):
        try:
            config = json.loads((run_dir / "config.json").read_text())
            metrics = json.loads((run_dir / "metrics.json").read_text())
            evals = {f.stem[len("eval_"):]: json.loads(f.read_text()) for f in sorted(run_dir.glob("eval_*.json"))}
        except (OSError, ValueError) as err:
            unreadable.append(f"{run_dir.name} ({type(err).__name__})")
            continue
        rows.append(dict(
            run=run_dir.name, dataset=config.get("dataset"), backbone=config.get("img_model_name"),
            num_frames=config.get("num_frames"), head=config.get("head"), weights=config.get("weights"),
            optimizer=config.get("optimizer"), learning_rate=config.get("learning_rate"), params=config.get("params"),
            **{f"{s}_{m}": metrics.get(s, {}).get(m) for s in ("val", "test")
               for m in ("auc", "accuracy", "balanced_accuracy", "eer", "log_loss")},
            test_videos=metrics.get("test", {}).get("videos"), test_split=_test_split(run_dir, metrics),
            epochs=metrics.get("epochs_trained"),
            train_seconds=metrics.get("train_seconds"), skipped=len(metrics.get("skipped", [])),
            created=config.get("created"),
            **{f"eval_{name}_{m}": e.get(m) for name, e in evals.items() for m in ("auc", "eer")},
        ))
    if unreadable:
        warnings.warn(f"Unreadable run folders in {save_dir}: {', '.join(unreadable)}", stacklevel=2)
    table = pd.DataFrame(rows)
    if not table.empty:
        table = table.sort_values(["val_auc", "val_log_loss"], ascending=[False, True], na_position="last",
                                  kind="stable").reset_index(drop=True)
    if plot and not table.empty:
        table.attrs["figure"] = plot_leaderboard(table, path=save_dir / "leaderboard.png")
    return table


def _test_split(run_dir: Path, metrics: dict) -> str | None:
    """The run's test-split fingerprint; runs saved before it existed: from their scores.csv."""
    if "test_split" in metrics:
        return metrics["test_split"]
    try:
        scores = pd.read_csv(run_dir / "scores.csv").query("split == 'test'")
    except (OSError, ValueError, pd.errors.UndefinedVariableError):
        return None
    return util.split_fingerprint(scores.path, scores.label)


def _read_config(run_dir) -> dict:
    file = Path(run_dir) / "config.json"
    if not file.is_file():
        raise FileNotFoundError(f"Received: run_dir={str(run_dir)!r}, which has no config.json. Expected a saved run folder.")
    return json.loads(file.read_text())


def load_classifier(run_dir: str | os.PathLike) -> keras.Model:
    """The run's best model (`model.keras`), loaded with safe_mode."""
    file = Path(run_dir) / "model.keras"
    if not file.is_file():
        raise FileNotFoundError(f"Received: run_dir={str(run_dir)!r}, which has no model.keras. Expected a saved run folder.")
    return keras.saving.load_model(file, safe_mode=True)


def predict_video(path: str | os.PathLike, run_dir: str | os.PathLike, truncated: str | None = None) -> float:
    """P(fake) for one video, with the run's own backbone, weights, frame sampling and face crops.

    A truncated file (`util.check_truncation`) raises `TruncatedVideoError` unless the run
    kept such files or `truncated="keep"` asks to score the frames that decode.

    >>> predict_video("data/demo/fake/fake_000.mp4", "saved_models/<run>")  # doctest: +SKIP
    0.93
    """
    config = _read_config(run_dir)
    if truncated is not None:
        config["truncated"] = _check_choice("truncated", truncated, TRUNCATED)
    scores, errors, _ = _score_videos(run_dir, config, [str(path)])
    if errors:
        raise util.VideoReadError(errors[str(path)])
    return float(scores[0])


def evaluate(run_dir: str | os.PathLike, data_dir: str | os.PathLike, split: str = "test",
             compression: str | None = None) -> dict:
    """Metrics of a saved run on another dataset (or its own), saved as `eval_<name>.json` in the run
    (the returned dict's `written` says where).

    The videos of `data_dir` are split as the run split its own data (same sizes and seed;
    official splits kept, so Celeb-DF's `split="test"` is its official test list), and
    `split` of them ("train", "val", "test" or "all") are scored. `<name>` is the dataset
    folder's name, with `-<split>` unless the split is "test". Unreadable videos are
    skipped and listed. `compare_saved_models` shows `eval_<name>_auc` and `_eer`. Videos whose
    content is one of the run's training or validation videos (a copy, a regenerated demo)
    are warned about and listed under `seen_in_training`.

    >>> evaluate("saved_models/<dfd run>", "data/Celeb-DF-v2")["auc"]  # doctest: +SKIP
    0.64
    """
    config = _read_config(run_dir)
    if split not in (*util.SPLITS, "all"):
        raise ValueError(f"Received: split={split!r}. Expected one of {[*util.SPLITS, 'all']}.")
    config = {**config, "compression": compression or config.get("compression", "c23")}
    if split == "all":
        videos = util.discover_videos(data_dir, config["compression"])
    else:
        videos = _split_as_run(data_dir, config)
        videos = videos[videos.split == split].reset_index(drop=True)
    if videos.empty:
        raise ValueError(f"Received: split={split!r}, which holds no videos of {str(data_dir)!r}.")
    seen = _seen_in_training(run_dir, videos.path)
    if seen:
        warnings.warn(f"{len(seen)} of the {len(videos)} videos to evaluate are the run's own training or validation "
                      f"videos (same file content, e.g. {seen[0]!r}): these metrics do not measure generalization.",
                      stacklevel=2)
    scores, errors, _ = _score_videos(run_dir, config, videos.path.tolist())
    ok = ~np.isnan(scores)
    labels = videos.label.to_numpy()
    name = _file_safe(Path(data_dir).resolve().name) + ("" if split == "test" else f"-{split}")
    metrics = dict(binary_metrics(labels[ok], scores[ok]), data_dir=str(Path(data_dir).resolve()), split=split,
                   dataset="+".join(sorted(videos.dataset.unique())), created=time.strftime("%Y-%m-%dT%H:%M:%S"),
                   skipped=[{"path": p, "error": e} for p, e in errors.items()], seen_in_training=seen)
    table = videos[["path", "label"]].assign(split=split, score=scores)[ok]
    write_text(Path(run_dir) / f"eval_{name}_scores.csv", table.to_csv(index=False))
    write_json(Path(run_dir) / f"eval_{name}.json", metrics)
    return {**metrics, "written": str(Path(run_dir) / f"eval_{name}.json")}


def _seen_in_training(run_dir, paths: Iterable[str]) -> list[str]:
    """The `paths` whose content is one of the run's training or validation videos (wherever they now are)."""
    splits_file = Path(run_dir) / "splits.csv"
    if not splits_file.is_file():
        return []
    splits = pd.read_csv(splits_file)
    trained = {content_fingerprint(p) for p in splits.path[splits.split.isin(["train", "val"])] if Path(p).is_file()}
    return [p for p in paths if content_fingerprint(p) in trained]


def _run_face_and_cache(config: dict) -> tuple[FaceCrop | bool, Path]:
    """A run's face-crop settings and cache folder, from its config."""
    face = FaceCrop(**config["face_crop"]) if config.get("face_crop") else False
    return face, Path(config.get("cache_dir") or default_cache_dir())


def _score_videos(run_dir, config: dict, paths: list[str], model: keras.Model | None = None):
    """P(fake) per video as the run computes it (NaN where skipped), `{path: error}`, and for
    CoAtNet runs each video's per-frame scores (None otherwise). `model`: the run's, if loaded.

    With the run's `FaceCrop.max_faces` above 1, every face track of a video is scored and
    the video's score is the highest: a video is fake if any face in it is."""
    scores, errors, frame_scores, _ = _score_tracks(run_dir, config, paths, model)
    return scores, errors, frame_scores


def _score_tracks(run_dir, config: dict, paths: list[str], model: keras.Model | None = None):
    """`_score_videos`, plus the face track that gave each video's score (0 without face crops)."""
    face, cache_dir = _run_face_and_cache(config)
    scores, errors, frame_scores, model = _score_track(run_dir, config, paths, model, 0)
    best = np.zeros(len(paths), int)
    if not face or face.max_faces == 1:
        return scores, errors, frame_scores, best
    seed = _sampling_seed(config["strategy"], config["seed"])
    # The boxes of every track are cached by now (scoring track 0 detected them): counting is cheap.
    counts = [util.count_face_tracks(p, config["num_frames"], config["strategy"], seed, face, cache_dir)
              if not np.isnan(scores[i]) else 0 for i, p in enumerate(paths)]
    for track in range(1, face.max_faces):
        todo = [i for i, count in enumerate(counts) if count > track]
        if not todo:
            break
        more, _, more_frames, model = _score_track(run_dir, config, [paths[i] for i in todo], model, track)
        for j, i in enumerate(todo):
            if more[j] > scores[i]:
                scores[i], best[i] = more[j], track
                if frame_scores is not None:
                    frame_scores[i] = more_frames[j]
    return scores, errors, frame_scores, best


def _score_track(run_dir, config: dict, paths: list[str], model, track: int):
    """One face track's `(scores, errors, frame scores, model)`; the model loaded once."""
    face, cache_dir = _run_face_and_cache(config)
    scores = np.full(len(paths), np.nan)
    if coatnet.canonical_name(config["img_model_name"]) or config.get("fine_tune"):  # frame classifiers
        model = load_classifier(run_dir) if model is None else model
        files, errors, _ = _cache_crops(paths, config["num_frames"], config["image_size"], face, cache_dir,
                                        config["strategy"], config["seed"], quiet=track > 0, track=track,
                                        on_truncated=_on_truncated(config))
        ok = np.flatnonzero([f is not None for f in files])
        frame_scores = [None] * len(paths)
        if len(ok):
            frames = FrameDataset([files[i] for i in ok], np.zeros(len(ok), int), config["batch_size"])
            per_frame, scores[ok] = _score_frames(model, frames, config["video_score"])
            for video, i in enumerate(ok):
                frame_scores[i] = per_frame[frames.video_ids == video]
        return scores, errors, frame_scores, model
    identity = backbones.weights_identity(config["weights"])
    if identity != config["weights_identity"]:
        raise ValueError(f"The run's backbone weights changed: trained with {config['weights_identity']!r}, "
                         f"now {config['weights']!r} gives {identity!r}. Its scores would be meaningless.")
    model = load_classifier(run_dir) if model is None else model
    features, mask, errors, _ = _embed(paths, config["num_frames"], config["img_model_name"], config["weights"],
                                       cache_dir, face, config.get("embed_batch_size", 32), "skip", config["strategy"],
                                       config["seed"], 2, quiet=track > 0, track=track,
                                       on_truncated=_on_truncated(config))
    ok = mask.any(axis=1)
    if ok.any():
        scores[ok] = model.predict(features[ok], verbose=0).ravel()
    return scores, errors, None, model


# --------------------------------------------------------------------------- one video, explained


def explain_video(path: str | os.PathLike, run_dir: str | os.PathLike, cache_dir: str | os.PathLike | None = None,
                  max_side: int = 320, model: keras.Model | None = None, heatmaps: bool = False,
                  heatmap_frames: Sequence[int] | None = None, truncated: str | None = None) -> dict[str, Any]:
    """What a run sees and says about one video: P(fake), its label, the sampled frames and faces.

    Returns a dict: `score` (P(fake), as `predict_video` gives it), `threshold` (the run's,
    from metrics.json) and `label` ("FAKE" when score >= threshold, else "REAL"); `frames`
    uint8 RGB `(n, H, W, 3)`, the frames the run samples, shrunk to at most `max_side`
    pixels; `boxes` `(n, 4)`, the tracked face `(x, y, w, h)` in those frames, None when the
    run does not crop faces or found none; `track`, which face track gave the score and the
    boxes (0, the main face, unless the run's `max_faces` scores several: the highest
    wins), None without face crops; `face_found` (None without face crops);
    `frame_scores` `(n,)`, P(fake) per frame for CoAtNet runs, None for sequence heads (one
    score per video); `frame_evidence` `(num_frames,)` float32, signed: how much each sampled
    frame moves the score, P(fake) with all frames minus P(fake) without that frame (through
    the head's own Masking for sequence heads; from the other frames' scores for CoAtNet
    runs), 0 for padded frames; `mask` `(num_frames,)` bool, the frames the model saw. With
    `heatmaps=True` also `crops` uint8 `(num_frames, H, W, 3)`, the images the model saw
    (face crops; the resized frames without face crops), and `heatmaps` float32
    `(num_frames, H, W)` in [0, 1], Grad-CAM of P(fake) on each crop (`vidseq.explain`,
    TensorFlow backend), only for the frames in `heatmap_frames` when given (zero
    elsewhere); both None without `heatmaps`, which then cost nothing. `cache_dir` replaces the run's cache for this video's embeddings,
    crops and face boxes (the web app gives uploads a temp dir). `model`: the run's model
    when already loaded (`load_classifier`), so that scoring many videos loads it once.
    `truncated` as in `predict_video`. Raises VideoReadError for a file that is not a
    readable video (TruncatedVideoError for a truncated one unless kept).

    >>> result = explain_video("data/demo/fake/fake_000.mp4", "saved_models/<run>")  # doctest: +SKIP
    >>> result["label"], round(result["score"], 2), result["frames"].shape  # doctest: +SKIP
    ('FAKE', 0.93, (32, 240, 320, 3))
    """
    config = _read_config(run_dir)
    threshold = run_threshold(run_dir)  # a folder without metrics.json is no finished run: it says so
    if cache_dir is not None:
        config = {**config, "cache_dir": str(cache_dir)}
    if truncated is not None:
        config["truncated"] = _check_choice("truncated", truncated, TRUNCATED)
    face, cache = _run_face_and_cache(config)
    # Frames first: a bad file fails before any model loads, and the face boxes found here
    # are cached under the key the scoring below reads them with.
    frames, boxes = util.read_frames_and_boxes(path, config["num_frames"], config["strategy"],
                                               _sampling_seed(config["strategy"], config["seed"]), face, max_side,
                                               cache, on_truncated=_on_truncated(config))
    model = load_classifier(run_dir) if model is None else model  # once, for the score and the explanation
    scores, errors, frame_scores, best = _score_tracks(run_dir, config, [str(path)], model)
    if errors:
        raise util.VideoReadError(errors[str(path)])
    score, track = float(scores[0]), int(best[0])
    if track:  # another face scored higher than the main one: show its boxes
        _, boxes = util.read_frames_and_boxes(path, config["num_frames"], config["strategy"],
                                              _sampling_seed(config["strategy"], config["seed"]), face, max_side,
                                              cache, track=track, on_truncated=_on_truncated(config))
    result = {"score": score, "threshold": threshold, "label": "FAKE" if score >= threshold else "REAL",
              "frames": frames, "boxes": boxes, "track": track if face else None,
              "face_found": (boxes is not None) if face else None,
              "frame_scores": None if frame_scores is None else frame_scores[0]}
    return {**result, **_explain_frames(str(path), config, model, track, result, heatmaps, heatmap_frames)}


def _explain_frames(path: str, config: dict, model, track: int, result: dict, heatmaps: bool,
                    heatmap_frames) -> dict[str, Any]:
    """explain_video's per-frame evidence and mask, and with `heatmaps` the crops and their
    Grad-CAM (vidseq.explain), for the face track that gave the score."""
    face, cache = _run_face_and_cache(config)
    num_frames, seed = config["num_frames"], _sampling_seed(config["strategy"], config["seed"])
    if result["frame_scores"] is not None:  # a frame classifier (CoAtNet; a fine-tuned backbone)
        per_frame = result["frame_scores"]
        mask = np.arange(num_frames) < len(per_frame)
        out = {"frame_evidence": explain.frame_classifier_evidence(per_frame, config["video_score"], num_frames),
               "mask": mask, "crops": None, "heatmaps": None}
        if heatmaps:
            size = tuple(config.get("input_size") or (config["image_size"],) * 2)
            crops, valid, _ = util.read_frames_and_face(path, num_frames, size, config["strategy"], seed, face,
                                                        cache_dir=cache, track=track,
                                                        on_truncated=_on_truncated(config))
            chosen = np.flatnonzero(valid) if heatmap_frames is None else [t for t in heatmap_frames if valid[t]]
            maps = np.zeros(crops.shape[:3], np.float32)
            if len(chosen):
                maps[chosen] = explain.gradcam_frames(model, crops[chosen].astype(np.float32))
            out.update(crops=crops, heatmaps=maps)
        return out
    # The scored track's embeddings, read back from the cache that scoring just filled.
    features, mask, _, _ = _embed([path], num_frames, config["img_model_name"], config["weights"], cache, face,
                                  config.get("embed_batch_size", 32), "skip", config["strategy"], config["seed"], 1,
                                  quiet=True, track=track, on_truncated=_on_truncated(config))
    out = {"frame_evidence": explain.occlusion_evidence(model, features[0], mask[0]), "mask": mask[0],
           "crops": None, "heatmaps": None}
    if heatmaps:
        spec = backbones.get_spec(config["img_model_name"])
        crops, _, _ = util.read_frames_and_face(path, num_frames, spec.input_size, config["strategy"], seed, face,
                                                cache_dir=cache, track=track, on_truncated=_on_truncated(config))
        backbone = backbones.build_backbone(spec.name, config["weights"])
        out.update(crops=crops, heatmaps=explain.gradcam_sequence(model, backbone, spec.gradcam_layer,
                                                                 spec.preprocess(crops), features[0], mask[0],
                                                                 heatmap_frames))
    return out


# --------------------------------------------------------------------------- the seed toolkit's app call


def run_threshold(run_dir: str | os.PathLike) -> float:
    """The P(fake) at or above which a run calls a video FAKE: its validation split's threshold in
    metrics.json, else its test split's, else 0.5 (chosen on validation, never on test data).

    >>> run_threshold("saved_models/<run>")  # doctest: +SKIP
    0.5
    """
    file = Path(run_dir) / "metrics.json"
    if not file.is_file():
        raise FileNotFoundError(f"Received: run_dir={str(run_dir)!r}, which has no metrics.json. "
                                "Expected a finished run folder.")
    metrics = json.loads(file.read_text())
    for split in ("val", "test"):
        threshold = (metrics.get(split) or {}).get("threshold")
        if threshold is not None:
            return float(threshold)
    return 0.5


def classifier(video_path: str | os.PathLike, run: str | os.PathLike | None = None, num_frames: int | None = None,
               img_model_name: str | None = None, *, trained_classifier_path: str | os.PathLike | None = None) -> str:
    """"REAL" or "FAKE" for one video at the run's threshold (`run_threshold`): the seed toolkit's app call.

    `run` is a run folder or the `model.keras` inside one; the seed's keyword
    `trained_classifier_path` is accepted for it. The run's own backbone, weights, frame count,
    sampling and face crops are used (`predict_video`); `num_frames` and `img_model_name`, the
    seed's arguments for those, may be given but must match the run's. A bare `.keras` file
    outside a run folder (such as the seed's `artifacts/*.keras`) has no recorded settings and
    is refused.

    >>> classifier("data/demo/fake/fake_000.mp4", "saved_models/<run>")  # doctest: +SKIP
    'FAKE'
    >>> classifier(video_path="clip.mp4", trained_classifier_path="saved_models/<run>/model.keras")  # doctest: +SKIP
    'REAL'
    """
    if (run is None) == (trained_classifier_path is None):
        raise ValueError(f"Received: run={run!r}, trained_classifier_path={trained_classifier_path!r}. "
                         "Expected exactly one: a run folder or the model.keras inside one.")
    run = Path(run if run is not None else trained_classifier_path)
    run_dir = run.parent if run.suffix == ".keras" else run
    if not (run_dir / "config.json").is_file():
        raise FileNotFoundError(f"Received: {str(run)!r}, which is not a vidseq run folder (no config.json next to "
                                "model.keras). Expected a folder train_test_classifier saved, or its model.keras; "
                                "a seed toolkit .keras file holds no frame, backbone or colour settings: retrain it "
                                "with train_test_classifier.")
    config = _read_config(run_dir)
    for name, value in (("num_frames", num_frames), ("img_model_name", img_model_name)):
        if value is not None and value != config.get(name):
            raise ValueError(f"Received: {name}={value!r}. Expected the run's own {name}={config.get(name)!r} "
                             "(or leave it out).")
    score = predict_video(video_path, run_dir)
    return "FAKE" if score >= run_threshold(run_dir) else "REAL"
