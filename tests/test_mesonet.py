"""MesoNet: the reference architectures, the published weights (P(real) -> P(fake)), their checks,
runs from scratch and from the weights, and the pretrained run folder (predict, evaluate, explain)."""

import hashlib
import json
import shutil

import cv2
import h5py
import keras
import numpy as np
import pandas as pd
import pytest
from conftest import require

import model_builder
from vidseq.cli import commands as cli
from vidseq.data.demo_data import make_demo_dataset, plan_clip, render_clip
from vidseq.models.config import ImageConfig
from vidseq.models.mesonet import build_for_run, build_mesonet, load_published_weights
from vidseq.models.mesonet_weights import WEIGHTS_ENV, published_file, weights_path
from vidseq.runs.pretrained import pretrained_run
from vidseq.training.config import RunConfig

FILES = [("Meso4", "mesonet-df"), ("Meso4", "mesonet-f2f"), ("MesoInception4", "mesonet-df"),
         ("MesoInception4", "mesonet-f2f")]


# --------------------------------------------------------------------------- the reference code


class Reference:
    """The reference code's networks (DariusAf/MesoNet classifiers.py, Keras 2 API) in plain Keras,
    its layers kept in the order that code creates them: Keras 2 numbered them in that order,
    and the weight files name their layers so."""

    def __init__(self):
        self.created = []

    def make(self, kind, *args, **kwargs):
        layer = kind(*args, **kwargs)
        self.created.append(layer)
        return layer

    def block(self, x, pool):
        x = self.make(keras.layers.BatchNormalization)(x)
        return self.make(keras.layers.MaxPooling2D, pool_size=(pool, pool), padding="same")(x)

    def inception(self, a, b, c, d):
        def func(x):
            conv = keras.layers.Conv2D
            x1 = self.make(conv, a, (1, 1), padding="same", activation="relu")(x)
            x2 = self.make(conv, b, (1, 1), padding="same", activation="relu")(x)
            x2 = self.make(conv, b, (3, 3), padding="same", activation="relu")(x2)
            x3 = self.make(conv, c, (1, 1), padding="same", activation="relu")(x)
            x3 = self.make(conv, c, (3, 3), dilation_rate=2, strides=1, padding="same", activation="relu")(x3)
            x4 = self.make(conv, d, (1, 1), padding="same", activation="relu")(x)
            x4 = self.make(conv, d, (3, 3), dilation_rate=3, strides=1, padding="same", activation="relu")(x4)
            return self.make(keras.layers.Concatenate, axis=-1)([x1, x2, x3, x4])
        return func

    def model(self, name):
        conv = keras.layers.Conv2D
        x = keras.Input(shape=(256, 256, 3))
        if name == "Meso4":
            x1 = self.block(self.make(conv, 8, (3, 3), padding="same", activation="relu")(x), 2)
            x2 = self.block(self.make(conv, 8, (5, 5), padding="same", activation="relu")(x1), 2)
        else:
            x1 = self.block(self.inception(1, 4, 4, 2)(x), 2)
            x2 = self.block(self.inception(2, 4, 4, 2)(x1), 2)
        x3 = self.block(self.make(conv, 16, (5, 5), padding="same", activation="relu")(x2), 2)
        x4 = self.block(self.make(conv, 16, (5, 5), padding="same", activation="relu")(x3), 4)
        y = self.make(keras.layers.Flatten)(x4)
        y = self.make(keras.layers.Dropout, 0.5)(y)
        y = self.make(keras.layers.Dense, 16)(y)
        y = self.make(keras.layers.LeakyReLU, negative_slope=0.1)(y)
        y = self.make(keras.layers.Dropout, 0.5)(y)
        y = self.make(keras.layers.Dense, 1, activation="sigmoid")(y)
        return keras.Model(x, y)

    def load_by_name(self, path):
        """Each layer gets the weights of the file's layer of its kind and creation rank
        (conv2d_5 is the first Conv2D of a file whose numbering starts at 5): by name, not by
        the topological order `load_weights` goes by."""
        kinds = {"conv2d": keras.layers.Conv2D, "batch_normalization": keras.layers.BatchNormalization,
                 "dense": keras.layers.Dense}
        with h5py.File(path, "r") as f:
            names = [n.decode() for n in f.attrs["layer_names"]]
            for prefix, kind in kinds.items():
                filed = sorted((n for n in names if n.rsplit("_", 1)[0] == prefix), key=lambda n: int(n.rsplit("_", 1)[1]))
                mine = [layer for layer in self.created if type(layer) is kind]
                assert len(filed) == len(mine)
                for layer, n in zip(mine, filed):
                    layer.set_weights([f[n][w][()] for w in f[n].attrs["weight_names"]])


def face_crop(frame, box, margin=1.3, size=256):
    x, y, w, h = box
    cx, cy, scale = x + w / 2, y + h / 2, size / (margin * max(w, h))
    matrix = np.float32([[scale, 0, size / 2 - cx * scale], [0, scale, size / 2 - cy * scale]])
    return cv2.warpAffine(frame, matrix, (size, size), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REFLECT_101)


@pytest.fixture(scope="module")
def crops():
    """A fixed set of face crops: the demo's real and fake renderings of three clips (same camera,
    the fake with the other photo's face swapped in), 0-255 float32, real first in each pair."""
    pairs = [face_crop(render_clip(seed, fake, 1)[0], plan_clip(seed, 1).face_boxes()[0])
             for seed in range(3) for fake in (False, True)]
    return np.stack(pairs).astype(np.float32)


def test_meso4_has_the_papers_parameter_count():
    assert build_mesonet("Meso4").count_params() == 28_073 == Reference().model("Meso4").count_params()
    assert build_mesonet("MesoInception4").count_params() == Reference().model("MesoInception4").count_params()


@pytest.mark.parametrize("name, weights", FILES)
def test_published_weights_load_and_equal_the_reference_code(name, weights, mesonet_weights, crops):
    """vidseq's model with the published weights gives, on fixed crops, 1 - the reference network's
    output (P(fake) = 1 - P(real)), the reference getting its weights by layer name."""
    path = weights_path(name, weights)
    assert path == mesonet_weights / published_file(name, weights)
    ours = build_mesonet(name)
    load_published_weights(ours, path)
    reference = Reference()
    model = reference.model(name)
    reference.load_by_name(path)
    p_real = model.predict(crops / 255.0, verbose=0).ravel()  # the reference feeds images in [0, 1]
    assert np.ptp(p_real) > 0.1
    np.testing.assert_allclose(ours.predict(crops, verbose=0).ravel(), 1 - p_real, atol=1e-5)


def test_published_output_is_p_real_and_ours_is_p_fake(mesonet_weights, crops):
    """Meso4 trained on deepfakes tells the demo's swapped faces from the real ones: its own output is
    high for the real crops (P(real)), vidseq's for the fake ones."""
    model = build_mesonet("Meso4")
    load_published_weights(model, weights_path("Meso4", "mesonet-df"))
    p_fake = model.predict(crops, verbose=0).reshape(-1, 2)  # columns: real, fake
    assert p_fake[:, 1].min() > p_fake[:, 0].max()
    assert p_fake[:, 0].max() < 0.5 < p_fake[:, 1].min()


# --------------------------------------------------------------------------- bad input


def test_bad_weights_are_one_line_errors_before_any_video(mesonet_weights, tmp_path):
    inception = str(mesonet_weights / "MesoInception_DF.h5")
    for options, match in ((dict(weights=inception), r"weights of MesoInception4, for img_model_name='Meso4'"),
                           (dict(weights="mesonet-df", image_size=128), "image_size=128 with weights='mesonet-df'"),
                           (dict(weights="imagenet"), r"weights='imagenet'\. Expected None"),
                           (dict(weights=str(mesonet_weights / "NOTICE")), "not a Keras weights file"),
                           (dict(rnn="gru"), r"unknown option\(s\) \['rnn'\]")):
        with pytest.raises(ValueError, match=match) as err:
            model_builder.train_test_classifier(tmp_path / "no-such-dir", 4, "Meso4", **options)
        assert "\n" not in str(err.value)
    with pytest.raises(ValueError, match="image_size=128 with weights="):
        RunConfig.from_options(4, "MesoInception4", weights=inception, image_size=128)
    with pytest.raises(ValueError, match="trains all its layers already"):
        RunConfig.from_options(4, "Meso4", fine_tune=True)


def test_a_corrupted_copy_fails_its_sha256(mesonet_weights, tmp_path, monkeypatch):
    data = bytearray((mesonet_weights / "Meso4_DF.h5").read_bytes())
    data[-100] ^= 0xFF
    (tmp_path / "Meso4_DF.h5").write_bytes(bytes(data))
    monkeypatch.setenv(WEIGHTS_ENV, str(tmp_path))
    with pytest.raises(ValueError, match=r"sha256 [0-9a-f]{12}\.\.\. Expected the published file's 036ed30d04ff"):
        build_for_run("Meso4", "mesonet-df", ImageConfig(image_size=256))
    monkeypatch.setenv(WEIGHTS_ENV, str(tmp_path / "empty"))
    with pytest.raises(FileNotFoundError, match="holds no Meso4_DF.h5"):
        weights_path("Meso4", "mesonet-df")
    assert hashlib.sha256(data).hexdigest() != hashlib.sha256((mesonet_weights / "Meso4_DF.h5").read_bytes()).hexdigest()


def test_without_the_folder_the_file_comes_from_keras_cache_or_its_download(mesonet_weights, tmp_path,
                                                                            monkeypatch):
    """Online: keras.utils.get_file with the pinned URL and sha256 (faked here: tests never download)."""
    monkeypatch.delenv(WEIGHTS_ENV)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    asked = []

    def get_file(fname, origin, file_hash, hash_algorithm, cache_subdir):
        asked.append((fname, origin, file_hash, hash_algorithm, cache_subdir))
        target = tmp_path / "keras" / cache_subdir / fname
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(mesonet_weights / fname, target)
        return str(target)

    monkeypatch.setattr(keras.utils, "get_file", get_file)
    path = weights_path("MesoInception4", "mesonet-f2f")
    assert path == tmp_path / "keras" / "models" / "MesoInception_F2F.h5" and len(asked) == 1
    fname, origin, digest, algorithm, _ = asked[0]
    assert origin.startswith("https://raw.githubusercontent.com/DariusAf/MesoNet/2144d56") and origin.endswith(fname)
    assert digest == hashlib.sha256(path.read_bytes()).hexdigest() and algorithm == "sha256"
    assert weights_path("MesoInception4", "mesonet-f2f") == path and len(asked) == 1  # cached: not asked again

    def offline(*args, **kwargs):
        raise Exception("URL fetch failure")  # what Keras raises for any network error

    monkeypatch.setattr(keras.utils, "get_file", offline)
    with pytest.raises(OSError, match=r"Could not download Meso4_DF.h5 .* set \$VIDSEQ_MESONET_WEIGHTS") as err:
        weights_path("Meso4", "mesonet-df")
    assert "\n" not in str(err.value)
    path.write_bytes(path.read_bytes()[:-10])  # a damaged copy in the cache
    with pytest.raises(ValueError, match="sha256"):
        weights_path("MesoInception4", "mesonet-f2f")


# --------------------------------------------------------------------------- runs


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("meso_demo")
    make_demo_dataset(root, num_videos=16, num_frames=12)
    return root


RUN = dict(num_frames=3, epochs=1, batch_size=8, val_size=0.25, test_size=0.25, verbose=0)


@pytest.mark.slow
def test_meso4_trains_from_scratch_and_from_the_published_weights(demo, mesonet_weights, tmp_path):
    save_dir, cache = tmp_path / "runs", tmp_path / "cache"
    assert cli.main(["train", str(demo), "--model", "Meso4", "--image-size", "64", "--num-frames", "3", "--epochs",
                     "1", "--batch-size", "8", "--val-size", "0.25", "--test-size", "0.25", "--cache-dir", str(cache),
                     "--save-dir", str(save_dir), "--run-name", "scratch"]) == 0
    config = json.loads((save_dir / "scratch" / "config.json").read_text())
    assert (config["img_model_name"], config["image_size"], config["weights"], config["head"]) == (
        "Meso4", 64, None, "meso4")

    num_frames = RUN["num_frames"]
    _, model, _ = model_builder.train_test_classifier(demo, num_frames, "MesoInception4", weights="mesonet-df",
                                                      cache_dir=cache, save_dir=save_dir, run_name="tuned",
                                                      **{k: v for k, v in RUN.items() if k != "num_frames"})
    run_dir = save_dir / "tuned"
    config = json.loads((run_dir / "config.json").read_text())
    assert (config["weights"], config["weights_file"], config["image_size"]) == (
        "mesonet-df", "MesoInception_DF.h5", 256)
    reloaded = model_builder.load_classifier(run_dir)  # safe_mode
    scores = pd.read_csv(run_dir / "scores.csv")
    test = scores[scores.split == "test"].iloc[0]
    assert model_builder.predict_video(test.path, run_dir) == pytest.approx(test.score, rel=1e-4, abs=1e-6)
    assert reloaded.count_params() == model.count_params()
    table = model_builder.compare_saved_models(save_dir)
    assert set(table.backbone) == {"Meso4", "MesoInception4"} and sorted(table.weights.fillna("none")) == ["mesonet-df", "none"]


def test_pretrained_mesonet_predicts_evaluates_and_explains_without_training(demo, mesonet_weights, tmp_path,
                                                                              capsys):
    save_dir = tmp_path / "runs"
    fake = sorted((demo / "fake").glob("*.mp4"))[0]
    assert cli.main(["predict", str(fake), "--model", "mesonet-df", "--save-dir", str(save_dir), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    run_dir = save_dir / "mesonet-df"
    assert result["threshold"] == 0.5 and result["run"] == str(run_dir) and 0 <= result["p_fake"] <= 1
    config = json.loads((run_dir / "config.json").read_text())
    assert (config["pretrained"], config["img_model_name"], config["weights_file"], config["data_dir"]) == (
        "mesonet-df", "Meso4", "Meso4_DF.h5", None)
    assert pretrained_run("mesonet-df", save_dir) == run_dir  # found again, not made again
    with pytest.raises(ValueError, match="differ from those of the existing folder"):
        pretrained_run("mesonet-df", save_dir, num_frames=8)

    metrics = model_builder.evaluate(run_dir, demo, split="all")
    assert metrics["videos"] == 16 and metrics["auc"] is not None
    explained = model_builder.explain_video(fake, run_dir)
    assert explained["score"] == pytest.approx(result["p_fake"], abs=1e-4)
    assert explained["frame_evidence"].shape == (32,) and explained["mask"].sum() == 12
    table = model_builder.compare_saved_models(save_dir)
    assert table.run.tolist() == ["mesonet-df"] and table[f"eval_{demo.name}-all_auc"].iloc[0] == metrics["auc"]


def test_pretrained_names_are_checked(tmp_path, capsys):
    with pytest.raises(ValueError, match="Expected one of \\['mesoinception-df'"):
        pretrained_run("mesonet", tmp_path)
    with pytest.raises(SystemExit):
        cli.main(["predict", "clip.mp4", "--model", "mesonet"])
    assert "Received: --model mesonet. Expected one of 'mesoinception-df'" in capsys.readouterr().err


@pytest.mark.slow
def test_the_app_scores_with_a_pretrained_run(demo, mesonet_weights, tmp_path):
    AppTest = require("streamlit.testing.v1").AppTest
    save_dir = tmp_path / "runs"
    run_dir = pretrained_run("mesonet-df", save_dir, num_frames=4, cache_dir=str(tmp_path / "cache"))
    video = sorted((demo / "fake").glob("*.mp4"))[0]

    def page(save_dir, data_dir):
        from vidseq.app.streamlit_app import main

        main(save_dir, data_dir)

    at = AppTest.from_function(page, args=(str(save_dir), str(demo)), default_timeout=90).run()
    assert not at.exception and at.selectbox(key="predict_run").value == "mesonet-df"
    assert any("pretrained (mesonet-df: published weights Meso4_DF.h5)" in c.value for c in at.caption)
    at.multiselect(key="picked").set_value([str(video)]).run()
    assert not at.exception and not at.error
    assert [m.value for m in at.metric] == [f"{model_builder.predict_video(video, run_dir):.3f}"]
