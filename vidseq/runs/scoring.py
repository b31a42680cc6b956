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
from typing import Mapping, Sequence

from vidseq.utils.quiet import import_keras_quietly

import_keras_quietly()  # before Keras loads: TensorFlow's start-up lines stay hidden
import keras
import numpy as np

from vidseq.data.layouts import SPLITS, discover_videos
from vidseq.data.perturb import Perturbation, parse_perturbations
from vidseq.data.sampling import count_face_tracks, sampling_seed
from vidseq.data.video_io import VideoReadError
from vidseq.runs.folders import (file_safe, load_classifier, read_config, run_config, run_threshold, scoring_config,
                                 seen_in_training)
from vidseq.runs.robustness import robustness_table, table_records, write_robustness
from vidseq.runs.stats import measured_with_intervals
from vidseq.training.config import RunConfig
from vidseq.training.sequence import feature_source
from vidseq.training.videos import split_as_run
from vidseq.utils.atomic import write_json, write_text
from vidseq.utils.notices import SkippedVideoWarning, VidseqWarning


def predict_video(path: str | os.PathLike, run_dir: str | os.PathLike, truncated: str | None = None, *,
                  max_faces: int | None = None, no_face: str | None = None, face_detector: str | None = None) -> float:
    """P(fake) for one video, with the run's own backbone, weights, frame sampling and face crops.

    A truncated file (`util.check_truncation`) raises `TruncatedVideoError` unless the run
    kept such files or `truncated="keep"` asks to score the frames that decode. `max_faces`
    scores that many face tracks (the highest score counts), `no_face` says what a face-free
    video gets and `face_detector` finds the faces with another detector, whatever the run
    was trained with (`scoring_config`; default: the run's). `score_video` also says which
    face track gave the score.

    >>> predict_video("data/demo/fake/fake_000.mp4", "saved_models/<run>")  # doctest: +SKIP
    0.93
    >>> predict_video("two_people.mp4", "saved_models/<one-face run>", max_faces=3)  # doctest: +SKIP
    0.88
    """
    return score_video(path, run_dir, truncated, max_faces=max_faces, no_face=no_face,
                       face_detector=face_detector)["score"]


def score_video(path: str | os.PathLike, run_dir: str | os.PathLike, truncated: str | None = None, *,
                max_faces: int | None = None, no_face: str | None = None, face_detector: str | None = None) -> dict:
    """`predict_video`'s P(fake) as `score`, with `track`: the face track that decided it (0, the
    main face, unless another scored higher; None without face crops) and `max_faces`, how many
    were scored at most (None without face crops).

    >>> score_video("two_people.mp4", "saved_models/<one-face run>", max_faces=3)  # doctest: +SKIP
    {'score': 0.88, 'track': 1, 'max_faces': 3}
    """
    config = scoring_config(run_dir, truncated=truncated, max_faces=max_faces, no_face=no_face,
                            face_detector=face_detector)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SkippedVideoWarning)  # the video's error is raised instead
        scores, errors, _, best = score_tracks(run_dir, config, [str(path)])
    if errors:
        raise VideoReadError(errors[str(path)])
    face = config.data.face
    return {"score": float(scores[0]), "track": int(best[0]) if face else None,
            "max_faces": face.max_faces if face else None}


def evaluate(run_dir: str | os.PathLike, data_dir: str | os.PathLike, split: str = "test",
             compression: str | None = None, *, max_faces: int | None = None, no_face: str | None = None,
             face_detector: str | None = None,
             perturb: str | Sequence[str] | Mapping[str, Sequence[float]] | None = None, perturb_seed: int = 0) -> dict:
    """Metrics of a saved run on another dataset (or its own), saved as `eval_<name>.json` in the run
    (the returned dict's `written` says where).

    The videos of `data_dir` are split as the run split its own data (same sizes and seed;
    official splits kept, so Celeb-DF's `split="test"` is its official test list), and
    `split` of them ("train", "val", "test" or "all") are scored. `<name>` is the dataset
    folder's name, with `-<split>` unless the split is "test", `-faces<k>` when `max_faces`
    differs from the run's and `-<detector>` when `face_detector` does (the run's own figures
    are kept). Unreadable videos are skipped and listed. The metrics carry 95% intervals
    (`intervals`: a bootstrap over identities). `compare_saved_models` shows
    `eval_<name>_auc` and `_eer`. Videos whose content is one of the run's training or
    validation videos (a copy, a regenerated demo) are warned about and listed under
    `seen_in_training`. `max_faces`, `no_face` and `face_detector` change which faces are
    scored (`scoring_config`); the scores file names the face track that gave each video's score.

    `perturb` ("jpeg:90,70,50,30", a list of such strings, or {"jpeg": [90, 70]}; see
    `vidseq.data.perturb`) also scores the same videos with their sampled frames degraded
    at each level, before face detection, and writes `robustness_<name>.csv`, `.json` and
    `.png` (AUC with its 95% interval against severity, one line per perturbation, the clean
    AUC as reference); the returned dict's `robustness` holds the table's rows. Every level's
    face boxes, crops and embeddings are cached under keys that include it (never mixed with
    clean ones), so the same evaluation again is a cache read. `perturb_seed` draws the noise.

    >>> evaluate("saved_models/<dfd run>", "data/Celeb-DF-v2")["auc"]  # doctest: +SKIP
    0.64
    >>> evaluate("saved_models/<run>", "data/demo", perturb=["jpeg:90,50,30", "resize:0.75,0.5,0.25"])["robustness"]  # doctest: +SKIP
    """
    perturbations = parse_perturbations(perturb, perturb_seed)
    if split not in (*SPLITS, "all"):
        raise ValueError(f"Received: split={split!r}. Expected one of {[*SPLITS, 'all']}.")
    recorded = read_config(run_dir)
    config = scoring_config(run_dir, max_faces=max_faces, no_face=no_face, face_detector=face_detector)
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
    paths, model = videos.path.tolist(), load_classifier(run_dir)
    scores, errors, _, best = score_tracks(run_dir, config, paths, model)
    ok = ~np.isnan(scores)
    labels = videos.label.to_numpy()
    face, own = config.data.face, run_config(run_dir).data.face
    name = (file_safe(Path(data_dir).resolve().name) + ("" if split == "test" else f"-{split}")
            + (f"-faces{face.max_faces}" if face and face.max_faces != own.max_faces else "")
            + (f"-{face.detector}" if face and face.detector != own.detector else ""))
    metrics = dict(measured_with_intervals(labels[ok], scores[ok], videos.identities[ok]),
                   data_dir=str(Path(data_dir).resolve()), split=split,
                   dataset="+".join(sorted(videos.dataset.unique())), created=time.strftime("%Y-%m-%dT%H:%M:%S"),
                   skipped=[{"path": p, "error": e} for p, e in errors.items()], seen_in_training=seen,
                   **({"max_faces": face.max_faces, "no_face": face.no_face} if face else {}))
    table = videos[["path", "label"]].assign(split=split, score=scores, track=best if face else None)[ok]
    write_text(Path(run_dir) / f"eval_{name}_scores.csv", table.to_csv(index=False))
    write_json(Path(run_dir) / f"eval_{name}.json", metrics)
    result = {**metrics, "written": str(Path(run_dir) / f"eval_{name}.json")}
    if perturbations:
        perturbed = {p: score_tracks(run_dir, config, paths, model, p)[0] for p in perturbations}
        levels = robustness_table(labels, scores, perturbed, identities=videos.identities.tolist())
        written = write_robustness(run_dir, name, levels, dict(data_dir=metrics["data_dir"], split=split,
                                                              perturb_seed=perturb_seed, created=metrics["created"]))
        result.update(robustness=table_records(levels), robustness_written=written)
    return result


def score_tracks(run_dir, config: RunConfig, paths: list[str], model: keras.Model | None = None,
                 perturb: Perturbation | None = None):
    """P(fake) per video as the run computes it (NaN where skipped), `{path: error}`, each
    video's per-frame scores for frame classifiers (None for sequence heads), and the face
    track that gave each video's score (0 without face crops). `model`: the run's, if loaded;
    `perturb`: the sampled frames degraded so (`vidseq.data.perturb`).

    With the run's `FaceCrop.max_faces` above 1, every face track of a video is scored and
    the video's score is the highest: a video is fake if any face in it is."""
    family = config.family
    if not family.frame_classifier:  # a sequence head's model.keras holds neither its backbone nor its features
        recorded, identity = read_config(run_dir)["weights_identity"], feature_source(config)["weights_identity"]
        if identity != recorded:
            raise ValueError(f"The run's features changed: trained with {recorded!r}, now {config.img_model_name!r} "
                             f"with weights={config.weights!r} gives {identity!r}. Its scores would be meaningless.")
    model = load_classifier(run_dir) if model is None else model
    score = family.trainer().score
    scores, errors, frame_scores = score(config, paths, model, 0, perturb)
    best = np.zeros(len(paths), int)
    face = config.data.face
    if not face or face.max_faces == 1:
        return scores, errors, frame_scores, best
    seed = sampling_seed(config.data.strategy, config.seed)
    # The boxes of every track are cached by now (scoring track 0 detected them): counting is cheap.
    counts = [count_face_tracks(p, config.num_frames, config.data.strategy, seed, face, config.cache_path,
                                perturb=perturb) if not np.isnan(scores[i]) else 0 for i, p in enumerate(paths)]
    for track in range(1, face.max_faces):
        todo = [i for i, count in enumerate(counts) if count > track]
        if not todo:
            break
        more, _, more_frames = score(config, [paths[i] for i in todo], model, track, perturb)
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


__all__ = ["classifier", "predict_video", "score_video", "evaluate", "score_tracks"]
