"""The API server's defaulting, applied to an object before it is validated and judged.

The API server fills some omitted fields before it validates an object (`protocol: TCP` on a port, a
Service's `type`, a pod's `restartPolicy`...). Auditing the object as written would refuse objects the
server accepts (a field the schema requires but the server defaults) and let a rule see an omitted field
differently from its default. The bundled OpenAPI schemas carry no `default` keywords, only prose
("Defaults to TCP."), so the defaults are a table keyed by schema definition, which a test holds to the
schema descriptions; where each definition occurs in a kind (containers of a CronJob's pod template...)
comes from the schemas themselves.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

Fill = Callable[[Any], Any]
# A default computed from the object holding the field; None when the server would leave it unset.
Computed = Callable[[Mapping[str, Any]], Any]


def _pull_policy(container: Mapping[str, Any]) -> str | None:
    image = container.get("image")
    if not isinstance(image, str) or not image:
        return None
    if "@" in image:
        return "IfNotPresent"
    tail = image.rsplit("/", 1)[-1]
    tag = tail.rsplit(":", 1)[1] if ":" in tail else ""
    return "Always" if tag in ("", "latest") else "IfNotPresent"


def _policy_types(spec: Mapping[str, Any]) -> list[str]:
    return ["Ingress", "Egress"] if spec.get("egress") else ["Ingress"]


_CORE = "io.k8s.api.core.v1."
_CONTAINER: dict[str, object] = {
    "imagePullPolicy": _pull_policy,
    "terminationMessagePath": "/dev/termination-log",
    "terminationMessagePolicy": "File",
}
DEFAULTS: dict[str, dict[str, object]] = {
    _CORE + "ServiceSpec": {"type": "ClusterIP", "sessionAffinity": "None"},
    _CORE + "ServicePort": {"protocol": "TCP"},
    _CORE + "ContainerPort": {"protocol": "TCP"},
    _CORE + "EndpointPort": {"protocol": "TCP"},
    _CORE + "Container": _CONTAINER,
    _CORE + "EphemeralContainer": _CONTAINER,
    _CORE + "PodSpec": {
        "restartPolicy": "Always",
        "dnsPolicy": "ClusterFirst",
        "hostNetwork": False,
        "hostPID": False,
        "hostIPC": False,
        "enableServiceLinks": True,
        "terminationGracePeriodSeconds": 30,
    },
    _CORE + "HTTPGetAction": {"scheme": "HTTP"},
    "io.k8s.api.networking.v1.NetworkPolicyPort": {"protocol": "TCP"},
    "io.k8s.api.networking.v1.NetworkPolicySpec": {"policyTypes": _policy_types},
    "io.k8s.api.batch.v1.PodFailurePolicyOnPodConditionsPattern": {"status": "True"},
}

_REF = re.compile(r"#/\$defs/([^/~]+)\Z")


def _refs(node: Any) -> Iterator[str]:
    """The definitions a schema node references, at any depth."""
    if isinstance(node, Mapping):
        target = node.get("$ref")
        m = _REF.search(target) if isinstance(target, str) else None
        if m is not None:
            yield m.group(1)
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _reaching(definitions: Mapping[str, Any]) -> frozenset[str]:
    """Definitions from which a defaulted definition can be reached (including those defaulted)."""
    used_by: dict[str, set[str]] = {}
    for name, node in definitions.items():
        for target in _refs(node):
            used_by.setdefault(target, set()).add(name)
    found = set(DEFAULTS) & definitions.keys()
    todo = list(found)
    while todo:
        for user in used_by.get(todo.pop(), ()):
            if user not in found:
                found.add(user)
                todo.append(user)
    return frozenset(found)


class Defaults:
    """Compiles where the defaults go in the kinds of one set of definitions, sharing the work."""

    def __init__(self, definitions: Mapping[str, Any]) -> None:
        self.definitions = definitions
        self.reaching = _reaching(definitions)
        self.compiled: dict[str, Fill] = {}

    def ref(self, name: str) -> Fill | None:
        if name not in self.reaching:
            return None
        if name in self.compiled:
            return self.compiled[name]
        built: list[Fill | None] = []

        def forward(x: Any) -> Any:
            fill = built[0]
            return x if fill is None else fill(x)

        self.compiled[name] = forward  # recursive definitions reach themselves through this
        built.append(self.node(self.definitions[name], DEFAULTS.get(name, {})))
        return forward

    def node(self, schema: Any, own: Mapping[str, object] | None = None) -> Fill | None:
        """What fills the defaults under one schema node; None when it holds none."""
        if not isinstance(schema, Mapping):
            return None
        target = schema.get("$ref")
        m = _REF.search(target) if isinstance(target, str) else None
        if m is not None:
            return self.ref(m.group(1))
        properties = schema.get("properties")
        fields: dict[str, Fill] = {}
        if isinstance(properties, Mapping):
            for key, sub in properties.items():
                fill = self.node(sub)
                if fill is not None:
                    fields[key] = fill
        items = self.node(schema.get("items"))
        values = self.node(schema.get("additionalProperties"))
        if not (own or fields or items or values):
            return None
        return _filler(dict(own or {}), fields, items, values)


def _filler(own: dict[str, object], fields: dict[str, Fill], items: Fill | None, values: Fill | None) -> Fill:
    # Copy on write: parsed input shares equal leaf mappings between objects, which must stay as read.
    def fill(x: Any) -> Any:
        if isinstance(x, list):
            if items is None:
                return x
            filled = [items(v) for v in x]
            return x if all(a is b for a, b in zip(filled, x, strict=True)) else filled
        if not isinstance(x, dict):
            return x
        out: dict[str, Any] | None = None
        for key, value in x.items():
            sub = fields.get(key, values)
            if sub is not None:
                new = sub(value)
                if new is not value:
                    out = dict(x) if out is None else out
                    out[key] = new
        for key, default in own.items():
            if key not in x:
                value = default(x) if callable(default) else default
                if value is not None:
                    out = dict(x) if out is None else out
                    out[key] = value
        return x if out is None else out

    return fill


