"""The sequence-head recipe: frame features in the cache -> a sequence head.

The features are a frozen backbone's embeddings (computed into the cache once, where
missing) or a named feature set someone wrote (`img_model_name="features:<name>"`,
`vidseq.features.store`). `fit` trains the family's head on the training videos' features
streamed from the cache in batches (`feature_batches`: memory holds a few batches, not the
dataset) and scores the validation and test videos; `score` scores videos with a trained head.

    >>> from vidseq.training.config import RunConfig
    >>> from vidseq.training.videos import RunVideos
    >>> config = RunConfig.from_options(16, "MobileNetV2", weights="random")
    >>> fitted = fit(RunVideos("data/demo", config), config)  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

from vidseq.utils.quiet import import_keras_quietly

import_keras_quietly()  # TensorFlow's start-up lines stay out of the terminal and notebooks
import keras
import numpy as np

from vidseq.features import backbone_models, backbones
from vidseq.features.extract import cache_embeddings
from vidseq.features.store import FeatureStore, feature_set_name, load_entry
from vidseq.models.heads import set_streamed_feature_stats
from vidseq.training.callbacks import build_callbacks
from vidseq.training.config import RunConfig
from vidseq.training.distribution import check_distribution, distribution_scope
from vidseq.training.feature_dataset import feature_batches
from vidseq.training.fit import class_weight, compile_model, keras_verbose
from vidseq.training.fitted import Fitted
from vidseq.training.videos import RunVideos


def fit(videos: RunVideos, config: RunConfig) -> Fitted:
    """Cache the features (embedding the videos missing there; a feature set's are there), train
    the head on the training videos' features streamed from the cache, score validation and test."""
    source = feature_source(config)
    files, errors, no_face = cached_features(config, videos.videos.path.tolist(), quiet=not config.verbose)
    rows = videos.drop_unusable(np.array([f is not None for f in files]), errors, no_face)
    split = {s: np.flatnonzero(r) for s, r in rows.items()}
    train = config.train

    keras.utils.set_random_seed(config.seed)
    devices = check_distribution(train.distribution, train.batch_size)
    shape = (config.num_frames, source["feature_dim"])
    # Class weights as sample weights: padding rows (several devices) then weigh nothing.
    labels = videos.labels[split["train"]]
    training = feature_batches([files[i] for i in split["train"]], labels, train.batch_size, shape, shuffle=True,
                               seed=config.seed, class_weight=class_weight(labels), pad_to=devices)
    validation = feature_batches([files[i] for i in split["val"]], videos.labels[split["val"]], train.batch_size,
                                 shape, pad_to=devices)
    with distribution_scope(train.distribution):
        model = config.family.build()(config.num_frames, source["feature_dim"], **dataclasses.asdict(config.head))
        if config.head.normalize:
            set_streamed_feature_stats(model, (load_entry(files[i]) for i in split["train"]))
        compile_model(model, train, steps_per_epoch=int(training.cardinality()))
        started = time.time()
        history = model.fit(training, validation_data=validation, epochs=train.epochs, shuffle=False,
                            verbose=keras_verbose(config),
                            callbacks=build_callbacks(train, progress=config.verbose == 1)).history
        train_seconds = time.time() - started
        # One predict over val and test; the test loss and accuracy are those of
        # `model.evaluate`, computed from the same scores.
        joint = predict(model, [files[i] for i in (*split["val"], *split["test"])], train.batch_size, shape)
    scores = {"val": joint[: len(split["val"])], "test": joint[len(split["val"]) :]}
    return Fitted(model, scores, history, train_seconds, len(labels), dict(source, head=model.name))


def score(config: RunConfig, paths: list[str], model: keras.Model, track: int = 0, perturb=None):
    """`(P(fake) per video (NaN where skipped), {path: error}, None)` for face track `track`, the
    sampled frames degraded by `perturb` (a `vidseq.data.perturb.Perturbation`) when given."""
    files, errors, _ = cached_features(config, paths, quiet=track > 0, track=track, perturb=perturb)
    scores = np.full(len(paths), np.nan)
    ok = np.flatnonzero([f is not None for f in files])
    if len(ok):
        shape = (config.num_frames, model.input_shape[-1])
        scores[ok] = predict(model, [files[i] for i in ok], config.train.batch_size, shape)
    return scores, errors, None


def predict(model: keras.Model, files: list[Path], batch_size: int, shape: tuple[int, int]) -> np.ndarray:
    """P(fake) of the videos whose cache entries are `files` (features of `shape`), in full
    batches only (a partial last batch would be a new shape: TensorFlow would trace the step again)."""
    batches = feature_batches(files, np.zeros(len(files), int), batch_size, shape, pad_to=batch_size)
    return model.predict(batches, verbose=0).ravel()[: len(files)]


def cached_features(config: RunConfig, paths: list[str], quiet: bool = False, track: int = 0,
                    perturb=None) -> tuple[list[Path | None], dict[str, str], list[str]]:
    """Each video's cache entry (None where skipped), `{path: why}` of the skipped videos, and
    the videos where no face was found: the run's feature set's entries, or its backbone's
    embeddings (computed into the cache where missing) of face track `track`, of frames
    degraded by `perturb` when given."""
    name = feature_set_name(config.img_model_name)
    if name is not None:
        if perturb is not None:
            raise ValueError(f"Received: perturb={perturb.label!r} for a run on feature set {name!r}. Expected no "
                             "perturbation: its features were computed elsewhere, from frames vidseq never sees.")
        files, errors = FeatureStore(name, config.cache_path).entry_files(paths)
        return files, errors, []
    data = config.data
    weights = backbone_models.resolve_weights(config.img_model_name, config.weights)
    return cache_embeddings(paths, config.num_frames, config.img_model_name, weights, config.cache_path,
                            face_crop=data.face, batch_size=config.embed_batch_size, on_error="skip",
                            strategy=data.strategy, seed=config.seed, quiet=quiet, track=track,
                            on_truncated=data.on_truncated, feature_dtype=config.feature_dtype, perturb=perturb)


def feature_source(config: RunConfig) -> dict[str, Any]:
    """What config.json records of where a run's features come from: the backbone (its input
    size, feature size and weights) or the feature set; `weights_identity` changes whenever
    the features would. A feature set must exist and hold `config.num_frames` frames per video."""
    name = feature_set_name(config.img_model_name)
    if name is not None:
        store = FeatureStore(name, config.cache_path)
        info = store.require()
        if info["num_frames"] != config.num_frames:
            raise ValueError(f"Received: num_frames={config.num_frames} with feature set {name!r}, whose videos have "
                             f"{info['num_frames']} frames each. Expected num_frames={info['num_frames']}.")
        return dict(img_model_name=config.img_model_name, input_size=None, feature_dim=info["feature_dim"],
                    weights=None, weights_identity=store.identity)
    spec = backbones.get_spec(config.img_model_name)
    weights = backbone_models.resolve_weights(spec.name, config.weights)
    return dict(img_model_name=spec.name, input_size=list(spec.input_size), feature_dim=spec.feature_dim,
                weights=backbones.weights_entry(weights), weights_identity=backbones.weights_identity(weights))


__all__ = ["fit", "score", "predict", "cached_features", "feature_source"]
