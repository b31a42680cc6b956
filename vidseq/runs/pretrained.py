"""Ready-made detectors as run folders, made without training: MesoNet with its published weights.

A model family may offer pretrained models (`Family.pretrained`: MesoNet's "mesonet-df",
"mesonet-f2f", "mesoinception-df", "mesoinception-f2f"). `pretrained_run` saves one as a
run folder like any other (model.keras, config.json, metrics.json) but with no data: no
splits, no scores, threshold 0.5. `predict_video`, `evaluate`, `explain_video`, the app and
the leaderboard then take it as they take a trained run; `vidseq predict VIDEO --model
mesonet-df` makes it on first use.

    >>> from vidseq.runs.pretrained import pretrained_run
    >>> run_dir = pretrained_run("mesonet-df")  # doctest: +SKIP
    >>> predict_video("clip.mp4", run_dir)  # doctest: +SKIP
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from vidseq.runs.folders import run_config, run_entries, save_model
from vidseq.training.config import RunConfig
from vidseq.training.families import pretrained_models
from vidseq.training.frames import describe
from vidseq.utils.atomic import write_json


def pretrained_run(name: str, save_dir: str | os.PathLike = "saved_models", num_frames: int = 32,
                   **options: Any) -> Path:
    """The run folder `save_dir/<run_name>` (default `run_name=name`) of the ready-made model
    `name`, made now without training or found there from before with the same settings.

    `options`: `train_test_classifier`'s options of how it scores a video (`face_crop`,
    `video_score`, `strategy`, `seed`, `cache_dir`, ...); MesoNet defaults to face crops,
    as its weights were trained on. Raises ValueError for an unknown name or when the folder
    exists with other settings.

    >>> pretrained_run("mesonet-df", "saved_models", num_frames=16)  # doctest: +SKIP
    PosixPath('saved_models/mesonet-df')
    """
    models = pretrained_models()
    if name not in models:
        raise ValueError(f"Received: a pretrained model {name!r}. Expected one of {sorted(models)}.")
    family, model_name, weights = models[name]
    options = {"run_name": name, **options, "weights": weights, "save_dir": str(save_dir)}
    config = RunConfig.from_options(num_frames, model_name, **options)
    run_dir = Path(config.save_dir) / config.run_name
    if (run_dir / "metrics.json").is_file():
        if _scoring(run_config(run_dir)) != _scoring(config):
            raise ValueError(f"Received: {name!r} with settings that differ from those of the existing folder "
                             f"{str(run_dir)!r}. Expected its settings, or another run_name.")
        return run_dir
    model, built = family.build()(config.img_model_name, config.weights, config.image)
    run_dir.mkdir(parents=True, exist_ok=True)
    save_model(run_dir, model)
    write_json(run_dir / "config.json", {**run_entries(config, model, describe(config, model, built), data_dir=None,
                                                       dataset=None), "pretrained": name})
    # No validation split chose a threshold: 0.5 (run_threshold's default). Written last: a finished run.
    write_json(run_dir / "metrics.json", {"pretrained": name, "skipped": [], "no_face": []})
    return run_dir


def _scoring(config: RunConfig) -> dict:
    """The options that decide a pretrained run's scores (not where it or its cache lie)."""
    return {"num_frames": config.num_frames,
            **{k: v for k, v in config.to_json().items() if k not in ("save_dir", "run_name")}}


__all__ = ["pretrained_run"]
