"""The `vidseq` command: demo, extract, train, search, evaluate, compare, predict, app.

Heavy modules (TensorFlow via vidseq.runs.train and vidseq.runs.scoring, Streamlit) are imported inside the subcommands,
so `vidseq --help` answers at once. Errors print one line, not a traceback.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
from pathlib import Path
from typing import NoReturn, Sequence

from vidseq.features.backbones import BACKBONES
from vidseq.features.backbone_models import ImageNetUnavailable
from vidseq.cli.flags import (FACE_FLAGS, ParserWithDefaults, add_face_flags, add_option_flags, add_scoring_face_flags,
                              face_crop_from_flags, face_flags_given, in_cli_terms, parse_pruner, parse_weights)
from vidseq.cli.output import one_line_warnings
from vidseq.runs.study import PRUNERS, SAMPLERS, check_search_settings
from vidseq.training.config import check_run_options
from vidseq.training.families import family_for, pretrained_models
from vidseq.training.train_config import CALLBACK_OPTIONS

# Small data: a faster learning rate than the seed's 1e-5, and larger val/test splits so
# that their metrics mean something (validation holds 5 people per class of the 40 videos:
# the fewest with which the leaderboard's paired test says which heads are tied). Two heads
# on the same cached embeddings; on 20 training videos a GRU read out at the last frame
# overfits (test AUC 0.39-0.94 across splits), one whose states are averaged over 32 frames
# much less (0.86-1.0).
DEMO_TRAINING = dict(learning_rate=1e-3, epochs=150, batch_size=8, patience=20, dropout=0.3, val_size=0.25,
                     test_size=0.3)
DEMO_HEADS = (dict(rnn="gru", rnn_units=(64,), rnn_pooling="mean"), dict(rnn=None))


def build_parser() -> argparse.ArgumentParser:
    parser = ParserWithDefaults(prog="vidseq", description="Video-sequence deepfake detection baselines.")
    # Every command's --help shows each option's default (options that default to the
    # library's own say it in their help, as it differs between model families).
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                parser_class=ParserWithDefaults)

    p = sub.add_parser("demo", help="generate the demo dataset, train two heads on it (GRU, mean pooling), show the leaderboard")
    p.add_argument("--data-dir", default="data/demo", help="where the demo videos are written")
    p.add_argument("--save-dir", default="saved_models", help="where the runs are saved")
    p.add_argument("--num-videos", type=int, default=40, help="videos, half real and half fake")
    p.add_argument("--seed", type=int, default=0, help="the dataset's seed: another seed draws other videos")
    p.add_argument("--num-frames", type=int, default=32, help="frames sampled per video")
    p.add_argument("--weights", type=parse_weights, default="auto", help="auto (imagenet, else random) | random | ...")
    p.add_argument("--epochs", type=int, default=DEMO_TRAINING["epochs"], help="at most (early stopping)")
    p.add_argument("--cache-dir", default=None, help="cache (default: $VIDSEQ_CACHE or ~/.cache/vidseq)")
    p.add_argument("--full-frames", action="store_true", help="embed whole frames instead of face crops")
    p.add_argument("--data-only", action="store_true", help="only generate the demo videos")

    p = sub.add_parser("extract", help="embed every video of a dataset into the cache")
    p.add_argument("data_dir")
    add_option_flags(p, ("num_frames", "img_model_name", "weights", "strategy", "seed", "cache_dir", "face_crop",
                         "embed_batch_size", "feature_dtype", "compression"), suppress=False,
                     img_model_name=dict(choices=sorted(BACKBONES), help="frozen image backbone"),
                     embed_batch_size=dict(flags=("--batch-size", "--embed-batch-size")))
    add_face_flags(p)
    p.add_argument("--engine", default="local", choices=["local", "ray"],
                   help="ray: embed on a Ray cluster (pip install \"vidseq[ray]\"); cache and videos on shared storage")
    p.add_argument("--address", default=None, help="Ray cluster address (auto: the one `ray start` made here)")
    p.add_argument("--workers", type=int, default=None, help="Ray actors (default: one per GPU, else one per node using all its CPUs)")

    p = sub.add_parser("train", help="train and test one classifier (sequence head, CoAtNet, or a fine-tuned backbone)")
    p.add_argument("data_dir")
    p.add_argument("--like", metavar="RUN_DIR", default=None,
                   help="start from a saved run's settings (frames, model, weights, face crops, head, training); "
                        "flags given here change them")
    add_option_flags(p)
    add_face_flags(p)

    p = sub.add_parser("search", help="train a grid of configurations (all, a random sample, or as TPE proposes); "
                                      "resumable, and several processes share one search")
    p.add_argument("data_dir")
    p.add_argument("--grid", required=True, help="a JSON (or YAML, with PyYAML) file: see docs/search.md")
    p.add_argument("--n-trials", type=int, default=None, help="train this many configurations (default: the whole grid)")
    p.add_argument("--sampler", choices=SAMPLERS, default=None,
                   help="grid: every configuration; random: a seeded sample of --n-trials; tpe: Optuna's TPE "
                        "(default: grid, or random with --n-trials)")
    p.add_argument("--storage", default=None, metavar="URL",
                   help="the Optuna study's database (default: sqlite:///SAVE_DIR/search.db); workers on several "
                        "machines: postgresql://user:password@host/db and a shared --save-dir")
    p.add_argument("--study-name", default=None, help="the study's name (default: the data folder and a hash of the grid)")
    p.add_argument("--pruner", type=parse_pruner, default=None, metavar="NAME|JSON",
                   help=f"stop hopeless runs early from their validation AUC: {', '.join(PRUNERS)}, or a JSON object "
                        "with \"name\" and the Optuna pruner's settings (default: no pruning)")
    p.add_argument("--save-dir", default=None)
    p.add_argument("--cache-dir", default=None)

    p = sub.add_parser("evaluate", help="score a saved run on a dataset (e.g. another one)")
    p.add_argument("run_dir")
    p.add_argument("data_dir")
    p.add_argument("--split", default="test", choices=["train", "val", "test", "all"],
                   help="which videos of DATA_DIR, split as the run split its own data")
    p.add_argument("--compression", default=None, help="FaceForensics++/DFD quality folder (default: the run's)")
    p.add_argument("--perturb", action="append", default=None, metavar="KIND:LEVELS",
                   help="also score the videos degraded at each level and write robustness_<dataset>.csv/.json/.png: "
                        "jpeg:QUALITY,... h264:CRF,... resize:SCALE,... blur:SIGMA,... noise:SIGMA,... (repeatable; "
                        "see docs/robustness.md)")
    p.add_argument("--perturb-seed", type=int, default=0, help="seed of the noise perturbation")
    add_scoring_face_flags(p)

    p = sub.add_parser("compare", help="leaderboard of saved runs, or two runs side by side (a paired test)")
    p.add_argument("runs", nargs="*", metavar="RUN",
                   help="two run folders (or run names in --save-dir): their AUC difference, interval and p-value")
    p.add_argument("--save-dir", default=None, help="the folder of saved runs (default: saved_models)")
    p.add_argument("--split", default="test", choices=["test", "val"], help="with two runs: the videos compared")
    p.add_argument("--plot", action="store_true", help="also write SAVE_DIR/leaderboard.png")

    p = sub.add_parser("predict", help="P(fake) of a video with a saved run, its label and the run's threshold")
    p.add_argument("video")
    model = p.add_mutually_exclusive_group(required=True)
    model.add_argument("--run", help="a run folder under saved_models/")
    model.add_argument("--model", choices=sorted(pretrained_models()),
                       help="a pretrained detector, no training: made into the run folder SAVE_DIR/MODEL on first use")
    p.add_argument("--save-dir", default="saved_models", help="where --model's run folder is kept")
    p.add_argument("--json", action="store_true", help="print one JSON object (for scripts)")
    add_scoring_face_flags(p)

    for command, p in sub.choices.items():
        p.add_argument("--verbose", action="store_true",
                       help="also TensorFlow's start-up lines and Keras' per-epoch lines (default: progress bars)")

    p = sub.add_parser("app", help="the web page: score videos with saved runs, browse the leaderboard")
    p.add_argument("--save-dir", default="saved_models", help="the folder of saved runs (default saved_models)")
    p.add_argument("--data-dir", default=None, help="a folder to pick videos from (default: the run's own data)")
    p.add_argument("--host", default="127.0.0.1", help="address to serve on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8501, help="default 8501")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # said by the command's parser: "see vidseq train --help", not "vidseq --help"
        command_parser(parser, args.command).error(f"unrecognized arguments: {' '.join(unknown)}")
    if getattr(args, "verbose", False):
        os.environ["VIDSEQ_VERBOSE"] = "1"  # read when TensorFlow loads: keep its start-up lines
    try:
        with one_line_warnings(args.command):
            return COMMANDS[args.command](args)
    except (ValueError, OSError, ImageNetUnavailable) as err:
        print(f"vidseq {args.command}: error: {in_cli_terms(str(err), command_parser(parser, args.command))}",
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        # Everything written so far is complete (temp file + rename): caches and finished runs.
        print(f"\nvidseq {args.command}: interrupted. Finished work is kept (embeddings, crops and face boxes in "
              "the cache; finished runs in the save dir); run the same command again to resume from there.",
              file=sys.stderr)
        return 130


def command_parser(parser: argparse.ArgumentParser, command: str) -> argparse.ArgumentParser:
    """The parser of one command (`vidseq COMMAND`) inside `build_parser()`'s."""
    return command_parsers(parser)[command]


def command_parsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """Each command's parser inside `build_parser()`'s, by name, in the order `vidseq --help` lists them."""
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices


def cmd_demo(args) -> int:
    from vidseq.data.demo_data import make_demo_dataset

    training = {**DEMO_TRAINING, "epochs": args.epochs, "weights": args.weights, "face_crop": not args.full_frames,
                "save_dir": args.save_dir, **({"cache_dir": args.cache_dir} if args.cache_dir else {})}
    if not args.data_only:  # before any video is written: a bad --epochs answers at once
        check_run_options(args.num_frames, "MobileNetV2", {**training, **DEMO_HEADS[0]})
    summary = make_demo_dataset(args.data_dir, num_videos=args.num_videos, seed=args.seed)
    print(f"Demo dataset: {summary}")
    if args.data_only:
        return 0
    from vidseq.runs.search import search

    # As a search: runs are named after their whole configuration, so a rerun with the same
    # settings reuses its finished runs instead of adding identical rows to the leaderboard.
    table = search(args.data_dir, num_frames=[args.num_frames], img_model_names=["MobileNetV2"],
                   heads=list(DEMO_HEADS), verbose=2 if args.verbose else 1, **training)
    _print_leaderboard(table)
    return 0


def _discover(data_dir: str, compression: str | None = None, num_frames: int | None = None):
    """The dataset's videos, found before TensorFlow loads: a wrong path fails in well under a second."""
    from vidseq.data.layouts import discover_videos  # no TensorFlow
    from vidseq.data.sampling import check_num_frames

    if num_frames is not None:
        check_num_frames(num_frames)
    return discover_videos(data_dir, compression or "c23")


def _run_folder(run_dir: str, needs: str = "config.json") -> Path:
    if not (Path(run_dir) / needs).is_file():
        raise ValueError(f"Received: {run_dir!r}, which has no {needs}. Expected a saved run folder "
                         "(see `vidseq compare`).")
    return Path(run_dir)


def cmd_extract(args) -> int:
    videos = _discover(args.data_dir, args.compression, args.num_frames)
    from vidseq.features.backbones import BACKBONES
    from vidseq.features.extract import cache_embeddings
    from vidseq.utils.cache import default_cache_dir

    cache_dir = args.cache_dir or default_cache_dir()
    counts: dict = {}
    files, errors, _ = cache_embeddings(
        videos.path, args.num_frames, args.img_model_name, args.weights, cache_dir, face_crop=face_crop_from_flags(args),
        batch_size=args.embed_batch_size, on_error="skip", strategy=args.strategy, seed=args.seed,
        engine=args.engine, ray_workers=args.workers, ray_address=args.address, feature_dtype=args.feature_dtype,
        counts=counts,
    )
    shape = (args.num_frames, BACKBONES[args.img_model_name].feature_dim)
    print(f"Embedded {len(files) - len(errors)} of {len(files)} videos ({counts['cached']} read from the cache) into "
          f"{cache_dir}: features {shape} "
          f"{args.feature_dtype} per video; skipped {len(errors)}.")
    return 0


def cmd_train(args) -> int:
    given = {k: v for k, v in vars(args).items() if k not in ("command", "data_dir", "like", "verbose", *FACE_FLAGS)}
    like = _run_settings(_run_folder(args.like)) if args.like else {}
    options = {**like, **given}  # flags given on the command line win over the run's settings
    options.setdefault("num_frames", 64)
    options.setdefault("img_model_name", "MobileNetV2")
    for name in ("rnn_units", "dense_units"):
        if name in options:
            options[name] = tuple(options[name])
    if "face_crop" in given or face_flags_given(args):
        options["face_crop"] = face_crop_from_flags(args)
    name = options["img_model_name"]
    family_for(name, options.get("fine_tune", False))  # a bad --model fails before TensorFlow
    # Every option's own check, before any video and before TensorFlow loads; the device
    # count that --distribution needs is Keras': it is checked when the run starts.
    check_run_options(options["num_frames"], name, {**{k: v for k, v in options.items()
                                                         if k not in ("num_frames", "img_model_name")},
                                                      "distribution": None})
    videos = _discover(args.data_dir, options.get("compression"), options["num_frames"])
    if options.get("folds") is not None:  # more folds than the data's identities allow: said before TensorFlow loads
        from vidseq.data.splits import check_fold_count

        check_fold_count(videos, options["folds"], options.get("split_by", "identities"))
    if args.like:
        changed = {k: v for k, v in given.items() if like.get(k) != v}
        print(f"Settings of {Path(args.like).name}" + (f", changed: {changed}" if changed else ", unchanged"))
    from vidseq.runs.train import train_test_classifier

    train_test_classifier(args.data_dir, options.pop("num_frames"), options.pop("img_model_name"), **options,
                          verbose=2 if args.verbose else 1)
    return 0


def _run_settings(run_dir: Path) -> dict:
    """The options a saved run was trained with, as train_test_classifier takes them."""
    from vidseq.runs.folders import run_config

    config = run_config(run_dir)
    settings = {k: v for k, v in config.options().items() if k not in ("run_name", "verbose", *CALLBACK_OPTIONS)}
    if config.cache_dir is None:
        settings.pop("cache_dir")
    return {**settings, "num_frames": config.num_frames, "img_model_name": config.img_model_name}


GRID_KEYS = ("num_frames", "img_model_names", "heads", "n_trials", "seed", "sampler", "storage", "study_name", "pruner",
             "options")


def read_grid(path: str) -> dict:
    """A search grid from JSON (or YAML when PyYAML is installed), keys checked."""
    with open(path) as f:
        text = f.read()
    if path.endswith((".yaml", ".yml")):
        try:
            import yaml
        except ImportError as err:
            raise ValueError(f"Received: --grid {path!r}, a YAML file, but PyYAML is not installed. "
                             "Expected a JSON file, or `pip install pyyaml`.") from err
        grid = yaml.safe_load(text)
    else:
        try:
            grid = json.loads(text)
        except json.JSONDecodeError as err:
            raise ValueError(f"Received: --grid {path!r}, which is not valid JSON ({err}).") from err
    if not isinstance(grid, dict) or set(grid) - set(GRID_KEYS):
        raise ValueError(f"Received: a grid with keys {sorted(grid) if isinstance(grid, dict) else grid!r}. "
                         f"Expected some of {list(GRID_KEYS)}.")
    return grid


def cmd_search(args) -> int:
    grid = read_grid(args.grid)
    flags = {k: getattr(args, k) for k in ("n_trials", "sampler", "storage", "study_name", "pruner")}
    settings = {k: v for source in (grid, flags) for k, v in source.items()  # flags win; null means the default
                if k != "options" and v is not None}
    check_search_settings(*(settings.get(k) for k in ("sampler", "n_trials", "pruner", "storage", "study_name")))
    _discover(args.data_dir, grid.get("options", {}).get("compression"))
    from vidseq.runs.search import search  # no TensorFlow until the first run trains

    options = dict(grid.get("options", {}))
    options.update({k: v for k, v in (("save_dir", args.save_dir), ("cache_dir", args.cache_dir)) if v is not None})
    if args.verbose:
        options["verbose"] = 2
    table = search(args.data_dir, **settings, **options)
    _print_leaderboard(table)
    if table.attrs.get("in_progress"):
        print(f"Being trained by other workers: {', '.join(table.attrs['in_progress'])} (`vidseq compare` shows them "
              "once finished).")
    return 0


def cmd_evaluate(args) -> int:
    _run_folder(args.run_dir, "model.keras")
    from vidseq.data.perturb import parse_perturbations  # no TensorFlow: a bad level fails at once

    from vidseq.runs.folders import scoring_config

    parse_perturbations(args.perturb, args.perturb_seed)
    scoring_config(args.run_dir, max_faces=args.max_faces, no_face=args.no_face, face_detector=args.face_detector)
    _discover(args.data_dir, args.compression)
    from vidseq.runs.scoring import evaluate

    metrics = evaluate(args.run_dir, args.data_dir, args.split, args.compression, max_faces=args.max_faces,
                       no_face=args.no_face, face_detector=args.face_detector, perturb=args.perturb,
                       perturb_seed=args.perturb_seed)
    auc = "n/a" if metrics["auc"] is None else f"{metrics['auc']:.3f}"
    print(f"{metrics['videos']} videos ({metrics['real']} real, {metrics['fake']} fake), {len(metrics['skipped'])} "
          f"skipped: AUC {auc}, accuracy {metrics['accuracy']:.3f}, log loss {metrics['log_loss']:.4f}")
    print(f"Wrote {metrics['written']}")
    if "robustness" in metrics:
        for row in metrics["robustness"]:
            auc = "n/a" if row["auc"] is None else f"{row['auc']:.3f}"
            print(f"  {row['label']:<12} AUC {auc}  ({row['videos']} videos" + (f", {row['lost']} lost" if row["lost"]
                                                                             else "") + ")")
        print(f"Wrote {metrics['robustness_written']['csv']} and {Path(metrics['robustness_written']['png']).name}")
    return 0


def cmd_compare(args) -> int:
    from vidseq.runs.leaderboard import compare_runs, compare_saved_models  # no TensorFlow: answers at once

    save_dir = Path(args.save_dir or "saved_models")
    if args.runs:
        if len(args.runs) != 2:
            raise ValueError(f"Received: {len(args.runs)} run(s) {args.runs}. Expected two runs to compare "
                             "(or none for the leaderboard).")
        print(compare_runs(*(_named_run(run, save_dir) for run in args.runs), split=args.split))
        return 0
    if args.save_dir is None and not save_dir.is_dir():
        print(f"No runs yet: there is no saved_models/ folder in {Path.cwd()}. Train one with `vidseq demo` or "
              "`vidseq train DATA_DIR` (run from this folder), or give --save-dir the folder your runs are in.")
        return 0
    if not save_dir.is_dir():
        raise ValueError(f"Received: --save-dir {args.save_dir}, which is not a directory. Expected the folder of "
                         "saved runs (vidseq train --save-dir, default saved_models).")
    table = compare_saved_models(save_dir, plot=args.plot)
    if table.empty:
        print(_no_runs_in(save_dir))
        return 0
    _print_leaderboard(table)
    if args.plot:
        print(f"Wrote {save_dir / 'leaderboard.png'}")
    return 0


def _named_run(run: str, save_dir: Path) -> Path:
    """A run folder given by its path, or by its name in `save_dir`."""
    in_save_dir = save_dir / run
    return in_save_dir if not Path(run).is_dir() and in_save_dir.is_dir() else Path(run)


def _no_runs_in(save_dir: Path) -> str:
    """What a folder without finished runs holds, and what to do."""
    from vidseq.data.video_io import VIDEO_EXTENSIONS

    entries = list(itertools.islice(save_dir.rglob("*"), 2000))  # enough to tell; a dataset may hold millions
    if any(p.suffix.lower() in VIDEO_EXTENSIONS for p in entries):
        return (f"No runs in {save_dir}: it holds videos (a dataset?), not run folders. Runs trained on it are saved "
                "in saved_models/ (or where --save-dir said): `vidseq compare` there.")
    started = [p for p in save_dir.iterdir() if p.is_dir() and (p / "config.json").is_file()]
    if started:
        return (f"No finished runs in {save_dir}: {len(started)} run folder(s) without metrics.json (still training, "
                "or interrupted). Run the same command again to train them.")
    return (f"No runs in {save_dir} yet: train one with `vidseq demo` or "
            f"`vidseq train DATA_DIR --save-dir {save_dir}`.")


def cmd_predict(args) -> int:
    if args.run:
        _run_folder(args.run)
    if not Path(args.video).is_file():
        raise ValueError(f"Received: {args.video!r}, which is not a file. Expected a video file.")
    from vidseq.data.video_io import check_truncation

    # The video before the run: a file that is not a video, or in which no frame decodes, is
    # answered before TensorFlow loads. A truncated one is scored all the same, and said so.
    truncation = check_truncation(args.video)
    if args.model:
        from vidseq.runs.pretrained import pretrained_run

        args.run = str(pretrained_run(args.model, args.save_dir))
    from vidseq.runs.folders import run_threshold, scoring_config

    scoring_config(args.run, max_faces=args.max_faces, no_face=args.no_face,
                   face_detector=args.face_detector)  # checked before TensorFlow loads
    from vidseq.runs.scoring import score_video

    scored = score_video(args.video, args.run, truncated="keep" if truncation else None, max_faces=args.max_faces,
                         no_face=args.no_face, face_detector=args.face_detector)
    score, threshold = scored["score"], run_threshold(args.run)
    result = {"video": args.video, "p_fake": round(score, 4), "label": "FAKE" if score >= threshold else "REAL",
              "threshold": threshold, "run": str(Path(args.run)), "track": scored["track"],
              "max_faces": scored["max_faces"],
              "truncated": None if truncation is None else {"have": truncation.have, "declared": truncation.declared,
                                                            "unit": truncation.unit}}
    if args.json:
        print(json.dumps(result))
    else:
        note = "" if truncation is None else f"  TRUNCATED ({truncation.extent}): scored on what decodes"
        faces = "" if scored["max_faces"] in (None, 1) else f", face track {scored['track']} of up to {scored['max_faces']}"
        print(f"P(fake) {score:.4f}  {result['label']}  (threshold {threshold:.2f}, run {Path(args.run).name}{faces})"
              f"{note}")
    return 0


def cmd_app(args) -> NoReturn:
    import importlib.util
    import os
    from pathlib import Path

    if importlib.util.find_spec("streamlit") is None:
        raise ValueError('Received: vidseq app without Streamlit installed. Expected it: pip install "vidseq[app]".')
    for flag, folder in (("--save-dir", args.save_dir), ("--data-dir", args.data_dir)):
        if folder is not None and not Path(folder).is_dir():
            raise ValueError(f"Received: {flag} {folder!r}, which is not a directory.")
    if not 1 <= args.port <= 65535:
        raise ValueError(f"Received: --port {args.port}. Expected a port number in [1, 65535].")
    command = [sys.executable, "-m", "streamlit", "run", str(Path(__file__).parents[1] / "app" / "streamlit_app.py"),
               "--server.address", args.host, "--server.port", str(args.port), "--server.headless", "true",
               "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false",
               "--client.toolbarMode", "viewer", "--", "--save-dir", args.save_dir]
    if args.data_dir is not None:
        command += ["--data-dir", args.data_dir]
    print(f"vidseq app: http://{args.host}:{args.port} (Ctrl-C stops it)", flush=True)
    os.execv(sys.executable, command)  # Streamlit becomes this process: Ctrl-C and kill reach it directly


def _print_leaderboard(table) -> None:
    """The board, each AUC and the test EER with its 95% interval, and a line on ties with the best."""
    from vidseq.runs.leaderboard import format_intervals, tie_summary

    if table.empty:
        print("No finished runs yet.")
        return
    columns = ["run", "dataset", "backbone", "num_frames", "head", "weights", "val_auc", "test_auc", "test_accuracy",
               "test_eer", "test_videos", "test_split", "epochs", "vs_best"]
    from vidseq.runs.leaderboard import SEEN  # loaded already: the table is its

    evaluations = [c for c in table.columns if c.startswith("eval_") and c.endswith("_auc")]
    shown = format_intervals(table, ("val_auc", "test_auc", "test_eer"))
    if "fold_test_auc" in shown:  # cross-validations: their folds' test AUCs
        columns.insert(columns.index("test_auc") + 1, "fold_test_auc")
    print(shown[columns + evaluations].to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print("[95% intervals: bootstrap over identities; vs_best: paired test on validation, docs/comparing-runs.md]")
    print(tie_summary(table))
    if any(SEEN + "_" in c for c in evaluations):
        print(f"eval_*{SEEN}_*: scored on some of the run's own training or validation videos (listed in its "
              "eval_*.json): not a measure of generalization.")


COMMANDS = {"demo": cmd_demo, "extract": cmd_extract, "train": cmd_train, "search": cmd_search,
            "evaluate": cmd_evaluate, "compare": cmd_compare, "predict": cmd_predict, "app": cmd_app}

if __name__ == "__main__":
    sys.exit(main())
