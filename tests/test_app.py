"""The web app: explain_video, the page's logic through Streamlit's AppTest, and `vidseq app`."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from conftest import NUM_FRAMES, make_frames, require, train_tiny_run

import model_builder
import util
from vidseq.cli import commands as cli
from vidseq.models import coatnet
from vidseq.runs import explain_video, scoring
from vidseq.data.demo_data import render_clip
from vidseq.data.faces import FaceCrop
from vidseq.data.video_io import write_video

AppTest = require("streamlit.testing.v1").AppTest


@pytest.fixture(scope="module")
def save_dir(dataset, cache_dir, tmp_path_factory):
    """A tiny trained run ("tiny"), and a copy of it that crops faces ("tiny-faces")."""
    root = tmp_path_factory.mktemp("app_runs")
    train_tiny_run(dataset, cache_dir, root, "tiny", rnn=None, epochs=2)
    # The same head scores face crops' features as well as any others: enough to show boxes.
    shutil.copytree(root / "tiny", root / "tiny-faces")
    config = json.loads((root / "tiny-faces" / "config.json").read_text())
    (root / "tiny-faces" / "config.json").write_text(json.dumps({**config, "face_crop": FaceCrop().key()}))
    return root


@pytest.fixture(scope="module")
def face_video(tmp_path_factory):
    path = tmp_path_factory.mktemp("face") / "face.mp4"
    write_video(path, render_clip((0, 1, 3), fake=True, num_frames=12), fps=15)
    return path


def page(save_dir, data_dir=None):
    from vidseq.app.streamlit_app import main

    main(save_dir, data_dir)


def start(save_dir, data_dir=None) -> AppTest:
    return AppTest.from_function(page, args=(str(save_dir), data_dir and str(data_dir)), default_timeout=60).run()


def files_under(folder) -> set:
    return {p for p in folder.rglob("*") if p.is_file()}


# --------------------------------------------------------------------------- explain_video


def test_explain_video_is_predict_video_with_frames(save_dir, good_paths, tmp_path):
    run = save_dir / "tiny"
    result = model_builder.explain_video(good_paths[0], run, cache_dir=tmp_path)
    assert result["score"] == pytest.approx(model_builder.predict_video(good_paths[0], run), rel=1e-5)
    assert result["threshold"] == 0.5 and result["label"] == ("FAKE" if result["score"] >= 0.5 else "REAL")
    assert result["frames"].shape == (NUM_FRAMES, 64, 96, 3) and result["frames"].dtype == np.uint8
    assert result["boxes"] is None and result["face_found"] is None and result["frame_scores"] is None
    assert (tmp_path / "embeddings").is_dir()  # this video's cache went where it was told


def test_explain_video_uses_the_model_it_is_given(save_dir, good_paths, tmp_path, monkeypatch):
    """The app loads a run's model once and passes it: no reload per video."""
    run = save_dir / "tiny"
    model = model_builder.load_classifier(run)
    for module in (explain_video, scoring):
        monkeypatch.setattr(module, "load_classifier", lambda *a: pytest.fail("reloaded the run's model"))
    result = model_builder.explain_video(good_paths[1], run, cache_dir=tmp_path, model=model)
    assert 0 <= result["score"] <= 1


def test_explain_video_face_boxes_and_no_face(save_dir, face_video, good_paths, tmp_path):
    result = model_builder.explain_video(face_video, save_dir / "tiny-faces", cache_dir=tmp_path)
    assert result["face_found"] is True and result["boxes"].shape == (NUM_FRAMES, 4)
    assert result["frames"].shape == (NUM_FRAMES, 240, 320, 3)
    x, y, w, h = result["boxes"][0]
    assert 0 <= x < x + w <= 320 and 0 <= y < y + h <= 240
    blank = model_builder.explain_video(good_paths[0], save_dir / "tiny-faces", cache_dir=tmp_path)
    assert blank["face_found"] is False and blank["boxes"] is None and 0 <= blank["score"] <= 1


@pytest.mark.slow
def test_explain_video_coatnet_scores_every_frame(good_paths, tmp_path):
    """A CoAtNet run folder (untrained: only its shape matters here) gives one score per frame."""
    run = tmp_path / "coat"
    run.mkdir()
    coatnet.build_coatnet("CoAtNet-0", 64, num_classes=1, classifier_activation="sigmoid").save(run / "model.keras")
    config = {"img_model_name": "CoAtNet-0", "num_frames": 4, "image_size": 64, "face_crop": False,
              "strategy": "uniform", "seed": 42, "batch_size": 8, "video_score": "mean", "cache_dir": str(tmp_path)}
    (run / "config.json").write_text(json.dumps(config))
    (run / "metrics.json").write_text(json.dumps({"test": {"threshold": 0.7}}))
    result = model_builder.explain_video(good_paths[0], run)
    assert result["frame_scores"].shape == (4,) and result["frames"].shape[0] == 4
    assert result["score"] == pytest.approx(result["frame_scores"].mean(), rel=1e-5)
    assert result["threshold"] == 0.7 and result["label"] == ("FAKE" if result["score"] >= 0.7 else "REAL")


def test_explain_video_bad_input(save_dir, dataset, tmp_path):
    with pytest.raises(util.VideoReadError, match="broken.mp4"):
        model_builder.explain_video(dataset / "real" / "broken.mp4", save_dir / "tiny", cache_dir=tmp_path)
    with pytest.raises(FileNotFoundError, match="config.json"):
        model_builder.explain_video(dataset / "real" / "real_0.mp4", tmp_path)


# --------------------------------------------------------------------------- the page


def test_predict_uploads_and_picked_videos(save_dir, dataset, good_paths, cache_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the app's temp dirs go
    at = start(save_dir, dataset)
    assert not at.exception and at.selectbox(key="predict_run").value in ("tiny", "tiny-faces")
    at.selectbox(key="predict_run").set_value("tiny")
    cached = files_under(cache_dir)
    uploads = [(f"upload_{Path(p).name}", Path(p).read_bytes(), "video/mp4") for p in good_paths[:2]]
    for n in (1, 2):  # videos one after the other: the uploader keeps the earlier ones
        at.file_uploader(key="uploads").set_value(uploads[:n]).run()
    at.multiselect(key="picked").set_value([good_paths[2]]).run()
    assert not at.exception and not at.error
    expected = [model_builder.predict_video(p, save_dir / "tiny") for p in good_paths[:3]]
    assert [m.value for m in at.metric] == [f"{s:.3f}" for s in expected]
    labels = ["FAKE" if s >= 0.5 else "REAL" for s in expected]
    assert [m.value.split("[")[-1].rstrip("]") for m in at.markdown if "###" in m.value] == labels
    assert len(at.tabs[0].image) == 3 * NUM_FRAMES  # the Predict tab shows every sampled frame
    assert files_under(cache_dir) == cached and not list(tmp_path.iterdir())  # uploads left nothing behind


def test_bad_uploads_and_a_broken_run_are_messages(save_dir, dataset, face_video, good_paths, tmp_path):
    broken = tmp_path / "runs"
    shutil.copytree(save_dir, broken)
    (broken / "tiny" / "model.keras").write_bytes(b"not a model")
    at = start(broken)
    at.selectbox(key="predict_run").set_value("tiny-faces")
    uploads = at.file_uploader(key="uploads")
    uploads.upload("notes.mp4", b"just some text", "video/mp4")
    uploads.upload("truncated.mp4", Path(good_paths[0]).read_bytes()[:600], "video/mp4")
    uploads.upload("noface.mp4", Path(good_paths[0]).read_bytes(), "video/mp4")
    uploads.upload("face.mp4", face_video.read_bytes(), "video/mp4")
    at.run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 2 and errors[0].startswith("notes.mp4: ") and errors[1].startswith("truncated.mp4: ")
    assert "Cannot open video" in errors[0] and "Truncated video: the file holds" in errors[1]
    assert all("vidseq-app-" not in e for e in errors)  # names the upload, not a temp file
    assert [w.value for w in at.warning] == ["No face found in the sampled frames: the run scored full frames."]
    assert len(at.metric) == 2  # the good videos are still scored
    assert at.number_input(key="max_faces").value == 1  # the run's own: every face can be scored instead
    at.number_input(key="max_faces").set_value(3).run()
    assert not at.exception and len(at.metric) == 2
    assert any(c.value.startswith("face track 0 scored") for c in at.caption)

    at.selectbox(key="predict_run").set_value("tiny").run()
    assert len(at.number_input) == 0  # a run on full frames has no faces to choose
    errors = [e.value for e in at.error]
    assert len(errors) == 4 and all("model.keras" in e or "Cannot open video" in e or "Truncated" in e for e in errors)
    assert len(at.dataframe) >= 1  # the Runs tab still renders


def test_truncated_upload_is_scored_and_said_so(save_dir, tmp_path):
    whole = tmp_path / "whole.mp4"
    write_video(whole, make_frames(80, 64, 96, seed=5), fps=10)
    at = start(save_dir)
    at.selectbox(key="predict_run").set_value("tiny")
    at.file_uploader(key="uploads").upload("cut.mp4", whole.read_bytes()[: whole.stat().st_size // 2], "video/mp4")
    at.run()
    assert not at.exception and not at.error and len(at.metric) == 1
    (warning,) = [w.value for w in at.warning]
    assert warning.startswith("Truncated file: scored on what decodes (the file holds 50% of the ")


def test_runs_tab_leaderboard_and_run_details(save_dir):
    at = start(save_dir)
    board = at.dataframe[0].value
    assert set(board.run) == {"tiny", "tiny-faces"}
    assert {"test_auc", "backbone", "head", "vs_best"} <= set(board.columns)
    assert board.test_auc.str.endswith("[too few identities]").all()  # 4 test videos: no interval, and why
    assert any("Best on validation:" in c.value for c in at.tabs[1].caption)
    at.selectbox(key="runs_run").set_value("tiny").run()
    assert not at.exception
    metrics = json.loads((save_dir / "tiny" / "metrics.json").read_text())
    table = at.dataframe[1].value
    assert table.loc["test", "videos"] == metrics["test"]["videos"]
    assert table.loc["test", "auc"].endswith("[too few identities]")
    assert at.json[0].value and json.loads(at.json[0].value)["run_name"] == "tiny"
    runs_tab = at.tabs[1]
    assert len(runs_tab.get("vega_lite_chart")) == 2 and len(runs_tab.image) == 1  # learning curves, ROC


def test_no_runs_yet(tmp_path):
    at = start(tmp_path)
    assert not at.exception and "No finished runs" in at.info[0].value
    at = start(tmp_path / "nowhere")
    assert not at.exception and "nowhere" in at.error[0].value


# --------------------------------------------------------------------------- vidseq app


def test_app_command_serves_the_page_on_localhost(monkeypatch, tmp_path, capsys):
    started = []
    monkeypatch.setattr(os, "execv", lambda path, argv: started.append(argv))  # else Streamlit replaces pytest
    cli.main(["app", "--save-dir", str(tmp_path), "--port", "8765"])
    (command,) = started
    assert command[:4] == [sys.executable, "-m", "streamlit", "run"] and command[4].endswith("vidseq/app/streamlit_app.py")
    options = dict(zip(command[5:-3:2], command[6:-3:2]))
    assert options["--server.address"] == "127.0.0.1" and options["--server.port"] == "8765"
    assert command[-3:] == ["--", "--save-dir", str(tmp_path)]
    assert "http://127.0.0.1:8765" in capsys.readouterr().out


def test_app_command_errors(monkeypatch, tmp_path, capsys):
    assert cli.main(["app", "--save-dir", str(tmp_path / "nowhere")]) == 2
    assert "nowhere" in capsys.readouterr().err
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    assert cli.main(["app", "--save-dir", str(tmp_path)]) == 2
    assert 'pip install "vidseq[app]"' in capsys.readouterr().err


def test_app_help_imports_neither_tensorflow_nor_streamlit():
    code = ("import sys\nfrom vidseq import cli\ntry:\n    cli.main(['app', '--help'])\nexcept SystemExit:\n    pass\n"
            "assert not {'tensorflow', 'keras', 'streamlit'} & set(sys.modules), 'heavy module imported'")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert "--save-dir" in result.stdout and "127.0.0.1" in result.stdout
