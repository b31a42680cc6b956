"""The `vidseq` command: demo, extract, train, compare, predict.

Heavy modules (TensorFlow via model_builder) are imported inside the subcommands, so
`vidseq --help` answers at once. Errors print one line, not a traceback.
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from vidseq.backbones import BACKBONES, ImageNetUnavailable

# Small data: a faster learning rate than the seed's 1e-5, and larger val/test splits so
# that their metrics mean something. Two heads on the same cached embeddings: on 20
# training videos a GRU overfits where a masked temporal mean does not.
DEMO_TRAINING = dict(learning_rate=1e-3, epochs=150, batch_size=8, patience=20, dropout=0.3, val_size=0.2, test_size=0.3)
DEMO_HEADS = (dict(rnn="gru", rnn_units=(64,)), dict(rnn=None))


def _weights(value: str) -> str | None:
    return None if value.lower() == "none" else value


def _rnn(value: str) -> str | None:
    if value.lower() not in ("gru", "lstm", "none"):
        raise argparse.ArgumentTypeError(f"Received: {value!r}. Expected gru, lstm or none.")
    return None if value.lower() == "none" else value.lower()


def _add_embedding_args(p: argparse.ArgumentParser, num_frames: int = 64) -> None:
    p.add_argument("--num-frames", type=int, default=num_frames, help="frames sampled per video (1-1024)")
    p.add_argument("--model", dest="img_model_name", default="MobileNetV2", choices=sorted(BACKBONES),
                   help="frozen image backbone")
    p.add_argument("--weights", type=_weights, default="imagenet",
                   help="imagenet | random | auto | none | PATH to a weights file")
    p.add_argument("--strategy", default="uniform", choices=["uniform", "random", "clip", "stride"])
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--cache-dir", default=None, help="embedding cache (default: $VIDSEQ_CACHE or ~/.cache/vidseq)")
    p.add_argument("--face-crop", action="store_true", help="embed crops around each video's face (MTCNN)")
    p.add_argument("--face-margin", type=float, default=None, help="face crop side / face box side (default 1.3)")
    p.add_argument("--no-face", default=None, choices=["full_frame", "skip"],
                   help="for a video without any face: use full frames (default), or skip it")


def _add_training_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--learning-rate", type=float, default=1e-5)
    p.add_argument("--patience", type=int, default=10, help="early-stopping patience on val loss")
    p.add_argument("--rnn", type=_rnn, default="gru", help="gru | lstm | none (masked mean pooling)")
    p.add_argument("--rnn-units", type=int, nargs="+", default=[256, 256])
    p.add_argument("--bidirectional", action="store_true")
    p.add_argument("--batch-norm", action="store_true", help="BatchNormalization between recurrent layers")
    p.add_argument("--dense-units", type=int, nargs="*", default=[])
    p.add_argument("--dropout", type=float, default=0.5)
    p.add_argument("--val-size", type=float, default=0.15)
    p.add_argument("--test-size", type=float, default=0.15)
    p.add_argument("--compression", default="c23", help="FaceForensics++/DFD compression: raw, c23 or c40")
    p.add_argument("--save-dir", default="saved_models")
    p.add_argument("--run-name", default=None)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vidseq", description="Video-sequence deepfake detection baselines.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("demo", help="generate the demo dataset, train one model on it, show the leaderboard")
    p.add_argument("--data-dir", default="data/demo")
    p.add_argument("--save-dir", default="saved_models")
    p.add_argument("--num-videos", type=int, default=40)
    p.add_argument("--num-frames", type=int, default=16)
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

    p = sub.add_parser("train", help="train and test one sequence classifier")
    p.add_argument("data_dir")
    _add_embedding_args(p)
    _add_training_args(p)

    p = sub.add_parser("compare", help="leaderboard of saved runs")
    p.add_argument("--save-dir", default="saved_models")

    p = sub.add_parser("predict", help="P(fake) of a video with a saved run")
    p.add_argument("video")
    p.add_argument("--run", required=True, help="a run folder under saved_models/")
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
    )
    skipped = int((~mask.any(axis=1)).sum())
    print(f"Embedded {len(videos) - skipped} of {len(videos)} videos: features {features.shape}; skipped {skipped}.")
    return 0


def cmd_train(args) -> int:
    import model_builder

    not_options = ("command", "data_dir", "num_frames", "img_model_name", "face_margin", "no_face")
    options = {k: v for k, v in vars(args).items() if k not in not_options}
    options["rnn_units"], options["dense_units"] = tuple(args.rnn_units), tuple(args.dense_units)
    options["face_crop"] = _face_crop(args)
    model_builder.train_test_classifier(args.data_dir, args.num_frames, args.img_model_name, **options)
    return 0


def cmd_compare(args) -> int:
    import model_builder

    _print_leaderboard(model_builder.compare_saved_models(args.save_dir))
    return 0


def cmd_predict(args) -> int:
    import model_builder

    print(f"{model_builder.predict_video(args.video, args.run):.4f}")
    return 0


def _face_crop(args):
    from vidseq.faces import FaceCrop

    given = {k: v for k, v in (("margin", args.face_margin), ("no_face", args.no_face)) if v is not None}
    if given and not args.face_crop:
        raise ValueError("Received: --face-margin or --no-face without --face-crop. Expected --face-crop with them.")
    return FaceCrop(**given) if args.face_crop else False


def _print_leaderboard(table) -> None:
    if table.empty:
        print("No finished runs yet.")
        return
    columns = ["run", "backbone", "num_frames", "head", "weights", "val_auc", "test_auc", "test_accuracy", "test_eer", "epochs"]
    print(table[columns].to_string(index=False, float_format=lambda v: f"{v:.3f}"))


COMMANDS = {"demo": cmd_demo, "extract": cmd_extract, "train": cmd_train, "compare": cmd_compare, "predict": cmd_predict}

if __name__ == "__main__":
    sys.exit(main())
