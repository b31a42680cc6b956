"""The `vidseq` command: demo, extract, train, search, evaluate, compare, predict, app.

Heavy modules (TensorFlow via model_builder, Streamlit) are imported inside the subcommands,
so `vidseq --help` answers at once. Errors print one line, not a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
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


def _rnn(value: str) -> str | None:
    if value.lower() not in ("gru", "lstm", "none"):
        raise argparse.ArgumentTypeError(f"Received: {value!r}. Expected gru, lstm or none.")
    return None if value.lower() == "none" else value.lower()


def _add_embedding_args(p: argparse.ArgumentParser, defaults: bool = True) -> None:
    """Frame and backbone options. With `defaults=False` an option not given is left out, so
    that the library's own default applies (they differ between the backbone and CoAtNet paths)."""
    d = (lambda value: value) if defaults else (lambda value: argparse.SUPPRESS)
    p.add_argument("--num-frames", type=int, default=64, help="frames sampled per video (1-1024)")
    if defaults:
        p.add_argument("--model", dest="img_model_name", default="MobileNetV2", choices=sorted(BACKBONES),
                       help="frozen image backbone")
    else:  # CoAtNet's names live with its Keras code: train_test_classifier checks them
        p.add_argument("--model", dest="img_model_name", default="MobileNetV2",
                       help=f"a frozen backbone ({', '.join(sorted(BACKBONES))}) or CoAtNet-0 ... CoAtNet-4")
    p.add_argument("--weights", type=_weights, default=d("imagenet"),
                   help="imagenet | random | auto | none | PATH to a weights file (CoAtNet: none or PATH)")
    p.add_argument("--strategy", default=d("uniform"), choices=["uniform", "random", "clip", "stride"])
    p.add_argument("--seed", type=int, default=d(42))
    p.add_argument("--cache-dir", default=d(None), help="cache (default: $VIDSEQ_CACHE or ~/.cache/vidseq)")
    p.add_argument("--face-crop", action=argparse.BooleanOptionalAction, default=d(False),
                   help="crop around each video's face with MTCNN (CoAtNet: on unless --no-face-crop)")
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
    p.add_argument("--compression", default=s, help="FaceForensics++/DFD compression: raw, c23 (default) or c40")
    p.add_argument("--save-dir", default=s, help="default saved_models")
    p.add_argument("--run-name", default=s)
    p.add_argument("--distribution", choices=["data_parallel"], default=s,
                   help="train on every local device (JAX backend: KERAS_BACKEND=jax)")
    head = p.add_argument_group("sequence head (backbone models)")
    head.add_argument("--rnn", type=_rnn, default=s, help="gru (default) | lstm | none (masked mean pooling)")
    head.add_argument("--rnn-units", type=int, nargs="+", default=s, help="default 256 256")
    head.add_argument("--rnn-pooling", choices=["last", "mean"], default=s,
                      help="read the recurrent states at the last frame (default) or average them")
    head.add_argument("--bidirectional", action="store_true", default=s)
    head.add_argument("--batch-norm", action="store_true", default=s, help="BatchNormalization between recurrent layers")
    head.add_argument("--dense-units", type=int, nargs="*", default=s)
    head.add_argument("--dropout", type=float, default=s, help="default 0.5")
    image = p.add_argument_group("CoAtNet models")
    image.add_argument("--image-size", type=int, default=s, help="a multiple of 32 (default 224)")
    image.add_argument("--weight-decay", type=float, default=s, help="AdamW's (default 0.05)")
    image.add_argument("--video-score", choices=["mean", "confident"], default=s,
                       help="frame scores -> video score (default mean)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vidseq", description="Video-sequence deepfake detection baselines.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("demo", help="generate the demo dataset, train one model on it, show the leaderboard")
    p.add_argument("--data-dir", default="data/demo")
    p.add_argument("--save-dir", default="saved_models")
    p.add_argument("--num-videos", type=int, default=40)
    p.add_argument("--num-frames", type=int, default=32)
    p.add_argument("--weights", type=_weights, default="auto", help="auto (imagenet, else random) | random | ...")
    p.add_argument("--epochs", type=int, default=DEMO_TRAINING["epochs"])
    p.add_argument("--cache-dir", default=None)
    p.add_argument("--full-frames", action="store_true", help="embed whole frames instead of face crops")
    p.add_argument("--data-only", action="store_true", help="only generate the demo videos")

    p = sub.add_parser("extract", help="embed every video of a dataset into the cache")
    p.add_argument("data_dir")
    _add_embedding_args(p)
    p.add_argument("--batch-size", type=int, default=32, help="frames per backbone batch")
    p.add_argument("--compression", default="c23")
    p.add_argument("--engine", default="local", choices=["local", "ray"],
                   help="ray: embed on a Ray cluster (pip install \"vidseq[ray]\"); cache and videos on shared storage")
    p.add_argument("--address", default=None, help="Ray cluster address (auto: the one `ray start` made here)")
    p.add_argument("--workers", type=int, default=None, help="Ray actors (default: one per GPU, else one per node using all its CPUs)")

    p = sub.add_parser("train", help="train and test one classifier (sequence head, or CoAtNet)")
    p.add_argument("data_dir")
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
    p.add_argument("--split", default="test", choices=["train", "val", "test", "all"])
    p.add_argument("--compression", default=None)

    p = sub.add_parser("compare", help="leaderboard of saved runs")
    p.add_argument("--save-dir", default="saved_models")
    p.add_argument("--plot", action="store_true", help="also write SAVE_DIR/leaderboard.png")

    p = sub.add_parser("predict", help="P(fake) of a video with a saved run")
    p.add_argument("video")
    p.add_argument("--run", required=True, help="a run folder under saved_models/")

    p = sub.add_parser("app", help="the web page: score videos with saved runs, browse the leaderboard")
    p.add_argument("--save-dir", default="saved_models", help="the folder of saved runs (default saved_models)")
    p.add_argument("--data-dir", default=None, help="a folder to pick videos from (default: the run's own data)")
    p.add_argument("--host", default="127.0.0.1", help="address to serve on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8501, help="default 8501")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (ValueError, OSError, ImageNetUnavailable) as err:
        print(f"vidseq {args.command}: error: {err}", file=sys.stderr)
        return 2


def cmd_demo(args) -> int:
    from vidseq.demo_data import make_demo_dataset

    summary = make_demo_dataset(args.data_dir, num_videos=args.num_videos)
    print(f"Demo dataset: {summary}")
    if args.data_only:
        return 0
    import model_builder

    for head in DEMO_HEADS:
        model_builder.train_test_classifier(
            args.data_dir, args.num_frames, "MobileNetV2", weights=args.weights, save_dir=args.save_dir,
            cache_dir=args.cache_dir, face_crop=not args.full_frames, **{**DEMO_TRAINING, **head, "epochs": args.epochs},
        )
    _print_leaderboard(model_builder.compare_saved_models(args.save_dir))
    return 0


def cmd_extract(args) -> int:
    import model_builder
    import util

    videos = util.discover_videos(args.data_dir, args.compression)
    features, mask = model_builder.embed_videos(
        videos.path, args.num_frames, args.img_model_name, args.weights, args.cache_dir or model_builder.default_cache_dir(),
        _face_crop(args), batch_size=args.batch_size, on_error="skip", strategy=args.strategy, seed=args.seed,
        engine=args.engine, ray_workers=args.workers, ray_address=args.address,
    )
    skipped = int((~mask.any(axis=1)).sum())
    print(f"Embedded {len(videos) - skipped} of {len(videos)} videos: features {features.shape}; skipped {skipped}.")
    return 0


def cmd_train(args) -> int:
    import model_builder

    not_options = ("command", "data_dir", "num_frames", "img_model_name", "face_margin", "no_face", "max_faces")
    options = {k: v for k, v in vars(args).items() if k not in not_options}
    for name in ("rnn_units", "dense_units"):
        if name in options:
            options[name] = tuple(options[name])
    if "face_crop" in options or any(v is not None for v in (args.face_margin, args.no_face, args.max_faces)):
        options["face_crop"] = _face_crop(args)
    model_builder.train_test_classifier(args.data_dir, args.num_frames, args.img_model_name, **options)
    return 0


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
    import model_builder

    grid = read_grid(args.grid)
    options = dict(grid.get("options", {}))
    options.update({k: v for k, v in (("save_dir", args.save_dir), ("cache_dir", args.cache_dir)) if v is not None})
    n_trials = args.n_trials if args.n_trials is not None else grid.get("n_trials")
    table = model_builder.search(args.data_dir, **{k: grid[k] for k in ("num_frames", "img_model_names", "heads")
                                                    if k in grid},
                                 n_trials=n_trials, seed=grid.get("seed", 0), **options)
    _print_leaderboard(table)
    return 0


def cmd_evaluate(args) -> int:
    import model_builder

    metrics = model_builder.evaluate(args.run_dir, args.data_dir, args.split, args.compression)
    auc = "n/a" if metrics["auc"] is None else f"{metrics['auc']:.3f}"
    print(f"{metrics['videos']} videos ({metrics['real']} real, {metrics['fake']} fake), {len(metrics['skipped'])} "
          f"skipped: AUC {auc}, accuracy {metrics['accuracy']:.3f}, log loss {metrics['log_loss']:.4f}")
    return 0


def cmd_compare(args) -> int:
    import model_builder

    table = model_builder.compare_saved_models(args.save_dir, plot=args.plot)
    _print_leaderboard(table)
    if args.plot and not table.empty:
        print(f"Wrote {args.save_dir}/leaderboard.png")
    return 0


def cmd_predict(args) -> int:
    import model_builder

    print(f"{model_builder.predict_video(args.video, args.run):.4f}")
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


def _face_crop(args):
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
    columns = ["run", "backbone", "num_frames", "head", "weights", "val_auc", "test_auc", "test_accuracy", "test_eer", "epochs"]
    columns += [c for c in table.columns if c.startswith("eval_") and c.endswith("_auc")]
    print(table[columns].to_string(index=False, float_format=lambda v: f"{v:.3f}"))


COMMANDS = {"demo": cmd_demo, "extract": cmd_extract, "train": cmd_train, "search": cmd_search,
            "evaluate": cmd_evaluate, "compare": cmd_compare, "predict": cmd_predict, "app": cmd_app}

if __name__ == "__main__":
    sys.exit(main())
