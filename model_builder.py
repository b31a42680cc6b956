"""Models, training and runs: frozen backbone -> cached (N, T, D) embeddings -> sequence head.

A facade: the code lives in `vidseq`'s packages by stage: `vidseq.features` (backbones,
embeddings and crop caches, the feature store for features computed elsewhere), `vidseq.models`
(heads, CoAtNet, fine-tuning, MesoNet),
`vidseq.training` (the run config, one recipe per model family), `vidseq.runs`
(`train_test_classifier`, run folders, the leaderboard, scoring, explanations, search);
every setting is a field of `vidseq.training.config.RunConfig`.

    >>> import model_builder
    >>> labels, model, (test_loss, test_acc) = model_builder.train_test_classifier(
    ...     "data/demo", num_frames=16, img_model_name="MobileNetV2", weights="random",
    ...     learning_rate=1e-3, epochs=30)  # doctest: +SKIP
    >>> model_builder.compare_saved_models("saved_models")  # doctest: +SKIP
    >>> print(model_builder.compare_runs("saved_models/<run a>", "saved_models/<run b>"))  # doctest: +SKIP
"""

from __future__ import annotations

from vidseq.features.backbones import BACKBONES
from vidseq.features.extract import cache_embeddings, embed_videos
from vidseq.features.store import FeatureStore, read_features, write_features
from vidseq.models.heads import build_classifier, head_name, set_feature_stats
from vidseq.runs.explain_video import explain_video
from vidseq.runs.folders import LABELS, dataset_name, load_classifier, run_threshold
from vidseq.runs.leaderboard import compare_runs, compare_saved_models
from vidseq.runs.pretrained import pretrained_run
from vidseq.runs.scoring import classifier, evaluate, predict_video, score_video
from vidseq.runs.search import search
from vidseq.runs.train import train_test_classifier
from vidseq.training.config import check_run_options
from vidseq.utils.cache import default_cache_dir

__all__ = [
    "BACKBONES", "LABELS", "embed_videos", "build_classifier", "train_test_classifier",
    "compare_saved_models", "compare_runs", "load_classifier", "predict_video", "score_video", "explain_video", "evaluate", "search",
    "check_run_options", "default_cache_dir", "classifier", "run_threshold", "head_name", "set_feature_stats",
    "dataset_name", "pretrained_run", "cache_embeddings", "FeatureStore", "write_features", "read_features",
]
