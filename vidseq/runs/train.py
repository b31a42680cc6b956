"""Training one run: `train_test_classifier` picks the model family's recipe, trains, measures
the validation and test splits, and saves the run folder.

A run is made here rather than in `vidseq.training` because it ends as a run folder: the
recipes train and score, this stage saves, reads, scores with and compares runs.

    >>> from vidseq.runs.train import train_test_classifier
    >>> labels, model, (loss, acc) = train_test_classifier("data/demo", 16, weights="random")  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import os
from typing import TYPE_CHECKING, Any

from vidseq.models.config import HeadConfig
from vidseq.runs.explain_video import plot_run_explanations
from vidseq.runs.folders import LABELS, save_run
from vidseq.runs.metrics import binary_metrics
from vidseq.training.config import RunConfig, family_options
from vidseq.training.families import FAMILIES, Family
from vidseq.training.videos import RunVideos

if TYPE_CHECKING:
    import keras


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
    argument and {run_options} (`vidseq.training.config.RunConfig`).

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
    videos = RunVideos(data_dir, config)  # a bad data_dir fails here, before any folder is made
    videos.say(f"Image Model: {config.img_model_name}, Image Size: {config.input_size}" if config.input_size
               else f"Features: {config.img_model_name} (computed elsewhere)")
    fitted = config.family.trainer().fit(videos, config)
    metrics = {split: binary_metrics(videos.labels[videos.used[split]], scores)
               for split, scores in fitted.scores.items()}
    metrics.update({f"{split}_frames": binary_metrics(labels, scores)
                    for split, (labels, scores) in fitted.frame_scores.items()})
    run_dir, table = save_run(videos, fitted, metrics)
    plot_run_explanations(run_dir, fitted.model, table)
    test = metrics["test"]
    auc = "n/a" if test["auc"] is None else f"{test['auc']:.3f}"
    videos.say(f"TEST: loss {test['log_loss']:.4f}, accuracy {test['accuracy']:.3f}, AUC {auc} -> {run_dir}")
    return list(LABELS), fitted.model, (metrics["test_loss"], metrics["test_acc"])


def _with_defaults(family: Family) -> str:
    return ", ".join(f"`{k}={v!r}`" for k, v in family_options(family).items() if k not in ("verbose", "callbacks"))


train_test_classifier.__doc__ = train_test_classifier.__doc__.format(
    run_options=", ".join(f"`{k}`" for k in family_options(FAMILIES["sequence"])
                          if k not in {f.name for f in dataclasses.fields(HeadConfig)}),
    image_options=_with_defaults(FAMILIES["coatnet"]), finetune_options=_with_defaults(FAMILIES["finetune"]),
)


__all__ = ["train_test_classifier"]
