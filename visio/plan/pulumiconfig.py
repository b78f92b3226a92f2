"""The configuration a Pulumi program receives from the engine, built from a stack file.

As the CLI passes it: `ns:key` -> string (objects as JSON), and the list of keys holding secrets.
Offline nothing can be decrypted: each secure value of the stack file is replaced by a placeholder
that says so, still passed as a secret.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from common.config.loader import split_namespaces
from common.errors import InputError
from common.paths import display
from common.yamlsafe import load_one, read_text

PLACEHOLDER = "offline-placeholder-not-decrypted:{key}"


def engine_config(
    path: Path, overrides: Mapping[str, Any] | None = None
) -> tuple[dict[str, str], list[str]]:
    """Config as the engine hands it to a program: `ns:key` -> string (objects as JSON), secret keys.

    `overrides` use `pulumi config set --path` keys: `visio:capacity.peakConcurrentParticipants`.
    """
    source = display(path)
    doc = load_one(read_text(path, max_bytes=1024 * 1024), source)
    config = doc.get("config") if isinstance(doc, dict) else None
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise InputError(f"{source}: config: must be a mapping")
    config = copy.deepcopy(config)
    split_namespaces(config, source)  # the same key syntax check the CLI makes
    for key, value in (overrides or {}).items():
        _set_path(config, key, value, source)
    values: dict[str, str] = {}
    secret: list[str] = []
    for key, value in config.items():
        plain, had_secret = _placeholders(value, str(key))
        values[str(key)] = _engine_string(plain)
        if had_secret:
            secret.append(str(key))
    return values, secret


_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _set_path(config: dict[str, Any], key: str, value: Any, source: str) -> None:
    namespace, sep, dotted = key.partition(":")
    parts: list[str | int] = []
    for m in _PATH_PART.finditer(dotted):
        parts.append(m.group(1) if m.group(1) is not None else int(m.group(2)))
    if not sep or not parts or not isinstance(parts[0], str):
        raise InputError(f"{source}: {key}: override keys are written <namespace>:<key path>")
    top = f"{namespace}:{parts[0]}"
    if len(parts) == 1:
        config[top] = value
        return
    node: Any = config.setdefault(top, {})
    for part, following in itertools.pairwise(parts[1:]):
        try:
            child = node[part]
        except (KeyError, IndexError):
            child = [] if isinstance(following, int) else {}
            if isinstance(node, dict):
                node[part] = child
            else:
                raise InputError(f"{source}: {key}: index {part} out of range") from None
        except TypeError:
            raise InputError(f"{source}: {key}: {part!r} is not inside an object") from None
        node = child
    last = parts[-1]
    settable = isinstance(node, dict) or (isinstance(node, list) and isinstance(last, int) and last < len(node))
    if isinstance(node, list) and last == len(node):
        node.append(value)
    elif settable:
        node[last] = value
    else:
        raise InputError(f"{source}: {key}: {last!r} cannot be set there")


def _placeholders(value: Any, where: str) -> tuple[Any, bool]:
    if isinstance(value, dict) and set(value) == {"secure"}:
        return PLACEHOLDER.format(key=where), True
    if isinstance(value, dict):
        out, found = {}, False
        for k, v in value.items():
            out[k], hit = _placeholders(v, f"{where}.{k}")
            found = found or hit
        return out, found
    if isinstance(value, list):
        items = [_placeholders(v, f"{where}[{i}]") for i, v in enumerate(value)]
        return [v for v, _ in items], any(hit for _, hit in items)
    return value, False


def _engine_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value)
