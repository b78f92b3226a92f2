"""Imports run one way: front ends → components and rule engine → common, never back up.

Every module of the project is read as source (no import is executed), every `import` and
`from … import` in it is resolved, including those inside functions, and each is checked against the
layer table below. A new upward import fails here, naming the module, the line and the layer rule.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT

OURS = ("common", "policies", "components", "visio", "__main__")
# Parts of the command-line package every front end uses; they never reach into a front end.
CLI_SHARED = ("visio.cli", "visio.console", "visio.options", "visio.kube", "visio.cluster", "visio.report")

# Layer -> the layers its modules may import (their own included).
ALLOWED: dict[str, set[str]] = {
    "common": {"common"},
    "rule engine": {"rule engine", "common"},
    "components": {"components", "common"},
    # The program is a front end of the engine too: it has the engine generate the admission policies.
    "program": {"program", "components", "rule engine", "common"},
    "cli shared": {"cli shared", "rule engine", "components", "common"},
    "front end": {"front end", "cli shared", "rule engine", "components", "common"},
}


def _within(module: str, *prefixes: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def layer(module: str) -> str:
    if _within(module, "common"):
        return "common"
    if _within(module, "policies.pack", "policies.__main__"):
        return "front end"  # the CrossGuard pack is the engine's front end, like `visio plan`
    if _within(module, "policies"):
        return "rule engine"
    if _within(module, "components"):
        return "components"
    if module == "__main__":
        return "program"
    if module == "visio" or _within(module, *CLI_SHARED):
        return "cli shared"
    if _within(module, "visio"):
        return "front end"
    raise AssertionError(f"{module}: in no layer; add it to tests/test_layers.py")


def modules() -> Iterator[tuple[str, Path]]:
    yield "__main__", ROOT / "__main__.py"
    for top in ("common", "policies", "components", "visio"):
        for path in sorted((ROOT / top).rglob("*.py")):
            if "fixtures" in path.parts:
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


def imports(module: str, path: Path) -> Iterator[tuple[int, str]]:
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            yield node.lineno, target


def test_every_import_runs_down_the_layers() -> None:
    upward = []
    for module, path in modules():
        for line, target in imports(module, path):
            if target.split(".")[0] not in OURS or target.startswith("__future__"):
                continue
            if layer(target) not in ALLOWED[layer(module)]:
                where = path.relative_to(ROOT)
                upward.append(f"{where}:{line}: {module} ({layer(module)}) imports {target} ({layer(target)})")
    assert not upward, "\n".join(upward)


def test_common_imports_nothing_but_itself_and_libraries() -> None:
    found = [
        (module, target)
        for module, path in modules()
        if layer(module) == "common"
        for _, target in imports(module, path)
        if target.split(".")[0] in OURS and not _within(target, "common")
    ]
    assert found == []


@pytest.mark.parametrize(
    ("module", "target"),
    [
        ("policies.engine.evaluate", "visio.report.target"),
        ("components.base", "visio.kube.charts"),
        ("common.errors", "policies.engine.model"),
        ("visio.report.checks", "visio.verify.checks"),
        ("components.media", "__main__"),
    ],
)
def test_the_table_refuses_the_upward_imports_it_was_written_against(module: str, target: str) -> None:
    assert layer(target) not in ALLOWED[layer(module)]
