"""Frame embeddings on tiny generated videos: shapes, masks, the cache, errors, resuming, the Ray engine's checks."""

import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

import model_builder
import util
from conftest import BACKBONE, embed
from vidseq.features import backbone_models, backbones
from vidseq.features import extract
from vidseq.features import ray_engine
from vidseq.data import sampling


def test_embed_shapes_mask_and_padding(good_paths, cache_dir):
    features, mask = embed(good_paths[:2], num_frames=16, cache_dir=cache_dir)  # videos have 12 frames
    assert features.shape == (2, 16, 1280) and features.dtype == np.float32
    np.testing.assert_array_equal(mask, np.tile(np.arange(16) < 12, (2, 1)))
    assert not features[:, 12:].any()
    assert features[0, 0].std() > 1e-3 and not np.allclose(features[0, 0], features[1, 0])


def test_warm_call_neither_decodes_nor_builds(good_paths, cache_dir, monkeypatch):
    cold, cold_mask = embed(good_paths, cache_dir=cache_dir)
    assert cold[cold_mask].std(axis=0).mean() > 1e-3

    def forbidden(*args, **kwargs):
        raise AssertionError("a warm call must not decode or build")

    monkeypatch.setattr(backbone_models, "build_backbone", forbidden)
    monkeypatch.setattr(sampling, "grab_frames", forbidden)  # every decode goes through it
    monkeypatch.setattr(extract, "read_frames_and_face", forbidden)
    warm, warm_mask = embed(good_paths, cache_dir=cache_dir)
    np.testing.assert_array_equal(warm, cold)
    np.testing.assert_array_equal(warm_mask, cold_mask)


def test_weights_that_cannot_load_fail_before_any_video_is_read(good_paths, tmp_path, monkeypatch):
    """ImageNet offline: the error comes before the progress bar starts and before any decode."""
    def offline(name, weights):
        raise backbone_models.ImageNetUnavailable(name, "no network")

    def forbidden(*args, **kwargs):
        raise AssertionError("nothing may be read or shown before the weights load")

    monkeypatch.setattr(backbone_models, "build_backbone", offline)
    monkeypatch.setattr(extract, "progress_bar", forbidden)
    monkeypatch.setattr(extract, "read_frames_and_face", forbidden)
    with pytest.raises(backbone_models.ImageNetUnavailable, match="Offline, use weights='random'"):
        extract.embed_with_skips(good_paths, 4, BACKBONE, "imagenet", tmp_path, False, 32, "skip", "uniform", None, 2)


def test_cache_key_covers_settings(good_paths, cache_dir):
    a, _ = embed(good_paths[:1], num_frames=6, cache_dir=cache_dir)
    b, _ = embed(good_paths[:1], num_frames=6, cache_dir=cache_dir, strategy="clip")
    assert a.std() > 1e-3 and not np.allclose(a, b)  # a different sampling is not served from the cache
    files = list((cache_dir / "embeddings").rglob("*.npz"))
    assert files and not list((cache_dir / "embeddings").rglob("*.tmp*"))


def test_existing_embeddings_keep_their_cache_keys(good_paths, tmp_path, monkeypatch):
    """Warm caches stay warm: today's key of MobileNetV2 "random" features (full frames, 6
    frames, uniform sampling) for a fixed video fingerprint, recorded before any later change."""
    from vidseq.utils import cache

    monkeypatch.setattr(cache, "video_fingerprint", lambda path: {"path": "/data/real/a.mp4", "size": 1000,
                                                                 "mtime_ns": 123})
    embed(good_paths[:1], num_frames=6, cache_dir=tmp_path)
    key = "26a4f5202c5d17ed43ee094271d92c60c669c9737e946ad8412b5e58901160d6"
    assert [f.name for f in (tmp_path / "embeddings").rglob("*.npz")] == [f"{key}.npz"]


def test_broken_video_raise_or_skip(dataset, good_paths):
    broken = str(dataset / "real" / "broken.mp4")
    with pytest.raises(util.VideoReadError, match="broken.mp4"):
        embed([good_paths[0], broken])
    with pytest.warns(UserWarning, match="broken.mp4"):
        features, mask = embed([good_paths[0], broken], on_error="skip")
    assert mask[0].all() and not mask[1].any() and not features[1].any()


@pytest.mark.parametrize("kwargs,match", [
    (dict(num_frames=0), "num_frames=0"), (dict(on_error="ignore"), "on_error='ignore'"),
    (dict(batch_size=0), "batch_size=0"), (dict(strategy="every"), "strategy='every'"),
    (dict(engine="spark"), "engine='spark'"), (dict(engine="ray"), "cache_dir=None"),
])
def test_embed_bad_arguments(good_paths, kwargs, match):
    kwargs = {"num_frames": 4, **kwargs}
    with pytest.raises(ValueError, match=match):
        model_builder.embed_videos(good_paths, kwargs.pop("num_frames"), BACKBONE, weights="random", **kwargs)


@pytest.mark.slow
def test_sigkill_mid_extraction_resumes(tmp_path, good_paths, monkeypatch):
    """A run killed by SIGKILL leaves only whole cache files; the next run computes only the rest."""
    cache = tmp_path / "cache"
    script = (
        "import sys, model_builder\n"
        "from vidseq.features import extract\n"
        "real_read = extract.read_frames_and_face\n"
        "def slow_read(*a, **k):\n"
        "    import time; time.sleep(0.7); return real_read(*a, **k)\n"
        "extract.read_frames_and_face = slow_read\n"
        f"model_builder.embed_videos({good_paths!r}, 6, {BACKBONE!r}, weights='random', cache_dir={str(cache)!r}, workers=1)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], env={**os.environ, "PYTHONPATH": os.getcwd()})

    def finished() -> int:  # temporary files start with "." and are not results yet
        return len([f for f in cache.rglob("*.npz") if not f.name.startswith(".")])

    deadline = time.time() + 120
    while finished() < 3 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = finished()
    assert 3 <= done < len(good_paths), "the kill should land mid-run"

    calls = []
    real_read = extract.read_frames_and_face
    monkeypatch.setattr(extract, "read_frames_and_face", lambda *a, **k: calls.append(a[0]) or real_read(*a, **k))
    resumed, mask = embed(good_paths, cache_dir=cache)
    assert len(calls) == len(good_paths) - done
    fresh, _ = embed(good_paths)
    assert fresh.std() > 1e-3
    np.testing.assert_allclose(resumed, fresh, rtol=1e-5, atol=1e-5)


def test_ray_engine_without_ray_says_how_to_install(good_paths, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    monkeypatch.setitem(sys.modules, "ray.data", None)
    with pytest.raises(ValueError, match=r'pip install "vidseq\[ray\]"'):
        model_builder.embed_videos(good_paths, 4, BACKBONE, weights="random", cache_dir=tmp_path, engine="ray")


def test_ray_engine_fails_fast_at_an_address_where_nothing_answers(good_paths, tmp_path, monkeypatch):
    pytest.importorskip("ray")
    with socket.socket() as free:  # a port that was free a moment ago: connecting is refused
        free.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{free.getsockname()[1]}"
    monkeypatch.setattr(backbones, "get_spec", lambda *a: pytest.fail("started work before checking the address"))
    with pytest.raises(ValueError, match=f"address='{address}', but nothing answers"):
        model_builder.embed_videos(good_paths, 4, BACKBONE, weights="random", cache_dir=tmp_path, engine="ray",
                                   ray_address=address)

    with socket.socket() as server:  # something listening passes the check; "auto" is left to Ray
        server.bind(("127.0.0.1", 0))
        server.listen()
        ray_engine.check_address(f"ray://127.0.0.1:{server.getsockname()[1]}")
    ray_engine.check_address("auto")


def test_no_face_skip_skips_even_with_on_error_raise(tmp_path):
    blank = tmp_path / "blank.mp4"
    from vidseq.data.video_io import write_video

    write_video(blank, np.random.default_rng(0).integers(60, 120, (8, 96, 128, 3), dtype=np.uint8))
    with pytest.warns(UserWarning, match="without a face"):
        features, mask = embed([blank], face_crop=util.FaceCrop(no_face="skip"))
    assert not mask.any() and not features.any()
