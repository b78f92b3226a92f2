"""Finding the Kubernetes objects to audit: manifest files, directories and Helm charts.

Manifests are YAML (multi-document) or JSON, `kind: List` expanded. A directory is read recursively
for *.yaml, *.yml and *.json; a directory holding Chart.yaml is a Helm chart and is rendered with the
real Helm library instead (its templates are not manifests). Every object must be one Kubernetes
would accept (the 1.31 schemas, unknown fields refused); anything else is unusable input, reported as
one line naming the file, the document and the key path.
"""

from __future__ import annotations

import gc
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from policies.engine.adapters import from_kubernetes
from policies.engine.model import Resource
from visio import schema
from visio.config.jsonsafe import load_json
from visio.config.loader import display, format_path
from visio.config.yamlsafe import Leaves, load_all, load_one, read_text
from visio.errors import InputError
from visio.isolated import DEFAULT_LIMITS, Limits, render_manifests

KUBERNETES_VERSION = "1.31"
MAX_FILE_BYTES = 20 * 1024 * 1024
SUFFIXES = (".yaml", ".yml", ".json")
# What the API server accepts for a kind (a DNS-1035 label in any case) and an apiVersion's parts.
_KIND = re.compile(r"[A-Za-z](?:[-A-Za-z0-9]{0,61}[A-Za-z0-9])?")
_VERSION = re.compile(r"[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?")
_GROUP = re.compile(r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*")

@dataclass(frozen=True)
class Found:
    """One object and where it came from (`file#document`, `chart:template`)."""

    obj: dict[str, Any]
    source: str
    where: str  # for error lines: "<file>: document 2" or "<chart>: templates/x.yaml"


def _problem(where: str, loc: Sequence[str | int], reason: str) -> InputError:
    key = format_path(tuple(loc))
    return InputError(f"{where}: {key}: {reason}" if key else f"{where}: {reason}")


def _shape(obj: Any, where: str, loc: tuple[str | int, ...] = ()) -> None:
    """What every front end relies on before schema validation: kind, apiVersion, metadata."""
    if not isinstance(obj, dict):
        raise _problem(where, loc, f"expected a Kubernetes object (a mapping), got {_type(obj)}")
    for key in ("apiVersion", "kind"):
        value = obj.get(key)
        if value is None:
            raise _problem(where, (*loc, key), "required key is missing")
        if not isinstance(value, str) or not value:
            raise _problem(where, (*loc, key), f"must be a non-empty string, got {_type(value)}")
    if not _KIND.fullmatch(obj["kind"]):
        raise _problem(where, (*loc, "kind"), "not a Kubernetes kind (letters, digits and '-', at most 63)")
    group, _, version = obj["apiVersion"].rpartition("/")
    if len(group) > 253 or not _VERSION.fullmatch(version) or (group and not _GROUP.fullmatch(group)):
        raise _problem(where, (*loc, "apiVersion"), "not a Kubernetes apiVersion (`group/version` or `version`)")
    metadata = obj.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise _problem(where, (*loc, "metadata"), f"must be a mapping, got {_type(metadata)}")
    for key in ("name", "namespace", "generateName"):
        value = (metadata or {}).get(key)
        if value is not None and not isinstance(value, str):
            raise _problem(where, (*loc, "metadata", key), f"must be a string, got {_type(value)}")


def _type(value: Any) -> str:
    names = {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", int: "a number",
             float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def _schema(obj: dict[str, Any], where: str, loc: tuple[str | int, ...]) -> None:
    try:
        found = schema.errors(obj, KUBERNETES_VERSION)
    except schema.UnknownKind:
        return  # custom resources: no schema offline, the rules still see them
    if found:
        path, reason = found[0]
        raise _problem(where, (*loc, *path), reason.splitlines()[0])


def _is_list(obj: dict[str, Any]) -> bool:
    return bool(obj["kind"] == "List" or (obj["kind"].endswith("List") and "items" in obj))


def objects_of(
    doc: Any, where: str, loc: tuple[str | int, ...] = ()
) -> Iterator[tuple[dict[str, Any], tuple[str | int, ...]]]:
    """The objects of one document, each checked; a `List` (or any `*List` with items) is expanded,
    recursively as kubectl does, so no object hides in a list inside a list."""
    _shape(doc, where, loc)
    if not _is_list(doc):
        _schema(doc, where, loc)
        yield doc, loc
        return
    items = doc.get("items")
    if items is None:
        return
    if not isinstance(items, list):
        raise _problem(where, (*loc, "items"), f"must be a list, got {_type(items)}")
    for i, item in enumerate(items):
        yield from objects_of(item, where, (*loc, "items", i))


def _documents(path: Path, source: str, shared: Leaves | None = None) -> list[Any]:
    text = read_text(path, max_bytes=MAX_FILE_BYTES)
    try:
        if path.suffix == ".json":
            return [load_json(text, source)]
        return [doc for doc in load_all(text, source, shared) if doc is not None]
    except RecursionError:
        raise InputError(f"{source}: nesting too deep to be a Kubernetes manifest") from None
    except MemoryError:
        raise InputError(f"{source}: too large to parse") from None


def from_file(path: Path, shared: Leaves | None = None) -> list[Found]:
    source = display(path)
    docs = _documents(path, source, shared)
    found: list[Found] = []
    for index, doc in enumerate(docs, start=1):
        where = f"{source}: document {index}" if len(docs) > 1 else source
        for obj, loc in objects_of(doc, where):
            suffix = f"#{index}" if len(docs) > 1 else ""
            at = f".{format_path(loc)}" if loc else ""
            found.append(Found(obj, f"{source}{suffix}{at}", where))
    return found


def _merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Helm's values merge: mappings merge key by key, anything else is replaced."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def load_values(files: Sequence[Path]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for path in files:
        source = display(path)
        doc = load_one(read_text(path, max_bytes=MAX_FILE_BYTES), source)
        if doc is None:
            continue
        if not isinstance(doc, dict):
            raise InputError(f"{source}: a values file is a YAML mapping")
        values = _merge(values, doc)
    return values


def chart_name(path: Path) -> str:
    source = display(path / "Chart.yaml")
    doc = load_one(read_text(path / "Chart.yaml", max_bytes=1024 * 1024), source)
    name = doc.get("name") if isinstance(doc, dict) else None
    if not isinstance(name, str) or not name:
        raise InputError(f"{source}: name: required key is missing")
    return name


def from_chart(path: Path, values: dict[str, Any], limits: Limits = DEFAULT_LIMITS) -> list[Found]:
    from visio.charts import objects

    name = chart_name(path)
    source = display(path)
    found: list[Found] = []
    # A chart to audit is someone else's code: it runs in a child process, within limits.
    manifests = render_manifests(path, values, release=name, namespace="default", limits=limits)
    for template, doc in objects(path, manifests):
        where = f"{source}: {template}"
        for obj, loc in objects_of(doc, where):
            at = f".{format_path(loc)}" if loc else ""
            found.append(Found(obj, f"chart {name}: {template}{at}", where))
    return found


def _walk(directory: Path) -> Iterator[Path]:
    """Charts (directories with Chart.yaml) and manifest files under a directory, sorted.

    Hidden directories are read like any other (`kubectl apply -R` applies them). A symbolic link
    leading out of the directory is unusable input; one that stays inside is skipped when it names a
    directory (its target is read where it is) and read when it names a file.
    """
    if (directory / "Chart.yaml").is_file():
        yield directory
        return
    top = directory.resolve()
    problems: list[str] = []
    found: list[Path] = []
    for root, dirs, files in os.walk(directory, followlinks=False):
        here = Path(root)
        for name in sorted([*dirs, *files]):
            if (here / name).is_symlink() and not _inside(here / name, top):
                link = Path(display(here)) / name
                problems.append(f"{link}: symbolic link to outside {display(directory)}, not read")
        dirs[:] = sorted(d for d in dirs if not (here / d).is_symlink())
        charts = [d for d in dirs if (here / d / "Chart.yaml").is_file()]
        dirs[:] = [d for d in dirs if d not in charts]
        found += [here / d for d in charts]
        found += [here / f for f in sorted(files) if f.endswith(SUFFIXES) and _inside(here / f, top)]
    if problems:
        raise InputError(*problems)
    yield from found


def _inside(path: Path, top: Path) -> bool:
    try:
        return path.resolve().is_relative_to(top)
    except (OSError, RuntimeError):  # a loop of links
        return False


def collect(
    paths: Sequence[Path], values_files: Sequence[Path] = (), limits: Limits = DEFAULT_LIMITS
) -> list[Resource]:
    """Every object under the given paths, as engine resources; InputError on unusable input."""
    # Parsing builds millions of acyclic objects that all stay alive; the cycle collector would
    # rescan them again and again as the heap grows, for nothing to free.
    paused = gc.isenabled()
    gc.disable()
    try:
        return _collect(paths, values_files, limits)
    finally:
        if paused:
            gc.enable()


def _collect(paths: Sequence[Path], values_files: Sequence[Path], limits: Limits) -> list[Resource]:
    values = load_values(values_files)
    # The engine only reads what it is given, so equal leaf mappings across files can be one object:
    # a large estate repeats its labels, env entries and resource requests thousands of times.
    shared: Leaves = {}
    found: list[Found] = []
    problems: list[str] = []
    for path in paths:
        if not path.exists():
            problems.append(f"{display(path)}: no such file or directory")
            continue
        try:
            targets = list(_walk(path)) if path.is_dir() else [path]
        except InputError as exc:
            problems.extend(exc.problems)
            continue
        for target in targets:
            try:
                found.extend(from_chart(target, values, limits) if target.is_dir() else from_file(target, shared))
            except InputError as exc:
                problems.extend(exc.problems)
    if problems:
        raise InputError(*problems)
    return [from_kubernetes(f.obj, f.source) for f in found]
