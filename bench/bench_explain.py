"""Seconds per video to explain a prediction, against plain prediction, measured side by side.

A demo dataset of 8 clips (`make_demo_dataset`), a GRU head trained on MobileNetV2
(`weights="random"`, face crops, 32 frames, 5 epochs), then for each clip, round-robin:
  - `predict_video` (P(fake) only; loads the run's model on every call, as the API does),
  - the same scoring with the model loaded once (`scoring.score_tracks`), as explain_video scores,
  - `explain_video(model=...)` with heatmaps off (frames, boxes, per-frame evidence),
  - `explain_video(model=...)` with heatmaps on (+ Grad-CAM through the backbone on all 32 crops),
  - `explain_video(..., heatmap_frames=8 frames)`, as explain.png does.
explain.png's cost at the end of a run (first Grad-CAM call: traced), warm, and the backbone
build it needs where the run's process never built one.
Warm: caches filled and every graph traced by one untimed call each first. Also the cost
that `explain.png` adds to a run (`explain_video.plot_run_explanations`).

    python bench/bench_explain.py [--frames 32] [--repeats 2]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import pandas as pd

import model_builder
from clips import interleaved_times, table
from vidseq.features import backbone_models
from vidseq.runs import explain
from vidseq.runs import folders as runs
from vidseq.runs import explain_video, scoring
from vidseq.data.demo_data import make_demo_dataset


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench_explain-"))
    make_demo_dataset(root / "data", num_videos=8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model_builder.train_test_classifier(
            root / "data", args.frames, "MobileNetV2", weights="random", face_crop=True, rnn="gru", rnn_units=(64,),
            rnn_pooling="mean", epochs=5, batch_size=4, learning_rate=1e-3, val_size=0.25, test_size=0.25,
            cache_dir=root / "cache", save_dir=root / "runs", run_name="gru", verbose=0)
    run = root / "runs" / "gru"
    model = model_builder.load_classifier(run)
    videos = sorted(str(p) for p in (root / "data").rglob("*.mp4"))
    config = runs.run_config(run)
    shown = explain.shown_frames(args.frames, 8)
    scores = pd.read_csv(run / "scores.csv")
    started = time.perf_counter()  # as at the end of a run: backbone built, Grad-CAM step not yet traced
    explain_video.plot_run_explanations(run, model, scores)
    first_plot = time.perf_counter() - started
    backbone_models.clear_cache()
    started = time.perf_counter()
    backbone_models.build_backbone("MobileNetV2", "random")
    build = time.perf_counter() - started
    fns = {
        "predict_video": lambda: [model_builder.predict_video(v, run) for v in videos],
        "P(fake) only, model loaded once (what explain_video does to score)": lambda: [
            scoring.score_tracks(run, config, [v], model) for v in videos],
        "explain_video, heatmaps off": lambda: [model_builder.explain_video(v, run, model=model) for v in videos],
        "explain_video, heatmaps on (all frames)": lambda: [
            model_builder.explain_video(v, run, model=model, heatmaps=True) for v in videos],
        "explain_video, heatmaps on 8 frames (explain.png)": lambda: [
            model_builder.explain_video(v, run, model=model, heatmaps=True, heatmap_frames=shown) for v in videos],
    }
    for fn in fns.values():  # warm-up: caches, backbone, traced graphs
        fn()
    times, _ = interleaved_times(fns, repeats=args.repeats, keep=lambda r: None)
    base = statistics.median(times["predict_video"]) / len(videos)
    rows = []
    for name, seconds in times.items():
        per_video = statistics.median(seconds) / len(videos)
        rows.append([name, f"{per_video:.2f}", f"{per_video / base:.2f}x"])
    started = time.perf_counter()
    explain_video.plot_run_explanations(run, model, scores)
    rows.append(["explain.png, 2 videos x 8 heatmaps + plot, warm", f"{time.perf_counter() - started:.2f} (total)", ""])
    rows.append(["explain.png at the end of a run (Grad-CAM step traced then)", f"{first_plot:.2f} (total)", ""])
    rows.append(["+ building the backbone, where the run's process had not (all embeddings cached)",
                 f"{build:.2f} (once)", ""])
    print(f"run folder: {run}")
    print(f"{len(videos)} demo clips, {args.frames} frames, MobileNetV2 random weights, face crops, GRU(64) head; "
          f"medians of {args.repeats} interleaved rounds, warm")
    print(table(["per video", "seconds", "vs predict_video"], rows))


if __name__ == "__main__":
    main()
