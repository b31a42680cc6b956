"""Scoring with a saved run: P(fake) of videos, metrics on a dataset, one video explained.

Every function reads the run's own settings from its folder (`vidseq.runs.run_config`):
backbone, weights, frame sampling, face crops; so a video is scored as the run's own test
videos were.

    >>> from vidseq.scoring import predict_video
    >>> predict_video("data/demo/fake/fake_000.mp4", "saved_models/<run>")  # doctest: +SKIP
    0.93
"""

from __future__ import annotations

import os
import time
import warnings
from pathlib import Path
from typing import Any, Iterable, Sequence

from vidseq.quiet import import_keras_quietly

import_keras_quietly()  # before Keras loads: TensorFlow's start-up lines stay hidden
import keras
import numpy as np
import pandas as pd

from vidseq import backbones, explain
from vidseq.atomic import write_json, write_text
from vidseq.cache import content_fingerprint, default_cache_dir
from vidseq.config import SEQUENCE, RunConfig
from vidseq.extract import cache_crops, embed_with_skips
from vidseq.frame_dataset import FrameDataset, video_scores
from vidseq.layouts import SPLITS, discover_videos
from vidseq.metrics import binary_metrics
from vidseq.runs import file_safe, load_classifier, read_config, run_config, run_threshold, split_as_run
from vidseq.sampling import count_face_tracks, read_frames_and_boxes, read_frames_and_face, sampling_seed
from vidseq.video_io import VideoReadError


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
    seen = _seen_in_training(run_dir, videos.path)
    if seen:
        warnings.warn(f"{len(seen)} of the {len(videos)} videos to evaluate are the run's own training or validation "
                      f"videos (same file content, e.g. {seen[0]!r}): these metrics do not measure generalization.",
                      stacklevel=2)
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


def _seen_in_training(run_dir, paths: Iterable[str]) -> list[str]:
    """The `paths` whose content is one of the run's training or validation videos (wherever they now are)."""
    splits_file = Path(run_dir) / "splits.csv"
    if not splits_file.is_file():
        return []
    splits = pd.read_csv(splits_file)
    trained = {content_fingerprint(p) for p in splits.path[splits.split.isin(["train", "val"])] if Path(p).is_file()}
    return [p for p in paths if content_fingerprint(p) in trained]


def _cache_of(config: RunConfig) -> Path:
    return Path(config.cache_dir or default_cache_dir())


def score_tracks(run_dir, config: RunConfig, paths: list[str], model: keras.Model | None = None):
    """P(fake) per video as the run computes it (NaN where skipped), `{path: error}`, each
    video's per-frame scores for frame classifiers (None for sequence heads), and the face
    track that gave each video's score (0 without face crops). `model`: the run's, if loaded.

    With the run's `FaceCrop.max_faces` above 1, every face track of a video is scored and
    the video's score is the highest: a video is fake if any face in it is."""
    if config.family == SEQUENCE:
        recorded, identity = read_config(run_dir)["weights_identity"], backbones.weights_identity(config.weights)
        if identity != recorded:
            raise ValueError(f"The run's backbone weights changed: trained with {recorded!r}, now {config.weights!r} "
                             f"gives {identity!r}. Its scores would be meaningless.")
    model = load_classifier(run_dir) if model is None else model
    scores, errors, frame_scores = _score_track(config, paths, model, 0)
    best = np.zeros(len(paths), int)
    face = config.data.face
    if not face or face.max_faces == 1:
        return scores, errors, frame_scores, best
    seed = sampling_seed(config.data.strategy, config.seed)
    # The boxes of every track are cached by now (scoring track 0 detected them): counting is cheap.
    counts = [count_face_tracks(p, config.num_frames, config.data.strategy, seed, face, _cache_of(config))
              if not np.isnan(scores[i]) else 0 for i, p in enumerate(paths)]
    for track in range(1, face.max_faces):
        todo = [i for i, count in enumerate(counts) if count > track]
        if not todo:
            break
        more, _, more_frames = _score_track(config, [paths[i] for i in todo], model, track)
        for j, i in enumerate(todo):
            if more[j] > scores[i]:
                scores[i], best[i] = more[j], track
                if frame_scores is not None:
                    frame_scores[i] = more_frames[j]
    return scores, errors, frame_scores, best


def _score_track(config: RunConfig, paths: list[str], model, track: int):
    """One face track's `(scores, errors, frame scores)`."""
    face, cache_dir, data = config.data.face, _cache_of(config), config.data
    scores = np.full(len(paths), np.nan)
    if config.family != SEQUENCE:  # frame classifiers (CoAtNet; a fine-tuned backbone)
        files, errors, _ = cache_crops(paths, config.num_frames, config.input_size[0], face, cache_dir, data.strategy,
                                       config.seed, quiet=track > 0, track=track, on_truncated=data.on_truncated)
        ok = np.flatnonzero([f is not None for f in files])
        frame_scores = [None] * len(paths)
        if len(ok):
            frames = FrameDataset([files[i] for i in ok], np.zeros(len(ok), int), config.train.batch_size)
            per_frame, scores[ok] = score_frames(model, frames, config.image.video_score)
            for video, i in enumerate(ok):
                frame_scores[i] = per_frame[frames.video_ids == video]
        return scores, errors, frame_scores
    features, mask, errors, _ = embed_with_skips(paths, config.num_frames, config.img_model_name, config.weights,
                                                 cache_dir, face, config.embed_batch_size, "skip", data.strategy,
                                                 config.seed, 2, quiet=track > 0, track=track,
                                                 on_truncated=data.on_truncated)
    ok = mask.any(axis=1)
    if ok.any():
        scores[ok] = model.predict(features[ok], verbose=0).ravel()
    return scores, errors, None


def score_frames(model: keras.Model, frames: FrameDataset, how: str) -> tuple[np.ndarray, np.ndarray]:
    """`(P(fake) per frame, P(fake) per video)` of a frame classifier over `frames`."""
    frame_scores = model.predict(frames, verbose=0).ravel()[: len(frames.video_ids)]  # without padding rows
    return frame_scores, video_scores(frame_scores, frames.video_ids, len(frames.files), how)


def explain_video(path: str | os.PathLike, run_dir: str | os.PathLike, cache_dir: str | os.PathLike | None = None,
                  max_side: int = 320, model: keras.Model | None = None, heatmaps: bool = False,
                  heatmap_frames: Sequence[int] | None = None, truncated: str | None = None) -> dict[str, Any]:
    """What a run sees and says about one video: P(fake), its label, the sampled frames and faces.

    Returns a dict: `score` (P(fake), as `predict_video` gives it), `threshold` (the run's,
    from metrics.json) and `label` ("FAKE" when score >= threshold, else "REAL"); `frames`
    uint8 RGB `(n, H, W, 3)`, the frames the run samples, shrunk to at most `max_side`
    pixels; `boxes` `(n, 4)`, the tracked face `(x, y, w, h)` in those frames, None when the
    run does not crop faces or found none; `track`, which face track gave the score and the
    boxes (0, the main face, unless the run's `max_faces` scores several: the highest
    wins), None without face crops; `face_found` (None without face crops);
    `frame_scores` `(n,)`, P(fake) per frame for CoAtNet runs, None for sequence heads (one
    score per video); `frame_evidence` `(num_frames,)` float32, signed: how much each sampled
    frame moves the score, P(fake) with all frames minus P(fake) without that frame (through
    the head's own Masking for sequence heads; from the other frames' scores for CoAtNet
    runs), 0 for padded frames; `mask` `(num_frames,)` bool, the frames the model saw. With
    `heatmaps=True` also `crops` uint8 `(num_frames, H, W, 3)`, the images the model saw
    (face crops; the resized frames without face crops), and `heatmaps` float32
    `(num_frames, H, W)` in [0, 1], Grad-CAM of P(fake) on each crop (`vidseq.explain`,
    TensorFlow backend), only for the frames in `heatmap_frames` when given (zero
    elsewhere); both None without `heatmaps`, which then cost nothing. `cache_dir` replaces the run's cache for this video's embeddings,
    crops and face boxes (the web app gives uploads a temp dir). `model`: the run's model
    when already loaded (`load_classifier`), so that scoring many videos loads it once.
    `truncated` as in `predict_video`. Raises VideoReadError for a file that is not a
    readable video (TruncatedVideoError for a truncated one unless kept).

    >>> result = explain_video("data/demo/fake/fake_000.mp4", "saved_models/<run>")  # doctest: +SKIP
    >>> result["label"], round(result["score"], 2), result["frames"].shape  # doctest: +SKIP
    ('FAKE', 0.93, (32, 240, 320, 3))
    """
    config = run_config(run_dir)
    threshold = run_threshold(run_dir)  # a folder without metrics.json is no finished run: it says so
    changes = {k: v for k, v in (("cache_dir", None if cache_dir is None else str(cache_dir)),
                                 ("truncated", truncated)) if v is not None}
    config = config.replace(**changes) if changes else config
    face, cache, data = config.data.face, _cache_of(config), config.data
    seed = sampling_seed(data.strategy, config.seed)
    # Frames first: a bad file fails before any model loads, and the face boxes found here
    # are cached under the key the scoring below reads them with.
    frames, boxes = read_frames_and_boxes(path, config.num_frames, data.strategy, seed, face, max_side, cache,
                                          on_truncated=data.on_truncated)
    model = load_classifier(run_dir) if model is None else model  # once, for the score and the explanation
    scores, errors, frame_scores, best = score_tracks(run_dir, config, [str(path)], model)
    if errors:
        raise VideoReadError(errors[str(path)])
    score, track = float(scores[0]), int(best[0])
    if track:  # another face scored higher than the main one: show its boxes
        _, boxes = read_frames_and_boxes(path, config.num_frames, data.strategy, seed, face, max_side, cache,
                                         track=track, on_truncated=data.on_truncated)
    result = {"score": score, "threshold": threshold, "label": "FAKE" if score >= threshold else "REAL",
              "frames": frames, "boxes": boxes, "track": track if face else None,
              "face_found": (boxes is not None) if face else None,
              "frame_scores": None if frame_scores is None else frame_scores[0]}
    return {**result, **_explain_frames(str(path), config, model, track, result, heatmaps, heatmap_frames)}


def _explain_frames(path: str, config: RunConfig, model, track: int, result: dict, heatmaps: bool,
                    heatmap_frames) -> dict[str, Any]:
    """explain_video's per-frame evidence and mask, and with `heatmaps` the crops and their
    Grad-CAM (vidseq.explain), for the face track that gave the score."""
    face, cache, data, num_frames = config.data.face, _cache_of(config), config.data, config.num_frames
    seed = sampling_seed(data.strategy, config.seed)
    if result["frame_scores"] is not None:  # a frame classifier (CoAtNet; a fine-tuned backbone)
        per_frame = result["frame_scores"]
        mask = np.arange(num_frames) < len(per_frame)
        out = {"frame_evidence": explain.frame_classifier_evidence(per_frame, config.image.video_score, num_frames),
               "mask": mask, "crops": None, "heatmaps": None}
        if heatmaps:
            crops, valid, _ = read_frames_and_face(path, num_frames, config.input_size, data.strategy, seed, face,
                                                   cache_dir=cache, track=track, on_truncated=data.on_truncated)
            chosen = np.flatnonzero(valid) if heatmap_frames is None else [t for t in heatmap_frames if valid[t]]
            maps = np.zeros(crops.shape[:3], np.float32)
            if len(chosen):
                maps[chosen] = explain.gradcam_frames(model, crops[chosen].astype(np.float32))
            out.update(crops=crops, heatmaps=maps)
        return out
    # The scored track's embeddings, read back from the cache that scoring just filled.
    features, mask, _, _ = embed_with_skips([path], num_frames, config.img_model_name, config.weights, cache, face,
                                            config.embed_batch_size, "skip", data.strategy, config.seed, 1,
                                            quiet=True, track=track, on_truncated=data.on_truncated)
    out = {"frame_evidence": explain.occlusion_evidence(model, features[0], mask[0]), "mask": mask[0],
           "crops": None, "heatmaps": None}
    if heatmaps:
        spec = backbones.get_spec(config.img_model_name)
        crops, _, _ = read_frames_and_face(path, num_frames, spec.input_size, data.strategy, seed, face,
                                           cache_dir=cache, track=track, on_truncated=data.on_truncated)
        backbone = backbones.build_backbone(spec.name, config.weights)
        out.update(crops=crops, heatmaps=explain.gradcam_sequence(model, backbone, spec.gradcam_layer,
                                                                 spec.preprocess(crops), features[0], mask[0],
                                                                 heatmap_frames))
    return out


def plot_run_explanations(run_dir: Path, model, table: pd.DataFrame, frames: int = 8) -> None:
    """`explain.png`: the test videos with the highest P(fake) (the most confident fake) and the
    lowest (the most confident real), up to `frames` crops each, their Grad-CAM overlays and
    every frame's evidence. Best effort: a failure is a warning, never a failed run (the run
    is complete before this)."""
    test = table[table.split == "test"].dropna(subset=["score"])
    picks = [(kind, rows) for kind, rows in (("highest P(fake)", test.sort_values("score").tail(1)),
                                             ("lowest P(fake)", test.sort_values("score").head(1)))
             if len(rows)]
    config = run_config(run_dir)
    # Heatmaps need the backbone: a run on cached embeddings never built it, and building it
    # for a picture would cost more than the picture (7 s for MobileNetV2): frames then.
    heatmaps = config.family != SEQUENCE or backbones.is_built(config.img_model_name, config.weights)
    try:
        items = []
        for kind, rows in picks:
            path = rows.path.iloc[0]
            result = explain_video(path, run_dir, model=model, heatmaps=heatmaps,
                                   heatmap_frames=explain.shown_frames(config.num_frames, frames))
            items.append((f"{kind}: {Path(path).name}", result))
        if items:
            explain.plot_explanations(items, run_dir / "explain.png", limit=frames)
    except Exception as err:  # noqa: BLE001: a picture must not fail a finished run
        warnings.warn(f"explain.png not written: {type(err).__name__}: {err}", stacklevel=3)


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


__all__ = ["classifier", "predict_video", "evaluate", "explain_video", "score_tracks", "score_frames", "plot_run_explanations"]
