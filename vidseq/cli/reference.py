"""docs/cli.md, the command line's reference: every command's --help, rendered from the parser.

The flags are made from the run config's fields, so the reference is regenerated rather than
written: `python -m vidseq.cli.reference` rewrites docs/cli.md, and a test fails when the file
no longer matches the parser. argparse lays help out a little differently from one Python
version to the next, so the file names the version that rendered it.

    >>> print(cli_reference().splitlines()[0])
    # vidseq command-line reference
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from vidseq.cli.commands import build_parser, command_parsers

WIDTH = 100  # help lines are wrapped to this many columns, whatever the terminal
BEHAVIOUR = """\
## How the commands behave

- **Errors are one line** on stderr, exit status 2, naming what was received and what is
  valid, in flags: `vidseq train: error: Received: --epochs 0. Expected an int >= 1.`
  A flag argparse itself refuses (a type, a choice, an unknown flag) reads the same and
  ends with where to look: `... Expected a float. See vidseq train --help.`
- **Checks come before TensorFlow.** Every option's own check (each field of the run
  config), the data folder, a saved run's folder and `predict`'s video (a text file named
  `.mp4`, a file cut before its first frame) are answered before TensorFlow loads, in
  well under the seconds its import takes (figures: [benchmarks](benchmarks.md)). Only what
  needs Keras waits: Keras callback objects (Python API) and `--distribution`'s device count.
  `--weights imagenet` without internet fails before any progress bar starts.
- **Warnings are one line**: `vidseq demo: warning: Skipped unreadable video data/x.mp4: ...`;
  another library's warning says where it came from. In Python they are ordinary warnings
  of category `util.VidseqWarning` (`util.SkippedVideoWarning` for a video left out), which
  `warnings.filterwarnings("ignore", category=util.SkippedVideoWarning)` silences.
  TensorFlow's "triggered tf.function retracing" about Keras' own steps is dropped: each new
  model traces its steps once, and TensorFlow counts all models' traces as one function's
  (`vidseq.utils.quiet.KerasStepRetracing`); a retrace of your own functions still shows.
- **Ctrl-C** exits with status 130 and one line; everything finished is kept (cache, runs),
  and the same command resumes.
- **`vidseq extract`** says how many videos came from the cache: `Embedded 40 of 40 videos
  (40 read from the cache): ...`.
- **`vidseq compare`** ranks by validation AUC. `test_split` is a fingerprint of the test
  videos by content (each file's size, first and last 64 KiB) and label: runs with the
  same one were tested on the same videos, wherever the files lie, and only their test
  figures compare. A run saved before
  fingerprints went by content gets one recomputed while its test videos exist, else
  `path:<old fingerprint>`. An evaluation that scored some of the run's own training or
  validation videos (`vidseq evaluate RUN ITS_OWN_DATA --split all`) shows as
  `eval_<name>_seen_auc`, never as a plain `eval_<name>_auc`. Without `saved_models/`, or
  given a folder of videos, it says what is there and what to do.
"""
DOCS_FILE = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def python_version() -> str:
    """The "3.11"-style version whose argparse rendered the reference."""
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def cli_reference() -> str:
    """The markdown of docs/cli.md: `vidseq --help`, then each command's --help, in the parser's order."""
    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(WIDTH + 2)  # argparse wraps at the terminal's width, less 2
    try:
        parser = build_parser()
        commands = command_parsers(parser)
        parts = [
            "# vidseq command-line reference\n",
            "Every command's `--help`, generated from the parser (the flags of `vidseq train` are made from "
            "the run config's fields, `vidseq.training.config`). Do not edit by hand: "
            "`python -m vidseq.cli.reference` rewrites this file, and `tests/test_cli_reference.py` fails "
            f"when it is stale. Rendered by Python {python_version()}'s argparse.\n",
            "Commands: " + ", ".join(f"[`{c}`](#vidseq-{c})" for c in commands) + ".\n",
            BEHAVIOUR,
            _section("vidseq", parser),
            *(_section(f"vidseq {name}", command) for name, command in commands.items()),
        ]
    finally:
        if saved is None:
            os.environ.pop("COLUMNS")
        else:
            os.environ["COLUMNS"] = saved
    return "\n".join(parts)


def _section(title: str, parser) -> str:
    return f"## {title}\n\n```text\n{parser.format_help().rstrip()}\n```\n"


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DOCS_FILE
    path.write_text(cli_reference())
    print(f"Wrote {path}")


if __name__ == "__main__":
    main()
