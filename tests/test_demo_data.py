"""Tests for the synthetic demo dataset: files, reuse, determinism, and a learnable swap."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import decode_all
from vidseq.data.demo_data import make_demo_dataset, plan_clip, render_clip
from vidseq.data.faces import iou

SMALL = dict(num_frames=10, fps=15.0, size=(240, 320))


def test_make_demo_dataset_writes_decodable_videos_and_reuses_them(tmp_path):
    out = tmp_path / "demo"
    summary = make_demo_dataset(out, num_videos=4, **SMALL)
    assert summary["real"] == summary["fake"] == 2 and summary["reused"] is False
    assert summary["path"] == str(out)
    names = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.mp4"))
    assert names == ["fake/fake_000.mp4", "fake/fake_001.mp4", "real/real_000.mp4", "real/real_001.mp4"]
    for name in names:
        assert decode_all(out / name).shape == (10, 240, 320, 3)
    manifest = json.loads((out / "demo.json").read_text())
    assert manifest["num_videos"] == 4 and manifest["seed"] == 0 and manifest["num_frames"] == 10

    mtimes = {p: p.stat().st_mtime_ns for p in out.rglob("*.mp4")}
    again = make_demo_dataset(out, num_videos=4, **SMALL)
    assert again["reused"] is True and again["seconds"] < 0.5
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.mp4")} == mtimes

    other = make_demo_dataset(out, num_videos=4, seed=1, **SMALL)
    assert other["reused"] is False
    assert json.loads((out / "demo.json").read_text())["seed"] == 1


def test_regenerating_smaller_removes_stale_videos_and_missing_files_regenerate(tmp_path):
    make_demo_dataset(tmp_path, num_videos=6, num_frames=8)
    make_demo_dataset(tmp_path, num_videos=4, num_frames=8)
    assert sorted(p.name for p in (tmp_path / "real").iterdir()) == ["real_000.mp4", "real_001.mp4"]

    (tmp_path / "fake" / "fake_001.mp4").unlink()
    assert make_demo_dataset(tmp_path, num_videos=4, num_frames=8)["reused"] is False
    assert (tmp_path / "fake" / "fake_001.mp4").is_file()


def test_render_clip_is_deterministic_per_seed():
    a = render_clip((0, 1, 3), fake=True, num_frames=6)
    assert a.shape == (6, 240, 320, 3) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, render_clip((0, 1, 3), fake=True, num_frames=6))
    assert not np.array_equal(a, render_clip((0, 1, 4), fake=True, num_frames=6))


def test_swap_is_localized_to_the_face():
    seed = (0, 1, 0)
    fake = render_clip(seed, fake=True, num_frames=8).astype(np.float32)
    real = render_clip(seed, fake=False, num_frames=8).astype(np.float32)
    diff = np.abs(fake - real).mean(axis=3)
    inside = np.zeros(diff.shape, bool)
    for i, (x, y, w, h) in enumerate(plan_clip(seed, num_frames=8).face_boxes().round().astype(int)):
        inside[i, y : y + h, x : x + w] = True
    assert diff[inside].mean() > 8
    assert diff[inside].mean() > 20 * diff[~inside].mean()


def test_faces_are_large_and_stay_in_frame():
    for k in range(100):
        boxes = plan_clip((7, k % 2, k), num_frames=45).face_boxes()
        x, y, w, h = boxes.T
        assert h.min() >= 70 and w.min() >= 50
        assert x.min() >= 0 and y.min() >= 0 and (x + w).max() <= 320 and (y + h).max() <= 240


@pytest.fixture(scope="module")
def detector():
    return pytest.importorskip("mtcnn").MTCNN()  # shared: loading it takes seconds


@pytest.mark.parametrize("label", [0, 1])
def test_mtcnn_finds_the_face_where_it_was_placed(detector, label):
    seed = (0, label, 0)
    frame = render_clip(seed, fake=bool(label), num_frames=10)[5]
    placed = plan_clip(seed, num_frames=10).face_boxes()[5]
    detections = detector.detect_faces(frame)
    assert max((iou(d["box"], placed) for d in detections), default=0) > 0.5


@pytest.mark.parametrize(
    "kwargs, received",
    [
        (dict(num_videos=3), "num_videos=3"),
        (dict(num_videos=2), "num_videos=2"),
        (dict(num_videos=1002), "num_videos=1002"),
        (dict(num_videos=4.0), "num_videos=4.0"),
        (dict(num_videos=True), "num_videos=True"),
        (dict(seed=-1), "seed=-1"),
        (dict(num_frames=2), "num_frames=2"),
        (dict(fps=0), "fps=0"),
        (dict(size=(241, 320)), r"size=\(241, 320\)"),
    ],
)
def test_bad_arguments_raise_before_writing(tmp_path, kwargs, received):
    with pytest.raises(ValueError, match=f"Received: {received}. Expected"):
        make_demo_dataset(tmp_path / "demo", **kwargs)
    assert not (tmp_path / "demo").exists()


def test_import_does_not_load_tensorflow():
    code = "import sys, vidseq.data.demo_data; assert 'tensorflow' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[1])
