"""What value an environment variable of a container ends up with, as far as the manifests tell.

Resolves `value`, `valueFrom.configMapKeyRef`/`secretKeyRef` and `envFrom` against the ConfigMaps and
Secrets of the same evaluation, with Kubernetes precedence (env over envFrom, later envFrom sources
over earlier ones). Anything that cannot be resolved is reported as unknown, never guessed.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from policies.engine.model import Resource
from policies.engine.podspec import list_at

State = Literal["unset", "set", "unknown"]


@dataclass(frozen=True)
class EnvValue:
    state: State
    value: str | None = None
    origin: str = ""


class DataIndex:
    """ConfigMap and Secret key/values by (kind, namespace, name)."""

    def __init__(self, resources: Sequence[Resource]) -> None:
        self._data: dict[tuple[str, str | None, str], Mapping[str, Any]] = {}
        for r in resources:
            if r.kind in ("ConfigMap", "Secret"):
                self._data[(r.kind, r.namespace, r.name)] = r.body

    def lookup(self, kind: str, namespace: str | None, name: str) -> dict[str, str] | None:
        body = self._data.get((kind, namespace, name))
        if body is None:
            return None
        out: dict[str, str] = {}
        data = body.get("data")
        if isinstance(data, Mapping):
            for k, v in data.items():
                if isinstance(v, str):
                    out[str(k)] = _decode(v) if kind == "Secret" else v
        string_data = body.get("stringData") if kind == "Secret" else None
        if isinstance(string_data, Mapping):
            out.update({str(k): v for k, v in string_data.items() if isinstance(v, str)})
        return out


def _decode(value: str) -> str:
    try:
        return base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return ""


def _from_ref(index: DataIndex, namespace: str | None, value_from: Mapping[str, Any]) -> EnvValue:
    for field, kind in (("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")):
        ref = value_from.get(field)
        if isinstance(ref, Mapping):
            name, key = ref.get("name"), ref.get("key")
            data = index.lookup(kind, namespace, str(name)) if name else None
            origin = f"{kind} {name} key {key}"
            if data is None or not isinstance(key, str):
                return EnvValue("unknown", origin=origin)
            if key not in data:
                return EnvValue("unset" if ref.get("optional") else "unknown", origin=origin)
            return EnvValue("set", data[key], origin)
    return EnvValue("unknown", origin="valueFrom")


def resolve_env(
    name: str, container: Mapping[str, Any], namespace: str | None, index: DataIndex, path: str = ""
) -> EnvValue:
    found: EnvValue | None = None
    for entry in list_at(container, "env", path):
        if isinstance(entry, Mapping) and entry.get("name") == name:
            value = entry.get("value")
            value_from = entry.get("valueFrom")
            if isinstance(value_from, Mapping):
                found = _from_ref(index, namespace, value_from)
            else:
                found = EnvValue("set", value if isinstance(value, str) else "", "env")
    if found is not None:
        return found
    for source in reversed(list_at(container, "envFrom", path)):
        if not isinstance(source, Mapping):
            continue
        prefix = source.get("prefix") or ""
        if not name.startswith(prefix):
            continue
        for field, kind in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
            ref = source.get(field)
            if not isinstance(ref, Mapping):
                continue
            origin = f"{kind} {ref.get('name')}"
            data = index.lookup(kind, namespace, str(ref.get("name")))
            if data is None:  # not in this evaluation: it may hold the variable
                return EnvValue("unknown", origin=origin)
            if name[len(prefix):] in data:
                return EnvValue("set", data[name[len(prefix):]], origin)
    return EnvValue("unset")
