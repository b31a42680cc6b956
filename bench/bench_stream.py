"""Sequence heads trained from the cache: peak memory and epoch throughput, streamed vs in memory.

N videos (default 500, 2,000 and 8,000) of 64 frames x 1,280 float32 features (MobileNetV2's
size) are written straight into a feature set of the cache with `vidseq.features.store`
(no decoding; the videos are stand-in files that discovery finds), then each run is a fresh
process, the two paths alternating:
  streamed   `train_test_classifier(data, 64, "features:bench", ...)`: what a run does now
             (features read from the cache batch by batch, statistics in one streaming pass);
  in memory  the baseline: the same split, head, statistics and training settings, the way the
             recipe trained before streaming: every video's features in one (N, T, D) array,
             `model.fit` on arrays, one predict over val and test.
Per run: peak RSS of the process (VmHWM, TensorFlow's own ~0.5-1 GB included), the median
time of epochs 2.. (epoch 1 traces the step) as training videos/s, an epoch including its
validation, and the median CPU time of those epochs (all the process's threads: the work
an epoch costs, which other jobs on a shared machine disturb less than its wall time).
Head: GRU(64) (`--rnn-units`), batch 32, 4 epochs, no early stopping.

`--agreement` instead trains the demo's two heads on the demo's cached embeddings (run
`vidseq demo` first; `--data-dir`, `--cache-dir` as there) both ways on the same split with
training seeds 0..4, and reports val/test AUC of each: the streamed path's difference to the
in-memory path next to the spread between seeds (training noise).

    python bench/bench_stream.py [--sizes 500 2000 8000] [--in-memory-max 8000] [--rounds 2] [--root DIR]
                                 [--dtype float16] [--rnn-units 256 256]
    python bench/bench_stream.py --agreement --data-dir data/demo [--cache-dir ~/.cache/vidseq]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from clips import table

FRAMES, DIM, SET = 64, 1280, "bench"
HEAD = dict(batch_size=32, epochs=4, early_stopping=False, learning_rate=1e-3)


def write_pool(root: Path, n: int, dtype: str) -> list[Path]:
    """`n` stand-in videos under root/pool/{real,fake} and their features in feature set
    "bench-<dtype>" (kept under `root`: written once). Fakes are shifted by half a standard
    deviation, and each video has 32-64 valid frames."""
    from vidseq.features.store import FeatureStore

    store = FeatureStore(f"{SET}-{dtype}", root / "cache")
    rng = np.random.default_rng(0)
    paths = []
    started = time.time()
    for i in range(n):
        label = ("real", "fake")[i % 2]
        path = root / "pool" / label / f"{label}_{i:05d}.mp4"
        paths.append(path)
        if path.exists() and store.entry_file(path) is not None:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"stand-in video %d" % i)
        features = rng.normal(0.5 * (label == "fake"), 1.0, (FRAMES, DIM)).astype(dtype)
        store.write(path, features, np.arange(FRAMES) < rng.integers(FRAMES // 2, FRAMES + 1))
    print(f"feature set {store.name!r}: {n} videos ready in {time.time() - started:.0f} s", flush=True)
    return paths


def dataset_of(root: Path, paths: list[Path], n: int) -> Path:
    """A folders dataset of the first `n` pool videos (links: the cache finds them by their target)."""
    data = root / f"data{n}"
    for path in paths[:n]:
        link = data / path.parent.name / path.name
        if not link.exists():
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(path)
    return data


# One run in a fresh process: prints its peak RSS and epoch times.
CHILD = r"""
import json, sys, time, warnings
warnings.simplefilter("ignore")
sys.path.insert(0, sys.argv[3])
import keras
from bench_stream import in_memory_fit

class EpochTimes(keras.callbacks.Callback):
    seconds, cpu = [], []
    def on_epoch_begin(self, epoch, logs=None):
        self.started, self.cpu_started = time.perf_counter(), time.process_time()
    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.started)
        self.cpu.append(time.process_time() - self.cpu_started)

args, mode = json.loads(sys.argv[1]), sys.argv[2]
options = dict(args["options"], callbacks=[EpochTimes()])
if mode == "streamed":
    from vidseq.runs.train import train_test_classifier
    train_test_classifier(args["data"], args["frames"], args["model"], **options)
else:
    from vidseq.training.config import RunConfig
    from vidseq.training.videos import RunVideos
    config = RunConfig.from_options(args["frames"], args["model"], **options)
    in_memory_fit(RunVideos(args["data"], config), config)
hwm = int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1]) * 1024
print("RESULT " + json.dumps(dict(peak=hwm, epochs=EpochTimes.seconds, cpu=EpochTimes.cpu)))
"""


def in_memory_fit(videos, config) -> dict[str, np.ndarray]:
    """The sequence recipe as it was before streaming (the baseline): the split's features in
    one array, statistics from it, `model.fit` on arrays (with the config's callbacks), one
    predict over val and test in full batches. Returns the val and test scores."""
    import dataclasses

    import keras

    from vidseq.features.store import load_entry
    from vidseq.models.heads import set_feature_stats
    from vidseq.training.callbacks import build_callbacks
    from vidseq.training.distribution import pad_rows
    from vidseq.training.fit import class_weight, compile_model
    from vidseq.training.sequence import cached_features, feature_source

    source = feature_source(config)
    files, errors, no_face = cached_features(config, videos.videos.path.tolist(), quiet=True)
    rows = videos.drop_unusable(np.array([f is not None for f in files]), errors, no_face)
    features = np.zeros((len(files), config.num_frames, source["feature_dim"]), np.float32)
    mask = np.zeros((len(files), config.num_frames), bool)
    for i, file in enumerate(files):
        if file is not None:
            features[i], mask[i] = load_entry(file)
    data = {s: (features[r], videos.labels[r]) for s, r in rows.items()}
    train = config.train
    keras.utils.set_random_seed(config.seed)
    model = config.family.build()(config.num_frames, source["feature_dim"], **dataclasses.asdict(config.head))
    if config.head.normalize:
        set_feature_stats(model, features[rows["train"]], mask[rows["train"]])
    weight_of = class_weight(data["train"][1])
    x, y = data["train"]
    weight = np.array([weight_of[label] for label in y], np.float32)
    val = (*data["val"], np.ones(len(data["val"][1]), np.float32))
    compile_model(model, train, steps_per_epoch=-(-len(y) // train.batch_size))
    model.fit(x, y, sample_weight=weight, validation_data=val, epochs=train.epochs, batch_size=train.batch_size,
              shuffle=True, verbose=0, callbacks=build_callbacks(train, progress=False))
    joint = np.concatenate([data["val"][0], data["test"][0]])
    joint = model.predict(pad_rows(train.batch_size, joint)[0], batch_size=train.batch_size,
                          verbose=0).ravel()[: len(joint)]
    n_val = len(data["val"][1])
    return {"val": joint[:n_val], "test": joint[n_val:]}


def training_videos(data: Path) -> int:
    """How many videos the runs train on (the split every run of `data` makes)."""
    from vidseq.data.layouts import discover_videos
    from vidseq.data.splits import split_videos

    return int((split_videos(discover_videos(data), seed=42).split == "train").sum())


def run(mode: str, data: Path, cache: Path, save: Path, dtype: str, rnn_units: tuple) -> dict:
    options = dict(HEAD, rnn_units=rnn_units, weights=None, cache_dir=str(cache), save_dir=str(save), verbose=0)
    args = json.dumps(dict(data=str(data), frames=FRAMES, model=f"features:{SET}-{dtype}", options=options))
    done = subprocess.run([sys.executable, "-c", CHILD, args, mode, str(Path(__file__).parent)],
                          capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(done.stderr[-3000:])
    return json.loads(done.stdout.split("RESULT ", 1)[1])


def agreement(data_dir: str, cache_dir: str | None, seeds: range) -> None:
    """Val/test AUC of the demo's heads, streamed vs in memory, same split, training seeds `seeds`."""
    import warnings

    warnings.simplefilter("ignore")
    from sklearn.metrics import roc_auc_score

    from vidseq.cli.commands import DEMO_HEADS, DEMO_TRAINING
    from vidseq.training import sequence
    from vidseq.training.config import RunConfig
    from vidseq.training.videos import RunVideos

    rows = []
    for head in DEMO_HEADS:
        options = dict(DEMO_TRAINING, **head, weights="random", face_crop=True, verbose=0,
                       **({"cache_dir": cache_dir} if cache_dir else {}))
        split = RunConfig.from_options(32, "MobileNetV2", **options)
        videos = RunVideos(data_dir, split)  # split seed 42, as the demo's runs
        results = {"in memory": [], "streamed": []}
        for seed in seeds:
            config = split.replace(seed=seed)  # the training seed only: `videos` keeps the split
            fitted = sequence.fit(videos, config)
            used = {s: videos.labels[videos.used[s]] for s in ("val", "test")}
            results["streamed"].append({s: roc_auc_score(used[s], fitted.scores[s]) for s in used})
            base = in_memory_fit(videos, config)
            results["in memory"].append({s: roc_auc_score(used[s], base[s]) for s in used})
            print(f"{config.head.name} seed {seed}: " + ", ".join(
                f"{k} val {v[-1]['val']:.3f} test {v[-1]['test']:.3f}" for k, v in results.items()), flush=True)
        for split_name in ("val", "test"):
            aucs = {k: np.array([r[split_name] for r in v]) for k, v in results.items()}
            rows.append([config.head.name, split_name,
                         *(f"{a.mean():.3f} ± {a.std(ddof=1):.3f}" for a in aucs.values()),
                         f"{(aucs['streamed'] - aucs['in memory']).mean():+.3f}"])
    print(f"\nDemo, 32 frames, face crops, split seed 42, training seeds {seeds.start}-{seeds.stop - 1}: "
          "mean ± sd of AUC over the seeds\n")
    print(table(["head", "split", "in memory", "streamed", "mean difference"], rows))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 2000, 8000])
    parser.add_argument("--in-memory-max", type=int, default=8000, help="largest size the baseline runs at")
    parser.add_argument("--root", default=None, help="where pool, cache and runs go (default: a temp dir)")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float16"])
    parser.add_argument("--rnn-units", type=int, nargs="+", default=[64], help="the GRU head's layers")
    parser.add_argument("--agreement", action="store_true")
    parser.add_argument("--data-dir", default="data/demo")
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2, help="runs of each path per size (peak: the highest)")
    args = parser.parse_args()
    if args.agreement:
        agreement(args.data_dir, args.cache_dir, range(args.seeds))
        return
    root = Path(args.root or tempfile.mkdtemp(prefix="vidseq-stream-"))
    paths = write_pool(root, max(args.sizes), args.dtype)
    rows = []
    for k, n in enumerate(args.sizes):
        data = dataset_of(root, paths, n)
        modes = ["streamed", "in memory"] if n <= args.in_memory_max else ["streamed"]
        results = {mode: dict(peak=0, epochs=[], cpu=[]) for mode in modes}
        for r in range(args.rounds):  # the paths alternate, so that drift hits both alike
            for mode in modes if (k + r) % 2 == 0 else modes[::-1]:
                one = run(mode, data, root / "cache", root / "runs", args.dtype, tuple(args.rnn_units))
                print(f"{n} videos, {mode}: {one}", flush=True)
                results[mode]["peak"] = max(results[mode]["peak"], one["peak"])
                results[mode]["epochs"] += one["epochs"][1:]
                results[mode]["cpu"] += one["cpu"][1:]
        train = training_videos(data)
        base = results.get("in memory")
        for mode, r in results.items():
            speed = train / statistics.median(r["epochs"])
            cpu = statistics.median(r["cpu"])
            rows.append([n, mode, f"{r['peak'] / 2**30:.2f} GB", f"{speed:.0f}",
                         f"{speed / (train / statistics.median(base['epochs'])):.2f}x" if base else "-",
                         f"{cpu:.1f} s", f"{cpu / statistics.median(base['cpu']):.2f}x" if base else "-"])
    first = {row[1]: float(row[2].split()[0]) for row in rows if row[0] == args.sizes[0]}
    for row in rows:
        row.insert(3, f"+{float(row[2].split()[0]) - first[row[1]]:.2f} GB" if row[1] in first else "-")
    features = {n: n * FRAMES * DIM * np.dtype(args.dtype).itemsize / 2**30 for n in args.sizes}
    print(f"\n{FRAMES} frames x {DIM} {args.dtype} features per video ({', '.join(f'{n}: {g:.2f} GB' for n, g in features.items())} "
          f"of features); GRU{tuple(args.rnn_units)}, batch 32, {HEAD['epochs']} epochs; a fresh process per run, "
          f"{args.rounds} per path and size; medians of epochs 2..\n")
    print(table(["videos", "path", "peak RSS", f"growth from {args.sizes[0]}", "train videos/s per epoch",
                 "vs in memory", "CPU per epoch", "vs in memory"], rows))


if __name__ == "__main__":
    main()
