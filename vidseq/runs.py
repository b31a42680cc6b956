"""Run folders: the videos a run trains on, and the folder it leaves behind.

A `Run` discovers and splits a run's videos, drops the unusable ones, and saves the finished
run as `save_dir/<run_name>/`: `model.keras`, `config.json`, `metrics.json` (written last:
its presence marks a finished run), `history.csv`, `splits.csv`, `scores.csv` and plots.

    >>> from vidseq.runs import load_classifier, run_threshold
    >>> model = load_classifier("saved_models/<run>")  # doctest: +SKIP
    >>> run_threshold("saved_models/<run>")  # doctest: +SKIP
    0.5
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from vidseq import __version__
from vidseq.atomic import atomic_path, write_json, write_text
from vidseq.cache import default_cache_dir
from vidseq.config import RunConfig
from vidseq.layouts import SPLITS, discover_videos
from vidseq.plots import plot_frames, plot_learning_curves, plot_roc, plot_score_histograms
from vidseq.sampling import read_frames_and_boxes
from vidseq.splits import describe_split, split_fingerprint, split_report, split_videos
from vidseq.video_io import VideoReadError

LABELS = ["real", "fake"]  # class names by output index: the sigmoid output is P(fake)


class Run:
    """One training run's videos and folder: what every training recipe shares.

    Discovers and splits `data_dir` (a bad one fails here, before any folder is made), and
    checks that `config.save_dir` is writable before any training.
    """

    def __init__(self, data_dir: str | os.PathLike, config: RunConfig):
        self.data_dir, self.config = data_dir, config
        self.say: Callable[..., Any] = print if config.verbose else (lambda *a, **k: None)
        self.face = config.data.face
        self.cache_dir = default_cache_dir() if config.cache_dir is None else Path(config.cache_dir)
        self.videos = split_as_run(data_dir, config)
        self.labels = self.videos.label.to_numpy()
        self.rows = {s: (self.videos.split == s).to_numpy() for s in SPLITS}
        self.errors: dict[str, str] = {}
        self.no_face: list[str] = []
        require_both_classes(self.labels, self.rows, "Expected val_size > 0 and test_size > 0.")
        save_dir = Path(config.save_dir)
        save_dir.mkdir(parents=True, exist_ok=True)
        if not os.access(save_dir, os.W_OK):
            raise PermissionError(f"Received: save_dir={str(save_dir)!r}, which is not writable.")

    def drop_unusable(self, usable: np.ndarray, errors: dict, no_face: list) -> dict[str, np.ndarray]:
        """The split rows without skipped videos; both classes must remain in every split."""
        self.errors, self.no_face = errors, no_face
        if errors:
            self.say(f"Skipped {len(errors)} video(s) (unreadable, or no face with no_face='skip'); "
                     "listed in metrics.json.")
        if no_face:
            self.say(f"No face found in {len(no_face)} video(s): full frames used; listed in metrics.json.")
        self.used = {s: r & usable for s, r in self.rows.items()}
        # The split as trained and tested: counts after skipping, so they match metrics.json.
        self.used_videos = self.videos.assign(split=np.where(usable, self.videos.split, "skipped"))
        self.say(describe_split(self.used_videos))
        require_both_classes(self.labels, self.used, f"After skipping {len(errors)} unusable video(s); "
                             "expected both classes.")
        return self.used

    def finish(self, model, recorded: dict, metrics: dict, fit, train_seconds: float, train_videos: int,
               scores: dict[str, np.ndarray]) -> tuple[Path, pd.DataFrame]:
        """Save the run folder (metrics.json last): `(run folder, its scores table)`.

        `recorded`: what config.json says beyond the options (the model, its weights, ...)."""
        config = self.config
        history = pd.DataFrame(fit.history).rename_axis("epoch").reset_index()
        tested = self.videos[self.used["test"]]
        metrics.update(
            test_split=split_fingerprint(tested.path, tested.label),
            split_report=split_report(self.used_videos).to_dict(orient="index"),
            test_loss=metrics["test"]["log_loss"], test_acc=metrics["test"]["accuracy"],
            train_videos=int(train_videos), epochs_trained=int(len(history)),
            best_epoch=int(history.val_loss.idxmin()) + 1, train_seconds=round(train_seconds, 2),
            skipped=[{"path": p, "error": e} for p, e in self.errors.items()], no_face=self.no_face,
        )
        dataset = dataset_name(self.videos, self.data_dir)
        name = config.run_name or (f"{dataset}_{config.img_model_name}_f{config.num_frames}_{model.name}_"
                                   f"{time.strftime('%Y%m%d-%H%M%S')}")
        run_dir = new_run_dir(config.save_dir, name)
        import keras  # loaded already: the model is a Keras model

        entries = dict(
            data_dir=str(Path(self.data_dir).resolve()), dataset=dataset, num_frames=config.num_frames,
            params=int(model.count_params()), cache_dir=str(self.cache_dir.resolve()),
            created=time.strftime("%Y-%m-%dT%H:%M:%S"),
            versions=dict(vidseq=__version__, keras=keras.__version__, backend=keras.backend.backend()),
            **config.to_json(), **recorded,
        )
        table = pd.concat([self.videos.loc[self.used[s], ["path", "split", "label"]].assign(score=scores[s])
                           for s in scores], ignore_index=True)
        self._plot_frames(table, run_dir / "frames.png")
        _save(run_dir, model, entries, metrics, history, self.videos, table)
        return run_dir, table

    def _plot_frames(self, table: pd.DataFrame, path: Path) -> None:
        """Up to 8 sampled frames (face boxes drawn) of the first fake test video."""
        fakes = table[(table.split == "test") & (table.label == 1)].path
        try:
            frames, boxes = read_frames_and_boxes(fakes.iloc[0], min(self.config.num_frames, 8),
                                                  self.config.data.strategy, self.config.seed, self.face or False,
                                                  cache_dir=self.cache_dir)
        except (IndexError, VideoReadError):
            return
        plot_frames(frames, boxes, title=f"{Path(fakes.iloc[0]).name}: sampled frames", path=path, columns=4)


def split_as_run(data_dir: str | os.PathLike, config: RunConfig, run_data_dir: str | None = None) -> pd.DataFrame:
    """The videos of `data_dir`, split as a run with `config` splits them. `run_data_dir`: the
    data the run trained on, when not `data_dir` (its identities CSV is then not used)."""
    same_data = Path(data_dir).resolve() == Path(run_data_dir or data_dir).resolve()
    data = config.data
    videos = discover_videos(data_dir, data.compression, identities=data.identities if same_data else None)
    return split_videos(videos, data.val_size, data.test_size, config.seed, split_by=data.split_by)


def dataset_name(videos: pd.DataFrame, data_dir: str | os.PathLike) -> str:
    """What a run's dataset is called: its layouts ("dfd", "celebdf+dfdc"), where plain
    real/fake folders take the data directory's name (data/DFD -> "DFD")."""
    names = {file_safe(Path(data_dir).resolve().name) if d == "folders" else d for d in videos.dataset.unique()}
    return "+".join(sorted(names))


def file_safe(name: str) -> str:
    """`name` with every character a file name should not hold replaced by "_"."""
    return re.sub(r"[^\w.+-]", "_", name)


def require_both_classes(labels: np.ndarray, rows: dict[str, np.ndarray], hint: str) -> None:
    """Every split needs real and fake videos: training, early stopping and AUC depend on it."""
    for split, r in rows.items():
        if len(np.unique(labels[r])) < 2:
            counts = f"{(labels[r] == 0).sum()} real, {(labels[r] == 1).sum()} fake"
            raise ValueError(f"Received: a {split!r} split of {r.sum()} video(s) ({counts}). {hint}")


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
    with atomic_path(run_dir / "model.keras") as tmp:
        model.save(tmp)
    write_json(run_dir / "config.json", config)
    write_text(run_dir / "history.csv", history.to_csv(index=False))
    table = videos.assign(identities=videos.identities.map("|".join))[["path", "label", "identities", "group", "split",
                                                                        "dataset"]]
    write_text(run_dir / "splits.csv", table.to_csv(index=False))
    plot_learning_curves(history, run_dir / "learning_curves.png")
    write_text(run_dir / "scores.csv", scores.to_csv(index=False))
    plot_roc(scores, run_dir / "roc.png")
    plot_score_histograms(scores, run_dir / "scores.png")
    write_json(run_dir / "metrics.json", metrics)  # last: its presence marks a finished run


def read_config(run_dir: str | os.PathLike) -> dict:
    """A run folder's config.json, as written (settings and what the run recorded)."""
    file = Path(run_dir) / "config.json"
    if not file.is_file():
        raise FileNotFoundError(f"Received: run_dir={str(run_dir)!r}, which has no config.json. Expected a saved run folder.")
    return json.loads(file.read_text())


def run_config(run_dir: str | os.PathLike) -> RunConfig:
    """A run folder's settings, typed (`RunConfig.from_json`), also from folders of earlier versions."""
    return RunConfig.from_json(read_config(run_dir))


def load_classifier(run_dir: str | os.PathLike):
    """The run's best model (`model.keras`), loaded with safe_mode."""
    file = Path(run_dir) / "model.keras"
    if not file.is_file():
        raise FileNotFoundError(f"Received: run_dir={str(run_dir)!r}, which has no model.keras. Expected a saved run folder.")
    import keras  # here: reading a run's settings needs no TensorFlow

    return keras.saving.load_model(file, safe_mode=True)


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
    metrics = json.loads(file.read_text())
    for split in ("val", "test"):
        threshold = (metrics.get(split) or {}).get("threshold")
        if threshold is not None:
            return float(threshold)
    return 0.5


__all__ = ["LABELS", "Run", "split_as_run", "dataset_name", "file_safe", "new_run_dir", "read_config", "run_config",
           "load_classifier", "run_threshold", "require_both_classes"]
