"""The `vidseq app` page (Streamlit): score videos with saved runs, and compare the runs.

`vidseq app [--save-dir saved_models] [--data-dir DIR]` serves it on localhost; by hand,
`streamlit run vidseq/app/streamlit_app.py -- --save-dir saved_models`. Two tabs:

- Predict: choose a run (the best by validation AUC first), upload videos or pick them from a data
  directory, and read each one's P(fake) against the run's threshold, its sampled frames with
  the face boxes the run cropped, the face track scored (how many faces are scored per video
  can be changed: the run's `max_faces` by default), every frame's evidence, Grad-CAM
  heatmaps on the crops (a checkbox: computed only when asked), and for CoAtNet runs the
  score of every frame.
- Runs: the leaderboard of `vidseq.runs.leaderboard.compare_saved_models`, then one run's config,
  metrics, learning curves and ROC.

TensorFlow loads on first use, once per server, and each run's model once. An uploaded video is written to a temporary
directory together with its embeddings and face boxes, all removed once it is scored.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import tempfile
import warnings
from collections.abc import Callable
from functools import partial
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from vidseq.data.faces import MAX_TRACKS, FaceCrop, crop_face
from vidseq.runs.leaderboard import SEEN, compare_saved_models, format_intervals, run_intervals, tie_summary
from vidseq.runs.stats import METRICS, format_interval
from vidseq.runs.folders import load_classifier
from vidseq.data.video_io import TruncatedVideoError

VIDEO_TYPES = ("mp4", "avi", "mov", "mkv", "webm")
MAX_SHOWN_FRAMES = 16
LEADERBOARD_COLUMNS = ["run", "dataset", "backbone", "num_frames", "head", "weights", "val_auc", "vs_best",
                       "val_log_loss", "test_auc", "test_accuracy", "test_eer", "test_videos", "test_split", "epochs",
                       "train_seconds", "skipped", "created"]
WITH_INTERVALS = ("val_auc", "test_auc")  # shown as "0.944 [0.75, 1.00]"
SCORE_SUFFIXES = ("_auc", "_accuracy", "_eer")
METRIC_NAMES = ["videos", "real", "fake", "auc", "accuracy", "balanced_accuracy", "eer", "log_loss", "threshold"]


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The page's own arguments: what `streamlit run vidseq/app/streamlit_app.py -- ...` passes after `--`."""
    parser = argparse.ArgumentParser(prog="vidseq app")
    parser.add_argument("--save-dir", default="saved_models", help="folder of run folders")
    parser.add_argument("--data-dir", default=None, help="folder to pick videos from (default: the run's data)")
    return parser.parse_args(argv)


def main(save_dir: str, data_dir: str | None = None) -> None:
    st.set_page_config(page_title="vidseq", layout="wide")
    st.title("vidseq: deepfake video classification")
    board = leaderboard_or_error(save_dir)
    predict_tab, runs_tab = st.tabs(["Predict", "Runs"])
    with predict_tab:
        predict_view(save_dir, board, data_dir)
    with runs_tab:
        runs_view(save_dir, board)


# --------------------------------------------------------------------------- loading


@st.cache_resource(show_spinner="Loading TensorFlow ...")
def _explaining():
    # Imported here, once per server: TensorFlow takes seconds to import.
    from vidseq.runs import explain_video

    return explain_video


def _runs_stamp(save_dir: str) -> tuple:
    """Changes whenever a run's config, metrics or evaluations change: the leaderboard's cache key."""
    return tuple(sorted((str(f), f.stat().st_mtime_ns) for f in Path(save_dir).glob("*/*.json")))


@st.cache_data(show_spinner="Reading the saved runs ...")
def _leaderboard(save_dir: str, stamp: tuple) -> tuple[pd.DataFrame, list[str]]:
    """`compare_saved_models` and the warnings it gave (unreadable run folders)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = compare_saved_models(save_dir)
    return table, [str(w.message) for w in caught]


def leaderboard_or_error(save_dir: str) -> pd.DataFrame:
    """The runs, best first; an empty table (with a message on the page) when there are none."""
    if not Path(save_dir).is_dir():
        st.error(f"Received: --save-dir {save_dir!r}, which is not a directory. Expected a folder of saved runs.")
        return pd.DataFrame()
    table, problems = _leaderboard(save_dir, _runs_stamp(save_dir))
    for problem in problems:
        st.warning(problem)
    if table.empty:
        st.info(f"No finished runs in {save_dir!r} yet: train one with `vidseq demo` or `vidseq train`.")
    return table


def _read_json(file: Path) -> dict:
    return json.loads(file.read_text()) if file.is_file() else {}


# --------------------------------------------------------------------------- predict


def predict_view(save_dir: str, board: pd.DataFrame, data_dir: str | None) -> None:
    if board.empty:
        return
    run = select_run(board, "Run", key="predict_run")
    run_dir = Path(save_dir) / run
    config = _read_json(run_dir / "config.json")
    st.caption(_describe_run(config))
    uploads = st.file_uploader("Videos to score", type=list(VIDEO_TYPES), accept_multiple_files=True, key="uploads")
    picked = pick_videos(data_dir or config.get("data_dir"))
    heatmaps = st.checkbox("Heatmaps on the face crops (Grad-CAM of P(fake); a few seconds per video)", key="heatmaps")
    max_faces = faces_to_score(config)
    stamp = _mtime(run_dir / "model.keras")
    margin = (config.get("face_crop") or {}).get("margin", FaceCrop.margin)
    for upload in uploads:
        data = upload.getvalue()
        show_result(upload.name, partial(_explain_upload, hashlib.sha256(data).hexdigest(), upload.name, data,
                                         str(run_dir), stamp, heatmaps, max_faces), margin)
    for path in picked:
        show_result(path, partial(_explain_file, path, _mtime(Path(path)), str(run_dir), stamp, heatmaps, max_faces),
                    margin)


def faces_to_score(config: dict) -> int | None:
    """How many faces a video's score looks at (the highest counts): the run's `max_faces` unless
    changed here; None for a run without face crops."""
    face = config.get("face_crop")
    if not face:
        return None
    return int(st.number_input("Faces scored per video (the most fake-looking one decides)", min_value=1,
                               max_value=MAX_TRACKS, value=int(face.get("max_faces", 1)), key="max_faces"))


def _mtime(file: Path) -> int:
    """Part of a cached result's key: a changed file is scored again (0: missing, which fails clearly)."""
    return file.stat().st_mtime_ns if file.is_file() else 0


def select_run(board: pd.DataFrame, label: str, key: str) -> str:
    """A run of the leaderboard, best by validation AUC first (the test set never chooses)."""
    auc = dict(zip(board.run, board.val_auc))
    return st.selectbox(label, list(board.run), key=key,
                        format_func=lambda run: f"{run}  (val AUC {_fmt(auc[run])})")


def _describe_run(config: dict) -> str:
    face = "face crops" if config.get("face_crop") else "full frames"
    origin = (f"pretrained ({config['pretrained']}: published weights {config.get('weights_file')})"
              if config.get("pretrained") else f"trained on {config.get('data_dir')}")
    return (f"{config.get('img_model_name')}, {config.get('num_frames')} frames ({config.get('strategy')}), "
            f"{face}, head {config.get('head')}, {origin}")


def pick_videos(data_dir: str | None) -> list[str]:
    """Videos chosen from `data_dir` (paths), or none when there is no such folder."""
    if not data_dir or not Path(data_dir).is_dir():
        return []
    videos = _list_videos(data_dir)
    return st.multiselect(f"Or pick videos from {data_dir}", videos, key="picked",
                          format_func=lambda path: str(Path(path).relative_to(data_dir)))


@st.cache_data(ttl=60, show_spinner=False)
def _list_videos(data_dir: str) -> list[str]:
    return sorted(str(p) for p in Path(data_dir).rglob("*") if p.suffix.lower().lstrip(".") in VIDEO_TYPES)


# Results are cached per (video, run): every click on the page reruns the script.
@st.cache_data(max_entries=32, show_spinner="Scoring ...")
def _explain_upload(digest: str, name: str, _data: bytes, run_dir: str, run_stamp: int, heatmaps: bool = False,
                    max_faces: int | None = None) -> dict:
    """explain_video on an uploaded file, kept with its cache entries in a temp dir until scored."""
    with tempfile.TemporaryDirectory(prefix="vidseq-app-") as tmp:
        video = Path(tmp) / (re.sub(r"[^\w.+-]", "_", Path(name).name) or "upload")
        video.write_bytes(_data)
        try:
            return _explain(video, run_dir, cache_dir=Path(tmp) / "cache", model=_model(run_dir, run_stamp),
                            heatmaps=heatmaps, max_faces=max_faces)
        except (ValueError, OSError) as err:  # name the upload, not its short-lived temp file
            raise ValueError(str(err).replace(str(video), name)) from err


@st.cache_data(max_entries=32, show_spinner="Scoring ...")
def _explain_file(path: str, mtime: int, run_dir: str, run_stamp: int, heatmaps: bool = False,
                  max_faces: int | None = None) -> dict:
    """explain_video on a video of the data directory: its cache entries are the run's own."""
    return _explain(path, run_dir, model=_model(run_dir, run_stamp), heatmaps=heatmaps, max_faces=max_faces)


def _explain(video, run_dir: str, **kwargs) -> dict:
    """explain_video; a truncated file is scored on the frames that decode, and says so (`truncated`)."""
    try:
        return {**_explaining().explain_video(video, run_dir, **kwargs), "truncated": None}
    except TruncatedVideoError as err:
        return {**_explaining().explain_video(video, run_dir, truncated="keep", **kwargs),
                "truncated": err.extent}


@st.cache_resource(max_entries=4, show_spinner="Loading the run's model ...")
def _model(run_dir: str, run_stamp: int):
    """A run's model, loaded once per server (reloaded when its model.keras changes)."""
    _explaining()  # TensorFlow, imported once behind a spinner
    return load_classifier(run_dir)


def show_result(name: str, explain: Callable[[], dict], margin: float) -> None:
    """One video's score, label, frames and per-frame scores; or what went wrong with it."""
    with st.container(border=True):
        try:
            result = explain()
        except (ValueError, OSError, KeyError) as err:  # VideoReadError is a ValueError
            st.error(f"{name}: {_error_text(err)}")
            return
        header, frames = st.columns([1, 4])
        colour = "red" if result["label"] == "FAKE" else "green"
        header.markdown(f"**{name}**\n\n### :{colour}[{result['label']}]")
        header.metric("P(fake)", f"{result['score']:.3f}")
        header.caption(f"threshold {result['threshold']:.2f}")
        if result.get("truncated"):
            header.warning(f"Truncated file: scored on what decodes ({result['truncated']}).")
        if result.get("track") is not None:
            header.caption(f"face track {result['track']} scored" + (" (the main face)" if result["track"] == 0 else
                                                                     " (it scored higher than the main face)"))
        if result["face_found"] is False:
            frames.warning("No face found in the sampled frames: the run scored full frames.")
        show_frames(frames, result, margin)


def _error_text(err: Exception) -> str:
    if isinstance(err, KeyError):
        return f"the run's config.json lacks {err}: the run folder cannot be loaded."
    return str(err)


def show_frames(where: DeltaGenerator, result: dict, margin: float) -> None:
    """The sampled frames with their face boxes and crops, and for CoAtNet runs each frame's P(fake)."""
    frames, boxes, scores = result["frames"], result["boxes"], result["frame_scores"]
    shown = np.unique(np.linspace(0, len(frames) - 1, min(len(frames), MAX_SHOWN_FRAMES)).astype(int))
    images = [_draw_box(frames[k], None if boxes is None else boxes[k]) for k in shown]
    captions = [f"#{k}" + ("" if scores is None else f"  P(fake) {scores[k]:.2f}") for k in shown]
    _image_grid(where, images, captions, per_row=8)
    sampled = f"{len(shown)} of {len(frames)} sampled frames" if len(shown) < len(frames) else "Sampled frames"
    where.caption(sampled + ("" if boxes is None else ", the tracked face boxed"))
    if boxes is not None:
        _image_grid(where, [crop_face(frames[k], boxes[k], (96, 96), margin) for k in shown], per_row=16)
        where.caption("Face crops: what the run's model sees")
    heatmaps, crops = result.get("heatmaps"), result.get("crops")
    if heatmaps is not None:
        from vidseq.runs.explain import overlay

        seen = [k for k in shown if k < len(heatmaps) and result["mask"][k]]
        _image_grid(where, [cv2.resize(overlay(crops[k], heatmaps[k]), (96, 96)) for k in seen], per_row=16)
        where.caption("Grad-CAM of P(fake) on the crops the model sees: red where the model looks for a fake "
                      "(scaled to the video's strongest frame)")
    evidence = result.get("frame_evidence")
    if evidence is not None:
        strip = pd.DataFrame({"towards FAKE": np.maximum(evidence, 0), "towards REAL": np.minimum(evidence, 0)},
                             index=pd.RangeIndex(len(evidence), name="frame"))
        where.bar_chart(strip, x_label="frame", y_label="evidence", color=["#d62728", "#1f77b4"], height=180)
        where.caption("Per-frame evidence: P(fake) with every frame minus P(fake) without this one "
                      "(0: a frame the model did not see)")
    if scores is None:
        where.caption("A sequence head scores the whole video (per-frame scores come with CoAtNet runs).")
        return
    chart = pd.DataFrame({"P(fake)": scores, "threshold": result["threshold"]}, index=pd.RangeIndex(len(scores)))
    where.line_chart(chart, x_label="frame", y_label="P(fake)", height=200)


def _image_grid(where: DeltaGenerator, images: list[np.ndarray], captions: list[str] | None = None,
                per_row: int = 8) -> None:
    """`per_row` images a row whatever the page width (one st.image of them all wraps unevenly)."""
    for start in range(0, len(images), per_row):
        for column, k in zip(where.columns(per_row), range(start, min(start + per_row, len(images)))):
            column.image(images[k], caption=None if captions is None else captions[k], width="stretch")


def _draw_box(frame: np.ndarray, box) -> np.ndarray:
    if box is None:
        return frame
    x, y, w, h = np.round(box).astype(int)
    return cv2.rectangle(frame.copy(), (x, y), (x + w, y + h), (0, 255, 0), 2)


# --------------------------------------------------------------------------- runs


def runs_view(save_dir: str, board: pd.DataFrame) -> None:
    if board.empty:
        return
    columns = [c for c in LEADERBOARD_COLUMNS if c in board] + [c for c in board if c.startswith("eval_")]
    scores = {c: st.column_config.NumberColumn(format="%.3f") for c in columns
              if c.endswith(SCORE_SUFFIXES) and c not in WITH_INTERVALS}
    st.dataframe(format_intervals(board, WITH_INTERVALS)[columns], hide_index=True, column_config=scores)
    st.caption("AUC [95% interval]: a bootstrap over identities. vs_best: a paired test on validation against the "
               "best run of the same test split (tied: p >= 0.05). " + tie_summary(board))
    if any(SEEN + "_" in c for c in columns):
        st.caption(f"eval_*{SEEN}_*: scored on some of the run's own training or validation videos: not a measure "
                   "of generalization.")
    run = select_run(board, "Run details", key="runs_run")
    run_dir = Path(save_dir) / run
    try:
        show_run(run_dir)
    except (ValueError, OSError) as err:
        st.error(f"{run}: {err}")


def show_run(run_dir: Path) -> None:
    """Config, metrics, learning curves and ROC of one run folder."""
    metrics = _read_json(run_dir / "metrics.json")
    left, right = st.columns(2)
    with left:
        st.subheader("Metrics")
        splits = [s for s in ("val", "test", "val_frames", "test_frames") if s in metrics]
        table = pd.DataFrame.from_dict({s: {m: metrics[s].get(m) for m in METRIC_NAMES} for s in splits},
                                       orient="index").round(3).astype(object)
        notes = []
        for split, bounds in run_intervals(run_dir, metrics).items():
            for m in METRICS:
                table.loc[split, m] = format_interval(metrics[split].get(m), *(bounds.get(m) or (None, None)),
                                                      bounds.get("note"))
            if bounds.get("note"):
                notes.append(f"{split}: {bounds['note']}")
        st.dataframe(table)
        st.caption("Video metrics with their 95% intervals (a bootstrap over identities)"
                   + "".join(f"; {note}" for note in notes))
        st.caption(f"{metrics.get('epochs_trained')} epochs (best {metrics.get('best_epoch')}), "
                   f"{metrics.get('train_seconds')} s, {len(metrics.get('skipped', []))} videos skipped")
        st.subheader("Config")
        st.json(_read_json(run_dir / "config.json"), expanded=1)
    with right:
        show_curves(run_dir)
        st.subheader("ROC")
        if (run_dir / "roc.png").is_file():
            st.image(str(run_dir / "roc.png"), width=420)
        elif (run_dir / "scores.csv").is_file():
            from vidseq.runs.plots import plot_roc

            st.pyplot(plot_roc(pd.read_csv(run_dir / "scores.csv"), title=run_dir.name), width=420)


def show_curves(run_dir: Path) -> None:
    if not (run_dir / "history.csv").is_file():
        return
    history = pd.read_csv(run_dir / "history.csv").set_index("epoch")
    history.index += 1
    st.subheader("Learning curves")
    for metric in ("loss", "accuracy"):
        curves = history[[c for c in (metric, f"val_{metric}") if c in history]]
        if not curves.empty:
            st.line_chart(curves, x_label="epoch", y_label=metric, height=220)


def _fmt(value) -> str:
    return "n/a" if value is None or pd.isna(value) else f"{value:.3f}"


if __name__ == "__main__":  # streamlit runs the page as __main__
    main(**vars(parse_args(sys.argv[1:])))
