"""Sequence heads trained from the cache: peak memory and throughput, streamed vs in memory.

N videos (default 500, 2,000 and 8,000) of 64 frames x 1,280 features (MobileNetV2's size)
are written straight into a feature set of the cache with `vidseq.features.store` (no
decoding; the videos are stand-in files that discovery finds). Two paths train the same
head on them with the same split, statistics and training settings:
  streamed   what a run does now: `train_test_classifier(data, 64, "features:bench-float32")`,
             features read from the cache batch by batch (`feature_batches`);
  in memory  the baseline, the recipe as it was before streaming: every video's features in
             one (N, T, D) array, `model.fit` on arrays, one predict over val and test.

Memory: each path's whole run in a fresh process (2 epochs), its peak RSS (VmHWM,
TensorFlow's own ~1 GB included); the in-memory path up to `--in-memory-max` videos.
Throughput: both paths in one process taking turns (`--rounds`), each turn a fit of 3 epochs
whose first is left out (the fit's setup), so that the load of a shared machine hits both
alike; training videos per second of an epoch (its validation included) and CPU seconds per
epoch (all the process's threads). Head: GRU(64) (`--rnn-units`), batch 32, no early stopping.

`--agreement` instead trains the demo's two heads on the demo's cached embeddings (run
`vidseq demo` first; `--data-dir`, `--cache-dir` as there) on the same split with training
seeds 0..4, in memory, streamed, and streamed from float16 embeddings (embedded on the
first run), and reports val/test AUC of each: the differences next to the spread between
seeds (training noise).

    python bench/bench_stream.py [--sizes 500 2000 8000] [--in-memory-max 2000] [--root DIR]
                                 [--rnn-units 256 256] [--rounds 3]
    python bench/bench_stream.py --agreement --data-dir data/demo [--cache-dir ~/.cache/vidseq]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from clips import table

FRAMES, DIM, SET = 64, 1280, "features:bench-float32"
TRAINING = dict(batch_size=32, early_stopping=False, learning_rate=1e-3, weights=None, verbose=0)


def write_pool(root: Path, n: int) -> list[Path]:
    """`n` stand-in videos under root/pool/{real,fake} and their features in the feature set
    (kept under `root`: written once). Fakes are shifted by half a standard deviation, and
    each video has 32-64 valid frames."""
    from vidseq.features.store import FeatureStore, feature_set_name

    store = FeatureStore(feature_set_name(SET), root / "cache")
    rng = np.random.default_rng(0)
    paths = []
    started = time.time()
    for i in range(n):
        label = ("real", "fake")[i % 2]
        path = root / "pool" / label / f"{label}_{i:05d}.mp4"
        paths.append(path)
        features = rng.normal(0.5 * (label == "fake"), 1.0, (FRAMES, DIM)).astype(np.float32)
        valid = rng.integers(FRAMES // 2, FRAMES + 1)
        if path.exists() and store.entry_file(path) is not None:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"stand-in video %d" % i)
        store.write(path, features, np.arange(FRAMES) < valid)
    print(f"{store.name}: {n} videos ready in {time.time() - started:.0f} s", flush=True)
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


def in_memory_data(videos, config):
    """The baseline's data: `(rows per split, features (N, T, D), mask (N, T), feature size)`."""
    from vidseq.features.store import load_entry
    from vidseq.training.sequence import cached_features, feature_source

    dim = feature_source(config)["feature_dim"]
    files, errors, no_face = cached_features(config, videos.videos.path.tolist(), quiet=True)
    rows = videos.drop_unusable(np.array([f is not None for f in files]), errors, no_face)
    features = np.zeros((len(files), config.num_frames, dim), np.float32)
    mask = np.zeros((len(files), config.num_frames), bool)
    for i, file in enumerate(files):
        if file is not None:
            features[i], mask[i] = load_entry(file)
    return rows, features, mask, dim, files


def in_memory_fit(videos, config) -> dict[str, np.ndarray]:
    """The sequence recipe as it was before streaming (the baseline): the split's features in
    one array, statistics from it, `model.fit` on arrays (with the config's callbacks), one
    predict over val and test in full batches. Returns the val and test scores."""
    import dataclasses

    import keras

    from vidseq.models.heads import set_feature_stats
    from vidseq.training.callbacks import build_callbacks
    from vidseq.training.distribution import pad_rows
    from vidseq.training.fit import class_weight, compile_model

    rows, features, mask, dim, _ = in_memory_data(videos, config)
    data = {s: (features[r], videos.labels[r]) for s, r in rows.items()}
    train = config.train
    keras.utils.set_random_seed(config.seed)
    model = config.family.build()(config.num_frames, dim, **dataclasses.asdict(config.head))
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


def interleaved_epochs(data: str, options: dict, rounds: int) -> dict:
    """Both paths in this process, taking turns (the order swapped every round), each turn a
    `fit` of 3 epochs of which the last 2 are timed (a fit's first epoch also pays its setup:
    the in-memory path copies its arrays into tensors): `{path: (wall seconds per epoch, CPU
    seconds per epoch, training videos)}`."""
    import dataclasses

    import keras

    from vidseq.models.heads import set_feature_stats
    from vidseq.training.config import RunConfig
    from vidseq.training.feature_dataset import feature_batches
    from vidseq.training.fit import class_weight, compile_model
    from vidseq.training.videos import RunVideos

    config = RunConfig.from_options(FRAMES, SET, **options)
    videos = RunVideos(data, config)
    rows, features, mask, dim, files = in_memory_data(videos, config)
    train, val = np.flatnonzero(rows["train"]), np.flatnonzero(rows["val"])
    labels = videos.labels
    weight_of = class_weight(labels[train])
    batch = config.train.batch_size
    inputs = {
        "in memory": dict(x=features[train], y=labels[train], batch_size=batch, shuffle=True,
                          sample_weight=np.array([weight_of[y] for y in labels[train]], np.float32),
                          validation_data=(features[val], labels[val], np.ones(len(val), np.float32))),
        "streamed": dict(x=feature_batches([files[i] for i in train], labels[train], batch, (FRAMES, dim), shuffle=True,
                                           seed=config.seed, class_weight=weight_of),
                         validation_data=feature_batches([files[i] for i in val], labels[val], batch, (FRAMES, dim)),
                         shuffle=False),
    }
    times: dict[str, tuple[list, list]] = {path: ([], []) for path in inputs}

    class Timer(keras.callbacks.Callback):
        def __init__(self, path):
            super().__init__()
            self.path = path

        def on_epoch_begin(self, epoch, logs=None):
            self.wall, self.cpu = time.perf_counter(), time.process_time()

        def on_epoch_end(self, epoch, logs=None):
            if epoch:
                times[self.path][0].append(time.perf_counter() - self.wall)
                times[self.path][1].append(time.process_time() - self.cpu)

    models = {}
    for path in inputs:
        keras.utils.set_random_seed(config.seed)
        models[path] = config.family.build()(FRAMES, dim, **dataclasses.asdict(config.head))
        set_feature_stats(models[path], features[train], mask[train])
        compile_model(models[path], config.train, steps_per_epoch=-(-len(train) // batch))
    for turn in range(rounds):
        for path in list(inputs) if turn % 2 else list(inputs)[::-1]:
            models[path].fit(**inputs[path], epochs=3, verbose=0, callbacks=[Timer(path)])
    return {path: (wall, cpu, len(train)) for path, (wall, cpu) in times.items()}


# One run in a fresh process: prints what the parent measures.
CHILD = r"""
import json, sys, warnings
warnings.simplefilter("ignore")
sys.path.insert(0, sys.argv[3])
from bench_stream import FRAMES, SET, in_memory_fit, interleaved_epochs
args, mode = json.loads(sys.argv[1]), sys.argv[2]
result = {}
if mode == "streamed":
    from vidseq.runs.train import train_test_classifier
    train_test_classifier(args["data"], FRAMES, SET, **args["options"])
elif mode == "in memory":
    from vidseq.training.config import RunConfig
    from vidseq.training.videos import RunVideos
    config = RunConfig.from_options(FRAMES, SET, **args["options"])
    in_memory_fit(RunVideos(args["data"], config), config)
else:
    result = interleaved_epochs(args["data"], args["options"], args["rounds"])
hwm = int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1]) * 1024
print("RESULT " + json.dumps(dict(result, peak=hwm)))
"""


def child(mode: str, data: Path, options: dict, rounds: int = 0) -> dict:
    done = subprocess.run([sys.executable, "-c", CHILD, json.dumps(dict(data=str(data), options=options,
                                                                        rounds=rounds)),
                           mode, str(Path(__file__).parent)], capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(done.stderr[-3000:])
    return json.loads(done.stdout.split("RESULT ", 1)[1])


def agreement(data_dir: str, cache_dir: str | None, seeds: range) -> None:
    """Val/test AUC of the demo's heads in memory, streamed and streamed from float16
    embeddings, on the demo's split, with training seeds `seeds`."""
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
        results = {"in memory": [], "streamed": [], "streamed, float16": []}
        for seed in seeds:
            config = split.replace(seed=seed)  # the training seed only: `videos` keeps the split
            base = in_memory_fit(videos, config)  # sets `videos.used`: the videos with features
            used = {s: videos.labels[videos.used[s]] for s in ("val", "test")}
            results["in memory"].append({s: roc_auc_score(used[s], base[s]) for s in used})
            for name, dtype in (("streamed", "float32"), ("streamed, float16", "float16")):
                fitted = sequence.fit(videos, config.replace(feature_dtype=dtype))
                results[name].append({s: roc_auc_score(used[s], fitted.scores[s]) for s in used})
            print(f"{config.head.name} seed {seed}: " + ", ".join(
                f"{k} val {v[-1]['val']:.3f} test {v[-1]['test']:.3f}" for k, v in results.items()), flush=True)
        for split_name in ("val", "test"):
            aucs = {k: np.array([r[split_name] for r in v]) for k, v in results.items()}
            rows.append([config.head.name, split_name, *(f"{a.mean():.3f} ± {a.std(ddof=1):.3f}" for a in aucs.values()),
                         *(f"{(aucs[k] - aucs['in memory']).mean():+.3f}" for k in list(aucs)[1:])])
    print(f"\nDemo, 32 frames, face crops, split seed 42, training seeds {seeds.start}-{seeds.stop - 1}: "
          "mean ± sd of AUC over the seeds\n")
    print(table(["head", "split", "in memory", "streamed", "streamed, float16", "streamed - in memory",
                 "float16 - in memory"], rows))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 2000, 8000])
    parser.add_argument("--in-memory-max", type=int, default=2000, help="largest size the baseline runs at")
    parser.add_argument("--root", default=None, help="where pool, cache and runs go (default: a temp dir)")
    parser.add_argument("--rnn-units", type=int, nargs="+", default=[64], help="the GRU head's layers")
    parser.add_argument("--rounds", type=int, default=3, help="turns of each path in the throughput runs")
    parser.add_argument("--agreement", action="store_true")
    parser.add_argument("--data-dir", default="data/demo")
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    if args.agreement:
        agreement(args.data_dir, args.cache_dir, range(args.seeds))
        return
    root = Path(args.root or tempfile.mkdtemp(prefix="vidseq-stream-"))
    paths = write_pool(root, max(args.sizes))
    options = dict(TRAINING, rnn_units=tuple(args.rnn_units), cache_dir=str(root / "cache"),
                   save_dir=str(root / "runs"))
    memory, speed = [], []
    for n in args.sizes:
        data = dataset_of(root, paths, n)
        peaks = {mode: child(mode, data, dict(options, epochs=2))["peak"]
                 for mode in ("streamed", "in memory") if mode == "streamed" or n <= args.in_memory_max}
        print(f"{n} videos, peak RSS: {peaks}", flush=True)
        memory.append((n, peaks))
        if n <= args.in_memory_max:
            epochs = child("throughput", data, options, args.rounds)
            print(f"{n} videos, epochs: {epochs}", flush=True)
            speed.append((n, {path: (v[2] / statistics.median(v[0]), statistics.median(v[1]))
                              for path, v in epochs.items() if path != "peak"}))
    gb = 2**30
    first = memory[0][1]
    print(f"\n{FRAMES} frames x {DIM} float32 features per video; GRU{tuple(args.rnn_units)}, batch 32\n")
    print(table(["videos", "their features", "streamed: peak RSS", "growth", "in memory: peak RSS", "growth"],
                [[n, f"{n * FRAMES * DIM * 4 / gb:.2f} GiB", f"{p['streamed'] / gb:.2f} GiB",
                  f"+{(p['streamed'] - first['streamed']) / gb:.2f} GiB",
                  *((f"{p['in memory'] / gb:.2f} GiB", f"+{(p['in memory'] - first['in memory']) / gb:.2f} GiB")
                    if "in memory" in p else ("-", "-"))] for n, p in memory]))
    print(f"\nThroughput, both paths in one process taking {args.rounds} turns of 3 epochs each; medians of the "
          "epochs after a turn's first:\n")
    print(table(["videos", "in memory: train videos/s", "streamed", "ratio", "CPU s/epoch in memory", "streamed",
                 "ratio"],
                [[n, f"{s['in memory'][0]:.0f}", f"{s['streamed'][0]:.0f}",
                  f"**{s['streamed'][0] / s['in memory'][0]:.2f}x**", f"{s['in memory'][1]:.1f}",
                  f"{s['streamed'][1]:.1f}", f"{s['streamed'][1] / s['in memory'][1]:.2f}x"] for n, s in speed]))


if __name__ == "__main__":
    main()
