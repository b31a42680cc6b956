"""Identity splits: fakes kept, shares and time of the optimised assignment against the previous
heuristic (the `split_videos` of git ref `--baseline`, loaded from git), side by side in one run.

Tables (no files, `vidseq.data.shaped_tables`): DFD-shaped (28 actors linked by fakes into
components of 18, 5 and 5; 363 real, 3,029 fakes), split 70/15/15 with split seeds 0-4, and
in 5 identity folds; DFDC-shaped (120,000 videos, one identity per original), split and
folded. Per row: fakes kept, the val and test shares of the real videos and of the kept fakes,
seconds, and how the assignment was found. With --exact the exact program's limit is raised
(`--time-limit`) to show the optimum it proves.

    python bench/bench_splits.py [--baseline main] [--time-limit 30] [--seeds 5]
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from clips import table

from vidseq.data import assignment
from vidseq.data.shaped_tables import dfd_shaped_table, dfdc_shaped_table
from vidseq.data.splits import fold_videos, split_report, split_videos

ROOT = Path(__file__).resolve().parents[1]


def baseline_split(ref: str):
    """`split_videos` as it was at git `ref` (None where git or the ref is not there)."""
    try:
        source = subprocess.run(["git", "-C", str(ROOT), "show", f"{ref}:vidseq/data/splits.py"], check=True,
                                capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    path = Path(tempfile.mkdtemp()) / "baseline_splits.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("baseline_splits", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.split_videos


def measure(split, videos) -> dict:
    started = time.perf_counter()
    out = split(videos)
    seconds = time.perf_counter() - started
    report = split_report(out)
    return dict(kept=int(report.fake[["train", "val", "test"]].sum()), seconds=seconds,
                shares={s: (report.real_share[s], report.fake_share[s]) for s in ("val", "test")},
                how=out.attrs.get("assignment", "-"))


def shares(result: dict) -> str:
    return ", ".join(f"{s} {r:.1%}/{f:.1%}" for s, (r, f) in result["shares"].items())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="main", help="git ref of the previous split_videos")
    parser.add_argument("--time-limit", type=float, default=assignment.TIME_LIMIT,
                        help="seconds the exact program may take (vidseq.data.assignment.TIME_LIMIT)")
    parser.add_argument("--seeds", type=int, default=5, help="split seeds 0..N-1 on the DFD-shaped table")
    args = parser.parse_args()
    assignment.TIME_LIMIT = args.time_limit
    old = baseline_split(args.baseline)
    dfd, dfdc = dfd_shaped_table(), dfdc_shaped_table()
    rows = []
    for seed in range(args.seeds):
        for name, split in (("previous", old), ("optimised", split_videos)):
            if split is None:
                continue
            result = measure(lambda v: split(v, seed=seed), dfd)
            rows.append([f"DFD-shaped seed {seed}", name, result["kept"], shares(result), f"{result['seconds']:.1f}",
                         result["how"]])
            print(rows[-1], flush=True)
    started = time.perf_counter()
    folded = fold_videos(dfd, 5, seed=0)
    seconds = time.perf_counter() - started
    per_fold = folded[folded.fold > 0].groupby("fold").label.agg(real=lambda l: (l == 0).sum(), fake="sum")
    fold_shares = ", ".join(f"{r / per_fold.real.sum():.1%}/{f / per_fold.fake.sum():.1%}"
                            for r, f in zip(per_fold.real, per_fold.fake))
    rows.append(["DFD-shaped, 5 folds", "optimised", int(per_fold.fake.sum()), fold_shares, f"{seconds:.1f}",
                 folded.attrs.get("assignment")])
    for name, split in (("previous", old), ("optimised", split_videos)):
        if split is not None:
            result = measure(split, dfdc)
            rows.append(["DFDC-shaped 120,000", name, result["kept"], shares(result), f"{result['seconds']:.1f}",
                         result["how"]])
    started = time.perf_counter()
    fold_videos(dfdc, 5)
    rows.append(["DFDC-shaped 120,000, 5 folds", "optimised", "-", "-", f"{time.perf_counter() - started:.1f}",
                 "-"])
    print(f"\nDFD-shaped: {int(dfd.label.sum())} fakes, {int((dfd.label == 0).sum())} real; val/test shares of the "
          f"real videos / kept fakes (quota 15% ± 5 points; folds 20% ± 5); exact program limit "
          f"{args.time_limit:g} s; baseline: split_videos at {args.baseline}\n")
    print(table(["table", "split", "fakes kept", "shares (real/fake)", "seconds", "how"], rows))
    optimised = [r[2] for r in rows if r[0].startswith("DFD-shaped seed") and r[1] == "optimised"]
    previous = [r[2] for r in rows if r[0].startswith("DFD-shaped seed") and r[1] == "previous"]
    if previous:
        print(f"\nDFD-shaped fakes kept, median over seeds: optimised {statistics.median(optimised):.0f}, previous "
              f"{statistics.median(previous):.0f} ({statistics.median(optimised) / statistics.median(previous):.2f}x)")


if __name__ == "__main__":
    sys.exit(main())
