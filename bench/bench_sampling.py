"""Frame sampling speed: `util.read_frames` against three ways of doing it by hand.

On a 720p, 10 s, 30 fps H.264 clip (keyframes every 250 frames, x264's default), for
16/64/256 uniformly sampled frames at native size, RGB:
  - bare loop (the floor): one VideoCapture, grab() every frame, retrieve()+cvtColor only
    at the sampled indices;
  - seeking (the seed toolkit): cap.set(CAP_PROP_POS_FRAMES, i) then read() per index;
  - decode-all: read() (decode + convert) every frame, keep the sampled ones.
Medians of interleaved repeats; slow baselines get fewer repeats (shown as "runs").

    python bench/bench_sampling.py [--quick]
"""

from __future__ import annotations

import argparse
import statistics

import cv2
import numpy as np

import util
from clips import clip, interleaved_times, table


def bare_loop(path, num_frames):
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    indices = set(util.sample_indices(int(cap.get(cv2.CAP_PROP_FRAME_COUNT)), num_frames).tolist())
    last, frames, i = max(indices), [], 0
    while i <= last and cap.grab():
        if i in indices:
            frames.append(cv2.cvtColor(cap.retrieve()[1], cv2.COLOR_BGR2RGB))
        i += 1
    cap.release()
    return np.stack(frames)


def seeking(path, num_frames):
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    frames = []
    for i in util.sample_indices(int(cap.get(cv2.CAP_PROP_FRAME_COUNT)), num_frames):
        cap.set(cv2.CAP_PROP_POS_FRAMES, int(i))
        ok, bgr = cap.read()
        frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    cap.release()
    return np.stack(frames)


def decode_all(path, num_frames):
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    indices = set(util.sample_indices(int(cap.get(cv2.CAP_PROP_FRAME_COUNT)), num_frames).tolist())
    frames, i = [], 0
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        if i in indices:
            frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        i += 1
    cap.release()
    return np.stack(frames)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="16 and 64 frames, fewer repeats")
    args = parser.parse_args()
    counts, repeats = ((16, 64), 3) if args.quick else ((16, 64, 256), 9)
    path = clip(seed=0)  # 720p, 10 s, 30 fps: 300 frames
    util.read_frames(path, 16)  # warm the page cache and OpenCV

    rows, results = [], {}
    for n in counts:
        fns = {
            "read_frames": lambda: util.read_frames(path, n)[0],
            "bare": lambda: bare_loop(path, n),
            "seek": lambda: seeking(path, n),
            "all": lambda: decode_all(path, n),
        }
        reference = bare_loop(path, n)  # also a warm-up

        def max_diff(frames):  # max |pixel difference| to the bare loop's frames; -1: other shape
            if frames.shape != reference.shape:
                return -1
            return max(int(cv2.absdiff(a, b).max()) for a, b in zip(frames, reference))

        times, diff = interleaved_times(fns, repeats, budget_s=20.0, keep=max_diff)
        assert diff["read_frames"] == 0, f"read_frames differs from the bare loop at {n} frames: {diff}"
        assert diff["all"] == 0, f"decode-all differs from the bare loop at {n} frames: {diff}"
        t = results[n] = {k: statistics.median(v) for k, v in times.items()}
        best = min(times["read_frames"]) / min(times["bare"])
        rows.append([
            n, *(f"{t[k] * 1e3:.0f}" for k in fns), f"**{t['read_frames'] / t['bare']:.2f}x** ({best:.2f}x)",
            f"**{t['seek'] / t['read_frames']:.1f}x**", f"{t['all'] / t['read_frames']:.2f}x", diff["seek"],
            "/".join(str(len(times[k])) for k in fns),
        ])
        print(f"{n} frames done", flush=True)

    print("\nSampling frames from a 720p 10 s 30 fps H.264 clip (300 frames, x264 default 250-frame GOP), native size, "
          "RGB; median ms of interleaved runs (ratio of the fastest runs in brackets).\n")
    print(table(
        ["frames", "read_frames ms", "bare loop ms", "seeking ms", "decode-all ms", "read_frames / bare (best-of)",
         "seeking / read_frames", "decode-all / read_frames", "seek px diff", "runs (rf/bare/seek/all)"],
        rows,
    ))
    goals = [
        ["read_frames / bare loop (all counts)", "<= 1.15x",
         ", ".join(f"{results[n]['read_frames'] / results[n]['bare']:.2f}x" for n in counts),
         all(results[n]["read_frames"] / results[n]["bare"] <= 1.15 for n in counts)],
        ["seeking / read_frames at 16 frames", ">= 5x", f"{results[16]['seek'] / results[16]['read_frames']:.1f}x",
         results[16]["seek"] / results[16]["read_frames"] >= 5],
        ["read_frames == bare loop == decode-all (pixels)", "equal", "equal", True],
    ]
    print()
    print(table(["goal", "target", "measured", "pass"], [[g, t, m, "yes" if ok else "**NO**"] for g, t, m, ok in goals]))


if __name__ == "__main__":
    main()
