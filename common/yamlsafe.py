"""Reading YAML from files a user hands us: bounded size, no aliases, no custom tags.

Aliases are refused outright because stack files and manifests never need them and an alias bomb
would otherwise expand when the document is walked. Documents are parsed by libyaml; one that turns
out to share a node (an alias) is parsed again by the pure-Python loader, which names the line.

Building Python objects from libyaml's nodes is most of the cost of reading a large estate, so plain
documents (strings, numbers, booleans, nulls, mappings and lists, no merge keys, no shared nodes) are
built by `_build`, a direct walk that calls PyYAML's own scalar constructors; anything else is left to
PyYAML's constructor, so the result, and every error, is the one PyYAML gives.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any

import yaml

from common.errors import InputError

MAX_BYTES = 50 * 1024 * 1024


class _CLoader(yaml.CSafeLoader):
    # libyaml asks the resolver for the tag of every scalar; the answer depends only on the text and
    # on whether it was quoted (this loader has no path resolvers), so short texts are remembered.
    _tags: dict[tuple[str, tuple[bool, bool]], str] = {}

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is not yaml.ScalarNode or len(value) > 64:
            return super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]
        key = (value, implicit)
        tag = self._tags.get(key)
        if tag is None:
            tag = super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]
            if len(self._tags) < 65536:
                self._tags[key] = tag
        return tag

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        pass  # no path resolvers: nothing to track

    def ascend_resolver(self) -> None:
        pass


class _Loader(yaml.SafeLoader):
    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise yaml.composer.ComposerError(
                None, None, "YAML aliases are not accepted", event.start_mark
            )
        return super().compose_node(parent, index)


# Keep timestamps and other implicit types as the plain strings Kubernetes sees.
for _cls in (_Loader, _CLoader):
    _cls.yaml_implicit_resolvers = {
        ch: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for ch, resolvers in _cls.yaml_implicit_resolvers.items()
    }


def _refuse(problem: str, node: yaml.Node) -> yaml.constructor.ConstructorError:
    return yaml.constructor.ConstructorError(None, None, problem, node.start_mark)


def _refuse_tag(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    # Kubernetes objects and Helm values are JSON data: bytes, dates and sets have no place in them.
    raise _refuse(f"the {node.tag.replace('tag:yaml.org,2002:', '!!')} tag is not accepted (JSON data only)", node)


def _int(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    try:
        return yaml.constructor.SafeConstructor.construct_yaml_int(loader, node)  # type: ignore[arg-type]
    except ValueError:
        raise _refuse(f"a number of {len(str(node.value))} characters is too long to be a value", node) from None


def _float(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    value = yaml.constructor.SafeConstructor.construct_yaml_float(loader, node)  # type: ignore[arg-type]
    if not math.isfinite(value):
        raise _refuse(f"{node.value} is not a JSON number", node)
    return value


for _cls in (_Loader, _CLoader):
    for _tag in ("timestamp", "binary", "set", "omap", "pairs"):
        _cls.add_constructor(f"tag:yaml.org,2002:{_tag}", _refuse_tag)
    _cls.add_constructor("tag:yaml.org,2002:int", _int)
    _cls.add_constructor("tag:yaml.org,2002:float", _float)


_YAML = "tag:yaml.org,2002:"
_MAP, _SEQ, _STR = f"{_YAML}map", f"{_YAML}seq", f"{_YAML}str"
_SCALARS = frozenset(f"{_YAML}{t}" for t in ("int", "float", "bool", "null"))
_SPECIAL_KEYS = frozenset((f"{_YAML}merge", f"{_YAML}value"))


class _Unusual(Exception):
    """A document only PyYAML's constructor builds exactly (tags, merge keys, aliases, odd keys)."""


# Mappings of strings to strings, by content, for `load_all(..., shared=...)`.
Leaves = dict[tuple[str, ...], dict[str, str]]


def _build(loader: _CLoader, node: yaml.Node, seen: set[int], shared: Leaves | None) -> Any:
    kind, tag = type(node), node.tag
    if kind is yaml.ScalarNode:
        if tag == _STR:
            # Keys and short values repeat across every object of an estate: keep one copy of each.
            value: str = node.value
            return sys.intern(value) if len(value) <= 64 else value
        if tag in _SCALARS:
            try:
                return loader.yaml_constructors[tag](loader, node)
            except Exception:
                raise _Unusual from None
        raise _Unusual
    if id(node) in seen:
        raise _Unusual  # a container reached twice: an alias
    seen.add(id(node))
    if kind is yaml.MappingNode and tag == _MAP:
        out: dict[Any, Any] = {}
        leaf = shared is not None
        for key_node, value_node in node.value:
            if key_node.tag in _SPECIAL_KEYS:
                raise _Unusual
            key = _build(loader, key_node, seen, shared)
            if isinstance(key, dict | list):
                raise _Unusual  # unhashable: PyYAML words the error
            value = out[key] = _build(loader, value_node, seen, shared)
            if leaf and (type(key) is not str or type(value) is not str):
                leaf = False
        if leaf and out and shared is not None:
            return shared.setdefault(tuple(chain.from_iterable(out.items())), out)
        return out
    if kind is yaml.SequenceNode and tag == _SEQ:
        return [_build(loader, item, seen, shared) for item in node.value]
    raise _Unusual


@dataclass(frozen=True)
class Position:
    """Where a document's object starts (1-based), and each entry of its top-level `items` list."""

    line: int
    column: int
    items: tuple[tuple[int, int], ...] = ()


def _position(node: yaml.Node) -> Position:
    items: tuple[tuple[int, int], ...] = ()
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == "items" and isinstance(value, yaml.SequenceNode):
                items = tuple((n.start_mark.line + 1, n.start_mark.column + 1) for n in value.value)
    return Position(node.start_mark.line + 1, node.start_mark.column + 1, items)


def _fast_parse(
    text: str, shared: Leaves | None = None, positions: list[Position] | None = None
) -> list[Any] | None:
    """The documents, or None when one needs PyYAML's constructor. Syntax errors propagate."""
    loader = _CLoader(text)
    try:
        docs = []
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                break
            docs.append(_build(loader, node, set(), shared))
            if positions is not None:
                positions.append(_position(node))
        return docs
    except (_Unusual, RecursionError):
        return None
    finally:
        loader.dispose()


def _shares_nodes(doc: Any) -> bool:
    """True when a container is reachable twice: the document used an alias."""
    seen: set[int] = set()
    stack = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, dict | list):
            if id(node) in seen:
                return True
            seen.add(id(node))
            stack.extend(node.values() if isinstance(node, dict) else node)
    return False


def read_text(path: Path, max_bytes: int = MAX_BYTES) -> str:
    try:
        size = path.stat().st_size
        if size > max_bytes:
            limit = max_bytes // (1024 * 1024)
            raise InputError(f"{path}: file is {size // (1024 * 1024)} MiB, over the {limit} MiB limit")
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    if b"\x00" in data:
        raise InputError(f"{path}: binary file, not YAML or JSON")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start})") from None


def _error(path: Path | str, exc: yaml.YAMLError) -> InputError:
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return InputError(f"{path}: invalid YAML: {where}{problem}")


def _parse(
    text: str, source: Path | str, shared: Leaves | None = None, positions: list[Position] | None = None
) -> list[Any]:
    try:
        fast = _fast_parse(text, shared, positions)
        if fast is not None:
            return fast
        docs = list(yaml.load_all(text, Loader=_CLoader))
        if any(_shares_nodes(doc) for doc in docs):
            docs = list(yaml.load_all(text, Loader=_Loader))  # raises at the first alias, with its line
        if positions is not None:
            positions[:] = [_position(node) for node in yaml.compose_all(text, Loader=_CLoader)]
    except yaml.YAMLError as exc:
        raise _error(source, exc) from None
    except RecursionError:
        raise InputError(f"{source}: invalid YAML: nesting too deep") from None
    return docs


def load_all(text: str, source: Path | str, shared: Leaves | None = None) -> Iterator[Any]:
    """Every document. With `shared`, equal string-to-string mappings (labels, env entries, resource
    requests) come out as one object, remembered in `shared` across calls: only for callers that never
    modify what they read."""
    yield from _parse(text, source, shared)


def load_all_positioned(
    text: str, source: Path | str, shared: Leaves | None = None
) -> list[tuple[Any, Position | None]]:
    """Every document with where it starts (see `load_all` for `shared`)."""
    positions: list[Position] = []
    docs = _parse(text, source, shared, positions)
    if len(positions) != len(docs):
        return [(doc, None) for doc in docs]
    return list(zip(docs, positions, strict=True))


def load_one(text: str, source: Path | str) -> Any:
    docs = _parse(text, source)
    if len(docs) > 1:
        raise InputError(f"{source}: expected one YAML document, found {len(docs)}")
    return docs[0] if docs else None
