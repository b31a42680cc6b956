"""Embedding throughput of the local engine vs Ray Data with 1 and 2 CPU workers, on this machine.

16 clips (720p, 10 s, 30 fps H.264), 32 frames each, MobileNetV2 weights="random", an empty
cache per run. Each run is a fresh process (start-up costs included, as a user pays them),
and the engines alternate over the rounds so drift hits all alike. Per run:
  start-up  the call until the first video is finished (Ray: actor start, TensorFlow import,
            backbone build; local: backbone build);
  steady    videos/s between the first and the last finished video, read from the cache
            files' modification times: what a long extraction runs at;
  total     the whole call (ray.init excluded, reported apart).

    python bench/bench_scale.py [--rounds 2] [--frames 32] [--face-crop]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from clips import folders_dataset, table

ENGINES = {"local": None, "ray, 1 worker": 1, "ray, 2 workers": 2}
# One run in a child process: prints the wall-clock times the parent needs.
CHILD = """
import json, sys, time
paths, frames, face_crop, cache, workers = json.loads(sys.argv[1])
t0 = time.time()
if workers:
    import ray
    ray.init(num_cpus=2, include_dashboard=False, logging_level="error")
init = time.time()
import model_builder
start = time.time()
model_builder.embed_videos(paths, frames, "MobileNetV2", weights="random", cache_dir=cache, face_crop=face_crop,
                           engine="ray" if workers else "local", ray_workers=workers)
print("RESULT " + json.dumps(dict(ray_init=init - t0, start=start, end=time.time())))
"""


def run(paths, frames: int, face_crop: bool, workers: int | None) -> dict:
    with tempfile.TemporaryDirectory() as cache:
        args = json.dumps([[str(p) for p in paths], frames, face_crop, cache, workers])
        done = subprocess.run([sys.executable, "-c", CHILD, args], capture_output=True, text=True, check=False)
        if done.returncode:
            raise RuntimeError(done.stderr[-3000:])
        times = json.loads(done.stdout.split("RESULT ", 1)[1])
        finished = sorted(f.stat().st_mtime for f in Path(cache, "embeddings").rglob("*.npz"))
    assert len(finished) == len(paths), f"{len(finished)} of {len(paths)} videos embedded"
    return dict(startup=finished[0] - times["start"], steady=(len(finished) - 1) / (finished[-1] - finished[0]),
                total=times["end"] - times["start"], ray_init=times["ray_init"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--frames", type=int, default=32)
    parser.add_argument("--face-crop", action="store_true")
    args = parser.parse_args()
    _, paths = folders_dataset(8)
    results = {name: [] for name in ENGINES}
    for r in range(args.rounds):
        for name in list(ENGINES) if r % 2 == 0 else list(ENGINES)[::-1]:
            results[name].append(run(paths, args.frames, args.face_crop, ENGINES[name]))
            print(f"round {r + 1}: {name}: {results[name][-1]}", flush=True)

    def median(name, key):
        return statistics.median(x[key] for x in results[name])

    local = median("local", "steady")
    rows = [[name, f"{median(name, 'startup'):.1f} s", f"{median(name, 'steady'):.2f}",
             f"{median(name, 'steady') / local:.2f}x", f"{median(name, 'total'):.1f} s",
             f"{median(name, 'ray_init'):.1f} s" if ENGINES[name] else "-"] for name in ENGINES]
    print(f"\n{len(paths)} clips 720p 10 s, {args.frames} frames, MobileNetV2 random weights"
          f"{', face crops' if args.face_crop else ''}; medians of {args.rounds} rounds\n")
    print(table(["engine", "start-up", "steady videos/s", "vs local", "total", "ray.init"], rows))


if __name__ == "__main__":
    main()
