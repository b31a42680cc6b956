"""The seed toolkit's calls on vidseq (github.com/a-leena/Deepfake_Video_Detection).

Its notebook 6 (`6_Video_Classification_PretrainedCNNs_GRU.ipynb`) runs as written, with
`weights="random"` (offline) and few epochs added; its app's `model_builder.classifier`
call answers REAL/FAKE; its keyword names land in config.json under vidseq's names.
"""

import json
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import keras
import numpy as np
import pytest
from keras.callbacks import EarlyStopping, ReduceLROnPlateau

import model_builder
import util
import vidseq
from conftest import write_folders_dataset
from vidseq.runs import search
from vidseq.training.fit import compile_model
from vidseq.training.config import RunConfig
from vidseq.training.seed_compat import SEED_ALIASES
from vidseq.training.train_config import CALLBACK_DEFAULTS, training_config

OFFLINE = dict(weights="random", epochs=2)  # all a seed user adds offline; 2 epochs keep tier 1 fast
SMALL = dict(weights="random", batch_size=4, cache_dir=None, verbose=0)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A seed user's working folder: `data/DFD` and `data/CelebDF`, 7 real + 7 fake short clips each."""
    root = tmp_path_factory.mktemp("seed_user")
    write_folders_dataset(root / "data" / "DFD", 7, 6, fake_seed=100)
    write_folders_dataset(root / "data" / "CelebDF", 7, 6, fake_seed=200)
    return root


@pytest.fixture
def in_workdir(workdir, monkeypatch):
    """Run from the working folder, as the notebook does, with the embedding cache inside it."""
    monkeypatch.chdir(workdir)
    monkeypatch.setenv("VIDSEQ_CACHE", str(workdir / "cache"))
    return workdir


def small(workdir, **kwargs):
    return dict(SMALL, cache_dir=workdir / "cache", **kwargs)


def quiet_train(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model_builder.train_test_classifier(*args, **kwargs)


def no_alias_keys(config: dict) -> list:
    return [k for k in config if k in SEED_ALIASES or k == "callbacks"]


# --------------------------------------------------------------------------- notebook 6, as written


@pytest.mark.slow
def test_seed_notebook_6_calls_run_as_written(in_workdir, capsys):
    """Cells 5, 11 and 25 (MobileNetV2); the Xception cells 16 and 21 run in tier 2 (below)."""
    base_dir = r'data'
    labels1, classifier1, (classifier_loss1, classifier_acc1) = model_builder.train_test_classifier(
        data_dir=os.path.join(base_dir, 'DFD'),
        num_frames=64, **OFFLINE)
    labels2, classifier2, (classifier_loss2, classifier_acc2) = model_builder.train_test_classifier(
        data_dir=os.path.join(base_dir, 'DFD'),
        num_frames=64,
        num_gru=2, num_dense=1, batchnorm=True, **OFFLINE)
    labels5, classifier5, (classifier_loss5, classifier_acc5) = model_builder.train_test_classifier(
        data_dir=os.path.join(base_dir, 'CelebDF'),
        num_frames=16,
        img_model_name='MobileNetV2', **OFFLINE)
    out = capsys.readouterr().out
    for labels, loss, acc in ((labels1, classifier_loss1, classifier_acc1), (labels2, classifier_loss2, classifier_acc2),
                              (labels5, classifier_loss5, classifier_acc5)):
        assert list(labels) == ["real", "fake"] and np.isfinite(loss) and 0 <= acc <= 1
    runs = sorted((in_workdir / "saved_models").iterdir())
    assert len(runs) == 3
    configs = {(c["data_dir"].split(os.sep)[-1], c["num_frames"], tuple(c["dense_units"])): c
               for c in (json.loads((r / "config.json").read_text()) for r in runs)}
    assert set(configs) == {("DFD", 64, ()), ("DFD", 64, (128,)), ("CelebDF", 16, ())}
    second = configs[("DFD", 64, (128,))]  # num_dense=1 with the seed's smallest_dense_units=128
    assert second["rnn_units"] == [256, 256] and second["batch_norm"] is True
    assert configs[("DFD", 64, ())]["batch_norm"] is False
    assert [l.units for l in classifier2.layers if isinstance(l, keras.layers.Dense)] == [128, 1]
    assert any(isinstance(l, keras.layers.BatchNormalization) for l in classifier2.layers)
    assert all(not no_alias_keys(c) for c in configs.values())
    assert "Seed option num_dense=1 -> vidseq option dense_units=(128,)" in out
    assert "Seed option batchnorm=True -> vidseq option batch_norm=True" in out
    assert "Seed option num_gru=2 -> vidseq option rnn_units=(256, 256)" in out


@pytest.mark.slow
def test_seed_notebook_6_xception_cells_run_as_written(in_workdir, tmp_path, monkeypatch):
    """Cells 16 and 21: Xception at 299 px (random weights estimate BatchNorm statistics: minutes on 2 cores)."""
    monkeypatch.chdir(tmp_path)  # a fresh saved_models/, the same data
    (tmp_path / "data").symlink_to(in_workdir / "data")
    base_dir = r'data'
    labels3, classifier3, (classifier_loss3, classifier_acc3) = model_builder.train_test_classifier(
        data_dir=os.path.join(base_dir, 'DFD'),
        num_frames=16,
        img_model_name='Xception', **OFFLINE)
    labels4, classifier4, (classifier_loss4, classifier_acc4) = model_builder.train_test_classifier(
        data_dir=os.path.join(base_dir, 'CelebDF'),
        num_frames=16,
        img_model_name='Xception', **OFFLINE)
    for labels, loss, acc in ((labels3, classifier_loss3, classifier_acc3), (labels4, classifier_loss4, classifier_acc4)):
        assert list(labels) == ["real", "fake"] and np.isfinite(loss) and 0 <= acc <= 1
    configs = [json.loads((r / "config.json").read_text()) for r in (tmp_path / "saved_models").iterdir()]
    assert sorted(c["img_model_name"] for c in configs) == ["Xception", "Xception"]
    assert classifier3.input_shape == (None, 16, 2048)


# --------------------------------------------------------------------------- aliases and callbacks


class EpochCounter(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epochs = 0

    def on_epoch_end(self, epoch, logs=None):
        self.epochs += 1


@pytest.mark.slow
def test_seed_aliases_land_in_config_under_vidseq_names(workdir, tmp_path, capsys):
    stop = EarlyStopping(monitor="val_loss", mode="min", min_delta=10.0, patience=2, restore_best_weights=True)
    reduce = ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1)
    counter = EpochCounter()
    _, model, _ = quiet_train(
        data_dir=workdir / "data" / "DFD", num_frames=6, split_ratio=(0.5, 0.25, 0.25), img_model_name="MobileNetV2",
        num_gru=1, gru_units=8, bidirectional=False, num_dense=2, smallest_dense_units=4, batchnorm=False,
        dropout_rate=0.25, epochs=20, optimizer_name="rmsprop", optimizer_lr=1e-3, estop=stop,
        reduce_lr_on_plateau=reduce, callbacks=[counter], save_dir=tmp_path, run_name="aliases", **small(workdir))
    out = capsys.readouterr().out
    config = json.loads((tmp_path / "aliases" / "config.json").read_text())
    metrics = json.loads((tmp_path / "aliases" / "metrics.json").read_text())
    assert no_alias_keys(config) == []
    assert config["rnn_units"] == [8] and config["dense_units"] == [8, 4]  # widest first, as the seed stacks them
    assert [l.units for l in model.layers if isinstance(l, keras.layers.Dense)] == [8, 4, 1]
    assert config["dropout"] == 0.25 and config["batch_norm"] is False
    assert config["optimizer"] == "rmsprop" and config["learning_rate"] == 1e-3
    assert config["val_size"] == 0.25 and config["test_size"] == 0.25
    assert config["momentum"] is None and config["nesterov"] is False
    assert config["early_stopping"] == dict(monitor="val_loss", mode="min", min_delta=10.0, patience=2, baseline=None,
                                            restore_best_weights=True, start_from_epoch=0)
    assert config["patience"] == 2
    assert config["reduce_lr"]["factor"] == 0.5 and config["reduce_lr"]["patience"] == 1
    # min_delta=10 means no epoch after the first improves: patience 2 stops at epoch 3 of 20.
    assert metrics["epochs_trained"] == 3
    assert stop.model is model and reduce.model is model  # the objects given were the ones used
    assert counter.epochs == 3 and counter.model is model  # the user's callback ran alongside
    for alias, line in (("num_gru", "rnn_units=(8,)"), ("smallest_dense_units", "dense_units=(8, 4)"),
                        ("dropout_rate", "dropout=0.25"), ("optimizer_name", "optimizer='rmsprop'"),
                        ("optimizer_lr", "learning_rate=0.001"), ("split_ratio", "val_size=0.25, test_size=0.25"),
                        ("estop", "early_stopping=EarlyStopping("), ("reduce_lr_on_plateau", "reduce_lr=ReduceLROnPlateau(")):
        assert any(l.startswith(f"Seed option {alias}=") and line in l for l in out.splitlines()), alias


@pytest.mark.slow
def test_estop_none_turns_early_stopping_off(workdir, tmp_path, monkeypatch):
    seen = []
    fit = keras.Model.fit

    def spy(self, *args, **kwargs):
        seen.append(kwargs.get("callbacks"))
        return fit(self, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "fit", spy)
    quiet_train(workdir / "data" / "DFD", 6, estop=None, epochs=4, rnn_units=(8,), learning_rate=1e-3,
                save_dir=tmp_path, run_name="nostop", **small(workdir))
    config = json.loads((tmp_path / "nostop" / "config.json").read_text())
    metrics = json.loads((tmp_path / "nostop" / "metrics.json").read_text())
    assert metrics["epochs_trained"] == 4
    assert config["early_stopping"] is None
    assert seen and not any(isinstance(c, EarlyStopping) for c in seen[0])


def test_default_early_stopping_is_recorded():
    config = training_config(RunConfig.from_options(6, "MobileNetV2", patience=4).train)
    assert config["early_stopping"] == dict(monitor="val_loss", mode="auto", min_delta=0.0, patience=4, baseline=None,
                                            restore_best_weights=True, start_from_epoch=0)
    assert config["reduce_lr"] is None and config["momentum"] is None


@pytest.mark.parametrize("options, match", [
    (dict(momentum=0.9), r"momentum=0.9 with optimizer='adam'"),
    (dict(optimizer_name="adam", momentum=0.9), r"momentum=0.9 with optimizer='adam'"),
    (dict(optimizer="rmsprop", nesterov=True), r"nesterov=True with optimizer='rmsprop'"),
    (dict(optimizer="sgd", momentum=1.5), r"momentum=1.5"),
    (dict(batchnorm=True, batch_norm=False), r"batchnorm=True and batch_norm=False"),
    (dict(num_gru=2, rnn_units=(8,)), r"num_gru=2 and rnn_units=\(8,\)"),
    (dict(optimizer_lr=1e-3, learning_rate=1e-3), r"optimizer_lr=0.001 and learning_rate=0.001"),
    (dict(split_ratio=(0.7, 0.2, 0.2)), r"split_ratio=\(0.7, 0.2, 0.2\). Expected 3 fractions"),
    (dict(split_ratio=(0.7, 0.3)), r"split_ratio=\(0.7, 0.3\)"),
    (dict(split_ratio=(0.7, 0.15, 0.15), val_size=0.2), r"split_ratio=.* and val_size=0.2"),
    (dict(num_gru=0), r"num_gru=0"),
    (dict(num_dense=-1), r"num_dense=-1"),
    (dict(estop=EarlyStopping(monitor="val_acc")), r"monitor='val_acc'"),
    (dict(estop="yes"), r"early_stopping='yes'"),
    (dict(estop=EarlyStopping(patience=3), patience=5), r"patience=5 and early_stopping with patience=3"),
    (dict(reduce_lr_on_plateau=ReduceLROnPlateau(), schedule="cosine"), r"reduce_lr with schedule='cosine'"),
    (dict(callbacks=[EarlyStopping()]), r"callbacks holding an EarlyStopping"),
    (dict(callbacks="print"), r"callbacks='print'"),
])
def test_bad_seed_options_fail_before_any_video(tmp_path, options, match):
    with pytest.raises(ValueError, match=match):
        model_builder.train_test_classifier(tmp_path / "nowhere", 6, "MobileNetV2", weights="random", **options)


def test_sgd_momentum_and_nesterov_reach_the_optimizer():
    def optimizer(**options):
        config = RunConfig.from_options(4, "MobileNetV2", **options)
        model = model_builder.build_classifier(4, 6, rnn=None)
        compile_model(model, config.train, steps_per_epoch=2)
        return model.optimizer

    sgd = optimizer(optimizer_name="sgd", momentum=0.5, nesterov=True)
    assert isinstance(sgd, keras.optimizers.SGD) and sgd.momentum == 0.5 and sgd.nesterov is True
    assert optimizer(optimizer_name="sgd").momentum == 0.0  # the seed's SGD had no momentum
    assert optimizer(optimizer="sgd").momentum == 0.9  # vidseq's SGD default


@pytest.mark.slow
def test_search_takes_seed_names_resumes_with_a_new_estop_object_and_refuses_callbacks(workdir, tmp_path, capsys):
    with pytest.raises(ValueError, match="callbacks with search"):
        model_builder.search(workdir / "data" / "DFD", num_frames=[6], callbacks=[EpochCounter()], save_dir=tmp_path)
    grid = dict(num_frames=[6], heads=[{"num_gru": 1, "gru_units": 8}], epochs=2, optimizer_lr=1e-3,
                save_dir=tmp_path, **{k: v for k, v in small(workdir).items() if k != "verbose"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        board = model_builder.search(workdir / "data" / "DFD", estop=EarlyStopping(patience=1), **grid)
        again = model_builder.search(workdir / "data" / "DFD", estop=EarlyStopping(patience=1), **grid)
    assert len(board) == 1 and list(again.run) == list(board.run)
    runs = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert len(runs) == 1  # the second search found the run finished: the estop object hashed as its settings
    config = json.loads((runs[0] / "config.json").read_text())
    assert config["rnn_units"] == [8] and config["early_stopping"]["patience"] == 1 and not no_alias_keys(config)
    assert "Seed option gru_units=8 -> vidseq option rnn_units=(8,)" in capsys.readouterr().out


def test_new_options_at_their_defaults_keep_search_run_names(workdir):
    """Searches started before these options existed still find their finished runs."""
    _, _, opts = model_builder.check_run_options(6, "MobileNetV2", {})
    before = {k: v for k, v in opts.items() if k not in CALLBACK_DEFAULTS}
    data = workdir / "data" / "DFD"
    assert search.search_run_name(data, 6, "MobileNetV2", opts) == \
        search.search_run_name(data, 6, "MobileNetV2", before)
    assert search.search_run_name(data, 6, "MobileNetV2", {**opts, "early_stopping": None}) != \
        search.search_run_name(data, 6, "MobileNetV2", opts)


# --------------------------------------------------------------------------- the app's classifier call


@pytest.fixture(scope="module")
def app_run(workdir, tmp_path_factory):
    save_dir = tmp_path_factory.mktemp("app_runs")
    quiet_train(workdir / "data" / "DFD", 6, "MobileNetV2", epochs=2, rnn_units=(8,), learning_rate=1e-3,
                save_dir=save_dir, run_name="app", **small(workdir))
    return save_dir / "app"


def test_seed_app_classifier_call(app_run, workdir, tmp_path):
    video = str(workdir / "data" / "DFD" / "fake" / "fake_0.mp4")
    score = model_builder.predict_video(video, app_run)
    expected = "FAKE" if score >= model_builder.run_threshold(app_run) else "REAL"
    # The seed's app.py: model_builder.classifier(video_path=..., trained_classifier_path=BEST_MODEL_PATH)
    pred = model_builder.classifier(video_path=video, trained_classifier_path=str(app_run / "model.keras"))
    assert pred == expected
    assert model_builder.classifier(video, app_run) == expected
    assert model_builder.classifier(video, app_run, num_frames=6, img_model_name="MobileNetV2") == expected
    # The run's validation threshold decides.
    moved = shutil.copytree(app_run, tmp_path / "moved")
    for threshold, label in ((score + 1e-6, "REAL"), (score - 1e-6, "FAKE")):
        metrics = json.loads((moved / "metrics.json").read_text())
        metrics["val"]["threshold"], metrics["test"]["threshold"] = threshold, 1 - threshold
        (moved / "metrics.json").write_text(json.dumps(metrics))
        assert model_builder.classifier(video, moved / "model.keras") == label


def test_run_threshold_prefers_validation_then_test_then_half(tmp_path):
    for name, metrics, expected in (("both", {"val": {"threshold": 0.3}, "test": {"threshold": 0.7}}, 0.3),
                                    ("test", {"test": {"threshold": 0.7}}, 0.7), ("none", {"val": {}}, 0.5)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "metrics.json").write_text(json.dumps(metrics))
        assert model_builder.run_threshold(tmp_path / name) == expected
    with pytest.raises(FileNotFoundError, match="no metrics.json"):
        model_builder.run_threshold(tmp_path)


def test_classifier_refuses_a_bare_keras_file_and_other_settings(app_run, tmp_path):
    bare = tmp_path / "best_mobilenetv2_embeddings_gru.keras"
    model_builder.build_classifier(4, 6, rnn=None).save(bare)
    with pytest.raises(FileNotFoundError, match="not a vidseq run folder"):
        model_builder.classifier("clip.mp4", trained_classifier_path=bare)
    with pytest.raises(ValueError, match=r"num_frames=16. Expected the run's own num_frames=6"):
        model_builder.classifier("clip.mp4", app_run, num_frames=16)
    with pytest.raises(ValueError, match="Expected exactly one"):
        model_builder.classifier("clip.mp4", app_run, trained_classifier_path=app_run)


# --------------------------------------------------------------------------- shadowing facades


def test_check_facades_finds_vidseqs_and_names_a_shadowing_seed_file(tmp_path):
    found = vidseq.check_facades()
    assert set(found) == {"util", "model_builder"}
    assert found["util"] == str(Path(util.__file__).resolve())
    (tmp_path / "util.py").write_text("import os\nimport cv2\n\ndef extract_frames(video_path, img_size=(224,224), "
                                      "num_frames=5):\n    pass\n")
    run = subprocess.run([sys.executable, "-c", "import vidseq; vidseq.check_facades()"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode != 0
    assert f"`import util` loads {tmp_path / 'util.py'}" in run.stderr and "shadows" in run.stderr
