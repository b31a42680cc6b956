"""One video explained by a saved run: P(fake), its label, the sampled frames and faces, each
frame's evidence and (asked for) Grad-CAM heatmaps; and the run's own `explain.png`.

The pictures' building blocks (occlusion evidence, Grad-CAM, the figure) are
`vidseq.runs.explain`.

    >>> from vidseq.runs.explain_video import explain_video
    >>> explain_video("data/demo/fake/fake_000.mp4", "saved_models/<run>")["label"]  # doctest: +SKIP
    'FAKE'
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any, Sequence

from vidseq.utils.quiet import import_keras_quietly

import_keras_quietly()  # before Keras loads: TensorFlow's start-up lines stay hidden
import keras
import numpy as np
import pandas as pd

from vidseq.data.sampling import read_frames_and_boxes, read_frames_and_face, sampling_seed
from vidseq.data.video_io import VideoReadError
from vidseq.features import backbone_models, backbones
from vidseq.features.store import load_entry
from vidseq.runs import explain
from vidseq.runs.folders import load_classifier, run_config, run_threshold, scoring_config
from vidseq.runs.scoring import score_tracks
from vidseq.training.config import RunConfig
from vidseq.training.sequence import cached_features
from vidseq.utils.notices import VidseqWarning


def explain_video(path: str | os.PathLike, run_dir: str | os.PathLike, cache_dir: str | os.PathLike | None = None,
                  max_side: int = 320, model: keras.Model | None = None, heatmaps: bool = False,
                  heatmap_frames: Sequence[int] | None = None, truncated: str | None = None, *,
                  max_faces: int | None = None, no_face: str | None = None,
                  face_detector: str | None = None) -> dict[str, Any]:
    """What a run sees and says about one video: P(fake), its label, the sampled frames and faces.

    Returns a dict: `score` (P(fake), as `predict_video` gives it), `threshold` (the run's,
    from metrics.json) and `label` ("FAKE" when score >= threshold, else "REAL"); `frames`
    uint8 RGB `(n, H, W, 3)`, the frames the run samples, shrunk to at most `max_side`
    pixels; `boxes` `(n, 4)`, the tracked face `(x, y, w, h)` in those frames, None when the
    run does not crop faces or found none; `track`, which face track gave the score and the
    boxes (0, the main face, unless `max_faces` scores several: the highest wins), None
    without face crops; `max_faces`, `no_face` and `face_detector` (default: the run's) as in
    `predict_video`; `face_found` (None without face crops);
    `frame_scores` `(n,)`, P(fake) per frame for CoAtNet runs, None for sequence heads (one
    score per video); `frame_evidence` `(num_frames,)` float32, signed: how much each sampled
    frame moves the score, P(fake) with all frames minus P(fake) without that frame (through
    the head's own Masking for sequence heads; from the other frames' scores for CoAtNet
    runs), 0 for padded frames; `mask` `(num_frames,)` bool, the frames the model saw. With
    `heatmaps=True` also `crops` uint8 `(num_frames, H, W, 3)`, the images the model saw
    (face crops; the resized frames without face crops), and `heatmaps` float32
    `(num_frames, H, W)` in [0, 1], Grad-CAM of P(fake) on each crop (`vidseq.runs.explain`,
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
    config = scoring_config(run_dir, truncated=truncated, max_faces=max_faces, no_face=no_face,
                            face_detector=face_detector, cache_dir=cache_dir)
    threshold = run_threshold(run_dir)  # a folder without metrics.json is no finished run: it says so
    if heatmaps and config.family.input_size == "none":
        raise ValueError(f"Received: heatmaps=True for a run on {config.img_model_name!r}. Expected heatmaps=False: "
                         "Grad-CAM needs the backbone, and a feature set's features were computed elsewhere.")
    face, cache, data = config.data.face, config.cache_path, config.data
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
    Grad-CAM (vidseq.runs.explain), for the face track that gave the score."""
    face, cache, data, num_frames = config.data.face, config.cache_path, config.data, config.num_frames
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
    # The scored track's features, read back from the cache that scoring just filled.
    features, mask = load_entry(cached_features(config, [path], quiet=True, track=track)[0][0])
    out = {"frame_evidence": explain.occlusion_evidence(model, features, mask), "mask": mask,
           "crops": None, "heatmaps": None}
    if heatmaps:
        spec = backbones.get_spec(config.img_model_name)
        crops, _, _ = read_frames_and_face(path, num_frames, spec.input_size, data.strategy, seed, face,
                                           cache_dir=cache, track=track, on_truncated=data.on_truncated)
        backbone = backbone_models.build_backbone(spec.name, config.weights)
        out.update(crops=crops, heatmaps=explain.gradcam_sequence(model, backbone, spec.gradcam_layer,
                                                                 spec.preprocess(crops), features, mask,
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
    heatmaps = config.family.frame_classifier or backbone_models.is_built(config.img_model_name, config.weights)
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
        warnings.warn(f"explain.png not written: {type(err).__name__}: {err}", VidseqWarning, stacklevel=3)


__all__ = ["explain_video", "plot_run_explanations"]
