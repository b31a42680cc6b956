"""README.md and the guides in docs/: links that resolve, the set-up commands CI runs, code that runs.

Tier 1 reads the Markdown only (no TensorFlow). The slow tier executes every ```python block
of README.md and the guides on the demo dataset, in a temporary folder with its own cache:
each file's blocks in order in one namespace, README's first (its runs are the ones the
guides' `saved_models/<run>` stands for). A block that needs what vidseq cannot make here
says so on the line before it, `<!-- needs: real data -->` (or `imagenet`, `ray`, `gpu`,
`time (...)`, `mesonet weights`), and is skipped, counted.
"""

from __future__ import annotations

import re
import shutil
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
DOCS = sorted((REPO / "docs").glob("*.md"))
MARKDOWN = [README, *DOCS]
README_MAX_LINES = 300
DEMO_COMMAND = "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/vidseq demo"

FENCE = re.compile(r"^(`{3,}|~{3,})(.*)$")
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
NEEDS = re.compile(r"^<!--\s*needs:\s*(.+?)\s*-->$")


@dataclass
class Block:
    language: str
    code: str
    line: int  # of the opening fence, 1-based
    needs: str | None  # from a `<!-- needs: ... -->` line right before the fence


def split_markdown(text: str) -> tuple[list[str], list[Block]]:
    """The lines outside fenced code blocks, and the fenced blocks themselves."""
    prose, blocks, lines = [], [], text.splitlines()
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i].strip())
        if not opening:
            prose.append(lines[i])
            i += 1
            continue
        fence, start = opening[1], i
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            i += 1
        previous = next((line.strip() for line in reversed(lines[:start]) if line.strip()), "")
        needs = NEEDS.match(previous)
        blocks.append(Block(opening[2].strip(), "\n".join(lines[start + 1 : i]), start + 1,
                            needs[1] if needs else None))
        i += 1
    return prose, blocks


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: its text lowercased, punctuation but `-` and `_` dropped,
    spaces as `-` (links and inline code keep their text)."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip()).lower()
    text = "".join(c for c in text if c.isalnum() or c in " -_")
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every heading's anchor in a Markdown file; a repeated heading gets -1, -2, ... as on GitHub."""
    prose, _ = split_markdown(path.read_text())
    seen: dict[str, int] = {}
    found = set()
    for line in prose:
        heading = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if heading:
            base = slug(heading[1])
            found.add(base if base not in seen else f"{base}-{seen[base]}")
            seen[base] = seen.get(base, 0) + 1
    return found


def links(path: Path) -> list[str]:
    """The link targets of a Markdown file, outside code blocks and inline code."""
    prose, _ = split_markdown(path.read_text())
    text = re.sub(r"(`+).*?\1", "", "\n".join(prose))
    return LINK.findall(text)


def broken_links(path: Path) -> list[str]:
    """The relative links of a Markdown file whose file does not exist or whose #anchor is no heading."""
    broken = []
    for target in links(path):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto: ...: not checked offline
            continue
        file, _, anchor = target.partition("#")
        resolved = (path.parent / file).resolve() if file else path
        if not resolved.exists():
            broken.append(f"{target}: no such file")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(f"{target}: no heading with the anchor #{anchor} in {resolved.name}")
    return broken


@pytest.mark.parametrize("path", MARKDOWN, ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_and_anchor_resolves(path):
    assert broken_links(path) == []


def test_the_slug_rules_are_githubs():
    assert slug("Quotas, their tolerance, and the fakes a split keeps") == "quotas-their-tolerance-and-the-fakes-a-split-keeps"
    assert slug("`train_test_classifier` keywords") == "train_test_classifier-keywords"
    assert slug("explain.png in every run folder") == "explainpng-in-every-run-folder"
    assert slug("`util.py` (seed) -> vidseq") == "utilpy-seed---vidseq"
    assert slug("The figures, 2026-12-02") == "the-figures-2026-12-02"


def test_the_link_checker_can_fail(tmp_path):
    (tmp_path / "a.md").write_text("# Title\n\n[ok](#title) [bad](b.md) [anchor](a.md#nowhere)\n"
                                   "```md\n[in code](c.md)\n```\n`[inline](d.md)`\n")
    assert links(tmp_path / "a.md") == ["#title", "b.md", "a.md#nowhere"]
    assert anchors(tmp_path / "a.md") == {"title"}
    assert broken_links(tmp_path / "a.md") == ["b.md: no such file", "a.md#nowhere: no heading with the anchor "
                                               "#nowhere in a.md"]


def test_readme_is_a_front_door():
    lines = README.read_text().splitlines()
    assert len(lines) < README_MAX_LINES, f"README.md has {len(lines)} lines: move detail into docs/"
    guides = {target.split("#")[0] for target in links(README)}
    missing = [p.name for p in DOCS if f"docs/{p.name}" not in guides]
    assert not missing, f"README's guide list lacks {missing}"


def test_readme_set_up_commands_are_what_ci_runs():
    """The test command is .ci/run's, character for character; the demo command installs the same way."""
    ci = (REPO / ".ci" / "run").read_text().splitlines()
    test_command = next(line.strip() for line in ci if line.startswith("python3 -m venv"))
    _, blocks = split_markdown(README.read_text())
    set_up = [line.strip() for block in blocks if block.language == "bash" for line in block.code.splitlines()]
    assert test_command in set_up, f"README's test command differs from .ci/run's: {test_command}"
    assert DEMO_COMMAND in set_up
    assert DEMO_COMMAND.split("-e ")[0] == test_command.split("-e ")[0]  # the same venv and pip


def test_readme_lists_every_extra():
    tomllib = pytest.importorskip("tomllib")
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    readme = README.read_text()
    assert [e for e in extras if f"| `{e}` |" not in readme] == []


# --- Slow tier: the code blocks run ---------------------------------------------------------

AVAILABLE_NEEDS: set[str] = set()  # filled per session: "mesonet weights" when the project's copy is found


def best_run(save_dir: Path) -> str:
    from vidseq.runs.leaderboard import compare_saved_models

    return compare_saved_models(str(save_dir)).run[0]


def run_blocks(path: Path, work: Path, ran: dict, skipped: dict, failures: list) -> None:
    """Execute `path`'s python blocks in order in one namespace, `saved_models/<run>` filled in."""
    _, blocks = split_markdown(path.read_text())
    namespace: dict = {"__name__": f"docs:{path.name}"}
    name = str(path.relative_to(REPO))
    for block in (b for b in blocks if b.language == "python"):
        if block.needs and block.needs not in AVAILABLE_NEEDS:
            skipped.setdefault(block.needs.split(" (")[0], []).append(f"{name}:{block.line}")
            continue
        code = block.code
        if "<run>" in code:
            code = code.replace("saved_models/<run>", f"saved_models/{best_run(work / 'saved_models')}")
        started = time.perf_counter()
        try:
            exec(compile(code, f"{name}:{block.line}", "exec"), namespace)
        except Exception:
            failures.append(f"{name}:{block.line}\n{traceback.format_exc(limit=-3)}")
        ran.setdefault(name, []).append(f"{block.line} ({time.perf_counter() - started:.0f} s)")


@pytest.mark.slow
def test_the_python_blocks_run(tmp_path, monkeypatch, request, capsys):
    import matplotlib

    matplotlib.use("Agg")
    from vidseq.data.demo_data import make_demo_dataset

    try:
        request.getfixturevalue("mesonet_weights")  # sets $VIDSEQ_MESONET_WEIGHTS: never downloaded
        AVAILABLE_NEEDS.add("mesonet weights")
    except (pytest.skip.Exception, pytest.fail.Exception):
        AVAILABLE_NEEDS.discard("mesonet weights")
    monkeypatch.setenv("VIDSEQ_CACHE", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))  # as a notebook beside the data: files it writes import
    make_demo_dataset("data/demo")

    ran, skipped, failures = {}, {}, []
    run_blocks(README, tmp_path, ran, skipped, failures)
    assert ran.get("README.md") and not failures, "README's notebook example failed:\n" + "\n".join(failures)
    readme_runs = tmp_path / "readme_runs"
    shutil.copytree(tmp_path / "saved_models", readme_runs)
    for guide in DOCS:
        # Each guide starts from README's runs (as after `vidseq demo`), not from the runs other guides made.
        shutil.rmtree(tmp_path / "saved_models", ignore_errors=True)
        shutil.copytree(readme_runs, tmp_path / "saved_models")
        run_blocks(guide, tmp_path, ran, skipped, failures)

    with capsys.disabled():
        print(f"\nDocs' python blocks: ran {sum(map(len, ran.values()))}, "
              f"skipped {sum(map(len, skipped.values()))}, failed {len(failures)}", file=sys.stderr)
        for name, lines in ran.items():
            print(f"  ran {name}: blocks at lines {', '.join(lines)}", file=sys.stderr)
        for need, where in skipped.items():
            print(f"  skipped, needs {need}: {', '.join(where)}", file=sys.stderr)
    assert not failures, "\n\n".join(failures)
