"""Expanding a `kubernetes:helm.sh/v4:Chart` into its child objects, as the Kubernetes provider does.

The provider renders the chart (`helm template`, hooks disabled, CRDs included), splits List kinds,
gives namespaced objects without a namespace the release namespace, and registers each object as
`<resourcePrefix>:<namespace>/<name>` (`<resourcePrefix>:<name>` when cluster-scoped) under the
Chart, the prefix defaulting to the Chart's resource name and the release name to the same.
`v1/Secret` data is always marked secret. Offline there is no API discovery, so scope comes from the
table below or from a CRD rendered by the same chart; an unknown kind counts as namespaced, as a
custom resource usually is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common.errors import InputError
from visio.kube import charts

CHART_TYPE = "kubernetes:helm.sh/v4:Chart"
HOOK_ANNOTATION = "helm.sh/hook"

# Cluster-scoped kinds of the Kubernetes API (group, kind); everything else is namespaced.
CLUSTER_SCOPED: frozenset[tuple[str, str]] = frozenset(
    {
        ("", "Namespace"),
        ("", "Node"),
        ("", "PersistentVolume"),
        ("", "ComponentStatus"),
        ("rbac.authorization.k8s.io", "ClusterRole"),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
        ("storage.k8s.io", "StorageClass"),
        ("storage.k8s.io", "CSIDriver"),
        ("storage.k8s.io", "CSINode"),
        ("storage.k8s.io", "VolumeAttachment"),
        ("apiextensions.k8s.io", "CustomResourceDefinition"),
        ("apiregistration.k8s.io", "APIService"),
        ("scheduling.k8s.io", "PriorityClass"),
        ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
        ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding"),
        ("networking.k8s.io", "IngressClass"),
        ("networking.k8s.io", "IPAddress"),
        ("networking.k8s.io", "ServiceCIDR"),
        ("node.k8s.io", "RuntimeClass"),
        ("policy", "PodSecurityPolicy"),
        ("certificates.k8s.io", "CertificateSigningRequest"),
        ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
        ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
        ("resource.k8s.io", "DeviceClass"),
    }
)


@dataclass(frozen=True)
class ChildObject:
    """One object of a rendered chart, named and typed as the provider registers it."""

    type: str
    name: str
    template: str
    object: dict[str, Any]
    # Top-level fields the provider marks secret (`data`, `stringData` of a v1/Secret).
    secret_fields: tuple[str, ...] = ()


def group_of(api_version: str) -> str:
    group = api_version.rpartition("/")[0]
    return "" if group == "core" else group


def type_token(api_version: str, kind: str) -> str:
    """`v1`/`Service` -> `kubernetes:core/v1:Service`; `apps/v1`/`Deployment` -> `kubernetes:apps/v1:Deployment`."""
    group, _, version = api_version.rpartition("/")
    return f"kubernetes:{group or 'core'}/{version}:{kind}"


def plain_numbers(value: Any) -> Any:
    """Integral floats back to ints: the engine carries every number as a protobuf double."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Mapping):
        return {k: plain_numbers(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain_numbers(v) for v in value]
    return value


def is_cluster_scoped(api_version: str, kind: str, crd_scopes: Mapping[tuple[str, str], bool]) -> bool:
    key = (group_of(api_version), kind)
    if key in crd_scopes:
        return crd_scopes[key]
    return key in CLUSTER_SCOPED


def _crd_scopes(objects: list[tuple[str, dict[str, Any]]]) -> dict[tuple[str, str], bool]:
    scopes: dict[tuple[str, str], bool] = {}
    for _template, obj in objects:
        if obj.get("kind") == "CustomResourceDefinition":
            spec = obj.get("spec") or {}
            kind = (spec.get("names") or {}).get("kind")
            if isinstance(kind, str):
                scopes[(str(spec.get("group", "")), kind)] = spec.get("scope") == "Cluster"
    return scopes


def _split_lists(objects: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, dict[str, Any]]]:
    out: list[tuple[str, dict[str, Any]]] = []
    for template, obj in objects:
        kind = str(obj.get("kind", ""))
        if kind.endswith("List") and isinstance(obj.get("items"), list):
            out.extend(_split_lists([(template, item) for item in obj["items"] if isinstance(item, dict)]))
        else:
            out.append((template, obj))
    return out


def _is_hook(obj: Mapping[str, Any]) -> bool:
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    return HOOK_ANNOTATION in annotations


def expand(resource_name: str, inputs: Mapping[str, Any], default_namespace: str = "default") -> list[ChildObject]:
    """The child objects of a Chart resource, from its (plain, fully known) inputs."""
    chart = inputs.get("chart")
    where = f"chart {resource_name}"
    if not isinstance(chart, str) or not Path(chart).is_dir():
        raise InputError(f"{where}: chart {chart!r} is not a local chart directory (offline plans render local charts)")
    for unsupported in ("repositoryOpts", "valueYamlFiles", "postRenderer"):
        if inputs.get(unsupported):
            raise InputError(f"{where}: {unsupported} is not supported by the offline expansion")
    release = str(inputs.get("name") or resource_name)
    namespace = str(inputs.get("namespace") or default_namespace)
    prefix = inputs.get("resourcePrefix")
    prefix = resource_name if prefix is None else str(prefix)
    values = plain_numbers(dict(inputs.get("values") or {}))

    rendered = _split_lists(charts.render(Path(chart), values, release=release, namespace=namespace))
    if inputs.get("skipCrds"):
        rendered = [(t, o) for t, o in rendered if o.get("kind") != "CustomResourceDefinition"]
    scopes = _crd_scopes(rendered)
    children: list[ChildObject] = []
    for template, obj in rendered:
        if _is_hook(obj):
            continue  # the provider installs with hooks disabled; test hooks never run either
        api_version, kind = str(obj.get("apiVersion", "")), str(obj.get("kind", ""))
        metadata = obj.setdefault("metadata", {})
        if not api_version or not kind or not metadata.get("name"):
            raise InputError(f"{where}: {template}: object without apiVersion, kind or metadata.name")
        if api_version.startswith("core/"):
            api_version = obj["apiVersion"] = api_version.removeprefix("core/")
        if is_cluster_scoped(api_version, kind, scopes):
            name = str(metadata["name"])
        else:
            metadata.setdefault("namespace", namespace)
            name = f"{metadata['namespace']}/{metadata['name']}"
        if inputs.get("skipAwait"):
            metadata.setdefault("annotations", {})["pulumi.com/skipAwait"] = "true"
        secret = tuple(f for f in ("data", "stringData") if f in obj) if (api_version, kind) == ("v1", "Secret") else ()
        children.append(
            ChildObject(
                type=type_token(api_version, kind),
                name=f"{prefix}:{name}" if prefix else name,
                template=template,
                object=obj,
                secret_fields=secret,
            )
        )
    return children
