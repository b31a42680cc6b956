"""Heads trained from the cache: the streaming reader, statistics in one pass, filling the cache
without reading it back, and float16 embeddings."""

import json

import keras
import numpy as np
import pytest

from conftest import NUM_FRAMES, embed
from vidseq.features import extract
from vidseq.features.store import load_entry, write_features
from vidseq.models.heads import build_classifier, set_feature_stats, set_streamed_feature_stats
from vidseq.training.feature_dataset import feature_batches

DIM = 5


@pytest.fixture
def entries(good_paths, tmp_path):
    """Cache entries of 10 videos (a feature set's): their files, features and masks."""
    rng = np.random.default_rng(0)
    features = rng.normal(3.0, 2.0, (10, NUM_FRAMES, DIM)).astype(np.float32)
    masks = np.arange(NUM_FRAMES) < rng.integers(1, NUM_FRAMES + 1, (10, 1))
    features[~masks] = 0
    for path, f, m in zip(good_paths[:10], features, masks):
        write_features("s", path, f, m, cache_dir=tmp_path)
    files = sorted((tmp_path / "features" / "s").rglob("*.npz"), key=lambda f: load_entry(f)[0].sum())
    order = np.argsort(features.sum(axis=(1, 2)))
    return files, features[order], masks[order]


def epoch(batches):
    """One pass over a dataset: its features, labels and weights, concatenated."""
    x, y, w = zip(*((a.numpy(), b.numpy(), c.numpy()) for a, b, c in batches))
    return np.concatenate(x), np.concatenate(y), np.concatenate(w)


def test_batches_read_every_video_once_per_epoch_in_a_seeded_new_order(entries):
    files, features, _ = entries
    labels = np.arange(10) % 2
    keras.utils.set_random_seed(0)
    data = feature_batches(files, labels, 4, (NUM_FRAMES, DIM), shuffle=True, seed=7, class_weight={0: 2.0, 1: 0.5})
    assert int(data.cardinality()) == 3
    first, second = epoch(data), epoch(data)
    for x, y, weights in (first, second):
        order = [int(np.flatnonzero((features == row).all(axis=(1, 2)))[0]) for row in x]
        assert sorted(order) == list(range(10)) and (y == labels[order]).all()
        np.testing.assert_array_equal(weights, np.where(y == 0, 2.0, 0.5))
    assert not np.array_equal(first[0], second[0])  # reshuffled
    keras.utils.set_random_seed(0)
    again = feature_batches(files, labels, 4, (NUM_FRAMES, DIM), shuffle=True, seed=7)
    np.testing.assert_array_equal(epoch(again)[0], first[0])  # same seeds, same order


def test_full_batches_pad_with_weightless_copies_and_float16_entries_read_as_float32(entries, good_paths, tmp_path):
    files, features, _ = entries
    write_features("half", good_paths[10], features[0].astype(np.float16), cache_dir=tmp_path)
    half = next((tmp_path / "features" / "half").rglob("*.npz"))
    batches = list(feature_batches([*files, half], np.zeros(11, int), 4, (NUM_FRAMES, DIM), pad_to=4))
    assert [tuple(x.shape) for x, _, _ in batches] == [(4, NUM_FRAMES, DIM)] * 3
    x, _, weights = (b.numpy() for b in batches[2])
    np.testing.assert_array_equal(x[:2], features[8:])
    np.testing.assert_allclose(x[2], features[0], rtol=1e-3)  # float16 entry, float32 batch
    np.testing.assert_array_equal(x[3], features[0])  # the padding: a copy of the first video
    np.testing.assert_array_equal(weights, [1, 1, 1, 0])


def test_an_entry_of_another_shape_is_named_before_any_training(entries):
    files, _, _ = entries
    with pytest.raises(ValueError, match=rf"shape \({NUM_FRAMES}, {DIM}\).*{files[3].name}.*Expected \(7, {DIM}\)"):
        feature_batches(files[3:], np.zeros(7, int), 4, (7, DIM))


def test_streamed_statistics_equal_the_in_memory_ones(entries):
    files, features, masks = entries
    streamed, in_memory = build_classifier(NUM_FRAMES, DIM, rnn=None), build_classifier(NUM_FRAMES, DIM, rnn=None)
    set_streamed_feature_stats(streamed, (load_entry(file) for file in files))
    set_feature_stats(in_memory, features, masks)
    for a, b in zip(streamed.get_layer("feature_norm").get_weights(), in_memory.get_layer("feature_norm").get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5)
    mean, variance, _ = streamed.get_layer("feature_norm").get_weights()
    np.testing.assert_allclose(mean, features[masks].mean(axis=0), rtol=1e-5)
    assert variance.min() > 1.0  # statistics of the valid frames only: padded zeros would not give 4


def test_filling_a_warm_cache_reads_no_features(good_paths, cache_dir, monkeypatch):
    features, mask = embed(good_paths[:3], cache_dir=cache_dir)
    monkeypatch.setattr(extract, "load_entry", lambda file: pytest.fail("read features back"))
    monkeypatch.setattr(extract, "read_frames_and_face", lambda *a, **k: pytest.fail("decoded a cached video"))
    files, errors, no_face = extract.cache_embeddings(good_paths[:3], NUM_FRAMES, "MobileNetV2", "random", cache_dir)
    assert not errors and not no_face
    for file, f, m in zip(files, features, mask):
        got, got_mask = load_entry(file)
        np.testing.assert_array_equal(got, f)
        np.testing.assert_array_equal(got_mask, m)


def stored_dtype(file) -> np.dtype:
    with np.load(file) as entry:
        return entry["features"].dtype


def test_float16_embeddings_are_cached_apart_at_half_the_size(good_paths, tmp_path):
    single, _ = embed(good_paths[:2], cache_dir=tmp_path)
    before = set((tmp_path / "embeddings").rglob("*.npz"))
    half, _ = embed(good_paths[:2], cache_dir=tmp_path, feature_dtype="float16")
    added = set((tmp_path / "embeddings").rglob("*.npz")) - before
    assert len(added) == 2 and {stored_dtype(f) for f in added} == {np.dtype("float16")}
    assert max(f.stat().st_size for f in added) < 0.6 * min(f.stat().st_size for f in before)
    assert half.dtype == np.float32 and not np.array_equal(half, single)
    np.testing.assert_allclose(half, single, rtol=2e-3, atol=2e-3)
    warm, _ = embed(good_paths[:2], cache_dir=tmp_path, feature_dtype="float16")
    np.testing.assert_array_equal(warm, half)  # a warm call gives what the cold one gave
    with pytest.raises(ValueError, match=r"feature_dtype='float64'.*\('float32', 'float16'\)"):
        embed(good_paths[:1], feature_dtype="float64")


def test_runs_record_the_feature_dtype(dataset, cache_dir, tmp_path):
    from conftest import train_tiny_run

    train_tiny_run(dataset, cache_dir, tmp_path, "half", feature_dtype="float16", epochs=1)
    config = json.loads((tmp_path / "half" / "config.json").read_text())
    assert config["feature_dtype"] == "float16"
    assert sum(stored_dtype(f) == np.float16 for f in (cache_dir / "embeddings").rglob("*.npz")) >= 16
