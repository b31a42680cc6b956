"""Architecture search (resumable, embeddings shared), cross-dataset evaluation, leaderboard plots."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

import model_builder
from vidseq.cli import commands as cli
from vidseq.features import extract
from vidseq.runs import plots
from vidseq.runs import search

BACKBONE = "MobileNetV2"
COMMON = dict(weights="random", epochs=2, learning_rate=1e-3, batch_size=4, val_size=0.25, test_size=0.25,
              explain=False)


@pytest.mark.parametrize("head, expected", [
    ({"rnn": "gru", "rnn_units": [[8], [16, 8]], "dropout": [0.2, 0.5]},
     [{"rnn": "gru", "rnn_units": u, "dropout": d} for u in ((8,), (16, 8)) for d in (0.2, 0.5)]),
    ({"rnn_units": [64, 64], "dense_units": []}, [{"rnn_units": (64, 64), "dense_units": ()}]),
    ({"rnn": ["gru", None], "learning_rate": 1e-3}, [{"rnn": "gru", "learning_rate": 1e-3},
                                                     {"rnn": None, "learning_rate": 1e-3}]),
    ({}, [{}]),
])
def test_head_choices_expand(head, expected):
    assert search.expand_head(head) == expected


@pytest.fixture(scope="module")
def searched(dataset, cache_dir, tmp_path_factory):
    """A 2 x 2 search; returns (save_dir, table, good videos read per frame count)."""
    save_dir = tmp_path_factory.mktemp("search")
    reads = []
    real_read = extract.read_frames_and_face
    extract.read_frames_and_face = lambda path, n, *a, **k: reads.append((path, n)) or real_read(path, n, *a, **k)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            table = model_builder.search(dataset, num_frames=[3, 5], img_model_names=[BACKBONE],
                                         heads=[{"rnn": None}, {"rnn": "gru", "rnn_units": [8]}],
                                         save_dir=save_dir, cache_dir=cache_dir, **COMMON)
    finally:
        extract.read_frames_and_face = real_read
    return save_dir, table, reads


@pytest.mark.slow
def test_search_trains_every_combination_once_sharing_embeddings(searched):
    save_dir, table, reads = searched
    assert len(table) == 4 and table.run.nunique() == 4
    assert sorted(zip(table.num_frames, table["head"])) == [(3, "gru8"), (3, "meanpool"), (5, "gru8"), (5, "meanpool")]
    good = [(p, n) for p, n in reads if not p.endswith("broken.mp4")]
    assert len(good) == len(set(good)) == 2 * 16  # each video decoded once per frame count, not per head
    for run in table.run:
        assert (save_dir / run / "metrics.json").is_file()


@pytest.mark.slow
def test_search_resumes_and_samples(searched, dataset, cache_dir, monkeypatch):
    save_dir, table, _ = searched
    monkeypatch.setattr(search, "train_test_classifier", lambda *a, **k: pytest.fail("retrained a finished run"))
    grid = dict(num_frames=[3, 5], img_model_names=[BACKBONE], heads=[{"rnn": None}, {"rnn": "gru", "rnn_units": [8]}])
    again = model_builder.search(dataset, **grid, save_dir=save_dir, cache_dir=cache_dir, **COMMON)
    assert sorted(again.run) == sorted(table.run)
    sample = model_builder.search(dataset, **grid, n_trials=2, seed=1, save_dir=save_dir, cache_dir=cache_dir, **COMMON)
    assert len(sample) == 2 and set(sample.run) <= set(table.run)
    same = model_builder.search(dataset, **grid, n_trials=2, seed=1, save_dir=save_dir, cache_dir=cache_dir, **COMMON)
    assert sorted(same.run) == sorted(sample.run)


def test_search_checks_every_combination_first(dataset, tmp_path):
    with pytest.raises(ValueError, match="rnn='rnn'"):
        model_builder.search(dataset, num_frames=[3], heads=[{"rnn": None}, {"rnn": "rnn"}], save_dir=tmp_path, **COMMON)
    assert not any(tmp_path.iterdir())  # nothing trained
    with pytest.raises(ValueError, match="num_frames=16"):
        model_builder.search(dataset, num_frames=16, save_dir=tmp_path)
    with pytest.raises(ValueError, match="run_name"):
        model_builder.search(dataset, run_name="x", save_dir=tmp_path)


@pytest.mark.slow
def test_evaluate_on_its_own_test_split_reproduces_the_run(searched, dataset):
    save_dir, table, _ = searched
    run_dir = save_dir / table.run[0]
    metrics = model_builder.evaluate(run_dir, dataset)
    own = json.loads((run_dir / "metrics.json").read_text())["test"]
    assert metrics["videos"] == own["videos"] and metrics["auc"] == pytest.approx(own["auc"])
    assert metrics["log_loss"] == pytest.approx(own["log_loss"], rel=1e-4)
    name = dataset.name
    assert json.loads((run_dir / f"eval_{name}.json").read_text())["split"] == "test"

    everything = model_builder.evaluate(run_dir, dataset, split="all")
    assert everything["videos"] == 16 and [s["path"].endswith("broken.mp4") for s in everything["skipped"]] == [True]
    leaderboard = model_builder.compare_saved_models(save_dir)
    row = leaderboard[leaderboard.run == table.run[0]].iloc[0]
    assert row[f"eval_{name}_auc"] == pytest.approx(own["auc"])
    assert everything["seen_in_training"] and f"eval_{name}-all_seen_auc" in leaderboard  # marked: it saw training
    assert f"eval_{name}-all_auc" not in leaderboard
    with pytest.raises(ValueError, match="split='holdout'"):
        model_builder.evaluate(run_dir, dataset, split="holdout")


@pytest.mark.slow
def test_cli_search_evaluate_compare_plot(searched, dataset, cache_dir, tmp_path, capsys):
    save_dir, table, _ = searched
    grid = tmp_path / "grid.json"
    grid.write_text(json.dumps(dict(num_frames=[3], img_model_names=[BACKBONE], heads=[{"rnn": None}],
                                    options=dict(COMMON, verbose=0))))
    assert cli.main(["search", str(dataset), "--grid", str(grid), "--save-dir", str(save_dir),
                     "--cache-dir", str(cache_dir)]) == 0
    out = capsys.readouterr().out
    assert [run for run in table.run if run in out] == [r for r in table.run if "_f3_meanpool_" in r]  # resumed, not new
    assert cli.main(["evaluate", str(save_dir / table.run[0]), str(dataset)]) == 0
    assert "AUC" in capsys.readouterr().out
    assert cli.main(["compare", "--save-dir", str(save_dir), "--plot"]) == 0
    assert (save_dir / "leaderboard.png").stat().st_size > 1000
    grid.write_text('{"heads": [{"rnn": null}], "epochs": 3}')
    assert cli.main(["search", str(dataset), "--grid", str(grid)]) == 2
    assert "'epochs'" in capsys.readouterr().err


def test_plots_return_figures_and_write_pngs(tmp_path):
    rng = np.random.default_rng(0)
    scores = pd.DataFrame(dict(split=["val"] * 10 + ["test"] * 10, label=[0, 1] * 10,
                               score=np.clip(rng.normal(0.5, 0.2, 20) + 0.2 * np.tile([-1, 1], 10), 0, 1)))
    figures = {
        "roc.png": plots.plot_roc(scores, tmp_path / "roc.png"),
        "scores.png": plots.plot_score_histograms(scores, tmp_path / "scores.png"),
        "frames.png": plots.plot_frames(rng.integers(0, 255, (6, 40, 60, 3), dtype=np.uint8),
                                        np.tile([5.0, 5, 20, 20], (6, 1)), "clip", tmp_path / "frames.png", columns=4),
        "board.png": plots.plot_leaderboard(pd.DataFrame(dict(run=["a", "b"], val_auc=[0.8, 0.75], test_auc=[0.7, 0.9])),
                                            path=tmp_path / "board.png"),
    }
    for name, fig in figures.items():
        assert isinstance(fig, Figure) and (tmp_path / name).stat().st_size > 1000
    legend = [t.get_text() for t in figures["roc.png"].axes[0].get_legend().get_texts()]
    assert any("EER" in t for t in legend) and any("AUC" in t for t in legend)


def test_run_identity_ignores_where_and_how_a_run_is_computed(dataset):
    """A search resumed with another cache, save dir or device layout skips its finished runs."""
    _, _, opts = model_builder.check_run_options(6, "MobileNetV2", {})
    name = search.search_run_name(dataset, 6, "MobileNetV2", opts)
    moved = {**opts, "cache_dir": "/elsewhere", "save_dir": "other", "distribution": "data_parallel", "verbose": 0}
    assert search.search_run_name(dataset, 6, "MobileNetV2", moved) == name
    assert search.search_run_name(dataset, 6, "MobileNetV2", {**opts, "seed": 7}) != name


@pytest.mark.slow
def test_attention_heads_search_train_reload_and_explain(dataset, cache_dir, tmp_path, capsys):
    """A grid of attention heads from the CLI; the runs reload with safe_mode, score as they tested
    and explain each frame; the head's options are also `vidseq train` flags."""
    save_dir, grid = tmp_path / "runs", tmp_path / "grid.json"
    grid.write_text(json.dumps(dict(num_frames=[4], img_model_names=[BACKBONE], options=dict(COMMON, verbose=0),
                                    heads=[{"rnn": "attention", "num_layers": 1, "num_heads": 2, "key_dim": 8,
                                            "readout": ["mean", "token"]}])))
    assert cli.main(["search", str(dataset), "--grid", str(grid), "--save-dir", str(save_dir),
                     "--cache-dir", str(cache_dir)]) == 0
    runs = sorted(p for p in save_dir.iterdir() if p.is_dir())
    assert len(runs) == 2 and all("_f4_attention1x8h2_" in r.name for r in runs)
    assert {json.loads((r / "config.json").read_text())["head"] for r in runs} == {"attention1x8h2",
                                                                                   "attention1x8h2_token"}
    for run in runs:
        scores = pd.read_csv(run / "scores.csv")
        test = scores[scores.split == "test"].iloc[0]
        assert model_builder.predict_video(test.path, run) == pytest.approx(test.score, rel=1e-4, abs=1e-6)
        result = model_builder.explain_video(test.path, run)
        assert result["frame_evidence"].shape == (4,) and np.any(result["frame_evidence"][result["mask"]] != 0)
    args = cli.build_parser().parse_args(["train", str(dataset), "--rnn", "attention", "--num-layers", "3",
                                          "--num-heads", "2", "--key-dim", "16", "--readout", "token"])
    assert (args.rnn, args.num_layers, args.num_heads, args.key_dim, args.readout) == ("attention", 3, 2, 16, "token")
    assert cli.main(["train", str(dataset), "--rnn", "attention", "--num-heads", "3", "--key-dim", "16"]) == 2
    assert "--key-dim 16 with --num-heads 3" in capsys.readouterr().err
