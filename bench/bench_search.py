"""A 12-head search: `model_builder.search` on cached embeddings against 12 seed-style runs.

The seed notebook ran each head as its own run: build the image model, seek to every
sampled frame of every video, `predict` per video, then train the head. `search` embeds
each video once (cold cache at the start: that cost is included) and trains the 12 heads
on the cached embeddings. Both sides: the same clips (720p 10 s H.264, 8 real + 8 fake by
default), 16 frames, MobileNetV2 weights="random", the same heads, epochs and split.

    python bench/bench_search.py [--quick]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import keras

import model_builder
import util
from bench_embed import FRAMES, NAME, seed_style
from clips import folders_dataset, table
from vidseq.features import backbone_models
from vidseq.runs import search

SPACE = {"rnn": ["gru", "lstm"], "rnn_units": [[32], [64], [64, 32]], "rnn_pooling": ["last", "mean"]}  # 12 heads
TRAINING = dict(epochs=5, batch_size=8, learning_rate=1e-3, val_size=0.25, test_size=0.25)


def seed_runs(root: Path, heads: list[dict]) -> float:
    """Each head: rebuild the backbone, re-extract every clip seek by seek, train; seconds in all."""
    videos = util.split_videos(util.discover_videos(root), TRAINING["val_size"], TRAINING["test_size"], 42)
    start = time.perf_counter()
    for head in heads:
        backbone_models.clear_cache()  # the seed built its image model in every run
        model = backbone_models.build_backbone(NAME, "random")
        features = seed_style(videos.path, model)
        data = {s: (features[(videos.split == s).to_numpy()], videos.label[videos.split == s].to_numpy())
                for s in util.SPLITS}
        classifier = model_builder.build_classifier(FRAMES, features.shape[-1], **head)
        classifier.compile(keras.optimizers.Adam(TRAINING["learning_rate"]), "binary_crossentropy")
        classifier.fit(*data["train"], validation_data=data["val"], epochs=TRAINING["epochs"],
                       batch_size=TRAINING["batch_size"], verbose=0)
        classifier.predict(data["test"][0], verbose=0)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="360p clips instead of 720p")
    parser.add_argument("--clips", type=int, default=8, help="clips per class")
    args = parser.parse_args()
    print("Generating clips (once, cached in bench/.clips/) ...", flush=True)
    root, paths = folders_dataset(args.clips, **({"size": (360, 640)} if args.quick else {}))
    heads = search.expand_head(SPACE)
    assert len(heads) == 12
    tmp = Path(tempfile.mkdtemp(prefix="vidseq-bench-search-"))
    backbone_models.build_backbone(NAME, "random")  # the process's first build is slower: not on either side

    backbone_models.clear_cache()
    start = time.perf_counter()
    board = model_builder.search(root, num_frames=[FRAMES], img_model_names=[NAME], heads=[SPACE], weights="random",
                                 cache_dir=tmp / "cache", save_dir=tmp / "runs", **TRAINING)
    ours = time.perf_counter() - start
    start = time.perf_counter()
    model_builder.search(root, num_frames=[FRAMES], img_model_names=[NAME], heads=[SPACE], weights="random",
                         cache_dir=tmp / "cache", save_dir=tmp / "runs", **TRAINING)
    resumed = time.perf_counter() - start
    print(f"search: {ours:.1f} s ({len(board)} runs); resumed: {resumed:.2f} s", flush=True)
    seed = seed_runs(root, heads)
    print(f"seed-style: {seed:.1f} s", flush=True)

    print(f"\n{len(paths)} clips ({'360p' if args.quick else '720p'}, 10 s, 30 fps H.264), {FRAMES} frames, "
          f"{NAME} weights='random', 12 heads x {TRAINING['epochs']} epochs, 2-core CPU.\n")
    print(table(["", "seconds", "ratio", "goal"], [
        ["12 seed-style runs (rebuild, seek-extract, train each)", f"{seed:.1f}", "1x", ""],
        ["`search`, cold cache (embed once, 12 heads)", f"{ours:.1f}", f"**{seed / ours:.1f}x**", ">= 20x"],
        ["`search` again (all 12 finished: resumed)", f"{resumed:.2f}", f"{seed / resumed:.0f}x", ""],
    ]))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
