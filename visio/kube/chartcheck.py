"""What a chart may reach, checked before Helm loads it: only its own files, and no schema that
refers outside itself.

Helm follows symbolic links wherever they point, and its schema compiler fetches `$ref` URLs over
HTTP and reads `file://` ones from disk. An audit of a chart someone else wrote reads nothing but
that chart and fetches nothing: a link leaving the chart, or a schema reference that is not a
`#...` fragment of the same document, makes the chart unusable input.
"""

from __future__ import annotations

import json
import os
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from common.errors import InputError
from common.keypath import format_path
from common.paths import CHARTS_DIR, display

SCHEMA_FILE = "values.schema.json"
MAX_SCHEMA_BYTES = 5 * 1024 * 1024
REFERENCES = ("$ref", "$dynamicRef", "$recursiveRef")
# The meta-schemas Helm's compiler knows without fetching anything.
META_SCHEMAS = frozenset(
    f"{scheme}://json-schema.org/{draft}"
    for scheme in ("http", "https")
    for draft in ("draft-04/schema", "draft-06/schema", "draft-07/schema", "draft/2019-09/schema",
                  "draft/2020-12/schema")
)


def _outside(link: Path, root: Path) -> bool:
    try:
        return not link.resolve().is_relative_to(root)
    except (OSError, RuntimeError):  # a loop of links
        return True


def _schema_problems(doc: Any) -> Iterator[str]:
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(doc, ())]
    while stack:
        node, path = stack.pop()
        if isinstance(node, dict):
            for key in REFERENCES:
                value = node.get(key)
                if isinstance(value, str) and not value.startswith("#"):
                    yield f"{format_path((*path, key)) or key}: {value!r} is not a reference inside the schema"
            meta = node.get("$schema")
            if isinstance(meta, str) and meta.rstrip("#") not in META_SCHEMAS:
                yield f"{format_path((*path, '$schema'))}: {meta!r} is not a meta-schema known offline"
            stack.extend((v, (*path, str(k))) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((v, (*path, i)) for i, v in enumerate(node))


def _check_schema(data: bytes, where: str) -> list[str]:
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        return []  # Helm words a schema it cannot parse
    return [f"{where}: {problem} (an offline audit fetches and reads nothing else)"
            for problem in sorted(_schema_problems(doc))]


def _archive_schemas(archive: Path) -> list[str]:
    problems: list[str] = []
    try:
        with tarfile.open(archive, "r:*") as tar:
            for member in tar:
                if member.isfile() and member.name.endswith(f"/{SCHEMA_FILE}") and member.size <= MAX_SCHEMA_BYTES:
                    handle = tar.extractfile(member)
                    if handle is not None:
                        problems += _check_schema(handle.read(), f"{display(archive)}: {member.name}")
    except (OSError, tarfile.TarError, EOFError):
        return []  # Helm words an archive it cannot read
    return problems


def reach(chart: Path) -> Path:
    """Where a chart's links may point: inside the chart, or for the project's own charts inside
    `charts/` (each carries the shared library chart as a link to `charts/visio-lib`)."""
    root = chart.resolve()
    own = CHARTS_DIR.resolve()
    return own if root.is_relative_to(own) else root


def confine(chart: Path) -> None:
    """InputError naming every link leaving the chart and every schema reference to elsewhere."""
    allowed = reach(chart)
    problems: list[str] = []
    for here, dirs, files in os.walk(chart.resolve(), followlinks=False):
        base = Path(here)
        for name in sorted([*dirs, *files]):
            path = base / name
            if path.is_symlink() and _outside(path, allowed):
                # The link's own name: resolving it to display it would print what it points to.
                problems.append(f"{Path(display(base)) / name}: symbolic link to outside the chart, not read")
        for name in sorted(files):
            path = base / name
            if path.is_symlink():
                continue
            if name == SCHEMA_FILE and path.stat().st_size <= MAX_SCHEMA_BYTES:
                problems += _check_schema(path.read_bytes(), display(path))
            elif name.endswith(".tgz") and base.name == "charts":
                problems += _archive_schemas(path)
    if problems:
        raise InputError(*problems)
