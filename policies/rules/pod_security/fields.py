"""Reading pod and container fields for the controls: a wrong type is malformed input (fail closed)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.engine.model import Violation
from policies.engine.podspec import key_path
from policies.rules.pod_security.controls import Control


def mapping(node: Mapping[str, Any], key: str, path: str) -> Mapping[str, Any]:
    """The mapping under `key`, empty when unset."""
    value = node.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise TypeError(f"{key_path(path, key)}: expected an object")
    return value


def found(control: Control, path: str, detail: str) -> Violation:
    return Violation(path, control.message(detail), control.evidence())
