"""The typed run configuration: checks, families, config.json round trips, and a run folder
written before the restructure (tests/data/old_run) still loading, predicting and ranking."""

import dataclasses
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import model_builder
from conftest import write_folders_dataset
from vidseq.cli import commands as cli
from vidseq.data.config import DataConfig
from vidseq.models.config import HeadConfig, ImageConfig
from vidseq.training.config import RunConfig, family_options, option_fields
from vidseq.training.train_config import TrainConfig
from vidseq.training.families import FAMILIES
from vidseq.data.faces import FaceCrop
from vidseq.runs.folders import run_config

OLD_RUN = Path(__file__).parent / "data" / "old_run"


@pytest.mark.parametrize("make, match", [
    (lambda: HeadConfig(rnn="transformer"), "rnn='transformer'"),
    (lambda: HeadConfig(rnn_units=()), "rnn_units=()"),
    (lambda: HeadConfig(dropout=1.0), "dropout=1.0"),
    (lambda: HeadConfig(rnn_pooling="max"), "rnn_pooling='max'"),
    (lambda: ImageConfig(image_size=100), "image_size=100. Expected a multiple of 32"),
    (lambda: ImageConfig(video_score="median"), "video_score='median'"),
    (lambda: DataConfig(strategy="every"), "strategy='every'"),
    (lambda: DataConfig(split_by="person"), "split_by='person'"),
    (lambda: DataConfig(face_crop="yes"), "face_crop='yes'"),
    (lambda: DataConfig(val_size=0.5, test_size=0.5), "Expected a sum below 1"),
    (lambda: DataConfig(compression="c99"), "compression='c99'"),
    (lambda: HeadConfig(bidirectional="yes"), "bidirectional='yes'. Expected True or False"),
    (lambda: TrainConfig(reduce_lr={"factor": 0.5, "cooldown": -1}), r"reduce_lr\['cooldown'\]=-1"),
    (lambda: TrainConfig(reduce_lr={"mode": "up"}), r"reduce_lr\['mode'\]='up'"),
    (lambda: TrainConfig(reduce_lr={"min_lr": -1e-3}), r"reduce_lr\['min_lr'\]=-0.001"),
    (lambda: TrainConfig(reduce_lr={"factor": 0.5, "verbose": 1}), r"unknown setting\(s\) \['verbose'\]"),
    (lambda: TrainConfig(early_stopping={"restore_best_weights": "yes"}), r"early_stopping\['restore_best_weights'\]"),
    (lambda: TrainConfig(early_stopping={"monitor": "val_f1"}), "monitor='val_f1'"),
    (lambda: TrainConfig(early_stopping="yes"), "early_stopping='yes'"),
    (lambda: TrainConfig(callbacks=["print"]), "callbacks=\\['print'\\]"),
])
def test_each_section_checks_itself(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_sections_and_flags_need_no_tensorflow():
    """The CLI builds its flags from the fields, and checks sections, before TensorFlow loads."""
    code = ("import sys\n"
            "from vidseq.data.config import DataConfig\nfrom vidseq.models.config import HeadConfig, ImageConfig\n"
            "from vidseq.training.config import option_fields\n"
            "HeadConfig(rnn_units=(8,)); DataConfig(face_crop=True); ImageConfig(); option_fields()\n"
            "assert 'keras' not in sys.modules and 'tensorflow' not in sys.modules, 'TensorFlow imported'")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_families_and_their_defaults():
    assert RunConfig.from_options(4, "MobileNetV2").family.name == "sequence"
    coat = RunConfig.from_options(4, "coatnet-1")
    assert (coat.family.name, coat.img_model_name, coat.head, coat.train.optimizer, coat.train.epochs) == (
        "coatnet", "CoAtNet-1", None, "adamw", 25)
    tuned = RunConfig.from_options(4, "Xception", fine_tune=True, weights="random")
    assert (tuned.family.name, tuned.input_size, tuned.image.dropout, tuned.fine_tune_rate) == (
        "finetune", (299, 299), 0.2, 1e-4)
    assert "rnn" not in family_options(FAMILIES["coatnet"]) and "image_size" not in family_options(FAMILIES["finetune"])
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['rnn'\]"):
        RunConfig.from_options(4, "CoAtNet-0", rnn="gru")


def test_config_json_round_trip():
    config = RunConfig.from_options(8, "MobileNetV2", weights="random", rnn_units=(16, 8), dense_units=(4,),
                                    face_crop=FaceCrop(margin=1.5), optimizer="sgd", momentum=0.5, epochs=3)
    recorded = json.loads(json.dumps({**config.to_json(), "img_model_name": "MobileNetV2", "num_frames": 8,
                                      "weights": "random"}))
    again = RunConfig.from_json(recorded)
    assert again == dataclasses.replace(config, verbose=0)
    assert again.head.name == "gru16x8_fc4" and again.data.face.margin == 1.5


def test_replace_checks_again():
    config = RunConfig.from_options(4, "MobileNetV2")
    assert config.replace(truncated="keep").data.on_truncated == "keep"
    with pytest.raises(ValueError, match="truncated='some'"):
        config.replace(truncated="some")


def test_every_option_field_has_a_train_flag():
    """A new option is one field: `vidseq train` gets its flag from it."""
    parser = cli.command_parser(cli.build_parser(), "train")
    flags = {a.dest: a for a in parser._actions}
    for name, (_, field) in option_fields().items():
        if field.metadata.get("flag", "") is None:
            continue  # Python objects (callbacks): said in its help
        assert name in flags, f"no flag for {name}"
        if name != "verbose":  # every command's --verbose: 1 or, given, 2
            assert field.metadata["help"] in flags[name].help
    assert {name for family in FAMILIES.values() for name in family_options(family)} <= \
        set(option_fields())


@pytest.fixture(scope="module")
def old_run(tmp_path_factory):
    """tests/data/old_run, written by vidseq before the restructure (commit 3c388d1: a GRU head on
    MobileNetV2 "random" features of `write_folders_dataset(root, 4, 12, 100)`), moved here with its data."""
    root = tmp_path_factory.mktemp("old")
    data = write_folders_dataset(root / "data", 4, 12, 100)
    run = root / "runs" / "old_gru8"
    shutil.copytree(OLD_RUN, run)
    config = json.loads((run / "config.json").read_text())
    # As on another machine: its cache and data live elsewhere; nothing else changes.
    config.update(cache_dir=str(root / "cache"), data_dir=str(data))
    (run / "config.json").write_text(json.dumps(config))
    return run, data


def test_old_run_folder_loads_predicts_and_ranks(old_run):
    run, data = old_run
    config = run_config(run)
    assert (config.family.name, config.head.name, config.data.split_by, config.num_frames) == ("sequence", "gru8",
                                                                                            "identities", 6)
    written = {Path(r.split(",")[0]).name: float(r.split(",")[3])
               for r in (run / "scores.csv").read_text().splitlines()[1:]}
    for name, score in written.items():
        label = name.split("_")[0]
        assert model_builder.predict_video(data / label / name, run) == pytest.approx(score, abs=1e-4)
    board = model_builder.compare_saved_models(run.parent)
    assert list(board.run) == ["old_gru8"] and board["head"][0] == "gru8" and board["test_split"][0]
    assert board.test_ci_note[0].startswith("too few identities") and board.vs_best[0] == "best"  # no intervals stored
    assert model_builder.classifier(data / "fake" / "fake_2.mp4", run) in ("REAL", "FAKE")


@pytest.mark.slow
def test_old_run_settings_train_again_with_like(old_run, tmp_path, capsys):
    run, data = old_run
    assert cli.main(["train", str(data), "--like", str(run), "--epochs", "1", "--save-dir", str(tmp_path),
                     "--run-name", "again"]) == 0
    assert "changed: {'epochs': 1, 'save_dir'" in capsys.readouterr().out
    again = json.loads((tmp_path / "again" / "config.json").read_text())
    old = json.loads((run / "config.json").read_text())
    assert {k: again[k] for k in ("head", "rnn_units", "weights", "num_frames", "learning_rate")} == \
        {k: old[k] for k in ("head", "rnn_units", "weights", "num_frames", "learning_rate")}
