"""Synthetic H.264 test clips for the benchmarks, generated once into `bench/.clips/`.

Each clip is a panning textured background, a moving colour gradient, a few moving shapes
and a little per-frame noise: real motion and detail, so H.264 has real work to do (a
flat or static clip would decode unrealistically fast).
"""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np

from vidseq.data.video_io import write_video

CLIP_DIR = Path(__file__).resolve().parent / ".clips"


def _frames(seconds: float, fps: float, size: tuple[int, int], seed: int):
    h, w = size
    rng = np.random.default_rng(seed)
    n = int(round(seconds * fps))
    # Low-pass noise texture, larger than the frame, panned a few pixels per frame.
    pan = 4 * n + 64
    texture = cv2.resize(rng.integers(0, 256, ((h + pan) // 4, (w + pan) // 4, 3), dtype=np.uint8),
                         (w + pan, h + pan), interpolation=cv2.INTER_CUBIC)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    noise = [rng.integers(-6, 7, (h, w, 3), dtype=np.int16) for _ in range(5)]
    shapes = [(rng.uniform(0, w), rng.uniform(0, h), rng.uniform(-12, 12), rng.uniform(-9, 9),
               int(rng.integers(h // 20, h // 6)), tuple(int(c) for c in rng.integers(0, 256, 3)))
              for _ in range(6)]
    for t in range(n):
        dx, dy = (t * 3) % pan, (t * 2) % pan
        frame = texture[dy : dy + h, dx : dx + w].astype(np.int16) // 2
        gradient = 60 * (1 + np.sin((xx + 8 * t) / 97.0 + (yy - 5 * t) / 151.0 + seed))
        frame += gradient.astype(np.int16)[..., None] + noise[t % len(noise)]
        frame = np.clip(frame, 0, 255).astype(np.uint8)
        for k, (x, y, vx, vy, r, colour) in enumerate(shapes):
            cx, cy = int((x + vx * t) % w), int((y + vy * t) % h)
            if k % 2:
                cv2.circle(frame, (cx, cy), r, colour, -1)
            else:
                cv2.rectangle(frame, (cx - r, cy - r // 2), (cx + r, cy + r // 2), colour, -1)
        yield frame


def make_clip(path, seconds: float = 10, fps: float = 30, size: tuple[int, int] = (720, 1280), seed: int = 0) -> Path:
    """Write the clip to `path` unless it is already there; return the path."""
    path = Path(path)
    if not path.is_file():
        write_video(path, _frames(seconds, fps, size, seed), fps=fps)
    return path


def clip(seed: int = 0, seconds: float = 10, fps: float = 30, size: tuple[int, int] = (720, 1280),
         folder: str = "") -> Path:
    """A cached clip under `bench/.clips/[folder/]`, named after its settings."""
    name = f"clip_{size[0]}p_{seconds:g}s_{fps:g}fps_s{seed}.mp4"
    return make_clip(CLIP_DIR / folder / name, seconds, fps, size, seed)


def folders_dataset(n_per_class: int = 8, **kwargs) -> tuple[Path, list[Path]]:
    """A folders-layout dataset `bench/.clips/folders_<n>/{real,fake}/`; returns (root, all paths)."""
    size = kwargs.get("size", (720, 1280))
    root = CLIP_DIR / f"folders_{n_per_class}x2_{size[0]}p"
    paths = []
    for i in range(n_per_class):
        for label, offset in (("real", 0), ("fake", 1000)):
            paths.append(clip(seed=i + offset, folder=f"{root.name}/{label}", **kwargs))
    return root, paths


def interleaved_times(fns: dict, repeats: int = 3, budget_s: float = float("inf"), keep=None) -> tuple[dict, dict]:
    """Time each `fns[name]()` `repeats` times, round-robin so that drift hits all alike.

    A function stops being repeated once its own time spent reaches `budget_s` (slow baselines).
    `keep(result)`, untimed, reduces each result to what is kept (so big arrays are freed at once).
    Returns ({name: [seconds per run]}, {name: last kept result}).
    """
    times = {name: [] for name in fns}
    results = {}
    for r in range(repeats):
        for name in list(fns) if r % 2 == 0 else list(fns)[::-1]:  # alternate the order: no position bias
            fn = fns[name]
            if times[name] and sum(times[name]) >= budget_s:
                continue
            start = time.perf_counter()
            result = fn()
            times[name].append(time.perf_counter() - start)
            results[name] = keep(result) if keep else result
            del result
    return times, results


def table(header: list[str], rows: list[list]) -> str:
    """A markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def training_steps(model, size: tuple[int, int], batch_size: int, steps: int):
    """A function running `steps` training steps of a compiled `model` on one fixed random
    batch of `size` images, after two warm-up steps (tracing)."""
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (batch_size, *size, 3)).astype("float32")
    labels = rng.integers(0, 2, (batch_size, 1)).astype("float32")
    for _ in range(2):
        model.train_on_batch(images, labels)

    def run():
        for _ in range(steps):
            loss = model.train_on_batch(images, labels)
        float(np.asarray(loss))  # wait for the device
    return run


def training_arguments(description: str, steps: int, batch_size: int):
    """The command line of a training-speed benchmark: --steps, --batch-size, --repeats, --bf16
    (parse it with `parse_training_arguments`, which sets the precision policy)."""
    import argparse

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--steps", type=int, default=steps)
    parser.add_argument("--batch-size", type=int, default=batch_size)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--bf16", action="store_true", help="mixed_bfloat16 compute (GPU)")
    return parser


def parse_training_arguments(parser):
    """Parsed arguments; with --bf16 Keras computes in mixed_bfloat16 from here on. Seeds Keras."""
    import keras

    args = parser.parse_args()
    if args.bf16:
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
    keras.utils.set_random_seed(0)
    return args
