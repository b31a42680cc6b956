"""Robustness evaluation: degradations of sampled frames, cached apart from clean ones, AUC per level."""

import json

import numpy as np
import pandas as pd
import pytest

import model_builder
import util
from conftest import BACKBONE, NUM_FRAMES
from vidseq.data import sampling
from vidseq.data.perturb import Perturbation, parse_perturbations
from vidseq.features import extract


@pytest.fixture(scope="module")
def frames():
    """Two frames of smooth shapes with edges (what compression and blur visibly change), odd sides."""
    y, x = np.mgrid[0:47, 0:65]
    base = np.stack([(x * 4) % 256, (y * 5) % 256, ((x + y) * 3) % 256], axis=-1).astype(np.uint8)
    base[10:30, 20:40] = (250, 30, 30)
    return np.stack([base, np.roll(base, 3, axis=1)])


def test_levels_parse_in_the_order_given_and_are_checked():
    labels = [p.label for p in parse_perturbations(["jpeg:90,70,50,30", "h264:23,30,36", "resize:0.75,0.5,0.25",
                                                    "blur:1,2,3", "noise:5,10"])]
    assert labels[:4] == ["jpeg:90", "jpeg:70", "jpeg:50", "jpeg:30"] and labels[-1] == "noise:10" and len(labels) == 15
    assert parse_perturbations({"jpeg": [50]}) == parse_perturbations("jpeg:50") == [Perturbation("jpeg", 50)]
    for spec, match in [("jpeg", "KIND:LEVEL"), ("jpeg:0", r"jpeg:0. Expected an int in \[1, 100\]"),
                        ("jpeg:50.5", "an int"), ("resize:2", r"\[0.01, 1\]"), ("sharpen:1", "Expected one of"),
                        ("blur:a", "numbers"), (["blur:1", "blur:1"], "each level once")]:
        with pytest.raises(ValueError, match=match):
            parse_perturbations(spec)


@pytest.mark.parametrize("label", ["jpeg:30", "h264:36", "resize:0.5", "blur:2", "noise:10"])
def test_each_degradation_changes_frames_the_same_way_every_time(frames, label, video_factory):
    p = parse_perturbations(label)[0]
    video = video_factory(8)
    out = p.apply(frames, [0, 5], video)
    again = p.apply(frames, [0, 5], video)
    assert len(out) == 2 and all(o.dtype == np.uint8 and o.ndim == 3 for o in out)
    assert all(np.array_equal(a, b) for a, b in zip(out, again))  # reproducible
    if p.kind == "resize":
        assert out[0].shape == (24, 32, 3)  # kept small, as a low-resolution upload is
    else:
        assert out[0].shape == frames[0].shape
        assert np.abs(out[0].astype(int) - frames[0]).mean() > 0.5


def test_noise_is_drawn_from_its_seed_and_each_frame(frames, video_factory):
    video = video_factory(8)
    a, b = Perturbation("noise", 10).apply(frames[:1], [3], video), Perturbation("noise", 10, seed=1).apply(
        frames[:1], [3], video)
    other_frame = Perturbation("noise", 10).apply(frames[:1], [4], video)
    assert not np.array_equal(a[0], b[0]) and not np.array_equal(a[0], other_frame[0])


def test_perturbed_reads_see_degraded_frames_before_faces_and_cache_apart(video_factory, tmp_path):
    video = video_factory(30, height=96, width=128, seed=2)
    clean, _ = util.read_frames(video, 4)
    small, _ = util.read_frames(video, 4, perturb=Perturbation("resize", 0.5))
    assert small.shape == (4, 48, 64, 3)
    sized, _ = util.read_frames(video, 4, size=(64, 64), perturb=Perturbation("jpeg", 20))
    assert sized.shape == (4, 64, 64, 3) and not np.array_equal(sized, util.read_frames(video, 4, size=(64, 64))[0])
    assert sampling.read_variant() == {} and "perturb" in sampling.read_variant(perturb=Perturbation("blur", 1))
    with pytest.raises(ValueError, match="perturb='jpeg:50'"):
        util.read_frames(video, 4, perturb="jpeg:50")
    np.testing.assert_array_equal(clean, util.read_frames(video, 4)[0])


def test_robustness_table_compares_levels_on_the_same_videos():
    from vidseq.runs.robustness import robustness_table

    labels = np.array([0, 0, 0, 1, 1, 1])
    clean = np.array([0.1, 0.2, 0.3, 0.7, 0.8, 0.9])
    lost = np.array([0.1, np.nan, 0.6, 0.5, 0.8, 0.9])  # a video no level-3 read could score
    table = robustness_table(labels, clean, {Perturbation("jpeg", 30): lost, Perturbation("jpeg", 90): clean,
                                             Perturbation("blur", 3): clean[::-1].copy()})
    assert table.label.tolist() == ["clean", "jpeg:90", "jpeg:30", "blur:3"]  # mildest first per kind
    assert table.severity.tolist() == [0, 1, 2, 1] and (table.videos == 5).all()
    assert table.lost.tolist() == [0, 0, 1, 0]
    assert table.auc.tolist() == [1.0, 1.0, pytest.approx(5 / 6), 0.0]


def test_robustness_table_intervals_resample_identities():
    from vidseq.runs.robustness import robustness_table

    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1], 20)
    clean = np.clip(labels * 0.4 + rng.random(40) * 0.6, 0, 1)
    identities = [f"p{i}" for i in range(40)]
    table = robustness_table(labels, clean, {Perturbation("blur", 3): rng.random(40)}, identities=identities)
    assert (table.auc_low <= table.auc).all() and (table.auc <= table.auc_high).all()
    assert table.auc_low[1] < 0.5 < table.auc_high[1]  # random scores: the interval covers chance
    few = robustness_table(labels, clean, {}, identities=["a", "b"] * 20)  # 2 people: too few for an interval
    assert few.auc_low.isna().all()


def test_evaluate_under_perturbations_writes_table_and_plot_and_reruns_from_the_cache(finished_run, dataset,
                                                                                      cache_dir, monkeypatch):
    run_dir = finished_run[0]
    clean = model_builder.evaluate(run_dir, dataset)
    levels = ["jpeg:90,50,30", "resize:0.75,0.5,0.25"]
    result = model_builder.evaluate(run_dir, dataset, perturb=levels)
    assert result["auc"] == clean["auc"]  # the clean scores are the run's own, unmixed
    table = pd.read_csv(run_dir / f"robustness_{dataset.name}.csv")
    assert table.label.tolist() == ["clean", "jpeg:90", "jpeg:50", "jpeg:30", "resize:0.75", "resize:0.5",
                                    "resize:0.25"]
    assert table.auc[0] == pytest.approx(clean["auc"]) and (table.videos == clean["videos"]).all()
    written = json.loads((run_dir / f"robustness_{dataset.name}.json").read_text())
    assert [row["label"] for row in written["levels"]] == table.label.tolist()
    assert (run_dir / f"robustness_{dataset.name}.png").stat().st_size > 10_000

    # Every level was scored on degraded frames, cached under its own keys: the clean entries stay.
    test_video = pd.read_csv(run_dir / "eval_" f"{dataset.name}_scores.csv").path[0]
    features = {p: extract.embed_with_skips([test_video], NUM_FRAMES, BACKBONE, "random", cache_dir, False, 32, "raise",
                                            "uniform", None, 1, quiet=True, perturb=p)[0]
                for p in (None, Perturbation("jpeg", 30), Perturbation("resize", 0.25))}
    assert len({f.tobytes() for f in features.values()}) == 3

    # The same evaluation again decodes no video and builds no backbone.
    monkeypatch.setattr(sampling, "grab_frames", lambda *a, **k: pytest.fail("decoded a video again"))
    monkeypatch.setattr(extract.backbone_models, "build_backbone", lambda *a, **k: pytest.fail("built a backbone"))
    again = model_builder.evaluate(run_dir, dataset, perturb=levels)
    assert again["robustness"] == result["robustness"]
