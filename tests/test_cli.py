"""The `vidseq` command: cheap --help, one-line errors, train/compare/predict/extract end to end."""

import json
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import make_frames
from vidseq.cli import commands as cli
from vidseq.data.video_io import write_video

VIDSEQ = shutil.which("vidseq", path=str(Path(sys.executable).parent)) or shutil.which("vidseq")


def run(*args, **kwargs):
    return subprocess.run(args, capture_output=True, text=True, timeout=300, **kwargs)


def test_help_does_not_import_tensorflow():
    assert VIDSEQ, "the vidseq console script is not installed"
    result = run(VIDSEQ, "--help")
    assert result.returncode == 0 and "demo" in result.stdout and "predict" in result.stdout
    code = ("import sys\nfrom vidseq import cli\ntry:\n    cli.main(['train', '--help'])\nexcept SystemExit:\n    pass\n"
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'TensorFlow imported'")
    result = run(sys.executable, "-c", code)
    assert result.returncode == 0, result.stderr
    assert "--rnn-units" in result.stdout


def test_bad_input_is_one_clear_line(tmp_path):
    result = run(VIDSEQ, "train", str(tmp_path / "nowhere"), "--weights", "random")
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.startswith("vidseq")]
    assert lines and "nowhere" in lines[0] and "Traceback" not in result.stderr


def test_bad_model_name_lists_the_valid_ones(capsys, tmp_path):
    with pytest.raises(SystemExit) as info:
        cli.main(["extract", "data", "--model", "VGG16"])
    assert info.value.code == 2 and "MobileNetV2" in capsys.readouterr().err
    assert cli.main(["train", str(tmp_path), "--model", "VGG16"]) == 2
    err = capsys.readouterr().err
    assert "VGG16" in err and "MobileNetV2" in err and "CoAtNet-0" in err


def test_train_compare_predict_extract(dataset, cache_dir, tmp_path, capsys, recwarn):
    save_dir = tmp_path / "runs"
    common = ["--weights", "random", "--num-frames", "6", "--cache-dir", str(cache_dir)]
    assert cli.main(["train", str(dataset), *common, "--epochs", "2", "--learning-rate", "0.001", "--rnn", "lstm",
                     "--rnn-units", "8", "--dense-units", "4", "--val-size", "0.25", "--test-size", "0.25",
                     "--save-dir", str(save_dir), "--run-name", "cli-run", "--seed", "5"]) == 0
    config = json.loads((save_dir / "cli-run" / "config.json").read_text())
    assert (config["rnn"], config["rnn_units"], config["dense_units"], config["seed"]) == ("lstm", [8], [4], 5)
    assert config["learning_rate"] == 0.001 and config["epochs"] == 2

    assert cli.main(["compare", "--save-dir", str(save_dir)]) == 0
    assert "cli-run" in capsys.readouterr().out

    video = next(dataset.glob("fake/*.mp4"))
    assert cli.main(["predict", str(video), "--run", str(save_dir / "cli-run")]) == 0
    line = capsys.readouterr().out.strip()
    assert re.fullmatch(r"P\(fake\) [01]\.\d{4}  (FAKE|REAL)  \(threshold 0\.\d\d, run cli-run\)", line), line
    assert cli.main(["predict", str(video), "--run", str(save_dir / "cli-run"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert 0 <= result["p_fake"] <= 1 and result["label"] == ("FAKE" if result["p_fake"] >= result["threshold"] else "REAL")
    cut = tmp_path / "cut.mp4"  # a partial download: scored all the same, and said next to the score
    whole = next(iter(sorted(dataset.glob("fake/*.mp4"))))
    write_video(tmp_path / "long.mp4", make_frames(80, 64, 96, seed=3), fps=10)
    cut.write_bytes((tmp_path / "long.mp4").read_bytes()[: (tmp_path / "long.mp4").stat().st_size // 2])
    assert cli.main(["predict", str(cut), "--run", str(save_dir / "cli-run")]) == 0
    assert "TRUNCATED (the file holds 50% of the" in capsys.readouterr().out
    assert cli.main(["predict", str(cut), "--run", str(save_dir / "cli-run"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["truncated"]["declared"] == (tmp_path / "long.mp4").stat().st_size
    assert cli.main(["predict", str(whole), "--run", str(save_dir / "cli-run"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["truncated"] is None

    assert cli.main(["extract", str(dataset), *common]) == 0
    out = capsys.readouterr().out
    assert "Embedded 16 of 17 videos (16 read from the cache)" in out and "skipped 1" in out  # as training left them


def test_predict_missing_run_is_an_error(tmp_path, capsys, dataset):
    video = next(dataset.glob("real/*.mp4"))
    assert cli.main(["predict", str(video), "--run", str(tmp_path)]) == 2
    assert "config.json" in capsys.readouterr().err


def test_face_options_need_face_crop(dataset, capsys):
    assert cli.main(["extract", str(dataset), "--weights", "random", "--no-face", "skip"]) == 2
    assert "--face-crop" in capsys.readouterr().err


def test_help_shows_defaults():
    for command, shown in (("train", "default 64"), ("extract", "(default: 32)"), ("demo", "(default: data/demo)"),
                           ("evaluate", "(default: test)")):
        result = run(VIDSEQ, command, "--help")
        assert result.returncode == 0 and shown in " ".join(result.stdout.split()), (command, result.stdout)


def test_library_errors_are_said_in_flags():
    parser = cli.command_parser(cli.build_parser(), "train")
    message = "Offline, use weights='random' (seeded init), weights='auto'. Received: num_frames=0, face_crop=True."
    assert cli.in_cli_terms(message, parser) == (
        "Offline, use --weights random (seeded init), --weights auto. Received: --num-frames 0, --face-crop.")
    result = run(VIDSEQ, "train", "anywhere", "--num-frames", "0")
    assert result.returncode == 2 and "--num-frames 0" in result.stderr and "num_frames=" not in result.stderr


def test_a_missing_data_folder_fails_before_tensorflow_loads_and_leaves_nothing(tmp_path):
    code = ("import sys\nfrom vidseq.cli import commands as cli\n"
            "assert cli.main(['train', 'nowhere', '--weights', 'random']) == 2\n"
            "assert 'tensorflow' not in sys.modules, 'TensorFlow imported'")
    result = run(sys.executable, "-c", code, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "nowhere" in result.stderr and "Image Model" not in result.stdout
    assert list(tmp_path.iterdir()) == []  # no empty saved_models/ folder left behind


@pytest.mark.slow
def test_ctrl_c_says_what_was_kept_and_exits_130(tmp_path):
    from vidseq.data.demo_data import make_demo_dataset

    make_demo_dataset(tmp_path / "data", num_videos=12)
    cache = tmp_path / "cache"
    process = subprocess.Popen([VIDSEQ, "extract", str(tmp_path / "data"), "--face-crop", "--weights", "random",
                                "--num-frames", "32", "--cache-dir", str(cache)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 240
    while not list(cache.glob("embeddings/*/*.npz")) and time.time() < deadline and process.poll() is None:
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    finished = list(cache.glob("embeddings/*/*.npz"))
    assert process.returncode == 130, (len(finished), out[-1000:], err[-3000:])
    assert "interrupted" in err and "run the same command again to resume" in err and "Traceback" not in err, err
    assert 1 <= len(finished) < 12 and not list(cache.rglob("*.tmp*"))  # nothing half-written


@pytest.mark.slow
def test_train_like_a_saved_run_changes_only_what_is_given(dataset, cache_dir, tmp_path, capsys):
    save_dir = tmp_path / "runs"
    assert cli.main(["train", str(dataset), "--weights", "random", "--num-frames", "4", "--cache-dir", str(cache_dir),
                     "--epochs", "2", "--learning-rate", "0.002", "--rnn-units", "8", "--val-size", "0.25",
                     "--test-size", "0.25", "--save-dir", str(save_dir), "--run-name", "base", "--seed", "4"]) == 0
    assert cli.main(["train", str(dataset), "--like", str(save_dir / "base"), "--rnn", "lstm",
                     "--run-name", "like"]) == 0
    assert "changed: {'rnn': 'lstm'" in capsys.readouterr().out
    base, like = (json.loads((save_dir / name / "config.json").read_text()) for name in ("base", "like"))
    differ = {k for k in base.keys() | like.keys() if base.get(k) != like.get(k)}
    assert differ == {"rnn", "head", "params", "created", "run_name"}, differ


def test_max_faces_flag(dataset, capsys):
    args = cli.build_parser().parse_args(["train", str(dataset), "--face-crop", "--max-faces", "2"])
    assert cli.face_crop_from_flags(args).max_faces == 2
    assert cli.main(["extract", str(dataset), "--weights", "random", "--max-faces", "2"]) == 2
    assert "--face-crop" in capsys.readouterr().err
    assert cli.main(["extract", str(dataset), "--weights", "random", "--face-crop", "--max-faces", "0"]) == 2
    assert "--max-faces 0" in capsys.readouterr().err  # the library's max_faces=0, said as its flag


def test_face_detector_flag(dataset, capsys, tmp_path, monkeypatch):
    parse = cli.build_parser().parse_args
    assert cli.face_crop_from_flags(parse(["train", str(dataset), "--face-crop"])).detector == "yunet"
    args = parse(["extract", str(dataset), "--face-crop", "--face-detector", "mtcnn"])
    assert cli.face_crop_from_flags(args).detector == "mtcnn" and parse(["predict", "v.mp4", "--run", "r",
                                                                         "--face-detector", "yunet"]).face_detector
    with pytest.raises(SystemExit):
        parse(["train", str(dataset), "--face-crop", "--face-detector", "dlib"])
    assert "Received: --face-detector dlib. Expected one of 'yunet', 'mtcnn'." in capsys.readouterr().err
    assert cli.main(["extract", str(dataset), "--weights", "random", "--face-detector", "mtcnn"]) == 2
    assert "--face-crop" in capsys.readouterr().err
    from vidseq.data import face_detectors  # a damaged install: one line, before any video is read

    damaged = tmp_path / "yunet.onnx"
    damaged.write_bytes(b"not a model")
    monkeypatch.setattr(face_detectors, "YUNET_FILE", damaged)
    monkeypatch.setattr(face_detectors, "_YUNET_BYTES", None)
    assert cli.main(["extract", str(dataset), "--weights", "random", "--face-crop", "--cache-dir",
                     str(tmp_path / "cache")]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "yunet.onnx' with sha256" in error and not (tmp_path / "cache").exists()


def test_every_training_option_has_a_flag():
    """What train_test_classifier takes, `vidseq train` can set (callbacks are Python objects)."""
    from vidseq.training.config import family_options, option_fields
    from vidseq.training.families import FAMILIES

    flagless = {name for name, (_, field) in option_fields().items() if field.metadata.get("flag", "") is None}
    options = {name for family in FAMILIES.values() for name in family_options(family)} - {"callbacks", "verbose"}
    options -= flagless  # set by another option (a cross-validation's fold), said in its help
    parser = cli.command_parser(cli.build_parser(), "train")
    assert options - {a.dest for a in parser._actions} == set()
    args = parser.parse_args(["data", "--optimizer", "sgd", "--momentum", "0.5", "--nesterov", "--no-early-stopping",
                              "--reduce-lr", '{"factor": 0.5}', "--l2", "0.01", "--no-normalize", "--no-augment"])
    assert (args.optimizer, args.momentum, args.nesterov, args.early_stopping, args.reduce_lr, args.l2, args.normalize,
            args.augment) == ("sgd", 0.5, True, False, {"factor": 0.5}, 0.01, False, False)


def test_bad_scoring_flags_fail_before_tensorflow_loads(finished_run, dataset, good_paths):
    run_dir = str(finished_run[0])
    code = ("import sys\nfrom vidseq import cli\n"
            f"codes = [cli.main(['evaluate', {run_dir!r}, {str(dataset)!r}, '--perturb', 'jpeg:0']),\n"
            f"         cli.main(['evaluate', {run_dir!r}, {str(dataset)!r}, '--perturb', 'jpeg']),\n"
            f"         cli.main(['predict', {good_paths[0]!r}, '--run', {run_dir!r}, '--max-faces', '3'])]\n"
            "assert codes == [2, 2, 2], codes\nassert 'tensorflow' not in sys.modules, 'TensorFlow imported'")
    result = run(sys.executable, "-c", code)
    assert result.returncode == 0, result.stderr
    assert "jpeg:0. Expected an int in [1, 100]" in result.stderr and "KIND:LEVEL" in result.stderr
    assert "--max-faces 3 for a run without face crops" in result.stderr
def test_usage_errors_are_one_line_with_where_to_look(capsys):
    for argv, said in ((["train", "data", "--learning-rate", "abc"], "Received: --learning-rate abc. Expected a float."),
                       (["train", "data", "--rnn", "transformer"], "Received: --rnn transformer. Expected gru, lstm"),
                       (["train", "data", "--foo"], "Unrecognized arguments: --foo."),
                       (["evaluate", "run", "data", "--split", "dev"], "Received: --split dev. Expected one of")):
        with pytest.raises(SystemExit) as info:
            cli.main(argv)
        err = capsys.readouterr().err
        assert info.value.code == 2 and len(err.splitlines()) == 1, err
        assert err.startswith(f"vidseq {argv[0]}: error: {said}") and f"See vidseq {argv[0]} --help." in err, err


def test_predict_answers_for_a_file_that_is_no_video_before_tensorflow_loads(tmp_path, video_factory):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "config.json").write_text("{}")  # never read: the video is checked first
    (tmp_path / "notes.mp4").write_text("not a video\n" * 100)
    (tmp_path / "cut.mp4").write_bytes(video_factory(45, seed=6).read_bytes()[:2048])  # cut before its frames
    code = ("import sys\nfrom vidseq.cli import commands as cli\n"
            f"for video in ('notes.mp4', 'cut.mp4'):\n"
            f"    assert cli.main(['predict', {str(tmp_path)!r} + '/' + video, '--run', {str(run_dir)!r}]) == 2\n"
            "assert 'tensorflow' not in sys.modules, 'TensorFlow imported'")
    result = run(sys.executable, "-c", code)
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 2 and "Cannot open video" in lines[0] and "No decodable frames" in lines[1], lines


def test_compare_says_what_a_folder_holds_and_what_to_do(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["compare"]) == 0  # no saved_models/ here: nothing is wrong, there is nothing yet
    assert "No runs yet" in capsys.readouterr().out
    assert cli.main(["compare", "--save-dir", "nowhere"]) == 2
    assert "--save-dir nowhere, which is not a directory" in capsys.readouterr().err
    write_video(tmp_path / "data" / "real" / "a.mp4", make_frames(4))
    assert cli.main(["compare", "--save-dir", "data"]) == 0
    assert "holds videos" in capsys.readouterr().out
    (tmp_path / "runs" / "interrupted").mkdir(parents=True)
    (tmp_path / "runs" / "interrupted" / "config.json").write_text("{}")
    assert cli.main(["compare", "--save-dir", "runs"]) == 0
    assert "1 run folder(s) without metrics.json" in capsys.readouterr().out


def test_warnings_are_one_line_and_seen_figures_marked(tmp_path, capsys):
    run_dir = tmp_path / "runs" / "a"
    run_dir.mkdir(parents=True)
    (run_dir / "config.json").write_text(json.dumps({"img_model_name": "MobileNetV2", "num_frames": 8}))
    (run_dir / "metrics.json").write_text(json.dumps({"val": {"auc": 0.9}, "test": {"auc": 0.8}}))
    (run_dir / "eval_demo-all.json").write_text(json.dumps({"auc": 0.98, "seen_in_training": ["x.mp4"]}))
    (tmp_path / "runs" / "b").mkdir()
    (tmp_path / "runs" / "b" / "metrics.json").write_text("{}")  # no config.json: unreadable, warned about
    assert cli.main(["compare", "--save-dir", str(tmp_path / "runs")]) == 0
    out, err = capsys.readouterr()
    assert err.splitlines() == [f"vidseq compare: warning: Unreadable run folders in {tmp_path / 'runs'}: "
                                "b (FileNotFoundError)"]
    assert "eval_demo-all_seen_auc" in out and "not a measure of generalization" in out
