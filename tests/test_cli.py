"""The `vidseq` command: cheap --help, one-line errors, train/compare/predict/extract end to end."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from vidseq import cli

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
    assert 0 <= float(capsys.readouterr().out.strip()) <= 1

    assert cli.main(["extract", str(dataset), *common]) == 0
    out = capsys.readouterr().out
    assert "Embedded 16 of 17 videos" in out and "skipped 1" in out


def test_predict_missing_run_is_an_error(tmp_path, capsys, dataset):
    video = next(dataset.glob("real/*.mp4"))
    assert cli.main(["predict", str(video), "--run", str(tmp_path)]) == 2
    assert "config.json" in capsys.readouterr().err


def test_face_options_need_face_crop(dataset, capsys):
    assert cli.main(["extract", str(dataset), "--weights", "random", "--no-face", "skip"]) == 2
    assert "--face-crop" in capsys.readouterr().err


def test_max_faces_flag(dataset, capsys):
    args = cli.build_parser().parse_args(["train", str(dataset), "--face-crop", "--max-faces", "2"])
    assert cli._face_crop(args).max_faces == 2
    assert cli.main(["extract", str(dataset), "--weights", "random", "--max-faces", "2"]) == 2
    assert "--face-crop" in capsys.readouterr().err
    assert cli.main(["extract", str(dataset), "--weights", "random", "--face-crop", "--max-faces", "0"]) == 2
    assert "max_faces=0" in capsys.readouterr().err
