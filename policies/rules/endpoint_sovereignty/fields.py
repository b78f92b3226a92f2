"""Where endpoints are written in each kind of object, as (field path, hits) pairs."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping
from typing import Any

from common import yamlsafe
from common.errors import InputError
from policies.engine.model import Resource
from policies.engine.podspec import containers, env_vars, key_path, list_at
from policies.sovereignty.extract import Hit, scan_base64, scan_value

Found = tuple[str, tuple[Hit, ...]]
WEBHOOK_KINDS = ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration")
PROVIDER_TYPE = "pulumi:providers:kubernetes"


def _as_endpoint(value: Any) -> tuple[Hit, ...]:
    """A field whose whole value is an endpoint (not free text): judged even when it looks unusual."""
    return (Hit(value),) if isinstance(value, str) and value.strip() else ()


def _dig(node: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node


def _containers(resource: Resource) -> Iterator[Found]:
    for cpath, container in containers(resource):
        for epath, name, entry in env_vars(cpath, container):
            value = entry.get("value")
            if isinstance(value, str):
                yield f"{epath}.value", scan_value(value, name)
        for field in ("command", "args"):
            for i, arg in enumerate(list_at(container, field, cpath)):
                if isinstance(arg, str):
                    yield f"{cpath}.{field}[{i}]", scan_value(arg)


def _data(resource: Resource) -> Iterator[Found]:
    body = resource.body
    fields = {"ConfigMap": (("data", False), ("binaryData", True)), "Secret": (("data", True), ("stringData", False))}
    for field, encoded in fields.get(resource.kind, ()):
        files = body.get(field)
        if isinstance(files, Mapping):
            for key, value in files.items():
                if isinstance(value, str):
                    scan = scan_base64 if encoded else scan_value
                    yield key_path(field, str(key)), scan(value, str(key))


def _service(body: Mapping[str, Any]) -> Iterator[Found]:
    spec = body.get("spec")
    if not isinstance(spec, Mapping):
        return
    yield "spec.externalName", _as_endpoint(spec.get("externalName"))
    yield "spec.loadBalancerIP", _as_endpoint(spec.get("loadBalancerIP"))
    for i, ip in enumerate(list_at(spec, "externalIPs", "spec")):
        yield f"spec.externalIPs[{i}]", _as_endpoint(ip)


def _endpoints(body: Mapping[str, Any]) -> Iterator[Found]:
    for s, subset in enumerate(list_at(body, "subsets", "")):
        for field in ("addresses", "notReadyAddresses"):
            for a, address in enumerate(list_at(subset, field, f"subsets[{s}]") if isinstance(subset, Mapping) else ()):
                yield f"subsets[{s}].{field}[{a}].ip", _as_endpoint(_dig(address, "ip"))


def _endpoint_slice(body: Mapping[str, Any]) -> Iterator[Found]:
    for e, endpoint in enumerate(list_at(body, "endpoints", "")):
        addresses = list_at(endpoint, "addresses", f"endpoints[{e}]") if isinstance(endpoint, Mapping) else []
        for a, address in enumerate(addresses):
            yield f"endpoints[{e}].addresses[{a}]", _as_endpoint(address)


def _network_policy(body: Mapping[str, Any]) -> Iterator[Found]:
    for direction, peers in (("ingress", "from"), ("egress", "to")):
        for r, rule in enumerate(list_at(body.get("spec") or {}, direction, "spec")):
            where = f"spec.{direction}[{r}]"
            for p, peer in enumerate(list_at(rule, peers, where) if isinstance(rule, Mapping) else ()):
                cidr = _dig(peer, "ipBlock", "cidr")
                if not isinstance(cidr, str):
                    continue
                try:
                    if ipaddress.ip_network(cidr.strip(), strict=False).prefixlen == 0:
                        continue  # "anywhere" is egress-policy's finding, not a place to judge
                except ValueError:
                    pass  # judged as written, which reports it as unreadable
                yield f"{where}.{peers}[{p}].ipBlock.cidr", _as_endpoint(cidr)


def _kube_provider(body: Mapping[str, Any]) -> Iterator[Found]:
    kubeconfig = body.get("kubeconfig")
    if isinstance(kubeconfig, str) and kubeconfig.strip():
        try:
            kubeconfig = yamlsafe.load_one(kubeconfig, "kubeconfig")
        except InputError as exc:
            yield "kubeconfig", (Hit("", "", f"kubeconfig does not parse ({exc})"),)
            return
    if isinstance(kubeconfig, Mapping):
        for i, cluster in enumerate(list_at(kubeconfig, "clusters", "kubeconfig")):
            yield f"kubeconfig.clusters[{i}].cluster.server", _as_endpoint(_dig(cluster, "cluster", "server"))
    yield "cluster.apiServer", _as_endpoint(_dig(body, "cluster", "apiServer"))


def endpoint_fields(resource: Resource) -> Iterator[Found]:
    """Every field of `resource` that may name an endpoint, with what it names."""
    body, kind = resource.body, resource.kind
    if resource.pulumi_type == PROVIDER_TYPE:
        yield from _kube_provider(body)
        return
    yield from _containers(resource)
    yield from _data(resource)
    if kind == "Service":
        yield from _service(body)
    elif kind == "Endpoints":
        yield from _endpoints(body)
    elif kind == "EndpointSlice":
        yield from _endpoint_slice(body)
    elif kind == "NetworkPolicy":
        yield from _network_policy(body)
    elif kind == "Ingress":
        annotations = _dig(body, "metadata", "annotations")
        for key, value in (annotations.items() if isinstance(annotations, Mapping) else ()):
            if isinstance(value, str):
                yield key_path("metadata.annotations", str(key)), scan_value(value, str(key))
    elif kind in WEBHOOK_KINDS:
        for i, hook in enumerate(list_at(body, "webhooks", "")):
            yield f"webhooks[{i}].clientConfig.url", _as_endpoint(_dig(hook, "clientConfig", "url"))
    elif kind in ("Issuer", "ClusterIssuer"):
        yield "spec.acme.server", _as_endpoint(_dig(body, "spec", "acme", "server"))
