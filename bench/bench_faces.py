"""Face detection: YuNet (the default), MTCNN through vidseq's path and MTCNN on full-resolution
frames, side by side; then the whole cold extraction with and without face crops.

1. Detection per sampled frame, on 16 frames of a demo clip (a real face photograph filmed by
   a virtual camera) at 360p, 720p and 1080p, interleaved, best of 3; ms per frame of
   - MTCNN at full resolution, one frame at a time: the reference boxes;
   - MTCNN through vidseq's path, `FaceCrop(detector="mtcnn")`: a 320 px first pass, 640 px
     for the frames where it finds no sure face (vidseq's path before YuNet);
   - YuNet through the same path, `FaceCrop()` (the default);
   - YuNet at 640 px only, `FaceCrop(first_pass=None)`: does the first pass pay?
   - YuNet's path with the frames split over 2 threads: does threading pay on 2 cores?
   and the IoU of each path's largest face box to full-resolution MTCNN's (mean, min).
   `--clips DIR`: also every video in DIR (16 sampled frames at their own resolution; real
   footage you supply, never committed): the same paths, IoU to the full-resolution boxes.
2. Cold extraction, `embed_videos` (MobileNetV2 weights="random", 16 frames, an empty cache
   each run) of 6 demo clips (720p, 5 s, 30 fps H.264, written once into bench/.clips/):
   whole frames, YuNet's face crops, MTCNN's; medians of interleaved runs (goal: YuNet's crops
   cost at most 1.5x the whole-frame time). Then where a face read's time goes per clip:
   decoding the 16 frames against detecting faces in them.

    python bench/bench_faces.py [--quick] [--clips DIR]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

import model_builder
from clips import CLIP_DIR, interleaved_times, table
from vidseq.data import face_detectors, faces, sampling
from vidseq.data.demo_data import render_clip
from vidseq.data.faces import FaceCrop, shrink_for_detection
from vidseq.data.video_io import write_video

SIZES = {"360p": (360, 640), "720p": (720, 1280), "1080p": (1080, 1920)}
FRAMES = 16
POOL = concurrent.futures.ThreadPoolExecutor(2)


def two_threads(frames, face: FaceCrop) -> list[np.ndarray]:
    """`detect_faces` with the frames split between 2 threads (each has its own YuNet)."""
    half = len(frames) // 2
    first, second = POOL.map(lambda part: faces.detect_faces(part, face), [frames[:half], frames[half:]])
    return first + second


PATHS = {  # name -> detect(frames): vidseq's paths, full-resolution MTCNN (the reference) is separate
    "MTCNN, vidseq's path": lambda frames: faces.detect_faces(frames, FaceCrop(detector="mtcnn")),
    "YuNet, vidseq's path": lambda frames: faces.detect_faces(frames, FaceCrop()),
    "YuNet, 640 px only": lambda frames: faces.detect_faces(frames, FaceCrop(first_pass=None)),
    "YuNet's path, 2 threads": lambda frames: two_threads(frames, FaceCrop()),
}


def full_resolution(frames) -> list[np.ndarray]:
    """MTCNN on each frame as it is, one by one: the reference boxes."""
    return face_detectors.detect_mtcnn(list(frames), FaceCrop(detector="mtcnn").min_face_size, 0.9, batch=1)


def largest(boxes: np.ndarray) -> np.ndarray:
    return boxes[np.argmax(boxes[:, 2] * boxes[:, 3]), :4]


def agreement(found, reference) -> str:
    """IoU of the largest face to the reference's, over the frames where both found one."""
    ious = [faces.iou(largest(a), largest(b)) for a, b in zip(found, reference) if len(a) and len(b)]
    return f"{np.mean(ious):.3f} ({min(ious):.3f})" if ious else "-"


def detection_rows(name: str, frames: list, with_full: bool = True) -> tuple[list, dict]:
    """One table row for `frames`: ms per frame of each path, its IoU to full-resolution MTCNN."""
    for detect in [*PATHS.values(), *([full_resolution] if with_full else [])]:
        detect(frames[:2])  # untimed: TensorFlow traces MTCNN's new input shapes once
    fns = {**({"full": lambda: full_resolution(frames)} if with_full else {}),
           **{path: (lambda d=detect: d(frames)) for path, detect in PATHS.items()}}
    times, found = interleaved_times(fns, repeats=3, budget_s=20)
    ms = {path: min(t) / len(frames) * 1e3 for path, t in times.items()}
    reference = found.get("full", found["MTCNN, vidseq's path"])
    row = [name, f"{ms['full']:.0f}" if with_full else "-"]
    row += [f"{ms[path]:.1f}" for path in PATHS]
    row += [f"**{ms[list(PATHS)[0]] / ms[list(PATHS)[1]]:.1f}x**"]
    row += [agreement(found[path], reference) for path in list(PATHS)[:2]]
    row += [f"{sum(len(f) > 0 for f in found[path])}/{len(frames)}" for path in list(PATHS)[:2]]
    return row, ms


def detection_header(reference: str = "full-resolution MTCNN") -> list[str]:
    return ["frames", "MTCNN full resolution", *PATHS, "YuNet vs MTCNN (vidseq's path)",
            f"IoU to {reference}: MTCNN's path", "YuNet's path", "frames with a face: MTCNN", "YuNet"]


def demo_clips(count: int) -> list[Path]:
    """`count` demo clips (720p, 5 s, 30 fps, faces), rendered once into bench/.clips/faces_720p/."""
    folder = CLIP_DIR / "faces_720p"
    paths = []
    for k in range(count):
        path = folder / f"face_{k}.mp4"
        if not path.is_file():
            folder.mkdir(parents=True, exist_ok=True)
            write_video(path, render_clip((40 + k, 0, k), bool(k % 2), 150, SIZES["720p"]), fps=30)
        paths.append(path)
    return paths


def extraction(paths: list[Path], repeats: int) -> dict:
    """Seconds of a cold `embed_videos` of `paths`: whole frames, YuNet's crops, MTCNN's."""
    settings = {"whole frames": False, "YuNet face crops": FaceCrop(), "MTCNN face crops": FaceCrop(detector="mtcnn")}
    for face in settings.values():  # untimed: build the backbone, load both detectors
        with tempfile.TemporaryDirectory() as cache:
            model_builder.embed_videos(paths[:1], FRAMES, "MobileNetV2", "random", cache_dir=cache, face_crop=face)

    def cold(face):
        with tempfile.TemporaryDirectory() as cache:
            return model_builder.embed_videos(paths, FRAMES, "MobileNetV2", "random", cache_dir=cache, face_crop=face)

    times, _ = interleaved_times({name: (lambda f=face: cold(f)) for name, face in settings.items()}, repeats,
                                 keep=lambda result: None)
    return {name: statistics.median(t) for name, t in times.items()}


def where_time_goes(paths: list[Path]) -> tuple[float, float]:
    """Per clip, seconds to decode its 16 sampled frames (held at <= 640 px, as a face read
    does) and to detect faces in them with YuNet's path."""
    decode, detect = [], []
    for path in paths:
        start = time.perf_counter()
        _, frames, n = sampling._sample_and_grab(path, FRAMES, "uniform", None, 2,
                                                 lambda f, k: shrink_for_detection(f, 640)[0])
        decode.append(time.perf_counter() - start)
        start = time.perf_counter()
        faces.detect_faces(frames[:n], FaceCrop())
        detect.append(time.perf_counter() - start)
    return statistics.median(decode), statistics.median(detect)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="8 frames per size, 2 extraction rounds, 4 clips")
    parser.add_argument("--clips", type=Path, default=None, help="also these videos (a folder): real footage")
    parser.add_argument("--no-full", action="store_true", help="with --clips: skip full-resolution MTCNN on them")
    args = parser.parse_args()
    count = 8 if args.quick else FRAMES

    rows, speed = [], {}
    for name, size in SIZES.items():
        row, ms = detection_rows(name, list(render_clip((1, 0, 0), False, count, size)))
        rows.append(row)
        speed[name] = ms
        print(f"{name} done", flush=True)
    clip_rows = []
    for path in sorted(args.clips.glob("*.mp4")) if args.clips else []:
        _, frames, n = sampling._sample_and_grab(path, FRAMES, "uniform", None, 2, lambda f, k: f)
        clip_rows.append(detection_rows(f"{path.stem} ({frames.shape[2]}x{frames.shape[1]})", list(frames[:n]),
                                        not args.no_full)[0])
        print(f"{path.name} done", flush=True)

    paths = demo_clips(4 if args.quick else 6)
    seconds = extraction(paths, 2 if args.quick else 3)
    decode, detect = where_time_goes(paths)

    print(f"\nFace detection on {count} frames of a demo clip per size; ms per sampled frame.\n")
    print(table(detection_header(), rows))
    if clip_rows:
        print(f"\nThe same on {FRAMES} sampled frames of each video in {args.clips}.\n")
        print(table(detection_header("MTCNN's path" if args.no_full else "full-resolution MTCNN"), clip_rows))
    base = seconds["whole frames"]
    print(f"\nCold extraction of {len(paths)} demo clips (720p, 5 s, 30 fps), {FRAMES} frames, MobileNetV2 "
          "random weights, an empty cache per run; median seconds.\n")
    print(table(["frames embedded", "seconds", "vs whole frames"],
                [[name, f"{s:.1f}", f"**{s / base:.2f}x**"] for name, s in seconds.items()]))
    print(f"\nPer clip, a face read: decoding its {FRAMES} frames {decode * 1e3:.0f} ms, YuNet's detection on them "
          f"{detect * 1e3:.0f} ms.\n")
    ratio = seconds["YuNet face crops"] / base
    speed_up = speed["720p"][list(PATHS)[0]] / speed["720p"][list(PATHS)[1]]
    print(table(["goal", "target", "measured", "pass"],
                [["cold extraction, YuNet face crops vs whole frames", "<= 1.5x", f"{ratio:.2f}x",
                  "yes" if ratio <= 1.5 else "**NO**"],
                 ["720p detection, YuNet vs MTCNN (vidseq's path)", ">= 5x", f"{speed_up:.1f}x",
                  "yes" if speed_up >= 5 else "**NO**"]]))


if __name__ == "__main__":
    main()
