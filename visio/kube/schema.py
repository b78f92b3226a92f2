"""Strict validation of Kubernetes objects against the OpenAPI schema of a Kubernetes version.

The schemas are those `kubernetes-validate` ships; validators are built once per (version, kind) because
loading the shared definitions for every object would dominate a plan. Each object is first checked by
the compiled yes/no check of `visio.kube.schemacheck`; jsonschema words the errors of the objects it refuses.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from common.keypath import format_path as key_path_text
from visio.kube.defaulting import Defaults
from visio.kube.schemacheck import Check, compile_schema

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

_GROUP = re.compile(r"^([^./]*)(?:\.[^/]*)?/")


class UnknownKind(Exception):
    """No schema for this kind in this version (a custom resource, or a removed API)."""


_STRICT = re.compile(r"v(\d+)\.(\d+)\.(\d+)-local-strict")


@functools.cache
def _schemas() -> Path:
    # Found without importing kubernetes_validate: its package imports jsonschema, which only the
    # wording of a refusal needs.
    spec = importlib.util.find_spec("kubernetes_validate")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("kubernetes-validate is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "kubernetes-json-schema"


@functools.cache
def _strict_versions() -> tuple[tuple[tuple[int, int, int], str], ...]:
    found = [(m, entry.name) for entry in _schemas().iterdir() if (m := _STRICT.fullmatch(entry.name))]
    return tuple(sorted(((int(m[1]), int(m[2]), int(m[3])), name) for m, name in found))


def _schema_dir(version: str) -> str:
    wanted = tuple(int(p) for p in version.lstrip("v").split(".")[:2])
    available = [name for v, name in _strict_versions() if v[:2] <= wanted]
    if not available:
        raise ValueError(f"Kubernetes {version} is older than any schema available")
    return available[-1]


def _files(directory: str) -> Path:
    return _schemas() / directory


@functools.cache
def _known(directory: str) -> frozenset[str]:
    """The schema files of a version: `kind` and `apiVersion` are looked up here, never joined into a path."""
    return frozenset(entry.name for entry in _files(directory).iterdir() if entry.name.endswith(".json"))


@functools.cache
def _load(directory: str, name: str) -> Any:
    return json.loads((_files(directory) / name).read_text())


def _schema(version: str, api_version: str, kind: str) -> tuple[Any, Any]:
    directory = _schema_dir(version)
    group_version = _GROUP.sub(r"\1-", api_version)
    name = f"{kind.lower()}-{group_version}.json"
    if name.startswith("_") or name not in _known(directory):
        raise UnknownKind(f"{api_version} {kind}")
    return _load(directory, name), _load(directory, "_definitions.json")


@functools.cache
def _validator(version: str, api_version: str, kind: str) -> Validator:
    # Loaded only when an object is refused (or its schema is not compiled): jsonschema words the errors.
    import jsonschema
    from referencing import Registry, Resource

    schema, definitions = _schema(version, api_version, kind)
    registry: Registry[Any] = Resource.from_contents(schema) @ Registry()
    registry = Resource.from_contents(definitions) @ registry
    return jsonschema.validators.Draft202012Validator(schema, registry=registry)


@functools.cache
def _check(version: str, api_version: str, kind: str) -> Check | None:
    schema, definitions = _schema(version, api_version, kind)
    return compile_schema(schema, definitions.get("$defs", {}))


@functools.cache
def _defaults(directory: str) -> Defaults:
    return Defaults(_load(directory, "_definitions.json").get("$defs", {}))


@functools.cache
def _filler(version: str, api_version: str, kind: str) -> Callable[[Any], Any] | None:
    schema, _ = _schema(version, api_version, kind)
    return _defaults(_schema_dir(version)).node(schema)


def defaulted(obj: dict[str, Any], version: str) -> dict[str, Any]:
    """The object with the fields the API server defaults filled in; `obj` itself when none apply.

    UnknownKind when there is no schema (custom resources are not defaulted here).
    """
    fill = _filler(version, str(obj.get("apiVersion", "")), str(obj.get("kind", "")))
    if fill is None:
        return obj
    try:
        filled: dict[str, Any] = fill(obj)
    except RecursionError:
        return obj  # judged as written; the schema check words what is wrong with it
    return filled


def valid(obj: Mapping[str, Any], version: str) -> bool | None:
    """The compiled check's answer; None when it has none (schema not compiled, nesting too deep)."""
    check = _check(version, str(obj.get("apiVersion", "")), str(obj.get("kind", "")))
    if check is None:
        return None
    try:
        return check(obj)
    except RecursionError:
        return None


def errors(obj: Mapping[str, Any], version: str) -> list[tuple[tuple[str | int, ...], str]]:
    """Schema violations of one object as (field path, message), in field order; empty when valid."""
    if valid(obj, version):  # raises UnknownKind when there is no schema
        return []
    validator = _validator(version, str(obj.get("apiVersion", "")), str(obj.get("kind", "")))
    try:
        found = [(tuple(e.path), e.message[:300]) for e in validator.iter_errors(obj)]
    except RecursionError:
        path, depth = _deepest(obj)
        return [(path[:SHOWN_DEPTH], f"nested {depth} levels deep, too deep to validate")]
    return sorted(found, key=lambda item: list(map(str, item[0])))


SHOWN_DEPTH = 8  # of a path too deep to validate, the first keys say which field it is


def _deepest(obj: Any) -> tuple[tuple[str | int, ...], int]:
    """The path to the most deeply nested value and its depth, without recursion."""
    best: tuple[str | int, ...] = ()
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(obj, ())]
    while stack:
        node, path = stack.pop()
        if len(path) > len(best):
            best = path
        if isinstance(node, dict):
            stack.extend((v, (*path, str(k))) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((v, (*path, i)) for i, v in enumerate(node))
    return best, len(best)


def format_path(path: tuple[str | int, ...]) -> str:
    return key_path_text(path) or "(object)"


def problems(obj: Mapping[str, Any], version: str) -> list[str]:
    """Schema violations of one object as `field.path: message` lines (empty when valid)."""
    return [f"{format_path(path)}: {message}" for path, message in errors(obj, version)]
