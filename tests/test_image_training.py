"""The CoAtNet image path: augmentations, streamed frame batches, video scores, and a real run."""

import json

import numpy as np
import pandas as pd
import pytest

import model_builder
from vidseq.training import augment
from vidseq.cli import commands as cli
from vidseq.features import extract
from vidseq.data.demo_data import make_demo_dataset
from vidseq.data.faces import face_settings
from vidseq.models.frame_scores import video_scores
from vidseq.training.frame_dataset import FrameDataset


def textured(size: int = 32, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)


# --------------------------------------------------------------------------- augmentations


def test_augment_applies_the_pipeline_seeded_keeping_shapes():
    images = [textured(seed=k) for k in range(16)]
    out = augment.augment_faces(images, (7, 0, 0))
    assert all(o.shape == (32, 32, 3) and o.dtype == np.uint8 for o in out)
    assert sum(not np.array_equal(o, i) for o, i in zip(out, images)) > 10  # P(all eight skipped) is about 7%
    again = augment.augment_faces(images, (7, 0, 0))
    assert all(np.array_equal(a, b) for a, b in zip(out, again))  # same (seed, epoch, batch): same images
    other = augment.augment_faces(images, (7, 0, 1))
    assert not all(np.array_equal(a, b) for a, b in zip(out, other))


def test_augment_pipeline_is_the_sources():
    """Transforms and probabilities of the seed CoAtNet project (not the library's own behaviour)."""
    steps = augment.face_pipeline().transforms
    assert [(type(t).__name__, t.p) for t in steps] == [
        ("RandomRotate90", 0.2), ("Transpose", 0.2), ("HorizontalFlip", 0.5), ("VerticalFlip", 0.5),
        ("GaussNoise", 0.2), ("Affine", 0.2), ("OneOf", 0.2), ("HueSaturationValue", 0.2)]
    assert [type(t).__name__ for t in steps[6].transforms] == ["CLAHE", "Sharpen", "Emboss", "RandomBrightnessContrast"]


def test_frame_batches_augment_images_never_labels(crop_files):
    plain = FrameDataset(crop_files, [0, 1, 1], batch_size=12, class_weight={0: 2.0, 1: 0.5})
    augmented = FrameDataset(crop_files, [0, 1, 1], batch_size=12, class_weight={0: 2.0, 1: 0.5}, augment=True)
    (x, y, w), (ax, ay, aw) = plain[0], augmented[0]
    assert ax.shape == x.shape and ax.dtype == x.dtype
    np.testing.assert_array_equal(ay, y)
    np.testing.assert_array_equal(aw, w)


@pytest.mark.parametrize("image", [np.zeros((32, 32, 3), np.float32), np.zeros((32, 48, 3), np.uint8),
                                   np.zeros((32, 32), np.uint8)])
def test_augment_rejects_what_it_cannot_take(image):
    with pytest.raises(ValueError, match=r"Received: an image of shape"):
        augment.augment_faces([image], 0)


def test_augment_without_albumentations_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(augment.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ValueError, match=r"augment=True for CoAtNet-0 without albumentations.*vidseq\[augment\]"):
        augment.check_augment_available(True, "CoAtNet-0")
    augment.check_augment_available(False, "CoAtNet-0")


# --------------------------------------------------------------------------- frame batches and video scores


@pytest.fixture
def crop_files(tmp_path):
    """Three videos of 5, 3 and 4 frames; every pixel of frame k of video v is 10*v + k."""
    files = []
    for v, n in enumerate((5, 3, 4)):
        frames = np.stack([np.full((8, 8, 3), 10 * v + k, np.uint8) for k in range(n)])
        files.append(tmp_path / f"video{v}.npy")
        np.save(files[-1], frames)
    return files


def test_frame_dataset_covers_every_frame_once_per_epoch(crop_files):
    data = FrameDataset(crop_files, [0, 1, 1], batch_size=5, shuffle=True, seed=7, class_weight={0: 2.0, 1: 0.5})
    assert len(data) == 3  # 12 frames
    epochs = []
    for _ in range(2):
        seen = []
        for i in range(len(data)):
            images, labels, weights = data[i]
            assert images.dtype == np.float32 and images.shape[1:] == (8, 8, 3)
            ids = images[:, 0, 0, 0].astype(int)
            np.testing.assert_array_equal(labels, np.where(ids // 10 == 0, 0, 1))
            np.testing.assert_array_equal(weights, np.where(ids // 10 == 0, 2.0, 0.5))
            seen += ids.tolist()
        assert sorted(seen) == [0, 1, 2, 3, 4, 10, 11, 12, 20, 21, 22, 23]
        epochs.append(seen)
        data.on_epoch_end()
    assert epochs[0] != epochs[1]  # reshuffled
    again = FrameDataset(crop_files, [0, 1, 1], batch_size=5, shuffle=True, seed=7)
    assert again[0][0][:, 0, 0, 0].astype(int).tolist() == epochs[0][:5]  # same seed, same order
    ordered = FrameDataset(crop_files, [0, 1, 1], batch_size=12)
    np.testing.assert_array_equal(ordered.video_ids, [0] * 5 + [1] * 3 + [2] * 4)


def test_video_scores_mean_and_confident():
    ids = np.repeat([0, 1, 2], 20)
    fake = np.r_[np.full(15, 0.9), np.full(5, 0.1)]  # 15 confident fakes: their mean
    real = np.r_[np.full(19, 0.1), 0.9]  # 95% confidently real: their mean
    mixed = np.linspace(0.3, 0.7, 20)
    scores = np.r_[fake, real, mixed]
    np.testing.assert_allclose(video_scores(scores, ids, 3, "confident"), [0.9, 0.1, 0.5])
    np.testing.assert_allclose(video_scores(scores, ids, 3), [0.7, 0.14, 0.5])
    with pytest.raises(ValueError, match="video_score='median'"):
        video_scores(scores, ids, 3, "median")


# --------------------------------------------------------------------------- the training path


@pytest.mark.parametrize("options, match", [
    (dict(image_size=100), "image_size=100"),
    (dict(rnn="gru"), r"unknown option\(s\) \['rnn'\]"),
    (dict(weights="imagenet"), "weights='imagenet'"),
    (dict(video_score="max"), "video_score='max'"),
])
def test_coatnet_options_are_checked_before_any_video(tmp_path, options, match):
    with pytest.raises(ValueError, match=match):
        model_builder.train_test_classifier(tmp_path / "no-such-dir", 4, "CoAtNet-0", **options)


@pytest.fixture(scope="module")
def demo_faces(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    make_demo_dataset(root, num_videos=16, num_frames=12)
    return root


@pytest.mark.slow
def test_coatnet_run_from_the_cli(demo_faces, tmp_path, capsys, monkeypatch):
    save_dir, cache = tmp_path / "runs", tmp_path / "cache"
    assert cli.main(["train", str(demo_faces), "--model", "CoAtNet-0", "--image-size", "64", "--num-frames", "3",
                     "--epochs", "2", "--batch-size", "8", "--val-size", "0.25", "--test-size", "0.25",
                     "--cache-dir", str(cache), "--save-dir", str(save_dir), "--run-name", "coat"]) == 0
    run_dir = save_dir / "coat"
    config = json.loads((run_dir / "config.json").read_text())
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert config["img_model_name"] == "CoAtNet-0" and config["image_size"] == 64 and config["face_crop"]["margin"] == 1.3
    assert config["epochs"] == 2 and config["weights"] is None and config["video_score"] == "mean"
    assert metrics["no_face"] == [] and metrics["skipped"] == []  # every demo face is found
    assert metrics["test"]["videos"] == 4 and metrics["test_frames"]["videos"] == 12  # frames counted as items
    assert {"model.keras", "scores.csv", "roc.png", "learning_curves.png", "splits.csv"} <= {p.name for p in run_dir.iterdir()}

    # The crops were cached once per video; a second pass reads none of the videos.
    assert len(list((cache / "crops").rglob("*.npy"))) == 16
    monkeypatch.setattr(extract, "read_frames_and_face", lambda *a, **k: pytest.fail("re-read a cached video"))
    paths = pd.read_csv(run_dir / "splits.csv").path
    files, errors, _ = extract.cache_crops(paths, 3, 64, face_settings(True), cache, "uniform", 42)
    assert all(f is not None for f in files) and not errors
    monkeypatch.undo()

    # predict_video reproduces the run's own test score for a video.
    scores = pd.read_csv(run_dir / "scores.csv")
    test = scores[scores.split == "test"].iloc[0]
    assert model_builder.predict_video(test.path, run_dir) == pytest.approx(test.score, rel=1e-4, abs=1e-6)

    table = model_builder.compare_saved_models(save_dir)
    assert table.backbone.tolist() == ["CoAtNet-0"] and table["head"].tolist() == ["coatnet_0"]
    capsys.readouterr()
