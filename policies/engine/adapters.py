"""Turning what each front end holds into the engine's `Resource`.

Kubernetes manifests (audit, scan) and Pulumi resources (the CrossGuard pack, plan) become the same
object: a Kubernetes resource is judged on its Kubernetes body whichever way it arrived.

Values unknown at preview
-------------------------
During `pulumi preview` some inputs are outputs of other resources not created yet. CrossGuard's own
proxy aborts a policy at the first such read and downgrades it to an advisory "can't run policy",
which would hide every other defect of the resource. Instead, unknowns become `Unknown`, a string
sentinel no parser accepts ("<unknown at preview>": not an image, host, URL or region), so a rule
that fails closed flags it where it would flag a bad value. Containers are `Tracked`, recording
which unknown paths a rule read, so a front end can say which fields a rule could not verify even
when the rule let the sentinel pass. The pack reports both as advisory at preview; at update every
value is known, and an unknown that still shows up stays mandatory.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from policies.engine.model import Origin, Resource
from policies.engine.podspec import key_path

UNKNOWN_TEXT = "<unknown at preview>"


class Unknown(str):
    """A value Pulumi will only know at update time; `path` is where it sits in the body."""

    path: str

    def __new__(cls, path: str) -> Unknown:
        self = super().__new__(cls, UNKNOWN_TEXT)
        self.path = path
        return self

    def __repr__(self) -> str:
        return UNKNOWN_TEXT


class Reads:
    """The unknown paths a rule has read through `Tracked` containers."""

    def __init__(self) -> None:
        self.paths: set[str] = set()

    def seen(self, value: Any) -> Any:
        if isinstance(value, Unknown):
            self.paths.add(value.path)
        return value


class TrackedDict(dict[str, Any]):
    """A plain dict (rules see a dict) that notes each unknown value handed out."""

    reads: Reads

    def __getitem__(self, key: str) -> Any:
        return self.reads.seen(super().__getitem__(key))

    def get(self, key: str, default: Any = None) -> Any:
        return self.reads.seen(super().get(key, default))

    def values(self) -> Any:
        return [self.reads.seen(v) for v in super().values()]

    def items(self) -> Any:
        return [(k, self.reads.seen(v)) for k, v in super().items()]


class TrackedList(list[Any]):
    reads: Reads

    def __getitem__(self, index: Any) -> Any:
        value = super().__getitem__(index)
        if isinstance(index, slice):
            return [self.reads.seen(v) for v in value]
        return self.reads.seen(value)

    def __iter__(self) -> Iterator[Any]:
        for value in super().__iter__():
            yield self.reads.seen(value)


def _sentinels() -> frozenset[str]:
    # Imported late: the pulumi_policy runtime is only needed when Pulumi values come in.
    from pulumi_policy import proxy

    return frozenset(
        getattr(proxy, name) for name in dir(proxy) if name.startswith("UNKNOWN_") and name.endswith("_VALUE")
    )


def join(path: str, key: str | int) -> str:
    """The engine's field path notation: `spec.containers[0]`, `metadata.labels["app.kubernetes.io/name"]`."""
    return f"{path}[{key}]" if isinstance(key, int) else key_path(path, key)


def _unknown_error() -> type[BaseException]:
    from pulumi_policy.proxy import UnknownValueError

    return UnknownValueError


def plain(value: Any, path: str = "", reads: Reads | None = None) -> Any:
    """A deep copy of Pulumi inputs as dicts/lists, unknowns replaced by `Unknown`.

    Accepts CrossGuard's unknown-checking proxies (reading through them raises on unknowns) as well
    as raw deserialised values (unknowns are the engine's sentinel strings).
    """
    sentinels = _sentinels()
    unknown_error = _unknown_error()
    reads = reads if reads is not None else Reads()

    def convert(node: Any, where: str) -> Any:
        if isinstance(node, str):
            return Unknown(where) if node in sentinels else node
        if isinstance(node, Mapping):
            out = TrackedDict()
            out.reads = reads
            for key in list(node):
                at = join(where, str(key))
                try:
                    item = node[key]
                except unknown_error:
                    dict.__setitem__(out, str(key), Unknown(at))
                    continue
                dict.__setitem__(out, str(key), convert(item, at))
            return out
        if isinstance(node, Sequence) and not isinstance(node, bytes | bytearray):
            items = TrackedList()
            items.reads = reads
            for i in range(len(node)):
                at = join(where, i)
                try:
                    item = node[i]
                except unknown_error:
                    list.append(items, Unknown(at))
                    continue
                list.append(items, convert(item, at))
            return items
        inner = getattr(node, "value", None)
        if type(node).__name__ == "Secret" and inner is not None:
            return convert(inner, where)  # pulumi_policy.secret.Secret: judge what it wraps
        return node

    return convert(value, path)


def unknown_paths(value: Any) -> list[str]:
    """Every `Unknown` in a body, in document order."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, Unknown):
            found.append(node.path)
        elif isinstance(node, dict):
            for item in dict.values(node):
                walk(item)
        elif isinstance(node, list):
            for item in list.__iter__(node):
                walk(item)

    walk(value)
    return found


def reads_of(resource: Resource) -> Reads | None:
    """The read log shared by a resource's tracked body, if it came through `from_pulumi`."""
    body = resource.body
    return body.reads if isinstance(body, TrackedDict) else None


def _text(value: Any, default: str) -> str:
    return value if isinstance(value, str) and not isinstance(value, Unknown) and value else default


def from_kubernetes(obj: Mapping[str, Any], source: str | None = None, origin: Origin | None = None) -> Resource:
    """A plain Kubernetes manifest (already checked to be a mapping)."""
    metadata = obj.get("metadata")
    metadata = metadata if isinstance(metadata, Mapping) else {}
    namespace = metadata.get("namespace")
    return Resource(
        kind=_text(obj.get("kind"), "<no kind>"),
        api_version=_text(obj.get("apiVersion"), ""),
        name=_text(metadata.get("name"), _text(metadata.get("generateName"), "<no name>")),
        namespace=namespace if isinstance(namespace, str) and namespace else None,
        body=obj,
        source=source,
        origin=origin,
    )


def kubernetes_type(pulumi_type: str) -> tuple[str, str] | None:
    """(apiVersion, kind) of a `kubernetes:<group>/<version>:<Kind>` token, else None."""
    package, _, rest = pulumi_type.partition(":")
    module, _, kind = rest.partition(":")
    group, _, version = module.partition("/")
    if package != "kubernetes" or not kind or not version:
        return None
    return (version if group == "core" else f"{group}/{version}"), kind


def from_pulumi(
    pulumi_type: str,
    name: str,
    props: Mapping[str, Any],
    urn: str | None = None,
    source: str | None = None,
) -> Resource:
    """A resource as a Pulumi program declares it (inputs, camelCase, maybe with unknowns)."""
    body = plain(props)
    assert isinstance(body, TrackedDict)
    k8s = kubernetes_type(pulumi_type)
    if k8s is None:
        # Providers and cloud resources: judged on their inputs.
        package, _, rest = pulumi_type.partition(":")
        module, _, last = rest.rpartition(":")
        return Resource(
            kind=last or pulumi_type,
            api_version=f"{package}:{module}" if module else package,
            name=name,
            namespace=None,
            body=body,
            pulumi_type=pulumi_type,
            urn=urn,
            source=source,
        )
    api_version, kind = k8s
    dict.__setitem__(body, "apiVersion", api_version)
    dict.__setitem__(body, "kind", kind)
    metadata = dict.get(body, "metadata")
    if not isinstance(metadata, TrackedDict):
        metadata = TrackedDict()
        metadata.reads = body.reads
        dict.__setitem__(body, "metadata", metadata)
    current = dict.get(metadata, "name")
    if not isinstance(current, str) or isinstance(current, Unknown) or not current:
        # Auto-naming: the provider adds a suffix at create time; the Pulumi name is what is known.
        dict.__setitem__(metadata, "name", name)
    namespace = dict.get(metadata, "namespace")
    return Resource(
        kind=kind,
        api_version=api_version,
        name=_text(dict.get(metadata, "name"), name),
        namespace=namespace if isinstance(namespace, str) and namespace else None,
        body=body,
        pulumi_type=pulumi_type,
        urn=urn,
        source=source,
    )
