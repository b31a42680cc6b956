"""Models, training and runs: frozen backbone -> cached (N, T, D) embeddings -> sequence head.

A facade: the code lives in one `vidseq` module per stage: `vidseq.extract` (embeddings and
crop caches), `vidseq.heads`, `vidseq.training` (`train_test_classifier`), `vidseq.runs`
(run folders), `vidseq.leaderboard`, `vidseq.scoring` (predict, evaluate, explain),
`vidseq.search`; every setting is a field of `vidseq.config.RunConfig`.

    >>> import model_builder
    >>> labels, model, (test_loss, test_acc) = model_builder.train_test_classifier(
    ...     "data/demo", num_frames=16, img_model_name="MobileNetV2", weights="random",
    ...     learning_rate=1e-3, epochs=30)  # doctest: +SKIP
    >>> model_builder.compare_saved_models("saved_models")  # doctest: +SKIP
"""

from __future__ import annotations

from vidseq.backbones import BACKBONES
from vidseq.config import check_run_options
from vidseq.cache import default_cache_dir
from vidseq.extract import embed_videos
from vidseq.heads import build_classifier, head_name, set_feature_stats
from vidseq.leaderboard import compare_saved_models
from vidseq.runs import LABELS, dataset_name, load_classifier, run_threshold
from vidseq.scoring import classifier, evaluate, explain_video, predict_video
from vidseq.search import search
from vidseq.training import train_test_classifier

__all__ = [
    "BACKBONES", "LABELS", "embed_videos", "build_classifier", "train_test_classifier",
    "compare_saved_models", "load_classifier", "predict_video", "explain_video", "evaluate", "search",
    "check_run_options", "default_cache_dir", "classifier", "run_threshold", "head_name", "set_feature_stats",
    "dataset_name",
]
