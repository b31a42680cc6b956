"""Second tier (`pytest -m slow`, run by .ci/run after tier 1): every backbone, the whole demo."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from vidseq.features.backbones import BACKBONES  # the table, without TensorFlow

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("name", list(BACKBONES))
def test_every_backbone_gives_live_features(name, video_factory):
    import model_builder

    path = video_factory(20, height=96, width=128, seed=7)
    other = video_factory(20, height=96, width=128, seed=8)
    features, mask = model_builder.embed_videos([path, other], 3, name, weights="random")
    spec = model_builder.BACKBONES[name]
    assert features.shape == (2, 3, spec.feature_dim) and mask.all()
    assert features.std(axis=(0, 1)).mean() > 1e-3, f"{name}: features are (nearly) constant"
    assert not np.allclose(features[0], features[1])


def run_folders(save_dir: Path) -> list[Path]:
    """The run folders in `save_dir` (not the search's study, search.db, nor its claims)."""
    return sorted(p for p in save_dir.iterdir() if p.is_dir() and not p.name.startswith("."))


def test_demo_end_to_end(tmp_path):
    """README's main job: demo data, two heads on cached face-crop embeddings, leaderboard; run twice."""
    vidseq = Path(sys.executable).with_name("vidseq")
    env = {**os.environ, "VIDSEQ_CACHE": str(tmp_path / "cache")}
    result = subprocess.run([str(vidseq), "demo"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "test 12 (6 real, 6 fake, 12 identities)" in result.stdout  # the split line
    runs = run_folders(tmp_path / "saved_models")
    assert len(runs) == 2 and all((run / "model.keras").is_file() for run in runs)
    aucs = {run.name: json.loads((run / "metrics.json").read_text())["test"]["auc"] for run in runs}
    print("demo test AUCs:", aucs)
    # docs/demo.md reports 1.000 for both heads on this machine (0.83-1.0 over earlier splits and
    # training seeds), so another CPU's rounding may move it a little, but a head that did not learn fails.
    gru = next(auc for name, auc in aucs.items() if "gru64_avg" in name)
    assert gru >= 0.8 and min(aucs.values()) >= 0.75, f"the demo did not learn: test AUCs {aucs}"
    assert all(json.loads((run / "config.json").read_text())["face_crop"] for run in runs)
    # 5 people per class in validation, 6 in test: every AUC with its interval, and the closing line on ties.
    assert "val 10 (5 real, 5 fake, 10 identities)" in result.stdout
    intervals = [json.loads((run / "metrics.json").read_text())[s]["intervals"] for run in runs for s in ("val", "test")]
    assert all(i["auc"] and i["note"] is None for i in intervals)
    assert len(re.findall(r"\d\.\d{3} \[\d\.\d\d, \d\.\d\d\]", result.stdout)) >= 4
    assert result.stdout.strip().splitlines()[-1].startswith("Best on validation: demo_MobileNetV2_f32_")
    again = subprocess.run([str(vidseq), "demo"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert again.returncode == 0, again.stderr[-3000:]
    assert run_folders(tmp_path / "saved_models") == runs  # a rerun reuses its finished runs
    assert again.stderr.count("finished already, reused") == 2  # said beside the progress bar, on stderr
    for start_up_line in ("cuInit", "oneDNN custom operations are on", "absl::InitializeLog", "cuda drivers"):
        assert start_up_line not in result.stderr + again.stderr  # TensorFlow's start-up block stays hidden
