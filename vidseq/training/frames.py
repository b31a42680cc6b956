"""The frame-classifier recipe: frames -> face crops on disk -> an image classifier -> frame
scores -> video scores. CoAtNet trains from scratch in one fit; a fine-tuned backbone
(`Family.fit_in_phases`) first trains its new head alone, then the backbone.

    >>> from vidseq.training.config import RunConfig
    >>> from vidseq.training.videos import RunVideos
    >>> config = RunConfig.from_options(8, "CoAtNet-0", image_size=64, epochs=1)
    >>> fitted = fit(RunVideos("data/demo", config), config)  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import time
from typing import Callable

from vidseq.utils.quiet import import_keras_quietly

import_keras_quietly()  # TensorFlow's start-up lines stay out of the terminal and notebooks
import keras
import numpy as np

from vidseq.features.extract import cache_crops
from vidseq.models.finetune import set_phase
from vidseq.training.callbacks import build_callbacks
from vidseq.training.config import RunConfig
from vidseq.training.distribution import check_distribution, distribution_scope
from vidseq.training.fit import class_weight, compile_model, keras_verbose
from vidseq.training.fitted import Fitted
from vidseq.training.frame_dataset import FrameDataset, score_frames
from vidseq.training.train_config import TrainConfig
from vidseq.training.videos import RunVideos


def fit(videos: RunVideos, config: RunConfig) -> Fitted:
    """Crop (cached), train on the training videos' frames, score validation and test videos."""
    family, train = config.family, config.train
    keras.utils.set_random_seed(config.seed)
    devices = check_distribution(train.distribution, train.batch_size)
    with distribution_scope(train.distribution):
        # The model first: weights that cannot load (ImageNet offline) fail before any video is cropped.
        model, recorded = family.build()(config.img_model_name, config.weights, config.image)
        files, errors, no_face = cache_crops(videos.videos.path, config.num_frames, config.input_size[0], videos.face,
                                             videos.cache_dir, config.data.strategy, config.seed,
                                             quiet=not config.verbose, on_truncated=config.data.on_truncated)
        rows = videos.drop_unusable(np.array([f is not None for f in files]), errors, no_face)
        sets = {
            split: FrameDataset([files[i] for i in np.flatnonzero(r)], videos.labels[r], train.batch_size,
                                shuffle=split == "train", augment=split == "train" and bool(config.image.augment),
                                seed=config.seed,
                                class_weight=class_weight(videos.labels[r]) if split == "train" else None,
                                pad_to=devices, workers=2)
            for split, r in rows.items()
        }
        callbacks = build_callbacks(train, progress=config.verbose == 1)
        scores, frame_scores = {}, {}
        started = time.time()
        if family.fit_in_phases:
            history = fit_phases(model, sets["train"], sets["val"], config,
                                 lambda m, t: compile_model(m, t, steps_per_epoch=len(sets["train"])),
                                 callbacks, verbose=keras_verbose(config))
        else:
            compile_model(model, train, steps_per_epoch=len(sets["train"]))
            history = model.fit(sets["train"], validation_data=sets["val"], epochs=train.epochs,
                                verbose=keras_verbose(config), callbacks=callbacks).history
        train_seconds = time.time() - started
        for split in ("val", "test"):
            frames = sets[split]
            per_frame, scores[split] = score_frames(model, frames, config.image.video_score)
            frame_scores[split] = (frames.labels[frames.video_ids], per_frame)
    recorded = dict(img_model_name=config.img_model_name, input_size=list(config.input_size), head=model.name,
                    **recorded)
    return Fitted(model, scores, history, train_seconds, int(rows["train"].sum()), recorded, frame_scores)


def fit_phases(model: keras.Model, train, val, config: RunConfig, compile: Callable[[keras.Model, TrainConfig], None],
               callbacks: list, verbose: int = 0) -> dict[str, list]:
    """Phase 1: `warmup_epochs` epochs of the head alone at `learning_rate` (no callbacks).
    Phase 2: up to `epochs` epochs with the top `trainable_layers` unfrozen at
    `fine_tune_learning_rate`, with `callbacks` (early stopping: best phase-2 weights kept).
    `compile(model, train_config)` compiles with the phase's settings. Returns both phases'
    history, one row per epoch."""
    history: dict[str, list] = {}

    def extend(more: dict[str, list]) -> None:
        for key, values in more.items():
            history.setdefault(key, []).extend(values)

    warmup = config.train.warmup_epochs
    # Each phase compiles its own schedule; "cosine" decays over the phase, without a warm-up.
    if warmup:
        set_phase(model, "head")
        compile(model, dataclasses.replace(config.train, epochs=warmup, warmup_epochs=0))
        extend(model.fit(train, validation_data=val, epochs=warmup, verbose=verbose).history)
    set_phase(model, "fine_tune", config.image.trainable_layers)
    compile(model, dataclasses.replace(config.train, learning_rate=config.fine_tune_rate, warmup_epochs=0))
    extend(model.fit(train, validation_data=val, initial_epoch=warmup, epochs=warmup + config.train.epochs,
                     verbose=verbose, callbacks=callbacks).history)
    return history


def score(config: RunConfig, paths: list[str], model: keras.Model, track: int = 0):
    """`(P(fake) per video (NaN where skipped), {path: error}, per-frame scores per video)` for face track `track`."""
    data = config.data
    files, errors, _ = cache_crops(paths, config.num_frames, config.input_size[0], data.face, config.cache_path,
                                   data.strategy, config.seed, quiet=track > 0, track=track,
                                   on_truncated=data.on_truncated)
    scores = np.full(len(paths), np.nan)
    ok = np.flatnonzero([f is not None for f in files])
    frame_scores = [None] * len(paths)
    if len(ok):
        frames = FrameDataset([files[i] for i in ok], np.zeros(len(ok), int), config.train.batch_size)
        per_frame, scores[ok] = score_frames(model, frames, config.image.video_score)
        for video, i in enumerate(ok):
            frame_scores[i] = per_frame[frames.video_ids == video]
    return scores, errors, frame_scores


__all__ = ["fit", "fit_phases", "score"]
