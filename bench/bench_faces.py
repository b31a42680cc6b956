"""Face detection speed: vidseq's path against MTCNN on full-resolution frames.

For 360p, 720p and 1080p frames of a demo clip (a real face photograph filmed by a virtual
camera, the face about 45% of the frame height), side by side in one run:
  - full resolution (the baseline): `MTCNN().detect_faces(frame)` one frame at a time;
  - vidseq: `vidseq.faces.detect_faces(frames)`, frames downscaled to at most 640 px and
    batched 8 at a time, boxes scaled back.
Reports ms per frame, the speed-up, and the IoU of vidseq's largest face with the
full-resolution one (goal: >= 3x faster at 720p with IoU >= 0.8).

    python bench/bench_faces.py [--quick]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from clips import table
from vidseq import faces
from vidseq.demo_data import render_clip

SIZES = {"360p": (360, 640), "720p": (720, 1280), "1080p": (1080, 1920)}


def largest(boxes: np.ndarray) -> np.ndarray:
    return boxes[np.argmax(boxes[:, 2] * boxes[:, 3]), :4]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="8 frames per size instead of 16")
    args = parser.parse_args()
    count = 8 if args.quick else 16
    settings = faces.FaceCrop()
    faces.detect_faces(render_clip(0, False, 1, SIZES["360p"]))  # load MTCNN before timing
    detector = faces._DETECTOR

    rows, speedups = [], {}
    for name, size in SIZES.items():
        frames = render_clip((1, 0, 0), False, count, size)
        faces.detect_faces(frames, settings)  # untimed: TensorFlow traces each new input shape once
        detector.detect_faces(frames[0], min_face_size=settings.min_face_size)
        start = time.perf_counter()
        ours = faces.detect_faces(frames, settings)
        ours_ms = (time.perf_counter() - start) / count * 1e3
        start = time.perf_counter()
        full = [detector.detect_faces(frame, min_face_size=settings.min_face_size) for frame in frames]
        full_ms = (time.perf_counter() - start) / count * 1e3
        full = [np.array([[*f["box"], f["confidence"]] for f in found]).reshape(-1, 5) for found in full]
        both = [(a, b) for a, b in zip(ours, full) if len(a) and len(b)]
        ious = [faces.iou(largest(a), largest(b)) for a, b in both]
        speedups[name] = (full_ms / ours_ms, min(ious) if ious else 0.0)
        rows.append([name, f"{full_ms:.0f}", f"{ours_ms:.0f}", f"**{full_ms / ours_ms:.1f}x**",
                     f"{len(both)}/{count}", f"{np.mean(ious):.3f} (min {min(ious):.3f})" if ious else "-"])
        print(f"{name} done", flush=True)

    print(f"\nMTCNN face detection on {count} frames of a demo clip per size; ms per frame.\n")
    print(table(["frames", "full resolution, one by one", "vidseq (<=640 px, batch 8)", "speed-up",
                 "faces found by both", "IoU to full-resolution box"], rows))
    ratio, iou = speedups["720p"]
    ok = ratio >= 3 and iou >= 0.8
    print()
    print(table(["goal", "target", "measured", "pass"],
                [["720p speed-up, IoU", ">= 3x, >= 0.8", f"{ratio:.1f}x, {iou:.3f}", "yes" if ok else "**NO**"]]))


if __name__ == "__main__":
    main()
