"""Shared fixtures: tiny real H.264 videos generated on the fly (never downloaded)."""

from __future__ import annotations

import importlib
import os
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest

from vidseq.data.video_io import write_video

BACKBONE = "MobileNetV2"
NUM_FRAMES = 6  # the tiny runs' frame count: their cached embeddings serve every test that uses it
# explain=False: explain.png costs a tiny run more than its training; tests/test_explain.py draws it.
RUN = dict(weights="random", epochs=3, learning_rate=1e-3, batch_size=4, rnn_units=(8,), val_size=0.25,
           test_size=0.25, verbose=0, explain=False)


def make_frames(num_frames: int, height: int = 48, width: int = 64, seed: int = 0) -> np.ndarray:
    """Frames that differ from each other: a moving bright square over seeded noise."""
    rng = np.random.default_rng(seed)
    frames = rng.integers(0, 80, size=(num_frames, height, width, 3), dtype=np.uint8)
    for i, frame in enumerate(frames):
        x = (i * 3) % (width - 12)
        frame[8:20, x : x + 12] = (255, 40 + (i * 7) % 200, 30)
    return frames


def require(module: str):
    """Import an optional extra (ray, jax): skip where it is missing, but fail on CI, which installs them all."""
    return importlib.import_module(module) if os.environ.get("CI") else pytest.importorskip(module)


def decode_all(path) -> np.ndarray:
    """Reference decoder: every frame, RGB, through a plain read() loop."""
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    cap.release()
    return np.stack(frames)


def embed(paths, num_frames=NUM_FRAMES, **kwargs):
    import model_builder  # here, not above: the tests that need no TensorFlow stay free of it

    return model_builder.embed_videos(paths, num_frames, BACKBONE, weights="random", **kwargs)


@pytest.fixture(scope="session")
def mesonet_weights():
    """The folder of MesoNet's published weights (the project's copy in shared/weights/mesonet, found
    above the repository, or $VIDSEQ_TEST_MESONET_WEIGHTS), set as $VIDSEQ_MESONET_WEIGHTS: never downloaded."""
    from vidseq.models.mesonet_weights import SHA256, WEIGHTS_ENV

    given = os.environ.get("VIDSEQ_TEST_MESONET_WEIGHTS")
    candidates = [Path(given)] if given else [p / "shared" / "weights" / "mesonet" for p in Path(__file__).parents]
    folder = next((c for c in candidates if all((c / f).is_file() for f in SHA256)), None)
    if folder is None:
        if given:  # asked for by name: a wrong folder is an error, not a reason to skip
            pytest.fail(f"VIDSEQ_TEST_MESONET_WEIGHTS={given!r} does not hold MesoNet's four published weight files")
        # A checkout without the project's shared/ folder (a contributor's clone): the tests of the
        # published weights skip, saying why; every other MesoNet test runs.
        pytest.skip("MesoNet's published weights not found (no shared/weights/mesonet above the repository): "
                    "set VIDSEQ_TEST_MESONET_WEIGHTS")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(WEIGHTS_ENV, str(folder))
        yield folder


@pytest.fixture(scope="session")
def video_factory(tmp_path_factory):
    """Write a tiny H.264 video and return its path: `video_factory(num_frames, **kwargs)`."""
    root = tmp_path_factory.mktemp("videos")

    def make(num_frames: int = 30, height: int = 48, width: int = 64, seed: int = 0, name: str | None = None,
             faststart: bool = True) -> Path:
        path = root / (name or f"v{num_frames}_{height}x{width}_s{seed}_{int(faststart)}.mp4")
        if not path.exists():
            write_video(path, make_frames(num_frames, height, width, seed), fps=15, faststart=faststart)
        return path

    return make


def write_folders_dataset(root: Path, per_class: int, num_frames: int, fake_seed: int) -> Path:
    """`per_class` real and fake clips under `root/{real,fake}/`; a fake has a brightened patch."""
    for label in ("real", "fake"):
        for i in range(per_class):
            frames = make_frames(num_frames, 64, 96, seed=i + (fake_seed if label == "fake" else 0))
            if label == "fake":
                frames[:, 16:48, 24:72] = np.clip(frames[:, 16:48, 24:72].astype(int) + 90, 0, 255)
            write_video(root / label / f"{label}_{i}.mp4", frames, fps=10)
    return root


@pytest.fixture(scope="session")
def dataset(tmp_path_factory):
    """A folders-layout dataset: 8 real, 8 fake (a brightened patch), and one broken file."""
    root = write_folders_dataset(tmp_path_factory.mktemp("dataset"), 8, 12, fake_seed=100)
    (root / "real" / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 not really a video")
    return root


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="session")
def good_paths(dataset):
    return sorted(str(p) for p in dataset.rglob("*_*.mp4"))


def train_tiny_run(dataset, cache_dir, save_dir, run_name: str, **options):
    """A quiet run of `RUN`'s settings (`options` change some) on `dataset`: train_test_classifier's result."""
    import model_builder

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model_builder.train_test_classifier(dataset, NUM_FRAMES, BACKBONE, cache_dir=cache_dir,
                                                   save_dir=save_dir, run_name=run_name, **{**RUN, **options})


@pytest.fixture(scope="session")
def finished_run(dataset, cache_dir, tmp_path_factory):
    save_dir = tmp_path_factory.mktemp("runs")
    labels, model, (loss, acc) = train_tiny_run(dataset, cache_dir, save_dir, "first", seed=3)
    return save_dir / "first", labels, model, loss, acc


class FakeTraining:
    """Stands in for `train_test_classifier` in search tests: a finished run folder at once, no TensorFlow.

    The run's validation AUC rises over 3 epochs to `1 - dropout`, reported to a pruning callback
    as Keras would (which may stop it); each call is logged as a line of `save_dir/trained.log`
    (appends of one short line: whole even from several processes).
    """

    def __init__(self, seconds: float = 0.0):
        self.seconds = seconds

    def __call__(self, data_dir, num_frames, img_model_name, **options):
        import time
        from types import SimpleNamespace

        from vidseq.utils.atomic import write_json, write_text

        run_dir = Path(options["save_dir"]) / options["run_name"]
        with open(Path(options["save_dir"]) / "trained.log", "a") as log:
            log.write(f"{options['run_name']} {os.getpid()}\n")
        time.sleep(self.seconds)
        final = 1 - options.get("dropout", 0.5)
        callbacks, curve = options.get("callbacks") or [], []
        for callback in callbacks:
            callback.set_model(SimpleNamespace(stop_training=False))
        for epoch in range(3):
            curve.append(final * (epoch + 1) / 3)
            for callback in callbacks:
                callback.on_epoch_end(epoch, {"val_auc": curve[-1]})
            if any(c.model.stop_training for c in callbacks):
                break
        entries = {k: v for c in callbacks for k, v in c.config_entries().items()}
        run_dir.mkdir(parents=True)
        write_json(run_dir / "config.json", dict(img_model_name=img_model_name, num_frames=num_frames,
                                                 head=f"fake{options.get('dropout')}", **entries))
        write_text(run_dir / "history.csv", "epoch,val_auc\n" + "".join(f"{e},{v}\n" for e, v in enumerate(curve)))
        write_json(run_dir / "metrics.json", {"val": {"auc": curve[-1]}, "test": {"auc": 0.5}})  # last: finished
        return ["real", "fake"], None, (0.0, 0.0)
