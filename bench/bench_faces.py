"""Face detection speed: vidseq's path against MTCNN on full-resolution frames.

For 360p, 720p and 1080p frames of a demo clip (a real face photograph filmed by a virtual
camera, the face about 45% of the frame height), side by side in one run:
  - full resolution (the baseline): `MTCNN().detect_faces(frame)` one frame at a time;
  - vidseq: `vidseq.data.faces.detect_faces(frames)`, frames downscaled to at most 640 px and
    batched 8 at a time, boxes scaled back (one pass: `FaceCrop(first_pass=None)`).
Reports ms per frame, the speed-up, and the IoU of vidseq's largest face with the
full-resolution one (goal: >= 3x faster at 720p with IoU >= 0.8).

Then the whole face path per sampled frame, detection plus tracking, as before and now,
side by side: before = one 640 px detection pass + the IoU tracker vidseq used until
tracker version 2 (copied below); now = the default `FaceCrop()` detection (a 320 px first
pass, 640 px only for frames without a sure face) + `track_faces` (goal: now no slower per
frame at 720p, the same faces). Detection timings are interleaved, best of 3; each tracker
is timed on its detections (mean of 200 calls).

    python bench/bench_faces.py [--quick]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from clips import table
from vidseq.data import faces
from vidseq.data.demo_data import render_clip

SIZES = {"360p": (360, 640), "720p": (720, 1280), "1080p": (1080, 1920)}


def largest(boxes: np.ndarray) -> np.ndarray:
    return boxes[np.argmax(boxes[:, 2] * boxes[:, 3]), :4]


def iou_track(detections, min_iou: float = 0.2):
    """vidseq's tracker before TRACKER_VERSION 2: the first frame's largest face, then overlap."""
    first = next((t for t, d in enumerate(detections) if len(d)), None)
    if first is None:
        return None
    areas = detections[first][:, 2] * detections[first][:, 3]
    current = detections[first][int(np.argmax(areas)), :4]
    tracked = [None] * len(detections)
    for t in range(first, len(detections)):
        overlaps = [faces.iou(current, d[:4]) for d in detections[t]]
        if overlaps and max(overlaps) >= min_iou:
            current = detections[t][int(np.argmax(overlaps)), :4]
            tracked[t] = current
    known = np.array([t for t, box in enumerate(tracked) if box is not None])
    return np.stack([tracked[known[np.argmin(np.abs(known - t))]] for t in range(len(tracked))])


def face_paths(frames) -> dict:
    """ms per frame of each path's detection and tracking, and how its faces compare."""
    settings = {"before": faces.FaceCrop(first_pass=None), "now": faces.FaceCrop()}
    trackers = {"before": lambda found: iou_track(found), "now": lambda found: faces.track_faces(found, frames[0].shape[:2])}
    detect, found = {name: np.inf for name in settings}, {}
    for _ in range(3):  # interleaved: both see the same load on a shared machine
        for name, face in settings.items():
            faces.detect_faces(frames[:1], face)  # untimed: TensorFlow traces a new input shape once
            start = time.perf_counter()
            found[name] = faces.detect_faces(frames, face)
            detect[name] = min(detect[name], (time.perf_counter() - start) / len(frames) * 1e3)
    track = {}
    for name, tracker in trackers.items():
        start = time.perf_counter()
        for _ in range(200):
            tracker(found[name])
        track[name] = (time.perf_counter() - start) / 200 / len(frames) * 1e3
    both = [(a, b) for a, b in zip(found["before"], found["now"]) if len(a) and len(b)]
    ious = [faces.iou(largest(a), largest(b)) for a, b in both]
    return dict(detect=detect, track=track, found=f"{sum(len(f) > 0 for f in found['now'])}/{len(frames)}",
                iou=min(ious) if ious else 0.0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="8 frames per size instead of 16")
    args = parser.parse_args()
    count = 8 if args.quick else 16
    settings = faces.FaceCrop(first_pass=None)
    faces.detect_faces(render_clip(0, False, 1, SIZES["360p"]))  # load MTCNN before timing
    detector = faces.detector()

    rows, speedups, path_rows, path_ms = [], {}, [], {}
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
        path = face_paths(frames)
        before, now = (path["detect"][k] + path["track"][k] for k in ("before", "now"))
        path_ms[name] = (before, now, path["iou"])
        path_rows.append([name, f"{path['detect']['before']:.1f} + {path['track']['before']:.3f}",
                          f"{path['detect']['now']:.1f} + {path['track']['now']:.3f}", f"**{before / now:.1f}x**",
                          path["found"], f"{path['iou']:.3f}"])
        print(f"{name} done", flush=True)

    print(f"\nMTCNN face detection on {count} frames of a demo clip per size; ms per frame.\n")
    print(table(["frames", "full resolution, one by one", "vidseq (<=640 px, batch 8)", "speed-up",
                 "faces found by both", "IoU to full-resolution box"], rows))
    print("\nThe face path per sampled frame (detection + tracking), before and now; ms per frame.\n")
    print(table(["frames", "before: 640 px + IoU tracker", "now: 320 px first pass + track_faces", "speed-up",
                 "frames with a face (now)", "min IoU of now's face to before's"], path_rows))
    ratio, iou = speedups["720p"]
    ok = ratio >= 3 and iou >= 0.8
    before, now, same_faces = path_ms["720p"]
    same = now <= before and same_faces >= 0.8
    print()
    print(table(["goal", "target", "measured", "pass"],
                [["720p speed-up, IoU", ">= 3x, >= 0.8", f"{ratio:.1f}x, {iou:.3f}", "yes" if ok else "**NO**"],
                 ["720p face path, now vs before", "no slower, IoU >= 0.8", f"{before / now:.1f}x, {same_faces:.3f}",
                  "yes" if same else "**NO**"]]))


if __name__ == "__main__":
    main()
