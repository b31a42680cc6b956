"""What a new user waits for in the first hour: `vidseq demo` from a fresh clone, its rerun,
`vidseq compare`, each bad option's error, and (with --tier1) the test suite.

Every step runs the installed `vidseq` command as a subprocess in a new temporary folder
with an empty cache (what a fresh clone has: no data/demo, no saved_models/, no
embeddings), timed by wall clock. The machine may be shared: each figure comes with its
ratio to `python -c "import tensorflow"` measured in the same run (the baseline that
compares across machines and loads), steps that repeat give their median, and the load
average is recorded before and after. The results replace this script's section of
docs/benchmarks.md (between its markers); README's timings are copied from there.

    python bench/bench_first_hour.py [--repeats 3] [--tier1] [--out docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VIDSEQ = str(Path(sys.executable).with_name("vidseq"))
START, END = "<!-- bench_first_hour: start -->", "<!-- bench_first_hour: end -->"
# Each option's own range check, a wrong type, a wrong choice: `vidseq train data/demo FLAG VALUE`.
BAD_OPTIONS = (("--epochs", "-1"), ("--epochs", "0"), ("--dropout", "2"), ("--batch-size", "0"), ("--num-frames", "0"),
               ("--val-size", "2"), ("--model", "VGG16"), ("--learning-rate", "abc"), ("--rnn", "transformer"),
               ("--reduce-lr", '{"factor": 2}'))


def timed(command: list[str], cwd: Path, env: dict, ok: tuple[int, ...] = (0,)) -> tuple[float, str]:
    """Wall-clock seconds of one subprocess, and its stdout; its exit status must be in `ok`."""
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if result.returncode not in ok:
        raise RuntimeError(f"{' '.join(command)} exited {result.returncode}:\n{result.stderr[-3000:]}")
    return seconds, result.stdout


def median_of(repeats: int, command: list[str], cwd: Path, env: dict, ok: tuple[int, ...] = (0,)) -> float:
    return statistics.median(timed(command, cwd, env, ok)[0] for _ in range(repeats))


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else "?"
    memory = next((int(line.split()[1]) / 2**20 for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal")), 0) if Path("/proc/meminfo").exists() else 0
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout
    versions = ", ".join(f"{p} {metadata.version(p)}" for p in ("tensorflow", "keras", "vidseq"))
    return (f"{cpu}, {os.cpu_count()} cores, {memory:.0f} GiB; Python {platform.python_version()}, {versions}; "
            f"commit {commit.strip() or '?'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs of each repeatable step (their median)")
    parser.add_argument("--tier1", action="store_true", help="also time `python -m pytest` (tier 1), once")
    parser.add_argument("--out", default=str(REPO / "docs" / "benchmarks.md"), help="the markdown file to update")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="vidseq-first-hour-"))
    env = {**os.environ, "VIDSEQ_CACHE": str(work / "cache")}  # an empty cache, as on a fresh clone
    env.pop("VIDSEQ_VERBOSE", None)
    rows: list[tuple[str, float, str]] = []  # (step, seconds, note)

    def record(step: str, seconds: float, note: str) -> None:
        rows.append((step, seconds, note))
        print(f"  {step}: {seconds:.1f} s ({note})", flush=True)  # as it comes: a later failure keeps it

    loads = [load()]
    try:
        print("Baselines ...", flush=True)
        python = median_of(args.repeats, [sys.executable, "-c", "pass"], work, env)
        tensorflow = median_of(args.repeats, [sys.executable, "-c", "import tensorflow"], work, env)
        record("`python -c \"import tensorflow\"` (baseline)", tensorflow, f"median of {args.repeats}")
        record("`python -c pass`", python, f"median of {args.repeats}")
        record("`vidseq --help`", median_of(args.repeats, [VIDSEQ, "--help"], work, env), f"median of {args.repeats}")

        print("vidseq demo, fresh ...", flush=True)
        seconds, out = timed([VIDSEQ, "demo"], work, env)
        generated = re.search(r"'seconds': ([\d.]+)", out)
        record("`vidseq demo` from a fresh clone", seconds,
               f"once; of which writing the 40 demo videos {float(generated[1]):.0f} s" if generated else "once")
        loads.append(load())
        print("vidseq demo, rerun ...", flush=True)
        record("`vidseq demo` again (runs and cache reused)",
               median_of(args.repeats, [VIDSEQ, "demo"], work, env), f"median of {args.repeats}")
        runs = [p for p in (work / "saved_models").iterdir() if (p / "metrics.json").is_file()]
        record(f"`vidseq compare` ({len(runs)} runs)", median_of(args.repeats, [VIDSEQ, "compare"], work, env),
               f"median of {args.repeats}")

        print("Bad options ...", flush=True)
        bad = {f"`vidseq train data/demo {flag} {value}`":
               median_of(args.repeats, [VIDSEQ, "train", "data/demo", flag, value], work, env, ok=(2,))
               for flag, value in BAD_OPTIONS}
        (work / "notes.mp4").write_text("not a video\n" * 100)
        bad["`vidseq predict notes.mp4` (a text file)"] = median_of(
            args.repeats, [VIDSEQ, "predict", "notes.mp4", "--run", str(runs[0])], work, env, ok=(2,))
        bad["`vidseq train nowhere` (no such folder)"] = median_of(
            args.repeats, [VIDSEQ, "train", "nowhere"], work, env, ok=(2,))
        slowest = max(bad, key=bad.get)
        record(f"each of {len(bad)} bad inputs, slowest", bad[slowest], f"{slowest}; median of {args.repeats}")
        record(f"each of {len(bad)} bad inputs, median", statistics.median(bad.values()), "")
        loads.append(load())

        if args.tier1:
            print("Tier 1 ...", flush=True)
            log = Path(tempfile.gettempdir()) / "vidseq-first-hour-tier1.log"
            # A failing test is reported, not fatal: the timing is still the suite's.
            seconds, out = timed([sys.executable, "-m", "pytest", "-q", "-rf"], REPO, {**os.environ}, ok=(0, 1))
            log.write_text(out)
            summary = next((line for line in reversed(out.splitlines()) if " passed" in line), "")
            record("tier 1 (`python -m pytest`)", seconds, f"once; {summary.strip('= ')}")
            print(f"Tier 1: {summary.strip('= ')} (its output: {log})", flush=True)
            loads.append(load())
    finally:
        shutil.rmtree(work, ignore_errors=True)

    table = ["| step | seconds | × TF import | how |", "|---|---:|---:|---|"]
    table += [f"| {step} | {seconds:.1f} | {seconds / tensorflow:.2f} | {note} |" for step, seconds, note in rows]
    section = "\n".join([
        START,
        f"Measured {time.strftime('%Y-%m-%d %H:%M %Z')} by `python bench/bench_first_hour.py"
        f"{' --tier1' if args.tier1 else ''} --repeats {args.repeats}` on: {machine()}.",
        "",
        f"Load average (1, 5, 15 min) at the start and after each stage: {' → '.join(loads)} "
        f"({os.cpu_count()} cores: a load above that means other processes shared the machine and every "
        "time here is longer than on an idle one; the ratios to the TensorFlow import, measured alongside, "
        "are what carries over).",
        "",
        *table,
        END,
    ])
    out = Path(args.out)
    text = out.read_text() if out.exists() else ""
    if START in text and END in text:
        text = text[: text.index(START)] + section + text[text.index(END) + len(END):]
    else:
        heading = "## First hour (`bench/bench_first_hour.py`)"
        text = (text.rstrip() + "\n\n" if text else "") + f"{heading}\n\n{section}\n"
    out.write_text(text)
    print(section)


if __name__ == "__main__":
    main()
