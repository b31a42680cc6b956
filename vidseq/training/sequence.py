"""The sequence-head recipe: a frozen backbone's cached frame embeddings -> a sequence head.

`fit` embeds the run's videos once (or reads them from the cache), trains the family's head
on the whole split in memory and scores the validation and test videos; `score` scores
videos with a trained head.

    >>> from vidseq.training.config import RunConfig
    >>> from vidseq.training.videos import RunVideos
    >>> config = RunConfig.from_options(16, "MobileNetV2", weights="random")
    >>> fitted = fit(RunVideos("data/demo", config), config)  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import time

from vidseq.utils.quiet import import_keras_quietly

import_keras_quietly()  # TensorFlow's start-up lines stay out of the terminal and notebooks
import keras
import numpy as np

from vidseq.features import backbone_models, backbones
from vidseq.features.extract import embed_with_skips
from vidseq.models.heads import set_feature_stats
from vidseq.training.callbacks import build_callbacks
from vidseq.training.config import RunConfig
from vidseq.training.distribution import check_distribution, distribution_scope, pad_rows
from vidseq.training.fit import class_weight, compile_model, keras_verbose
from vidseq.training.fitted import Fitted
from vidseq.training.videos import RunVideos


def fit(videos: RunVideos, config: RunConfig) -> Fitted:
    """Embed (cached), train the head on the training videos, score validation and test."""
    spec = backbones.get_spec(config.img_model_name)
    weights = backbone_models.resolve_weights(spec.name, config.weights)
    features, mask, errors, no_face = embed_with_skips(
        videos.videos.path, config.num_frames, spec.name, weights, videos.cache_dir, videos.face,
        config.embed_batch_size, "skip", config.data.strategy, config.seed, 2, quiet=not config.verbose,
        on_truncated=config.data.on_truncated)
    rows = videos.drop_unusable(mask.any(axis=1), errors, no_face)
    data = {s: (features[r], videos.labels[r]) for s, r in rows.items()}
    train = config.train

    keras.utils.set_random_seed(config.seed)
    devices = check_distribution(train.distribution, train.batch_size)
    with distribution_scope(train.distribution):
        model = config.family.build()(config.num_frames, spec.feature_dim, **dataclasses.asdict(config.head))
        if config.head.normalize:
            set_feature_stats(model, features[rows["train"]], mask[rows["train"]])
        # Class weights as sample weights: padding rows (several devices) then weigh nothing.
        weight_of = class_weight(data["train"][1])
        x, y, weight = pad_rows(devices, *data["train"], np.array([weight_of[y] for y in data["train"][1]],
                                                                  np.float32))
        val = pad_rows(devices, *data["val"], np.ones(len(data["val"][1]), np.float32))
        compile_model(model, train, steps_per_epoch=-(-len(y) // train.batch_size))
        started = time.time()
        history = model.fit(x, y, sample_weight=weight, validation_data=val, epochs=train.epochs,
                            batch_size=train.batch_size, shuffle=True, verbose=keras_verbose(config),
                            callbacks=build_callbacks(train, progress=config.verbose == 1)).history
        train_seconds = time.time() - started
        # One predict over val and test, in full batches only (a partial last batch is a new
        # shape: TensorFlow traces the step again); the test loss and accuracy are those of
        # `model.evaluate`, computed from the same scores.
        x_val = data["val"][0]
        joint = np.concatenate([x_val, data["test"][0]])
        joint = model.predict(pad_rows(train.batch_size, joint)[0], batch_size=train.batch_size,
                              verbose=0).ravel()[: len(joint)]
    recorded = dict(
        img_model_name=spec.name, input_size=list(spec.input_size), feature_dim=spec.feature_dim, head=model.name,
        weights=backbones.weights_entry(weights), weights_identity=backbones.weights_identity(weights),
    )
    return Fitted(model, {"val": joint[: len(x_val)], "test": joint[len(x_val) :]}, history, train_seconds,
                  len(data["train"][1]), recorded)


def score(config: RunConfig, paths: list[str], model: keras.Model, track: int = 0, perturb=None):
    """`(P(fake) per video (NaN where skipped), {path: error}, None)` for face track `track`, the
    sampled frames degraded by `perturb` (a `vidseq.data.perturb.Perturbation`) when given."""
    data = config.data
    features, mask, errors, _ = embed_with_skips(paths, config.num_frames, config.img_model_name, config.weights,
                                                 config.cache_path, data.face, config.embed_batch_size, "skip",
                                                 data.strategy, config.seed, 2, quiet=track > 0, track=track,
                                                 on_truncated=data.on_truncated, perturb=perturb)
    scores = np.full(len(paths), np.nan)
    ok = mask.any(axis=1)
    if ok.any():
        scores[ok] = model.predict(features[ok], verbose=0).ravel()
    return scores, errors, None


__all__ = ["fit", "score"]
