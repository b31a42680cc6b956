"""Training: one table of recipes (sequence head, frame classifier) behind `train_test_classifier`.

Each recipe takes a checked `RunConfig` and a `Run` (the split videos and the run folder),
trains, scores the validation and test splits, and saves the run.

    >>> from vidseq.training import train_test_classifier
    >>> labels, model, (loss, acc) = train_test_classifier("data/demo", 16, weights="random")  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path
from typing import Any, Callable

from vidseq.quiet import import_keras_quietly

import_keras_quietly()  # TensorFlow's start-up lines stay out of the terminal and notebooks
import keras
import numpy as np

from vidseq import backbones, coatnet, finetune, seed_compat
from vidseq.config import COATNET, FINETUNE, SEQUENCE, HeadConfig, RunConfig, TrainConfig, family_options
from vidseq.distribution import check_distribution, distribution_scope, pad_rows
from vidseq.extract import cache_crops, embed_with_skips
from vidseq.frame_dataset import FrameDataset
from vidseq.heads import build_classifier, set_feature_stats
from vidseq.metrics import binary_metrics
from vidseq.progress import EpochBar
from vidseq.runs import LABELS, Run
from vidseq.scoring import plot_run_explanations, score_frames


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
    argument and {run_options} (`vidseq.config.RunConfig`).

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
    config = RunConfig.from_options(num_frames, img_model_name, **options)
    run = Run(data_dir, config)  # a bad data_dir fails here, before any folder is made
    run.say(f"Image Model: {config.img_model_name}, Image Size: {config.input_size}")
    model, recorded, metrics, fit, train_seconds, train_videos, scores = RECIPES[config.family](run, config)
    run_dir, table = run.finish(model, recorded, metrics, fit, train_seconds, train_videos, scores)
    plot_run_explanations(run_dir, model, table)
    test = metrics["test"]
    auc = "n/a" if test["auc"] is None else f"{test['auc']:.3f}"
    run.say(f"TEST: loss {test['log_loss']:.4f}, accuracy {test['accuracy']:.3f}, AUC {auc} -> {run_dir}")
    return list(LABELS), model, (metrics["test_loss"], metrics["test_acc"])


def _with_defaults(family: str) -> str:
    return ", ".join(f"`{k}={v!r}`" for k, v in family_options(family).items() if k not in ("verbose", "callbacks"))


train_test_classifier.__doc__ = train_test_classifier.__doc__.format(
    run_options=", ".join(f"`{k}`" for k in family_options(SEQUENCE)
                          if k not in {f.name for f in dataclasses.fields(HeadConfig)}),
    image_options=_with_defaults(COATNET), finetune_options=_with_defaults(FINETUNE),
)


def train_sequence_head(run: Run, config: RunConfig):
    """Frozen backbone -> cached embeddings -> a sequence head trained on the whole split in memory."""
    spec = backbones.get_spec(config.img_model_name)
    weights = backbones.resolve_weights(spec.name, config.weights)
    features, mask, errors, no_face = embed_with_skips(
        run.videos.path, config.num_frames, spec.name, weights, run.cache_dir, run.face, config.embed_batch_size,
        "skip", config.data.strategy, config.seed, 2, quiet=not config.verbose, on_truncated=config.data.on_truncated)
    rows = run.drop_unusable(mask.any(axis=1), errors, no_face)
    data = {s: (features[r], run.labels[r]) for s, r in rows.items()}
    train = config.train

    keras.utils.set_random_seed(config.seed)
    devices = check_distribution(train.distribution, train.batch_size)
    with distribution_scope(train.distribution):
        model = build_classifier(config.num_frames, spec.feature_dim, **dataclasses.asdict(config.head))
        if config.head.normalize:
            set_feature_stats(model, features[rows["train"]], mask[rows["train"]])
        # Class weights as sample weights: padding rows (several devices) then weigh nothing.
        weight_of = class_weight(data["train"][1])
        x, y, weight = pad_rows(devices, *data["train"], np.array([weight_of[y] for y in data["train"][1]],
                                                                  np.float32))
        val = pad_rows(devices, *data["val"], np.ones(len(data["val"][1]), np.float32))
        compile_model(model, train, steps_per_epoch=-(-len(y) // train.batch_size))
        started = time.time()
        fit = model.fit(x, y, sample_weight=weight, validation_data=val, epochs=train.epochs,
                        batch_size=train.batch_size, shuffle=True, verbose=_keras_verbose(config),
                        callbacks=_callbacks(config))
        train_seconds = time.time() - started
        # One predict over val and test, in full batches only (a partial last batch is a new
        # shape: TensorFlow traces the step again); the test loss and accuracy are those of
        # `model.evaluate`, computed from the same scores.
        x_val = data["val"][0]
        joint = np.concatenate([x_val, data["test"][0]])
        joint = model.predict(pad_rows(train.batch_size, joint)[0], batch_size=train.batch_size,
                              verbose=0).ravel()[: len(joint)]
    scores = {"val": joint[: len(x_val)], "test": joint[len(x_val) :]}
    metrics = {s: binary_metrics(data[s][1], scores[s]) for s in ("val", "test")}
    recorded = dict(
        img_model_name=spec.name, input_size=list(spec.input_size), feature_dim=spec.feature_dim, head=model.name,
        weights=weights if weights in backbones.WEIGHT_KEYWORDS else str(Path(weights).resolve()),
        weights_identity=backbones.weights_identity(weights),
    )
    return model, recorded, metrics, fit, train_seconds, len(data["train"][1]), scores


def train_frame_classifier(run: Run, config: RunConfig):
    """Frames -> face crops on disk -> CoAtNet (or, with `fine_tune`, a backbone fine-tuned in two
    phases) -> frame scores -> video scores."""
    image_size = config.input_size[0]
    fine_tune = config.family == FINETUNE
    weights = backbones.resolve_weights(config.img_model_name, config.weights) if fine_tune else config.weights
    files, errors, no_face = cache_crops(run.videos.path, config.num_frames, image_size, run.face, run.cache_dir,
                                         config.data.strategy, config.seed, quiet=not config.verbose,
                                         on_truncated=config.data.on_truncated)
    rows = run.drop_unusable(np.array([f is not None for f in files]), errors, no_face)
    train = config.train
    keras.utils.set_random_seed(config.seed)
    devices = check_distribution(train.distribution, train.batch_size)
    sets = {
        split: FrameDataset([files[i] for i in np.flatnonzero(r)], run.labels[r], train.batch_size,
                            shuffle=split == "train", augment=split == "train" and bool(config.image.augment),
                            seed=config.seed, class_weight=class_weight(run.labels[r]) if split == "train" else None,
                            pad_to=devices, workers=2)
        for split, r in rows.items()
    }
    metrics, scores = {}, {}
    with distribution_scope(train.distribution):
        if fine_tune:
            model = finetune.build_frame_classifier(config.img_model_name, weights, config.image.dropout)
            started = time.time()
            fit = finetune.fit_phases(model, sets["train"], sets["val"], config,
                                      lambda m, t: compile_model(m, t, steps_per_epoch=len(sets["train"])),
                                      _callbacks(config), verbose=_keras_verbose(config))
        else:
            model = coatnet.build_coatnet(config.img_model_name, image_size, num_classes=1,
                                          classifier_activation="sigmoid")
            if weights is not None:
                model.load_weights(weights)
            compile_model(model, train, steps_per_epoch=len(sets["train"]))
            started = time.time()
            fit = model.fit(sets["train"], validation_data=sets["val"], epochs=train.epochs,
                            verbose=_keras_verbose(config), callbacks=_callbacks(config))
        train_seconds = time.time() - started
        for split in ("val", "test"):
            frames = sets[split]
            frame_scores, scores[split] = score_frames(model, frames, config.image.video_score)
            metrics[split] = binary_metrics(frames.labels, scores[split])
            metrics[f"{split}_frames"] = binary_metrics(frames.labels[frames.video_ids], frame_scores)
    recorded = dict(img_model_name=config.img_model_name, input_size=[image_size, image_size], head=model.name,
                    weights=None if weights is None else str(Path(weights).resolve()))
    if fine_tune:
        recorded.update(finetune.recorded_entries(config.img_model_name, weights))
    return model, recorded, metrics, fit, train_seconds, int(rows["train"].sum()), scores


# The recipe of each model family: what trains a run of it.
RECIPES: dict[str, Callable[[Run, RunConfig], tuple]] = {
    SEQUENCE: train_sequence_head, COATNET: train_frame_classifier, FINETUNE: train_frame_classifier,
}


def compile_model(model: keras.Model, train: TrainConfig, steps_per_epoch: int) -> None:
    """Optimizer, learning-rate schedule, weight decay and loss as the training settings say."""
    rate = train.learning_rate
    if train.schedule == "cosine":
        steps = steps_per_epoch * train.epochs
        warmup = min(steps_per_epoch * train.warmup_epochs, steps - 1)
        rate = keras.optimizers.schedules.CosineDecay(0.0 if warmup else rate, decay_steps=steps - warmup,
                                                      warmup_target=rate if warmup else None, warmup_steps=warmup)
    kind = {"adam": keras.optimizers.Adam, "adamw": keras.optimizers.AdamW, "rmsprop": keras.optimizers.RMSprop,
            "sgd": lambda rate, **kw: keras.optimizers.SGD(rate, momentum=seed_compat.sgd_momentum(train),
                                                           nesterov=bool(train.nesterov), **kw),
            }[train.optimizer]
    # AdamW insists on a float; the others take None for "no decay".
    optimizer = kind(rate, weight_decay=train.weight_decay or (0.0 if train.optimizer == "adamw" else None))
    if train.weight_decay:  # decay weights, not the scales and shifts of norms, biases or position tables
        optimizer.exclude_from_weight_decay(var_names=["gamma", "beta", "bias", "relative_bias_table"])
    model.compile(optimizer=optimizer, loss=keras.losses.BinaryCrossentropy(label_smoothing=train.label_smoothing),
                  metrics=["accuracy", keras.metrics.AUC(name="auc")])


def class_weight(labels: np.ndarray) -> dict[int, float]:
    """Weights that make both classes count equally in the loss."""
    counts = np.bincount(labels, minlength=2)
    return {c: len(labels) / (2 * counts[c]) for c in (0, 1) if counts[c]}


def _callbacks(config: RunConfig) -> list:
    """Early stopping (vidseq's, the one given, or none), ReduceLROnPlateau if given, the user's
    callbacks, and at verbose=1 one progress bar over the epochs."""
    bar = [EpochBar(config.train.epochs)] if config.verbose == 1 else []
    return seed_compat.build_callbacks(config.train) + bar


def _keras_verbose(config: RunConfig) -> int:
    """Keras' own per-epoch lines only at verbose=2 (the CLI's --verbose); verbose=1 shows a bar."""
    return 2 if config.verbose >= 2 else 0


__all__ = ["train_test_classifier", "train_sequence_head", "train_frame_classifier", "RECIPES", "compile_model",
           "class_weight"]
