"""docs/cli.md is every command's --help as the parser renders it now."""

import pytest

from vidseq.cli import reference


def test_docs_cli_md_matches_the_parser():
    written = reference.DOCS_FILE.read_text()
    if f"Rendered by Python {reference.python_version()}'s argparse" not in written:
        pytest.skip("docs/cli.md was rendered by another Python version, whose argparse lays help out differently")
    assert written == reference.cli_reference(), (
        "docs/cli.md is stale (a flag, its help or a default changed): run `python -m vidseq.cli.reference`")
