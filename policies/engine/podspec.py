"""Where pod specs live in every workload kind, and the containers inside them, with field paths.

A pod template hidden in a less common carrier (ReplicationController, PodTemplate, a CronJob's job
template) or an image in an init or ephemeral container is where allow-lists usually get bypassed, so
every rule that looks at pods goes through here.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Mapping
from typing import Any

from policies.engine.model import Resource

_TEMPLATE = ("spec", "template", "spec")
CARRIERS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "Deployment": _TEMPLATE,
    "StatefulSet": _TEMPLATE,
    "DaemonSet": _TEMPLATE,
    "ReplicaSet": _TEMPLATE,
    "ReplicationController": _TEMPLATE,
    "Job": _TEMPLATE,
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    "PodTemplate": ("template", "spec"),
}
CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")

_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")


def key_path(prefix: str, key: str) -> str:
    """`prefix.key`, or `prefix["key"]` when the key holds dots, slashes or other separators."""
    part = f".{key}" if _PLAIN_KEY.match(key) else f'["{key}"]'
    return part[1:] if not prefix and part.startswith(".") else prefix + part


def mapping_at(body: Mapping[str, Any], keys: tuple[str, ...], path: str = "") -> Mapping[str, Any] | None:
    """The mapping under `keys`, None when absent; a non-mapping in the way is malformed input."""
    node: Any = body
    for key in keys:
        if not isinstance(node, Mapping):
            raise TypeError(f"{path or '.'.join(keys)}: expected an object")
        node = node.get(key)
        if node is None:
            return None
    if not isinstance(node, Mapping):
        raise TypeError(f"{'.'.join(keys)}: expected an object")
    return node


def pod_specs(resource: Resource) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(field path prefix, pod spec) for each pod spec the resource carries."""
    keys = CARRIERS.get(resource.kind)
    if keys is None:
        return
    spec = mapping_at(resource.body, keys)
    if spec is not None:
        yield ".".join(keys), spec


def pod_templates(
    resource: Resource,
) -> Iterator[tuple[str, Mapping[str, Any], tuple[str, Mapping[str, Any]] | None]]:
    """(field path prefix, pod spec, (path, pod metadata) when set) for each pod the resource carries."""
    keys = CARRIERS.get(resource.kind)
    if keys is None:
        return
    spec = mapping_at(resource.body, keys)
    if spec is None:
        return
    meta_keys = (*keys[:-1], "metadata")
    metadata = mapping_at(resource.body, meta_keys)
    yield ".".join(keys), spec, (".".join(meta_keys), metadata) if metadata is not None else None


def list_at(node: Mapping[str, Any], key: str, path: str) -> list[Any]:
    value = node.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise TypeError(f"{key_path(path, key)}: expected a list")
    return value


def containers_of(prefix: str, spec: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for field in CONTAINER_LISTS:
        for i, container in enumerate(list_at(spec, field, prefix)):
            path = f"{prefix}.{field}[{i}]"
            if not isinstance(container, Mapping):
                raise TypeError(f"{path}: expected an object")
            yield path, container


class _Last(threading.local):
    resource: Resource | None = None
    found: list[tuple[str, Mapping[str, Any]]] = []


_last = _Last()


def forget_containers() -> None:
    """Drop the kept answer (the engine calls this around each evaluation)."""
    _last.resource, _last.found = None, []


def containers(resource: Resource) -> list[tuple[str, Mapping[str, Any]]]:
    """(field path, container) for every container, init container and ephemeral container.

    The engine runs every rule on one resource before the next, so the last answer is kept.
    """
    if _last.resource is resource:
        return _last.found
    if resource.kind not in CARRIERS:
        return []
    found = [item for prefix, spec in pod_specs(resource) for item in containers_of(prefix, spec)]
    _last.resource, _last.found = resource, found
    return found


def env_vars(path: str, container: Mapping[str, Any]) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    """(field path, name, entry) of each env entry that has a name."""
    for i, entry in enumerate(list_at(container, "env", path)):
        if isinstance(entry, Mapping) and isinstance(entry.get("name"), str):
            yield f"{path}.env[{i}]", entry["name"], entry
