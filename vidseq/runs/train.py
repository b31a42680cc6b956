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
from vidseq.runs.cross_validation import cross_validate
from vidseq.runs.folders import LABELS
from vidseq.runs.one_run import train_run
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
    `save_dir/<run_name>/` holds `model.keras`, `config.json`, `metrics.json` (each
    validation and test metric with its 95% interval from a bootstrap over identities:
    docs/comparing-runs.md), `history.csv`, `splits.csv`, `scores.csv` and plots. Options (keyword): every `build_classifier`
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

    `folds=k` cross-validates instead (identity k-fold, vidseq.runs.cross_validation): k runs,
    run i testing on the i-th fold of identities and validating on identities of the other
    folds, saved as `fold1/` ... `fold<k>/` in one parent folder `save_dir/<run_name>/` with
    every video's out-of-fold score and the pooled metrics (one leaderboard row; an official
    test split is kept aside for the final test). It returns `(labels, [the k models],
    (pooled out-of-fold loss, accuracy))`; the embeddings are extracted once. `split_tolerance`
    (default 0.05): how far a split's or fold's shares of real and of kept fake videos may stray
    from its size (`vidseq.data.splits`).

    `img_model_name="Meso4"` or `"MesoInception4"` trains MesoNet (Afchar et al. 2018) the same
    way on 256 px face crops, from scratch (`weights=None`) or from its published weights
    (`weights="mesonet-df"` or `"mesonet-f2f"`, fetched and sha256-checked; their P(real)
    turned into P(fake)), `vidseq.runs.pretrained.pretrained_run` saves them untrained as a
    run folder. Its options: {mesonet_options}. See docs/models.md.

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
    if config.data.folds and config.data.fold is None:
        return cross_validate(data_dir, config)
    run = train_run(RunVideos(data_dir, config))  # a bad data_dir fails there, before any folder is made
    return list(LABELS), run.model, (run.metrics["test_loss"], run.metrics["test_acc"])


def _with_defaults(family: Family) -> str:
    return ", ".join(f"`{k}={v!r}`" for k, v in family_options(family).items() if k not in ("verbose", "callbacks"))


train_test_classifier.__doc__ = train_test_classifier.__doc__.format(
    run_options=", ".join(f"`{k}`" for k in family_options(FAMILIES["sequence"])
                          if k not in {f.name for f in dataclasses.fields(HeadConfig)}),
    image_options=_with_defaults(FAMILIES["coatnet"]), finetune_options=_with_defaults(FAMILIES["finetune"]),
    mesonet_options=_with_defaults(FAMILIES["mesonet"]),
)


__all__ = ["train_test_classifier"]
