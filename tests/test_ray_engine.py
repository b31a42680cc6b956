"""embed_videos(engine="ray") on a local Ray cluster: same results and cache as the local engine,
retries after a worker dies, resumes after the driver is killed (second tier: Ray starts slowly)."""

import os
import subprocess
import sys
import time

import numpy as np
import psutil
import pytest

import model_builder
import util
from conftest import require
from vidseq.features import backbone_models
from vidseq.features import extract
from vidseq.features import ray_engine
from vidseq.data.demo_data import make_demo_dataset

ray = require("ray")

pytestmark = pytest.mark.slow
SETTINGS = dict(num_frames=6, img_model_name="MobileNetV2", weights="random", on_error="skip")


@pytest.fixture
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, logging_level="warning")
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def face_videos(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    make_demo_dataset(root, num_videos=6)
    broken = root / "real" / "broken.mp4"
    broken.write_bytes(b"not a video")
    return sorted(str(p) for p in root.rglob("*.mp4"))


def finished(cache) -> dict:
    """Finished cache entries (temporary files start with ".") and their modification times."""
    return {f: f.stat().st_mtime_ns for f in cache.rglob("*.npz") if not f.name.startswith(".")}


def test_ray_equals_local_and_fills_the_same_cache(local_ray, face_videos, tmp_path, monkeypatch):
    with pytest.warns(UserWarning, match="broken.mp4"):
        on_ray = model_builder.embed_videos(face_videos, **SETTINGS, face_crop=True, cache_dir=tmp_path, engine="ray")
    local = model_builder.embed_videos(face_videos, **SETTINGS, face_crop=True, cache_dir=tmp_path / "local")
    assert on_ray[0].std() > 1e-3, "features are constant: the comparison would prove nothing"
    np.testing.assert_allclose(on_ray[0], local[0], rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(on_ray[1], local[1])
    assert on_ray[1].sum(axis=1).tolist().count(0) == 1  # only the broken file is skipped

    # A local call after the Ray run is a pure cache read: no backbone, no decoding.
    monkeypatch.setattr(backbone_models, "build_backbone", lambda *a: pytest.fail("built a backbone on a cache hit"))
    monkeypatch.setattr(extract, "read_frames_and_face", lambda *a, **k: pytest.fail("decoded a video"))
    readable = [p for p in face_videos if "broken" not in p]  # unreadable files are never cached
    again, _ = model_builder.embed_videos(readable, **SETTINGS, face_crop=True, cache_dir=tmp_path)
    np.testing.assert_array_equal(again, on_ray[0][[face_videos.index(p) for p in readable]])


def test_ray_raises_on_a_bad_video_like_local(local_ray, face_videos, tmp_path):
    with pytest.raises(util.VideoReadError, match="broken.mp4"):
        model_builder.embed_videos(face_videos, **{**SETTINGS, "on_error": "raise"}, cache_dir=tmp_path, engine="ray")


def test_a_worker_that_dies_is_retried(good_paths, tmp_path):
    marker = tmp_path / "worker-exited"
    ray.init(num_cpus=2, include_dashboard=False, logging_level="warning",
             runtime_env={"env_vars": {ray_engine.FAULT_ONCE_ENV: str(marker)}})
    try:
        features, mask = model_builder.embed_videos(good_paths, **SETTINGS, cache_dir=tmp_path / "cache", engine="ray")
    finally:
        ray.shutdown()
    assert marker.exists(), "the fault hook never fired"
    assert mask.all() and len(finished(tmp_path / "cache")) == len(good_paths)
    local, _ = model_builder.embed_videos(good_paths, **SETTINGS, cache_dir=tmp_path / "local")
    np.testing.assert_allclose(features, local, rtol=1e-5, atol=1e-5)


def test_a_killed_driver_resumes_with_only_the_missing_videos(video_factory, tmp_path):
    paths = [str(video_factory(90, 240, 320, seed=s)) for s in range(12)]
    cache = tmp_path / "cache"
    script = (
        "import ray, model_builder\n"
        "ray.init(num_cpus=1, include_dashboard=False)\n"
        f"model_builder.embed_videos({paths!r}, 16, 'MobileNetV2', weights='random', cache_dir={str(cache)!r}, "
        "engine='ray', ray_workers=1)\n"
    )
    driver = subprocess.Popen([sys.executable, "-c", script], env={**os.environ, "PYTHONPATH": os.getcwd()})
    deadline = time.time() + 300
    while len(finished(cache)) < 2 and time.time() < deadline and driver.poll() is None:
        time.sleep(0.05)
    # Kill the whole tree at once: Ray gives each worker its own process group, and a worker that
    # outlives its driver for a few seconds would finish the batch and leave nothing to resume.
    tree = [psutil.Process(driver.pid), *psutil.Process(driver.pid).children(recursive=True)]
    for proc in tree:
        proc.kill()
    psutil.wait_procs(tree, timeout=30)
    before = finished(cache)
    assert 2 <= len(before) < len(paths), "the kill should land mid-run"

    ray.init(num_cpus=2, include_dashboard=False, logging_level="warning")
    try:
        features, mask = model_builder.embed_videos(paths, 16, "MobileNetV2", weights="random", cache_dir=cache,
                                                    engine="ray")
    finally:
        ray.shutdown()
    after = finished(cache)
    assert mask.all() and len(after) == len(paths)
    assert all(after[f] == t for f, t in before.items()), "a finished video was recomputed"


def test_cli_extract_on_ray(local_ray, dataset, tmp_path, capsys):
    from vidseq.cli import commands as cli

    code = cli.main(["extract", str(dataset), "--engine", "ray", "--workers", "1", "--num-frames", "4",
                     "--weights", "random", "--cache-dir", str(tmp_path)])
    assert code == 0
    out, err = capsys.readouterr()
    assert "Embedded 16 of 17 videos" in out
    assert [line for line in err.splitlines() if line.startswith("vidseq extract: warning:") and "broken.mp4" in line]
    assert len(finished(tmp_path)) == 16
