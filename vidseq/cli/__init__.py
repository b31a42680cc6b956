"""The `vidseq` command: `commands` (the subcommands) and `flags` (flags made from the run config's
fields). Arguments are checked before TensorFlow loads.
"""

from vidseq.cli.commands import main

__all__ = ["main"]
