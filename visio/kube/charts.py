"""Rendering our Helm charts (and third-party ones) offline with the real Helm library."""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from common.errors import InputError
from common.keypath import format_path
from common.paths import chart_path
from common.yamlsafe import Position, load_all_positioned
from visio.kube.chartcheck import confine

if TYPE_CHECKING:
    from common.config import StackConfig
    from components.catalogue import Service


@contextmanager
def _without_links(path: Path) -> Iterator[Path]:
    """The chart itself, or a copy with its links replaced by what they point to.

    Helm follows a link (our charts carry the library chart as one) but logs each on stderr; a copy
    keeps that line out of every plan. `confine` has already refused any link leading elsewhere.
    """
    if not any(p.is_symlink() for p in path.rglob("*")):
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="visio-chart-") as tmp:
        copy = Path(tmp) / path.resolve().name
        shutil.copytree(path, copy, symlinks=False)
        yield copy


def helm_render(path: Path, values: dict[str, Any] | None, release: str, namespace: str) -> dict[str, str]:
    """Helm's rendered templates (template path -> text), values checked against values.schema.json
    first, as `helm install` does."""
    confine(path)
    with _without_links(path) as loadable:
        return _render(path, loadable, values, release, namespace)


def _render(path: Path, loadable: Path, values: dict[str, Any] | None, release: str, namespace: str
            ) -> dict[str, str]:
    # Loaded on first render: the Helm library starts a Go runtime, which a forked process cannot
    # inherit, so importing this module must leave a process still able to fork workers.
    import helm_python

    chart_name = None
    try:
        chart = helm_python.Chart.load(loadable)
        chart_name = chart.name
        chart.validate_schema(values or {})
        return chart.render(values or {}, name=release, namespace=namespace, is_install=True)
    except helm_python.HelmError as exc:
        raise InputError(*helm_problems(str(path), str(exc), chart_name)) from None


def objects(path: Path, manifests: dict[str, str]) -> list[tuple[str, dict[str, Any]]]:
    """The objects of rendered templates: (template path, object) in template order."""
    return [(template, doc) for template, doc, _ in positioned_objects(path, manifests)]


def positioned_objects(path: Path, manifests: dict[str, str]) -> list[tuple[str, dict[str, Any], Position | None]]:
    """As `objects`, with where each object starts in its template as rendered."""
    found: list[tuple[str, dict[str, Any], Position | None]] = []
    for template in sorted(manifests):
        if not template.endswith((".yaml", ".yml", ".json")):
            continue  # NOTES.txt and helpers render to text
        for doc, position in load_all_positioned(manifests[template], template):
            if doc is None:
                continue
            if not isinstance(doc, dict) or "kind" not in doc:
                raise InputError(f"{path}: {template}: rendered a document that is not a Kubernetes object")
            found.append((template, doc, position))
    return found


def render(
    path: Path, values: dict[str, Any] | None, release: str, namespace: str
) -> list[tuple[str, dict[str, Any]]]:
    """Render one of our charts in-process and parse its manifests (charts someone else wrote go
    through `visio.audit.isolated`)."""
    return objects(path, helm_render(path, values, release, namespace))


# Helm's schema errors: a `<chart>:` line, then `- at '<JSON pointer>': <reason>` per violation.
_VIOLATION = re.compile(r"- at '([^']*)': (.+)")
_CHART_LINE = re.compile(r"([\w.-]+):")


MAX_LINE = 600


def _shorten(line: str) -> str:
    """A line of Helm's trace of nested includes keeps its start (where) and end (why)."""
    if len(line) <= MAX_LINE:
        return line
    half = MAX_LINE // 2
    return f"{line[:half]} … {line[-half:]}"


def _pointer(pointer: str) -> tuple[str | int, ...]:
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
    return tuple(int(p) if p.isdigit() else p for p in parts)


def helm_problems(where: str, message: str, chart: str | None = None) -> list[str]:
    """Helm's whole message as error lines: one per values-schema violation, naming its key (as in the
    values given, so a subchart's keys sit under its name), with the reasons of nested alternatives."""
    scope: tuple[str | int, ...] = ()
    problems: list[str] = []
    details: dict[int, list[str]] = {}
    top = -1  # indentation of the current violation; deeper ones explain it
    for raw in message.strip().splitlines():
        line, indent = raw.strip(), len(raw) - len(raw.lstrip())
        violation = _VIOLATION.fullmatch(line)
        if violation and problems and 0 <= top < indent:
            details.setdefault(len(problems) - 1, []).append(violation.group(2))
        elif violation:
            top = indent
            key = format_path((*scope, *_pointer(violation.group(1)))) or "(top level)"
            problems.append(f"{where}: values: {key}: {violation.group(2)}")
        elif _CHART_LINE.fullmatch(line):
            name = line.removesuffix(":")
            scope, top = (() if name == chart else (name,)), -1
        elif line and not line.endswith("in the following chart(s):"):
            problems.append(f"{where}: {_shorten(line)}")
            top = -1
    for index, reasons in details.items():
        problems[index] += f" ({'; '.join(reasons)})"
    # Helm lists violations in no stable order.
    return sorted(problems) or [f"{where}: Helm failed without a message"]


def dump(objects: list[dict[str, Any]]) -> str:
    return yaml.safe_dump_all(objects, sort_keys=False)


def render_service(service: Service, stack: StackConfig) -> list[dict[str, Any]]:
    """A service's chart as the program installs it for a stack: its values, release name and namespace."""
    return [o for _, o in render(chart_path(service.chart), service.values.values(stack), service.name,
                                 service.namespace)]
