"""The `vidseq` command: demo, extract, train, search, evaluate, compare, predict, app.

Heavy modules (TensorFlow via model_builder, Streamlit) are imported inside the subcommands,
so `vidseq --help` answers at once. Errors print one line, not a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path
from typing import NoReturn, Sequence

from vidseq.backbones import BACKBONES, ImageNetUnavailable

# Small data: a faster learning rate than the seed's 1e-5, and larger val/test splits so
# that their metrics mean something. Two heads on the same cached embeddings; on 20
# training videos a GRU read out at the last frame overfits (test AUC 0.39-0.94 across
# splits), one whose states are averaged over 32 frames much less (0.86-1.0).
DEMO_TRAINING = dict(learning_rate=1e-3, epochs=150, batch_size=8, patience=20, dropout=0.3, val_size=0.2, test_size=0.3)
DEMO_HEADS = (dict(rnn="gru", rnn_units=(64,), rnn_pooling="mean"), dict(rnn=None))


def _weights(value: str) -> str | None:
    return None if value.lower() == "none" else value


def _json_object(value: str) -> dict:
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as err:
        raise argparse.ArgumentTypeError(f"Received: {value!r}, which is not JSON ({err}).") from err
    if not isinstance(parsed, dict):
        raise argparse.ArgumentTypeError(f"Received: {value!r}. Expected a JSON object of settings.")
    return parsed


def _rnn(value: str) -> str | None:
    if value.lower() not in ("gru", "lstm", "none"):
        raise argparse.ArgumentTypeError(f"Received: {value!r}. Expected gru, lstm or none.")
    return None if value.lower() == "none" else value.lower()


def _add_embedding_args(p: argparse.ArgumentParser, defaults: bool = True) -> None:
    """Frame and backbone options. With `defaults=False` an option not given is left out, so
    that the library's own default applies (they differ between the backbone and CoAtNet paths)."""
    d = (lambda value: value) if defaults else (lambda value: argparse.SUPPRESS)
    p.add_argument("--num-frames", type=int, default=d(64),
                   help="frames sampled per video (1-1024)" + ("" if defaults else "; default 64"))
    if defaults:
        p.add_argument("--model", dest="img_model_name", default="MobileNetV2", choices=sorted(BACKBONES),
                       help="frozen image backbone")
    else:  # CoAtNet's names live with its Keras code: train_test_classifier checks them
        p.add_argument("--model", dest="img_model_name", default=argparse.SUPPRESS,
                       help=f"a frozen backbone ({', '.join(sorted(BACKBONES))}) or CoAtNet-0 ... CoAtNet-4; "
                            "default MobileNetV2")
    # Where the library's default applies, the help says it (argparse shows the others').
    said = (lambda default: "") if defaults else (lambda default: f"; default {default}")
    p.add_argument("--weights", type=_weights, default=d("imagenet"),
                   help="imagenet | random | auto | none | PATH to a weights file | a --fine-tune run folder "
                        "(CoAtNet: none or PATH)"
                        + said("imagenet (CoAtNet: none)"))
    p.add_argument("--strategy", default=d("uniform"), choices=["uniform", "random", "clip", "stride"],
                   help="which frames to sample" + said("uniform"))
    p.add_argument("--seed", type=int, default=d(42), help="split, sampling and training seed" + said(42))
    p.add_argument("--cache-dir", default=d(None), help="cache (default: $VIDSEQ_CACHE or ~/.cache/vidseq)")
    p.add_argument("--face-crop", action=argparse.BooleanOptionalAction, default=d(False),
                   help="crop around each video's face with MTCNN" + said("off (CoAtNet: on)"))
    p.add_argument("--face-margin", type=float, default=None, help="face crop side / face box side (default 1.3)")
    p.add_argument("--no-face", default=None, choices=["full_frame", "skip"],
                   help="for a video without any face: use full frames (default), or skip it")
    p.add_argument("--max-faces", type=int, default=None,
                   help="face tracks scored per video; the highest score counts (default 1; training uses the main face)")


def _add_training_args(p: argparse.ArgumentParser) -> None:
    """Training options, passed on only when given (train_test_classifier's defaults otherwise)."""
    s = argparse.SUPPRESS
    p.add_argument("--epochs", type=int, default=s, help="default 100 (CoAtNet 25)")
    p.add_argument("--batch-size", type=int, default=s, help="default 16 (CoAtNet 32)")
    p.add_argument("--learning-rate", type=float, default=s, help="default 1e-5 (CoAtNet 1e-4, AdamW, cosine)")
    p.add_argument("--patience", type=int, default=s, help="early-stopping patience on val loss (default 10)")
    p.add_argument("--val-size", type=float, default=s, help="default 0.15")
    p.add_argument("--test-size", type=float, default=s, help="default 0.15")
    p.add_argument("--truncated", choices=["skip", "keep"], default=s,
                   help="a video whose frames stop short of what its container declares: skip it (default) "
                        "or keep the frames that decode")
    p.add_argument("--split-by", choices=["identities", "group"], default=s,
                   help="identities (default): no person in two splits, fakes that straddle left out; "
                        "group: only each video's main (target) identity kept apart")
    p.add_argument("--identities", default=s, metavar="CSV",
                   help="a CSV file,identities saying who each video shows (overrides what file names say)")
    p.add_argument("--compression", default=s, help="FaceForensics++/DFD compression: raw, c23 (default) or c40")
    p.add_argument("--save-dir", default=s, help="default saved_models")
    p.add_argument("--run-name", default=s)
    p.add_argument("--distribution", choices=["data_parallel"], default=s,
                   help="train on every local device (JAX backend: KERAS_BACKEND=jax)")
    fit = p.add_argument_group("optimizer and training")
    fit.add_argument("--optimizer", choices=["adam", "adamw", "sgd", "rmsprop"], default=s,
                     help="default adam (CoAtNet adamw)")
    fit.add_argument("--schedule", choices=["constant", "cosine"], default=s,
                     help="learning rate over training: constant (default), or cosine with --warmup-epochs")
    fit.add_argument("--weight-decay", type=float, default=s, help="default 0 (CoAtNet 0.05)")
    fit.add_argument("--label-smoothing", type=float, default=s, help="default 0")
    fit.add_argument("--momentum", type=float, default=s, help="SGD only (default 0.9)")
    fit.add_argument("--nesterov", action="store_true", default=s, help="SGD only")
    fit.add_argument("--early-stopping", action=argparse.BooleanOptionalAction, default=s,
                     help="stop when the validation loss stops improving for --patience epochs, keeping the best "
                          "epoch (default on)")
    fit.add_argument("--reduce-lr", type=_json_object, default=s, metavar="JSON",
                     help='ReduceLROnPlateau settings, e.g. \'{"factor": 0.5, "patience": 3}\' (default off)')
    fit.add_argument("--embed-batch-size", type=int, default=s, help="frames per backbone batch (default 32)")
    head = p.add_argument_group("sequence head (backbone models)")
    head.add_argument("--rnn", type=_rnn, default=s, help="gru (default) | lstm | none (masked mean pooling)")
    head.add_argument("--rnn-units", type=int, nargs="+", default=s, help="default 256 256")
    head.add_argument("--rnn-pooling", choices=["last", "mean"], default=s,
                      help="read the recurrent states at the last frame (default) or average them")
    head.add_argument("--bidirectional", action="store_true", default=s)
    head.add_argument("--batch-norm", action="store_true", default=s, help="BatchNormalization between recurrent layers")
    head.add_argument("--dense-units", type=int, nargs="*", default=s)
    head.add_argument("--dropout", type=float, default=s, help="default 0.5")
    head.add_argument("--recurrent-dropout", type=float, default=s, help="dropout inside the recurrent layers (default 0)")
    head.add_argument("--l2", type=float, default=s, help="L2 weight penalty on the head's layers (default 0)")
    head.add_argument("--normalize", action=argparse.BooleanOptionalAction, default=s,
                      help="standardize each feature with the training videos' statistics (default on)")
    image = p.add_argument_group("CoAtNet models")
    image.add_argument("--image-size", type=int, default=s, help="a multiple of 32 (default 224)")
    image.add_argument("--augment", action=argparse.BooleanOptionalAction, default=s,
                       help="the source's face augmentations on training crops (default on)")
    image.add_argument("--video-score", choices=["mean", "confident"], default=s,
                       help="frame scores -> video score (default mean)")
    tune = p.add_argument_group("fine-tuning a backbone on face crops (--fine-tune)")
    tune.add_argument("--fine-tune", action="store_true", default=s,
                      help="train the backbone (--model) as a frame classifier on face crops; its run folder can "
                           "then be given as --weights to embed with the fine-tuned backbone")
    tune.add_argument("--warmup-epochs", type=int, default=s,
                      help="with --schedule cosine: its linear warm-up epochs (default 0, CoAtNet 1); with "
                           "--fine-tune: epochs of the new head alone, backbone frozen (default 2)")
    tune.add_argument("--trainable-layers", type=int, default=s,
                      help="unfreeze the backbone's top N layers after the warm-up (default: all)")
    tune.add_argument("--fine-tune-learning-rate", type=float, default=s,
                      help="learning rate once unfrozen (default: --learning-rate / 10; --learning-rate "
                           "default 1e-3 with --fine-tune)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vidseq", description="Video-sequence deepfake detection baselines.")
    # Every command's --help shows each option's default (options that default to the
    # library's own say it in their help, as it differs between model families).
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                parser_class=_ParserWithDefaults)

    p = sub.add_parser("demo", help="generate the demo dataset, train one model on it, show the leaderboard")
    p.add_argument("--data-dir", default="data/demo", help="where the demo videos are written")
    p.add_argument("--save-dir", default="saved_models", help="where the runs are saved")
    p.add_argument("--num-videos", type=int, default=40, help="videos, half real and half fake")
    p.add_argument("--seed", type=int, default=0, help="the dataset's seed: another seed draws other videos")
    p.add_argument("--num-frames", type=int, default=32, help="frames sampled per video")
    p.add_argument("--weights", type=_weights, default="auto", help="auto (imagenet, else random) | random | ...")
    p.add_argument("--epochs", type=int, default=DEMO_TRAINING["epochs"], help="at most (early stopping)")
    p.add_argument("--cache-dir", default=None, help="cache (default: $VIDSEQ_CACHE or ~/.cache/vidseq)")
    p.add_argument("--full-frames", action="store_true", help="embed whole frames instead of face crops")
    p.add_argument("--data-only", action="store_true", help="only generate the demo videos")

    p = sub.add_parser("extract", help="embed every video of a dataset into the cache")
    p.add_argument("data_dir")
    _add_embedding_args(p)
    p.add_argument("--batch-size", type=int, default=32, help="frames per backbone batch")
    p.add_argument("--compression", default="c23", help="FaceForensics++/DFD quality folder: raw, c23 or c40")
    p.add_argument("--engine", default="local", choices=["local", "ray"],
                   help="ray: embed on a Ray cluster (pip install \"vidseq[ray]\"); cache and videos on shared storage")
    p.add_argument("--address", default=None, help="Ray cluster address (auto: the one `ray start` made here)")
    p.add_argument("--workers", type=int, default=None, help="Ray actors (default: one per GPU, else one per node using all its CPUs)")

    p = sub.add_parser("train", help="train and test one classifier (sequence head, CoAtNet, or a fine-tuned backbone)")
    p.add_argument("data_dir")
    p.add_argument("--like", metavar="RUN_DIR", default=None,
                   help="start from a saved run's settings (frames, model, weights, face crops, head, training); "
                        "flags given here change them")
    _add_embedding_args(p, defaults=False)
    _add_training_args(p)

    p = sub.add_parser("search", help="train a grid (or random sample) of configurations; resumable")
    p.add_argument("data_dir")
    p.add_argument("--grid", required=True, help="a JSON (or YAML, with PyYAML) file: see README")
    p.add_argument("--n-trials", type=int, default=None, help="draw this many configurations at random")
    p.add_argument("--save-dir", default=None)
    p.add_argument("--cache-dir", default=None)

    p = sub.add_parser("evaluate", help="score a saved run on a dataset (e.g. another one)")
    p.add_argument("run_dir")
    p.add_argument("data_dir")
    p.add_argument("--split", default="test", choices=["train", "val", "test", "all"],
                   help="which videos of DATA_DIR, split as the run split its own data")
    p.add_argument("--compression", default=None, help="FaceForensics++/DFD quality folder (default: the run's)")

    p = sub.add_parser("compare", help="leaderboard of saved runs")
    p.add_argument("--save-dir", default="saved_models")
    p.add_argument("--plot", action="store_true", help="also write SAVE_DIR/leaderboard.png")

    p = sub.add_parser("predict", help="P(fake) of a video with a saved run, its label and the run's threshold")
    p.add_argument("video")
    p.add_argument("--run", required=True, help="a run folder under saved_models/")
    p.add_argument("--json", action="store_true", help="print one JSON object (for scripts)")

    for command, p in sub.choices.items():
        p.add_argument("--verbose", action="store_true",
                       help="also TensorFlow's start-up lines and Keras' per-epoch lines (default: progress bars)")

    p = sub.add_parser("app", help="the web page: score videos with saved runs, browse the leaderboard")
    p.add_argument("--save-dir", default="saved_models", help="the folder of saved runs (default saved_models)")
    p.add_argument("--data-dir", default=None, help="a folder to pick videos from (default: the run's own data)")
    p.add_argument("--host", default="127.0.0.1", help="address to serve on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8501, help="default 8501")
    return parser


class _DefaultsFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Adds "(default: X)" to an option's help, except where there is nothing to say (None, off)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.default in (None, False) or action.help is None:
            return action.help or ""
        return super()._get_help_string(action)


class _ParserWithDefaults(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, formatter_class=_DefaultsFormatter, **kwargs)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "verbose", False):
        os.environ["VIDSEQ_VERBOSE"] = "1"  # read when TensorFlow loads: keep its start-up lines
    try:
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
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices[command]


def in_cli_terms(message: str, parser: argparse.ArgumentParser) -> str:
    """A library error in the command line's terms: `weights='random'` -> `--weights random`
    for every keyword the command has a flag for."""
    flags = {a.dest: next((o for o in a.option_strings if o.startswith("--") and not o.startswith("--no-")),
                          a.option_strings[-1])
             for a in parser._actions if a.option_strings and a.dest != "help"}

    def flag(match: re.Match) -> str:
        name, value = match["name"], match["value"]
        if name not in flags:
            return match[0]
        value = value.strip("'\"") if value[:1] in "'\"" else value
        return f"{flags[name]} {value}" if value not in ("True", "False") else (
            flags[name] if value == "True" else f"--no-{flags[name][2:]}")

    return re.sub(r"\b(?P<name>[a-z_]+)=(?P<value>'[^']*'|\"[^\"]*\"|[\w+\-/]+(?:\.[\w+\-/]+)*)", flag, message)


def cmd_demo(args) -> int:
    from vidseq.demo_data import make_demo_dataset

    summary = make_demo_dataset(args.data_dir, num_videos=args.num_videos, seed=args.seed)
    print(f"Demo dataset: {summary}")
    if args.data_only:
        return 0
    import model_builder

    # As a search: runs are named after their whole configuration, so a rerun with the same
    # settings reuses its finished runs instead of adding identical rows to the leaderboard.
    table = model_builder.search(
        args.data_dir, num_frames=[args.num_frames], img_model_names=["MobileNetV2"], heads=list(DEMO_HEADS),
        weights=args.weights, save_dir=args.save_dir, face_crop=not args.full_frames,
        verbose=2 if args.verbose else 1,
        **{**DEMO_TRAINING, "epochs": args.epochs}, **({"cache_dir": args.cache_dir} if args.cache_dir else {}))
    _print_leaderboard(table)
    return 0


def _discover(data_dir: str, compression: str | None = None, num_frames: int | None = None):
    """The dataset's videos, found before TensorFlow loads: a wrong path fails in well under a second."""
    import util  # no TensorFlow

    if num_frames is not None:
        util.check_num_frames(num_frames)
    return util.discover_videos(data_dir, compression or "c23")


def _run_folder(run_dir: str, needs: str = "config.json") -> Path:
    if not (Path(run_dir) / needs).is_file():
        raise ValueError(f"Received: {run_dir!r}, which has no {needs}. Expected a saved run folder "
                         "(see `vidseq compare`).")
    return Path(run_dir)


def cmd_extract(args) -> int:
    videos = _discover(args.data_dir, args.compression, args.num_frames)
    import model_builder

    features, mask = model_builder.embed_videos(
        videos.path, args.num_frames, args.img_model_name, args.weights,
        args.cache_dir or model_builder.default_cache_dir(), face_crop_from_flags(args), batch_size=args.batch_size,
        on_error="skip", strategy=args.strategy, seed=args.seed, engine=args.engine, ray_workers=args.workers,
        ray_address=args.address,
    )
    skipped = int((~mask.any(axis=1)).sum())
    print(f"Embedded {len(videos) - skipped} of {len(videos)} videos: features {features.shape}; skipped {skipped}.")
    return 0


def cmd_train(args) -> int:
    given = {k: v for k, v in vars(args).items()
             if k not in ("command", "data_dir", "face_margin", "no_face", "max_faces", "like", "verbose")}
    like = _run_settings(_run_folder(args.like)) if args.like else {}
    options = {**like, **given}  # flags given on the command line win over the run's settings
    options.setdefault("num_frames", 64)
    options.setdefault("img_model_name", "MobileNetV2")
    for name in ("rnn_units", "dense_units"):
        if name in options:
            options[name] = tuple(options[name])
    if "face_crop" in given or any(v is not None for v in (args.face_margin, args.no_face, args.max_faces)):
        options["face_crop"] = face_crop_from_flags(args)
    name = options["img_model_name"]
    if name not in BACKBONES and not re.fullmatch(r"(?i)coatnet-[0-4]", name):
        raise ValueError(f"Received: --model {name}. Expected one of {sorted(BACKBONES)} (frozen backbones) or "
                         "CoAtNet-0 ... CoAtNet-4.")
    _discover(args.data_dir, options.get("compression"), options["num_frames"])
    if args.like:
        changed = {k: v for k, v in given.items() if like.get(k) != v}
        print(f"Settings of {Path(args.like).name}" + (f", changed: {changed}" if changed else ", unchanged"))
    import model_builder

    model_builder.train_test_classifier(args.data_dir, options.pop("num_frames"), options.pop("img_model_name"),
                                        **options, verbose=2 if args.verbose else 1)
    return 0


def _run_settings(run_dir: Path) -> dict:
    """The options a saved run was trained with, as train_test_classifier takes them."""
    from vidseq.faces import FaceCrop

    config = json.loads((run_dir / "config.json").read_text())
    import model_builder

    valid = (set(model_builder.RUN_OPTIONS) | set(model_builder.HEAD_OPTIONS) | set(model_builder.IMAGE_RUN_OPTIONS)
             | set(model_builder.FINETUNE_RUN_OPTIONS))
    settings = {k: v for k, v in config.items() if k in valid - {"run_name", "cache_dir", "verbose"}}
    if config.get("fine_tune"):
        settings.pop("image_size", None)  # the backbone's own size, not an option
    if config.get("face_crop"):
        settings["face_crop"] = FaceCrop(**config["face_crop"])
    return {**settings, "num_frames": config["num_frames"], "img_model_name": config["img_model_name"],
            **({"cache_dir": config["cache_dir"]} if config.get("cache_dir") else {})}


GRID_KEYS = ("num_frames", "img_model_names", "heads", "n_trials", "seed", "options")


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
    _discover(args.data_dir, grid.get("options", {}).get("compression"))
    import model_builder

    options = dict(grid.get("options", {}))
    options.update({k: v for k, v in (("save_dir", args.save_dir), ("cache_dir", args.cache_dir)) if v is not None})
    n_trials = args.n_trials if args.n_trials is not None else grid.get("n_trials")
    if args.verbose:
        options["verbose"] = 2
    table = model_builder.search(args.data_dir, **{k: grid[k] for k in ("num_frames", "img_model_names", "heads")
                                                    if k in grid},
                                 n_trials=n_trials, seed=grid.get("seed", 0), **options)
    _print_leaderboard(table)
    return 0


def cmd_evaluate(args) -> int:
    _run_folder(args.run_dir, "model.keras")
    _discover(args.data_dir, args.compression)
    import model_builder

    metrics = model_builder.evaluate(args.run_dir, args.data_dir, args.split, args.compression)
    auc = "n/a" if metrics["auc"] is None else f"{metrics['auc']:.3f}"
    print(f"{metrics['videos']} videos ({metrics['real']} real, {metrics['fake']} fake), {len(metrics['skipped'])} "
          f"skipped: AUC {auc}, accuracy {metrics['accuracy']:.3f}, log loss {metrics['log_loss']:.4f}")
    print(f"Wrote {metrics['written']}")
    return 0


def cmd_compare(args) -> int:
    import model_builder

    table = model_builder.compare_saved_models(args.save_dir, plot=args.plot)
    _print_leaderboard(table)
    if args.plot and not table.empty:
        print(f"Wrote {args.save_dir}/leaderboard.png")
    return 0


def cmd_predict(args) -> int:
    _run_folder(args.run)
    if not Path(args.video).is_file():
        raise ValueError(f"Received: {args.video!r}, which is not a file. Expected a video file.")
    import model_builder
    import util

    truncation = util.check_truncation(args.video)  # scored all the same, and said next to the score
    score = model_builder.predict_video(args.video, args.run, truncated="keep" if truncation else None)
    threshold = model_builder.run_threshold(args.run)
    result = {"video": args.video, "p_fake": round(score, 4), "label": "FAKE" if score >= threshold else "REAL",
              "threshold": threshold, "run": str(Path(args.run)),
              "truncated": None if truncation is None else {"decoded": truncation.decoded,
                                                            "declared": truncation.declared}}
    if args.json:
        print(json.dumps(result))
    else:
        note = "" if truncation is None else (f"  TRUNCATED: scored on the {truncation.decoded} of "
                                              f"{truncation.declared} frames that decode")
        print(f"P(fake) {score:.4f}  {result['label']}  (threshold {threshold:.2f}, run {Path(args.run).name}){note}")
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
    command = [sys.executable, "-m", "streamlit", "run", str(Path(__file__).with_name("app.py")),
               "--server.address", args.host, "--server.port", str(args.port), "--server.headless", "true",
               "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false",
               "--client.toolbarMode", "viewer", "--", "--save-dir", args.save_dir]
    if args.data_dir is not None:
        command += ["--data-dir", args.data_dir]
    print(f"vidseq app: http://{args.host}:{args.port} (Ctrl-C stops it)", flush=True)
    os.execv(sys.executable, command)  # Streamlit becomes this process: Ctrl-C and kill reach it directly


def face_crop_from_flags(args: argparse.Namespace):
    """The `FaceCrop` (or False) that --face-crop, --face-margin, --no-face and --max-faces ask for."""
    from vidseq.faces import FaceCrop

    given = {k: v for k, v in (("margin", args.face_margin), ("no_face", args.no_face),
                               ("max_faces", args.max_faces)) if v is not None}
    if given and not getattr(args, "face_crop", False):
        raise ValueError("Received: --face-margin, --no-face or --max-faces without --face-crop. "
                         "Expected --face-crop with them.")
    return FaceCrop(**given) if getattr(args, "face_crop", False) else False


def _print_leaderboard(table) -> None:
    if table.empty:
        print("No finished runs yet.")
        return
    columns = ["run", "dataset", "backbone", "num_frames", "head", "weights", "val_auc", "test_auc", "test_accuracy",
               "test_eer", "test_videos", "test_split", "epochs"]
    columns += [c for c in table.columns if c.startswith("eval_") and c.endswith("_auc")]
    print(table[columns].to_string(index=False, float_format=lambda v: f"{v:.3f}"))


COMMANDS = {"demo": cmd_demo, "extract": cmd_extract, "train": cmd_train, "search": cmd_search,
            "evaluate": cmd_evaluate, "compare": cmd_compare, "predict": cmd_predict, "app": cmd_app}

if __name__ == "__main__":
    sys.exit(main())
