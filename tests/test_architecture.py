"""The package's shape: stages import only earlier stages, and no modules import each other in a circle.

Imports are read from the source (every `import` and `from ... import`, inside functions too),
so a lazy import cannot hide an upward dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import vidseq

PACKAGE = Path(vidseq.__file__).parent
# The stages in the order data flows; a module imports only its own stage and earlier ones.
STAGES = ("utils", "data", "features", "models", "training", "runs", "cli", "app")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def vidseq_imports(path: Path) -> set[str]:
    """The vidseq modules `path` imports (`from vidseq.x import name` counts as vidseq.x, or as
    vidseq.x.name where that is a module)."""
    modules = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            modules.update(a.name for a in node.names if a.name.startswith("vidseq"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("vidseq") and not node.level:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                modules.add(sub if (PACKAGE.parent / sub.replace(".", "/")).with_suffix(".py").is_file()
                            or (PACKAGE.parent / sub.replace(".", "/")).is_dir() else node.module)
    return modules


GRAPH = {module_name(p): vidseq_imports(p) for p in PACKAGE.rglob("*.py")}


def stage(module: str) -> int | None:
    parts = module.split(".")
    return STAGES.index(parts[1]) if len(parts) > 1 and parts[1] in STAGES else None


def test_every_module_lives_in_a_stage():
    loose = sorted(m for m in GRAPH if stage(m) is None and m not in ("vidseq", "vidseq.coatnet"))
    assert not loose, f"modules outside the stage packages {STAGES}: {loose}"


def test_no_import_from_a_later_stage():
    upward = sorted((m, i) for m, imports in GRAPH.items() for i in imports
                    if stage(m) is not None and stage(i) is not None and stage(i) > stage(m))
    assert not upward, f"imports from a later stage: {upward}"


def test_no_import_circle():
    state: dict[str, int] = {}

    def visit(module: str, trail: list[str]) -> None:
        state[module] = 1
        for other in sorted(GRAPH.get(module, ())):
            if other not in GRAPH or other == module:
                continue
            assert state.get(other) != 1, f"import circle: {' -> '.join(trail + [module, other])}"
            if other not in state:
                visit(other, trail + [module])
        state[module] = 2

    for module in sorted(GRAPH):
        if module not in state:
            visit(module, [])
