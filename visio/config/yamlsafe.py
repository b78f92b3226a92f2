"""Reading YAML from files a user hands us: bounded size, no aliases, no custom tags.

Aliases are refused outright because stack files and manifests never need them and an alias bomb
would otherwise expand when the document is walked. Documents are parsed by libyaml; one that turns
out to share a node (an alias) is parsed again by the pure-Python loader, which names the line.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from visio.errors import InputError

MAX_BYTES = 50 * 1024 * 1024


class _CLoader(yaml.CSafeLoader):
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


def _parse(text: str, source: Path | str) -> list[Any]:
    try:
        docs = list(yaml.load_all(text, Loader=_CLoader))
        if any(_shares_nodes(doc) for doc in docs):
            docs = list(yaml.load_all(text, Loader=_Loader))  # raises at the first alias, with its line
    except yaml.YAMLError as exc:
        raise _error(source, exc) from None
    except RecursionError:
        raise InputError(f"{source}: invalid YAML: nesting too deep") from None
    return docs


def load_all(text: str, source: Path | str) -> Iterator[Any]:
    yield from _parse(text, source)


def load_one(text: str, source: Path | str) -> Any:
    docs = _parse(text, source)
    if len(docs) > 1:
        raise InputError(f"{source}: expected one YAML document, found {len(docs)}")
    return docs[0] if docs else None
