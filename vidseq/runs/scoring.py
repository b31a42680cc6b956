"""Scoring with a saved run: P(fake) of videos, metrics on a dataset, the seed toolkit's `classifier`.

Every function reads the run's own settings from its folder (`vidseq.runs.folders.run_config`):
backbone, weights, frame sampling, face crops; so a video is scored as the run's own test
videos were.

    >>> from vidseq.runs.scoring import predict_video
    >>> predict_video("data/demo/fake/fake_000.mp4", "saved_models/<run>")  # doctest: +SKIP
    0.93
"""

from __future__ import annotations

import os
import time
import warnings
from pathlib import Path

from vidseq.utils.quiet import import_keras_quietly

import_keras_quietly()  # before Keras loads: TensorFlow's start-up lines stay hidden
import keras
import numpy as np

from vidseq.data.layouts import SPLITS, discover_videos
from vidseq.data.sampling import count_face_tracks, sampling_seed
from vidseq.data.video_io import VideoReadError
from vidseq.features import backbones
from vidseq.runs.folders import (file_safe, load_classifier, read_config, run_config, run_threshold,
                                 seen_in_training)
from vidseq.runs.metrics import binary_metrics
from vidseq.training.config import RunConfig
from vidseq.training.videos import split_as_run
from vidseq.utils.atomic import write_json, write_text
from vidseq.utils.notices import SkippedVideoWarning, VidseqWarning


def predict_video(path: str | os.PathLike, run_dir: str | os.PathLike, truncated: str | None = None) -> float:
    """P(fake) for one video, with the run's own backbone, weights, frame sampling and face crops.

    A truncated file (`util.check_truncation`) raises `TruncatedVideoError` unless the run
    kept such files or `truncated="keep"` asks to score the frames that decode.

    >>> predict_video("data/demo/fake/fake_000.mp4", "saved_models/<run>")  # doctest: +SKIP
    0.93
    """
    config = run_config(run_dir)
    if truncated is not None:
        config = config.replace(truncated=truncated)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SkippedVideoWarning)  # the video's error is raised instead
        scores, errors, _, _ = score_tracks(run_dir, config, [str(path)])
    if errors:
        raise VideoReadError(errors[str(path)])
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
    recorded = read_config(run_dir)
    config = RunConfig.from_json(recorded)
    if split not in (*SPLITS, "all"):
        raise ValueError(f"Received: split={split!r}. Expected one of {[*SPLITS, 'all']}.")
    if compression:
        config = config.replace(compression=compression)
    if split == "all":
        videos = discover_videos(data_dir, config.data.compression)
    else:
        videos = split_as_run(data_dir, config, recorded.get("data_dir"))
        videos = videos[videos.split == split].reset_index(drop=True)
    if videos.empty:
        raise ValueError(f"Received: split={split!r}, which holds no videos of {str(data_dir)!r}.")
    seen = seen_in_training(run_dir, videos.path)
    if seen:
        warnings.warn(f"{len(seen)} of the {len(videos)} videos to evaluate are the run's own training or validation "
                      f"videos (same file content, e.g. {seen[0]!r}): these metrics do not measure generalization.",
                      VidseqWarning, stacklevel=2)
    scores, errors, _, _ = score_tracks(run_dir, config, videos.path.tolist())
    ok = ~np.isnan(scores)
    labels = videos.label.to_numpy()
    name = file_safe(Path(data_dir).resolve().name) + ("" if split == "test" else f"-{split}")
    metrics = dict(binary_metrics(labels[ok], scores[ok]), data_dir=str(Path(data_dir).resolve()), split=split,
                   dataset="+".join(sorted(videos.dataset.unique())), created=time.strftime("%Y-%m-%dT%H:%M:%S"),
                   skipped=[{"path": p, "error": e} for p, e in errors.items()], seen_in_training=seen)
    table = videos[["path", "label"]].assign(split=split, score=scores)[ok]
    write_text(Path(run_dir) / f"eval_{name}_scores.csv", table.to_csv(index=False))
    write_json(Path(run_dir) / f"eval_{name}.json", metrics)
    return {**metrics, "written": str(Path(run_dir) / f"eval_{name}.json")}


def score_tracks(run_dir, config: RunConfig, paths: list[str], model: keras.Model | None = None):
    """P(fake) per video as the run computes it (NaN where skipped), `{path: error}`, each
    video's per-frame scores for frame classifiers (None for sequence heads), and the face
    track that gave each video's score (0 without face crops). `model`: the run's, if loaded.

    With the run's `FaceCrop.max_faces` above 1, every face track of a video is scored and
    the video's score is the highest: a video is fake if any face in it is."""
    family = config.family
    if not family.frame_classifier:  # a sequence head's model.keras does not hold the backbone it was trained on
        recorded, identity = read_config(run_dir)["weights_identity"], backbones.weights_identity(config.weights)
        if identity != recorded:
            raise ValueError(f"The run's backbone weights changed: trained with {recorded!r}, now {config.weights!r} "
                             f"gives {identity!r}. Its scores would be meaningless.")
    model = load_classifier(run_dir) if model is None else model
    score = family.trainer().score
    scores, errors, frame_scores = score(config, paths, model, 0)
    best = np.zeros(len(paths), int)
    face = config.data.face
    if not face or face.max_faces == 1:
        return scores, errors, frame_scores, best
    seed = sampling_seed(config.data.strategy, config.seed)
    # The boxes of every track are cached by now (scoring track 0 detected them): counting is cheap.
    counts = [count_face_tracks(p, config.num_frames, config.data.strategy, seed, face, config.cache_path)
              if not np.isnan(scores[i]) else 0 for i, p in enumerate(paths)]
    for track in range(1, face.max_faces):
        todo = [i for i, count in enumerate(counts) if count > track]
        if not todo:
            break
        more, _, more_frames = score(config, [paths[i] for i in todo], model, track)
        for j, i in enumerate(todo):
            if more[j] > scores[i]:
                scores[i], best[i] = more[j], track
                if frame_scores is not None:
                    frame_scores[i] = more_frames[j]
    return scores, errors, frame_scores, best


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
    config = read_config(run_dir)
    for name, value in (("num_frames", num_frames), ("img_model_name", img_model_name)):
        if value is not None and value != config.get(name):
            raise ValueError(f"Received: {name}={value!r}. Expected the run's own {name}={config.get(name)!r} "
                             "(or leave it out).")
    score = predict_video(video_path, run_dir)
    return "FAKE" if score >= run_threshold(run_dir) else "REAL"


__all__ = ["classifier", "predict_video", "evaluate", "score_tracks"]
