"""Data-parallel training (keras.distribution, JAX backend) matches single-device training."""

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from conftest import require, write_folders_dataset
from vidseq.training.distribution import check_distribution, pad_rows

TWO_CPU_DEVICES = {"KERAS_BACKEND": "jax", "XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
# Trains the same run on one device and on two, and prints what the test compares.
SCRIPT = """
import json, sys, keras, model_builder
runs = {}
for distribution in (None, "data_parallel"):
    _, model, _ = model_builder.train_test_classifier(
        sys.argv[1], 4, sys.argv[2], distribution=distribution, save_dir=sys.argv[3], cache_dir=sys.argv[4],
        run_name=f"run-{distribution}", verbose=0, val_size=0.25, test_size=0.25, seed=1, **json.loads(sys.argv[5]))
    devices = {len(v.value.sharding.device_set) for v in model.trainable_variables}
    runs[str(distribution)] = dict(devices=sorted(devices), weights=[v.numpy().tolist() for v in model.trainable_variables[:2]])
print("RESULT " + json.dumps(dict(devices=len(keras.distribution.list_devices()), runs=runs)))
"""


@pytest.fixture(scope="module")
def twelve_videos(tmp_path_factory):
    """6 real and 6 fake clips: with val and test at 25%, 6 training videos split evenly over 2 devices."""
    return write_folders_dataset(tmp_path_factory.mktemp("twelve"), 6, 8, fake_seed=50)


def train_on_one_and_two_devices(data_dir, tmp_path, model_name: str, options: dict) -> dict:
    require("jax")
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(data_dir), model_name, str(tmp_path / "runs"), str(tmp_path / "cache"),
         json.dumps(options)],
        env={**os.environ, **TWO_CPU_DEVICES, "PYTHONPATH": os.getcwd()}, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.split("RESULT ", 1)[1])
    assert out["devices"] == 2
    assert out["runs"]["None"]["devices"] == [1] and out["runs"]["data_parallel"]["devices"] == [2]
    scores = {d: pd.read_csv(tmp_path / "runs" / f"run-{d}" / "scores.csv") for d in out["runs"]}
    return dict(out, scores=scores)


@pytest.mark.slow
def test_sequence_head_on_two_devices_matches_one(twelve_videos, tmp_path):
    out = train_on_one_and_two_devices(twelve_videos, tmp_path, "MobileNetV2", dict(
        weights="random", rnn="gru", rnn_units=[8], batch_size=4, epochs=4, learning_rate=1e-2))
    one, two = out["scores"]["None"], out["scores"]["data_parallel"]
    assert one.score.std() > 1e-3, "constant scores would prove nothing"
    np.testing.assert_allclose(two.score, one.score, atol=1e-4)
    for a, b in zip(out["runs"]["None"]["weights"], out["runs"]["data_parallel"]["weights"], strict=True):
        np.testing.assert_allclose(b, a, atol=1e-4)


@pytest.mark.slow
def test_coatnet_on_two_devices_matches_one(twelve_videos, tmp_path):
    out = train_on_one_and_two_devices(twelve_videos, tmp_path, "CoAtNet-0", dict(
        image_size=32, batch_size=4, epochs=1, face_crop=False, augment=False))
    np.testing.assert_allclose(out["scores"]["data_parallel"].score, out["scores"]["None"].score, atol=1e-3)


def test_data_parallel_needs_jax_and_an_even_batch():
    with pytest.raises(ValueError, match="Expected one of"):
        check_distribution("model_parallel", 8)
    with pytest.raises(ValueError, match="JAX backend"):  # the tests run on TensorFlow
        check_distribution("data_parallel", 8)
    assert check_distribution(None, 7) == 1


def test_pad_rows_adds_zero_weight_copies():
    x, y, w = np.arange(5.0)[:, None], np.arange(5), np.full(5, 2.0)
    px, py, pw = pad_rows(4, x, y, w)
    assert px.ravel().tolist() == [0, 1, 2, 3, 4, 0, 1, 2] and py.tolist() == [0, 1, 2, 3, 4, 0, 1, 2]
    assert pw.tolist() == [2, 2, 2, 2, 2, 0, 0, 0]
    assert pad_rows(5, x, y, w)[0] is x
    assert pad_rows(2, x)[0].ravel().tolist() == [0, 1, 2, 3, 4, 0]
