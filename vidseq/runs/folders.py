"""Run folders: what a trained run leaves behind, and reading it back.

`save_run` writes `save_dir/<run_name>/`: `model.keras`, `config.json`, `metrics.json`
(written last: its presence marks a finished run), `history.csv`, `splits.csv`,
`scores.csv` and plots. `run_config`, `load_classifier`, `run_threshold` and `read_scores` read it.

    >>> from vidseq.runs.folders import load_classifier, run_threshold
    >>> model = load_classifier("saved_models/<run>")  # doctest: +SKIP
    >>> run_threshold("saved_models/<run>")  # doctest: +SKIP
    0.5
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import time
from pathlib import Path
from typing import Iterable

import pandas as pd

from vidseq import __version__
from vidseq.data.sampling import read_frames_and_boxes
from vidseq.data.splits import split_fingerprint, split_report
from vidseq.data.video_io import VideoReadError
from vidseq.runs.plots import plot_frames, plot_learning_curves, plot_roc, plot_score_histograms
from vidseq.training.config import RunConfig
from vidseq.training.fitted import Fitted
from vidseq.training.videos import RunVideos
from vidseq.utils.atomic import atomic_path, write_json, write_text
from vidseq.utils.cache import content_fingerprint

LABELS = ["real", "fake"]  # class names by output index: the sigmoid output is P(fake)


def save_run(videos: RunVideos, fitted: Fitted, metrics: dict) -> tuple[Path, pd.DataFrame]:
    """Save a trained run's folder (metrics.json last): `(run folder, its scores table)`.

    `metrics`: the validation and test metrics; the split, training and skipped videos are added here."""
    config = videos.config
    history = pd.DataFrame(fitted.history).rename_axis("epoch").reset_index()
    tested = videos.videos[videos.used["test"]]
    metrics.update(
        test_split=split_fingerprint(tested.path, tested.label), test_split_key="content",
        split_report=split_report(videos.used_videos).to_dict(orient="index"),
        test_loss=metrics["test"]["log_loss"], test_acc=metrics["test"]["accuracy"],
        train_videos=int(fitted.train_videos), epochs_trained=int(len(history)),
        best_epoch=int(history.val_loss.idxmin()) + 1, train_seconds=round(fitted.train_seconds, 2),
        skipped=[{"path": p, "error": e} for p, e in videos.errors.items()], no_face=videos.no_face,
    )
    model = fitted.model
    dataset = dataset_name(videos.videos, videos.data_dir)
    name = config.run_name or (f"{dataset}_{file_safe(config.img_model_name)}_f{config.num_frames}_{model.name}_"
                               f"{time.strftime('%Y%m%d-%H%M%S')}")
    run_dir = new_run_dir(config.save_dir, name)
    entries = run_entries(config, model, fitted.recorded, data_dir=str(Path(videos.data_dir).resolve()),
                          dataset=dataset)
    table = pd.concat([videos.videos.loc[videos.used[s], ["path", "split", "label"]].assign(score=fitted.scores[s])
                       for s in fitted.scores], ignore_index=True)
    _plot_frames(videos, table, run_dir / "frames.png")
    _save(run_dir, model, entries, metrics, history, videos.videos, table)
    return run_dir, table


def run_entries(config: RunConfig, model, recorded: dict, **where: str | None) -> dict:
    """config.json's entries: `where` the run's data came from (`data_dir`, `dataset`), the
    settings, the model's size, the versions that made it, and what its build `recorded`."""
    import keras  # loaded already: the model is a Keras model

    return dict(**where, num_frames=config.num_frames, params=int(model.count_params()),
                cache_dir=str(config.cache_path.resolve()), created=time.strftime("%Y-%m-%dT%H:%M:%S"),
                versions=dict(vidseq=__version__, keras=keras.__version__, backend=keras.backend.backend()),
                **config.to_json(), **recorded)


def save_model(run_dir: Path, model) -> None:
    """`run_dir/model.keras`, written atomically."""
    with atomic_path(run_dir / "model.keras") as tmp:
        model.save(tmp)


def _plot_frames(videos: RunVideos, table: pd.DataFrame, path: Path) -> None:
    """Up to 8 sampled frames (face boxes drawn) of the first fake test video."""
    config = videos.config
    fakes = table[(table.split == "test") & (table.label == 1)].path
    try:
        frames, boxes = read_frames_and_boxes(fakes.iloc[0], min(config.num_frames, 8), config.data.strategy,
                                              config.seed, videos.face or False, cache_dir=videos.cache_dir)
    except (IndexError, VideoReadError):
        return
    plot_frames(frames, boxes, title=f"{Path(fakes.iloc[0]).name}: sampled frames", path=path, columns=4)


def dataset_name(videos: pd.DataFrame, data_dir: str | os.PathLike) -> str:
    """What a run's dataset is called: its layouts ("dfd", "celebdf+dfdc"), where plain
    real/fake folders take the data directory's name (data/DFD -> "DFD")."""
    names = {file_safe(Path(data_dir).resolve().name) if d == "folders" else d for d in videos.dataset.unique()}
    return "+".join(sorted(names))


def file_safe(name: str) -> str:
    """`name` with every character a file name should not hold replaced by "_"."""
    return re.sub(r"[^\w.+-]", "_", name)


def new_run_dir(save_dir: str | os.PathLike, run_name: str) -> Path:
    """`save_dir/run_name`, or `run_name-2`, `-3`, ... : created here, so parallel runs never share one."""
    base, n = Path(save_dir) / run_name, 1
    while True:
        run_dir = base if n == 1 else base.with_name(f"{base.name}-{n}")
        try:
            run_dir.mkdir(parents=True)
            return run_dir
        except FileExistsError:
            n += 1


def _save(run_dir: Path, model, config: dict, metrics: dict, history: pd.DataFrame, videos: pd.DataFrame,
          scores: pd.DataFrame) -> None:
    save_model(run_dir, model)
    write_json(run_dir / "config.json", config)
    write_text(run_dir / "history.csv", history.to_csv(index=False))
    table = videos.assign(identities=videos.identities.map("|".join))[["path", "label", "identities", "group", "split",
                                                                        "dataset"]]
    write_text(run_dir / "splits.csv", table.to_csv(index=False))
    plot_learning_curves(history, run_dir / "learning_curves.png")
    write_text(run_dir / "scores.csv", scores.to_csv(index=False))
    plot_roc(scores, run_dir / "roc.png", title=run_dir.name)
    plot_score_histograms(scores, run_dir / "scores.png", threshold=threshold_of(metrics))
    write_json(run_dir / "metrics.json", metrics)  # last: its presence marks a finished run


def read_config(run_dir: str | os.PathLike) -> dict:
    """A run folder's config.json, as written (settings and what the run recorded)."""
    file = Path(run_dir) / "config.json"
    if not file.is_file():
        raise FileNotFoundError(f"Received: run_dir={str(run_dir)!r}, which has no config.json. Expected a saved run folder.")
    return json.loads(file.read_text())


def read_scores(run_dir: str | os.PathLike) -> pd.DataFrame:
    """A run's scores.csv (`path`, `split`, `label`, `score`) with each video's `identities`
    ("|"-joined) from its splits.csv: what intervals and paired comparisons resample."""
    run_dir = Path(run_dir)
    for name in ("scores.csv", "splits.csv"):
        if not (run_dir / name).is_file():
            raise FileNotFoundError(f"Received: run_dir={str(run_dir)!r}, which has no {name}. Expected a run "
                                    "folder with the scores and identities of its videos (early versions lack them).")
    scores = pd.read_csv(run_dir / "scores.csv")
    # As text: identities such as FF++'s "000" would otherwise be read as numbers.
    splits = pd.read_csv(run_dir / "splits.csv", usecols=["path", "identities"], dtype={"identities": str})
    scores = scores.merge(splits.drop_duplicates("path"), on="path", how="left")
    return scores.assign(identities=scores.identities.fillna(scores.path))  # unknown: a person of its own


def run_config(run_dir: str | os.PathLike) -> RunConfig:
    """A run folder's settings, typed (`RunConfig.from_json`), also from folders of earlier versions."""
    return RunConfig.from_json(read_config(run_dir))


def scoring_config(run_dir: str | os.PathLike, *, truncated: str | None = None, max_faces: int | None = None,
                   no_face: str | None = None, face_detector: str | None = None,
                   cache_dir: str | os.PathLike | None = None) -> RunConfig:
    """A run's settings with the choices scoring may change without changing what its model
    learnt (None keeps the run's own): `truncated`, `cache_dir`, and the face settings that
    only choose which videos and face tracks are scored: `max_faces` (tracks per video, the highest
    score counts), `no_face` (a face-free video scored on full frames, or skipped) and
    `face_detector` ("yunet" or "mtcnn": find the faces with another detector than the run's;
    a run saved before YuNet became the default used MTCNN, and still does).

    >>> scoring_config("saved_models/<one-face run>", max_faces=3).data.face.max_faces  # doctest: +SKIP
    3
    """
    config = run_config(run_dir)
    changes = {k: v for k, v in (("truncated", truncated), ("cache_dir", cache_dir and str(cache_dir))) if v}
    faces = {k: v for k, v in (("max_faces", max_faces), ("no_face", no_face), ("face_detector", face_detector))
             if v is not None}
    if faces:
        face = config.data.face
        if face is None:
            given = ", ".join(f"{k}={v!r}" for k, v in faces.items())
            raise ValueError(f"Received: {given} for a run without face crops ({str(run_dir)!r}). Expected none: "
                             "it scores whole frames.")
        face = face.with_detector(faces.pop("face_detector")) if face_detector else face
        changes["face_crop"] = dataclasses.replace(face, **faces)  # checked by FaceCrop
    return config.replace(**changes) if changes else config


def load_classifier(run_dir: str | os.PathLike):
    """The run's best model (`model.keras`), loaded with safe_mode."""
    file = Path(run_dir) / "model.keras"
    if not file.is_file():
        folds = sorted(p.parent.name for p in Path(run_dir).glob("fold*/model.keras"))
        expected = (f"Expected one of its fold runs ({', '.join(folds)}): it is a cross-validation, whose models are "
                    "in its folds" if folds else "Expected a saved run folder")
        raise FileNotFoundError(f"Received: run_dir={str(run_dir)!r}, which has no model.keras. {expected}.")
    import keras  # here: reading a run's settings needs no TensorFlow

    return keras.saving.load_model(file, safe_mode=True)


def run_test_split(run_dir: str | os.PathLike, metrics: dict | None = None) -> str | None:
    """The fingerprint of the videos a run was tested on (`split_fingerprint`): runs with equal
    ones were tested on the same videos, and only their test metrics compare.

    Runs saved before fingerprints went by content: recomputed by content from scores.csv
    while the test videos are still there, else their path-based fingerprint marked
    "path:..." (equal only to runs tested on the same paths). None without scores.csv.
    `metrics`: the run's metrics.json, if read already.

    >>> run_test_split("saved_models/<run>")  # doctest: +SKIP
    'c23fde94'
    """
    if metrics is None:
        metrics = json.loads((Path(run_dir) / "metrics.json").read_text())
    if metrics.get("test_split_key") == "content":
        return metrics["test_split"]
    try:
        scores = pd.read_csv(Path(run_dir) / "scores.csv")
    except (OSError, ValueError):
        return None
    tested = scores[scores.split == "test"]
    try:
        return split_fingerprint(tested.path, tested.label)
    except OSError:  # a test video moved or deleted since
        return "path:" + metrics.get("test_split", split_fingerprint(tested.path, tested.label, by="path"))


def seen_in_training(run_dir: str | os.PathLike, paths: Iterable[str]) -> list[str]:
    """The `paths` whose content is one of the run's training or validation videos, wherever
    they now are (a copy, a regenerated demo): scores on them do not measure generalization.
    Files missing on either side are not compared.

    >>> seen_in_training("saved_models/<run>", ["data/demo/real/real_000.mp4"])  # doctest: +SKIP
    ['data/demo/real/real_000.mp4']
    """
    splits_file = Path(run_dir) / "splits.csv"
    if not splits_file.is_file():
        return []
    splits = pd.read_csv(splits_file)
    trained = {content_fingerprint(p) for p in splits.path[splits.split.isin(["train", "val"])] if Path(p).is_file()}
    return [p for p in paths if Path(p).is_file() and content_fingerprint(p) in trained]


def run_threshold(run_dir: str | os.PathLike) -> float:
    """The P(fake) at or above which a run calls a video FAKE: its validation split's threshold in
    metrics.json, else its test split's, else 0.5 (chosen on validation, never on test data).

    >>> run_threshold("saved_models/<run>")  # doctest: +SKIP
    0.5
    """
    file = Path(run_dir) / "metrics.json"
    if not file.is_file():
        raise FileNotFoundError(f"Received: run_dir={str(run_dir)!r}, which has no metrics.json. "
                                "Expected a finished run folder.")
    return threshold_of(json.loads(file.read_text()))


def threshold_of(metrics: dict) -> float:
    """`run_threshold` from a run's metrics (metrics.json's content)."""
    for split in ("val", "test"):
        threshold = (metrics.get(split) or {}).get("threshold")
        if threshold is not None:
            return float(threshold)
    return 0.5


__all__ = ["LABELS", "save_run", "run_entries", "save_model", "dataset_name", "file_safe", "new_run_dir", "read_config",
           "run_config", "scoring_config", "load_classifier", "run_test_split", "seen_in_training", "run_threshold",
           "read_scores"]
