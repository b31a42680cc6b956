"""Searches on Optuna: samplers, the study beside the run folders, claims shared by workers, pruning,
bad input, and grid and random searches without Optuna. Training is `conftest.FakeTraining` (a run
folder at once), so no TensorFlow loads here unless a test prunes."""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import FakeTraining, require
from vidseq.runs import claims as claims_module
from vidseq.runs import search, study
from vidseq.runs.claims import ClaimBoard
from vidseq.runs.search_space import SearchSpace
from vidseq.training.config import RunConfig

optuna = require("optuna")

HEADS = [{"rnn": None, "dropout": [0.1, 0.2, 0.3]}, {"rnn": "gru", "rnn_units": [[4], [8]], "dropout": [0.4, 0.6]}]
GRID = dict(num_frames=[3], img_model_names=["MobileNetV2"], heads=HEADS)  # 3 + 4 = 7 configurations
COMMON = dict(weights="random", epochs=3)


@pytest.fixture
def fake(monkeypatch):
    training = FakeTraining()
    monkeypatch.setattr(search, "train_test_classifier", training)
    return training


def trained(save_dir: Path) -> list[str]:
    log = save_dir / "trained.log"
    return [line.split()[0] for line in log.read_text().splitlines()] if log.exists() else []


def trials(save_dir: Path, name: str | None = None) -> list:
    storage = f"sqlite:///{save_dir / study.STUDY_FILE}"
    name = name or optuna.get_all_study_names(storage)[0]
    return optuna.load_study(study_name=name, storage=storage).get_trials()


def test_the_space_names_each_configuration_by_its_choices():
    space = SearchSpace([3, 5], ["MobileNetV2"], HEADS)
    assert len(space.combinations) == 14
    assert space.choices == {"num_frames": [3, 5], "head": [0, 1], "head0.dropout": [0.1, 0.2, 0.3],
                             "head1.rnn_units": ["[4]", "[8]"], "head1.dropout": [0.4, 0.6]}
    f, m, options, params = space.combinations[-1]
    assert (f, options) == (5, {"rnn": "gru", "rnn_units": (8,), "dropout": 0.6})
    assert params == {"num_frames": 5, "head": 1, "head1.rnn_units": "[8]", "head1.dropout": 0.6}


@pytest.mark.parametrize("sampler, n_trials, expected", [("grid", None, 7), ("random", 3, 3), ("random", None, 7),
                                                         ("tpe", 4, 4)])
def test_each_sampler_trains_its_configurations_once(fake, tmp_path, sampler, n_trials, expected):
    board = search.search(tmp_path / "data", **GRID, sampler=sampler, n_trials=n_trials, save_dir=tmp_path, **COMMON)
    runs = trained(tmp_path)
    assert len(runs) == len(set(runs)) == expected and sorted(board.run) == sorted(runs)
    done = [t for t in trials(tmp_path) if t.state == optuna.trial.TrialState.COMPLETE]
    assert {t.user_attrs["run"] for t in done} == set(runs)
    if sampler != "tpe":  # TPE may also propose finished ones: answered from their folders, not trained
        assert len(done) == expected
    assert all(t.value == pytest.approx(json.loads((tmp_path / t.user_attrs["run"] / "metrics.json").read_text())
                                        ["val"]["auc"]) for t in done)
    again = search.search(tmp_path / "data", **GRID, sampler=sampler, n_trials=n_trials, save_dir=tmp_path, **COMMON)
    assert trained(tmp_path) == runs and sorted(again.run) == sorted(board.run)  # resumed: nothing new


def test_heads_that_expand_to_the_same_configuration_train_it_once(fake, tmp_path):
    heads = [{"dropout": 0.5}, {"dropout": [0.5, 0.2]}]  # "head" 0 and "head" 1 with dropout 0.5: one run
    for sampler in ("grid", "tpe"):
        board = search.search(tmp_path / "data", num_frames=[3], heads=heads, sampler=sampler, save_dir=tmp_path,
                              **COMMON)
        assert len(board) == 2 and sorted(trained(tmp_path)) == sorted(board.run)


def test_random_keeps_the_sample_earlier_searches_drew(fake, tmp_path):
    board = search.search(tmp_path / "data", **GRID, n_trials=3, seed=4, save_dir=tmp_path, **COMMON)
    space = SearchSpace(**GRID)
    names = [search.search_run_name(tmp_path / "data", f, m, RunConfig.from_options(f, m, **COMMON, **h,
                                                                                           verbose=0).options())
             for f, m, h, _ in space.combinations]
    assert sorted(board.run) == sorted(names[i] for i in np.random.default_rng(4).permutation(7)[:3])


def test_tpe_continues_from_the_run_folders(fake, tmp_path):
    """Runs finished without the study (another sampler, an earlier vidseq) join it; TPE adds up to n_trials."""
    search.search(tmp_path / "data", **GRID, n_trials=2, seed=1, save_dir=tmp_path, **COMMON)
    (tmp_path / study.STUDY_FILE).unlink()  # as if trained by a vidseq without Optuna
    board = search.search(tmp_path / "data", **GRID, sampler="tpe", n_trials=5, seed=0, save_dir=tmp_path, **COMMON)
    runs = trained(tmp_path)
    assert len(runs) == len(set(runs)) == 5 and len(board) == 5
    recorded = {t.user_attrs["run"] for t in trials(tmp_path) if t.state.is_finished() and "run" in t.user_attrs}
    assert recorded == set(runs)


def test_pruned_runs_are_kept_finished_and_recorded(monkeypatch, tmp_path):
    monkeypatch.setattr(search, "train_test_classifier", FakeTraining())
    pruner = {"name": "threshold_like_median", "n_startup_trials": 1}
    with pytest.raises(ValueError, match="pruner="):
        search.search(tmp_path / "data", **GRID, pruner=pruner, save_dir=tmp_path, **COMMON)
    pruner = {"name": "median", "n_startup_trials": 1}
    with pytest.raises(ValueError, match="pruner='median' with folds=3. Expected pruner=None"):
        search.search(tmp_path / "data", **GRID, pruner=pruner, save_dir=tmp_path, **{**COMMON, "folds": 3})
    board = search.search(tmp_path / "data", num_frames=[3], heads=[{"dropout": [0.1, 0.9]}], pruner=pruner,
                          save_dir=tmp_path, **COMMON)
    configs = {run: json.loads((tmp_path / run / "config.json").read_text()) for run in board.run}
    assert [c["pruner"] for c in configs.values()] == [pruner, pruner]
    assert sorted(c["pruned_at_epoch"] or 0 for c in configs.values()) == [0, 1]  # 0.9 falls below 0.1's median
    states = sorted(t.state.name for t in trials(tmp_path))
    assert states == ["COMPLETE", "PRUNED"]
    (tmp_path / study.STUDY_FILE).unlink()
    search.search(tmp_path / "data", num_frames=[3], heads=[{"dropout": [0.1, 0.9]}], save_dir=tmp_path, **COMMON)
    assert sorted(t.state.name for t in trials(tmp_path)) == ["COMPLETE", "PRUNED"]  # read back from the folders
    assert len(trained(tmp_path)) == 2


def test_a_runs_config_records_its_pruner():
    from vidseq.training.callbacks import PruningCallback

    callback = PruningCallback(object(), {"name": "median"})
    recorded = RunConfig.from_options(3, "MobileNetV2", weights="random", callbacks=[callback]).to_json()
    assert (recorded["pruner"], recorded["pruned_at_epoch"]) == ({"name": "median"}, None)
    assert "pruner" not in RunConfig.from_options(3, "MobileNetV2", weights="random").to_json()


def test_grid_and_random_run_without_optuna(fake, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna", None)  # `import optuna` now fails, as where it is not installed
    board = search.search(tmp_path / "data", **GRID, n_trials=3, save_dir=tmp_path, **COMMON)
    assert len(board) == 3 and len(trained(tmp_path)) == 3 and not (tmp_path / study.STUDY_FILE).exists()
    for bad in (dict(sampler="tpe", n_trials=2), dict(storage="sqlite:///x.db"), dict(pruner="median")):
        with pytest.raises(ValueError, match=r"needs Optuna.*vidseq\[search\]"):
            search.search(tmp_path / "data", **GRID, save_dir=tmp_path, **COMMON, **bad)


def test_bad_storage_and_a_changed_grid_are_one_line_errors_before_anything_is_written(fake, tmp_path):
    save_dir = tmp_path / "runs"
    for url, says in (("sqlite:////nonexistent/folder/x.db", "unable to open"), ("no-scheme", "Could not parse"),
                      ("postgresql://me:secret@127.0.0.1:1/db", "cannot be opened")):
        with pytest.raises(ValueError, match="cannot be opened") as info:
            search.search(tmp_path / "data", **GRID, storage=url, save_dir=save_dir, **COMMON)
        message = str(info.value)
        assert says in message and "\n" not in message and "secret" not in message
    assert not save_dir.exists()
    search.search(tmp_path / "data", **GRID, n_trials=1, study_name="mine", save_dir=save_dir, **COMMON)
    before = sorted(p.name for p in save_dir.iterdir())
    with pytest.raises(ValueError, match=r"study_name='mine' with 7 configuration\(s\) it does not hold and lacks 0"):
        search.search(tmp_path / "data", **{**GRID, "num_frames": [3, 5]}, n_trials=1, study_name="mine",
                      save_dir=save_dir, **COMMON)
    assert sorted(p.name for p in save_dir.iterdir()) == before and len(trained(save_dir)) == 1
    with pytest.raises(ValueError, match="sampler='grid' with n_trials=2"):
        search.search(tmp_path / "data", **GRID, sampler="grid", n_trials=2, save_dir=save_dir)
    with pytest.raises(ValueError, match=r"sampler='bayes'. Expected one of \['grid', 'random', 'tpe'\]"):
        search.search(tmp_path / "data", **GRID, sampler="bayes", save_dir=save_dir)


def test_claims_are_exclusive_and_a_dead_workers_claim_is_taken_over(tmp_path, monkeypatch):
    board = ClaimBoard(tmp_path, stale_after=60, heartbeat=0.05)
    claim = board.take("run-a", trial=3)
    assert claim is not None and board.take("run-a") is None  # a live holder (this process)
    assert board.holder("run-a")["trial"] == 3 and board.names() == {"run-a"}
    mtime = claim.path.stat().st_mtime_ns
    time.sleep(0.3)
    assert claim.path.stat().st_mtime_ns > mtime  # the heartbeat touches it
    claim.release()
    assert board.names() == set() and board.holder("run-a") is None

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (tmp_path / claims_module.CLAIMS_FOLDER / "run-b.json").write_text(json.dumps(
        {"host": socket.gethostname(), "pid": int(dead.stdout), "trial": 7, "token": "old"}))
    with board.take("run-b") as taken:  # its process is gone: taken over at once
        assert taken.evicted["trial"] == 7 and board.holder("run-b")["token"] == taken.info["token"]

    (tmp_path / claims_module.CLAIMS_FOLDER / "run-c.json").write_text(json.dumps(
        {"host": "another-machine", "pid": 1, "token": "far"}))
    assert board.take("run-c") is None  # another machine's: live while it is touched
    old = time.time() - 61
    os.utime(tmp_path / claims_module.CLAIMS_FOLDER / "run-c.json", (old, old))
    with board.take("run-c") as taken:  # untouched for longer than stale_after: its worker died
        assert taken.evicted["token"] == "far"


def test_a_crashed_workers_claim_does_not_block_the_search(fake, tmp_path):
    space = SearchSpace(**GRID)
    f, m, head, _ = space.combinations[0]
    config = RunConfig.from_options(f, m, **COMMON, **head, save_dir=str(tmp_path), verbose=0)
    first = search.search_run_name(tmp_path / "data", f, m, config.options())
    (tmp_path / claims_module.CLAIMS_FOLDER).mkdir()
    (tmp_path / claims_module.CLAIMS_FOLDER / f"{first}.json").write_text(json.dumps(
        {"host": "another-machine", "pid": 1, "token": "t"}))
    board = search.search(tmp_path / "data", **GRID, save_dir=tmp_path, **COMMON)
    assert first not in trained(tmp_path) and board.attrs["in_progress"] == [first] and len(board) == 6
    storage = f"sqlite:///{tmp_path / study.STUDY_FILE}"
    name = optuna.get_all_study_names(storage)[0]
    dead_trial = optuna.load_study(study_name=name, storage=storage).ask().number  # the dead worker's, running
    claim = tmp_path / claims_module.CLAIMS_FOLDER / f"{first}.json"
    claim.write_text(json.dumps({"host": "another-machine", "pid": 1, "token": "t", "study": name,
                                 "trial": dead_trial}))
    old = time.time() - claims_module.STALE_AFTER_SECONDS - 1
    os.utime(claim, (old, old))
    board = search.search(tmp_path / "data", **GRID, save_dir=tmp_path, **COMMON)
    assert trained(tmp_path).count(first) == 1 and len(board) == 7 and board.attrs["in_progress"] == []
    assert trials(tmp_path)[dead_trial].state.name == "FAIL"


@pytest.mark.parametrize("sampler", [pytest.param("grid", marks=pytest.mark.slow), "tpe"])
def test_two_workers_share_one_study_and_train_each_configuration_once(tmp_path, sampler):
    code = (f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
            "import conftest\nfrom vidseq.runs import search\n"
            "search.train_test_classifier = conftest.FakeTraining(seconds=0.3)\n"
            f"search.search({str(tmp_path / 'data')!r}, num_frames={GRID['num_frames']!r}, heads={HEADS!r}, "
            f"sampler={sampler!r}, n_trials={None if sampler == 'grid' else 6}, save_dir={str(tmp_path)!r}, "
            "weights='random', epochs=3)\n")
    workers = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True) for _ in range(2)]
    outputs = [w.communicate(timeout=300) for w in workers]
    assert [w.returncode for w in workers] == [0, 0], [err[-2000:] for _, err in outputs]
    runs = trained(tmp_path)
    expected = 7 if sampler == "grid" else 6
    assert len(runs) == len(set(runs)) == expected  # every configuration trained once, by one worker or the other
    done = [t.user_attrs["run"] for t in trials(tmp_path) if t.state == optuna.trial.TrialState.COMPLETE]
    assert set(done) == set(runs) and (sampler != "grid" or len(done) == expected)
    assert not (tmp_path / claims_module.CLAIMS_FOLDER).exists()  # every claim released, the folder tidied away


VIDSEQ = shutil.which("vidseq", path=str(Path(sys.executable).parent)) or shutil.which("vidseq")


def test_search_flags_and_storage_are_checked_before_tensorflow_loads(dataset, tmp_path):
    grid = tmp_path / "grid.json"
    grid.write_text(json.dumps({"heads": [{"rnn": None}], "options": {"weights": "random"}}))
    code = ("import sys\nfrom vidseq import cli\n"
            f"g, d, s = {str(grid)!r}, {str(dataset)!r}, {str(tmp_path / 'runs')!r}\n"
            "for argv in (['search', '--help'], ['search', d, '--grid', g, '--sampler', 'bayes']):\n"
            "    try:\n        cli.main(argv)\n    except SystemExit as exit:\n        print('exit', exit.code)\n"
            "print('rc', cli.main(['search', d, '--grid', g, '--sampler', 'grid', '--n-trials', '2']))\n"
            "print('rc', cli.main(['search', d, '--grid', g, '--pruner', 'nope']))\n"
            "print('rc', cli.main(['search', d, '--grid', g, '--save-dir', s, '--storage', 'sqlite:////no/such/x.db']))\n"
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'TensorFlow imported'")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "--sampler" in result.stdout and "--storage URL" in result.stdout and "--pruner NAME|JSON" in result.stdout
    assert result.stdout.endswith("exit 0\nexit 2\nrc 2\nrc 2\nrc 2\n")
    errors = [line for line in result.stderr.splitlines() if line.startswith("vidseq search: error")]
    assert len(errors) == 4 and "Received: --sampler bayes. Expected one of 'grid', 'random', 'tpe'" in errors.pop(0)
    assert "--sampler grid with --n-trials 2" in errors[0] and "--pruner nope. Expected None, one of ['median'" in errors[1]
    assert "--storage sqlite:////no/such/x.db" in errors[2] and "cannot be opened" in errors[2]
    assert not (tmp_path / "runs").exists()


@pytest.mark.slow
def test_two_vidseq_search_processes_share_one_sqlite_study(dataset, cache_dir, tmp_path):
    """The real command, twice at once: TPE over 4 configurations, 3 trials between them, each trained once,
    with a median pruner watching Keras' val_auc."""
    grid = tmp_path / "grid.json"
    grid.write_text(json.dumps(dict(
        num_frames=[3], heads=[{"rnn": None, "dropout": [0.2, 0.5]}, {"rnn": "gru", "rnn_units": [[4], [8]]}],
        sampler="tpe", n_trials=3, pruner={"name": "median", "n_startup_trials": 1}, options=dict(weights="random", epochs=2, learning_rate=1e-3, batch_size=4,
                                                val_size=0.25, test_size=0.25, cache_dir=str(cache_dir)))))
    save_dir = tmp_path / "runs"
    workers = [subprocess.Popen([VIDSEQ, "search", str(dataset), "--grid", str(grid), "--save-dir", str(save_dir)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [w.communicate(timeout=1200) for w in workers]
    assert [w.returncode for w in workers] == [0, 0], [err[-2000:] for _, err in outputs]
    runs = sorted(p.name for p in save_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
    assert len(runs) == 3 and not any(re.search(r"-\d+$", run) for run in runs)  # no run saved twice ("<run>-2")
    assert all((save_dir / run / "metrics.json").is_file() for run in runs)
    done = [t.user_attrs["run"] for t in trials(save_dir) if t.state.name in ("COMPLETE", "PRUNED")]
    assert set(done) == set(runs)
    for run in runs:
        config = json.loads((save_dir / run / "config.json").read_text())
        assert config["pruner"] == {"name": "median", "n_startup_trials": 1} and "pruned_at_epoch" in config
    assert not (save_dir / claims_module.CLAIMS_FOLDER).exists()
