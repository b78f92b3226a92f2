"""Drift between a stack's desired objects (its offline plan) and what a live cluster holds.

- missing: a desired object the cluster does not have;
- unexpected: an object that says it belongs to the platform (label `app.kubernetes.io/part-of: visio`,
  which every chart and component sets) in one of the stack's namespaces, of a kind the stack
  declares, that the plan does not declare;
- changed: a field the stack sets whose live value differs. Only those fields are compared, so what
  the API server fills in (defaults, status, managedFields, uid, extra labels) never counts. An empty
  list or map the stack sets equals an absent one (the server drops them). Values the plan cannot know
  (Pulumi secrets, values unknown at preview) are not compared; Secrets are read as metadata only,
  so only their labels and annotations are compared.

Reading is read-only and goes through the official client; a kind or object that cannot be read is
reported (`unreadable`), and makes the result an error, never a silent pass.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Literal

from common.markers import OPAQUE
from visio.cluster.api import ApiError, get_json, list_all, served_kinds
from visio.cluster.kinds import METADATA_ACCEPT, METADATA_LIST_ACCEPT

if TYPE_CHECKING:
    from kubernetes import client

OWNER_LABEL = "app.kubernetes.io/part-of"
OWNER_VALUE = "visio"
ABSENT: Any = type("Absent", (), {"__repr__": lambda self: "<absent>"})()
_QUANTITY_PARENTS = frozenset({"limits", "requests", "capacity", "hard"})
_QUANTITY = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$")
_SUFFIX = {"": 1, "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "k": 10**3, "M": 10**6,
           "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30,
           "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}

Status = Literal["missing", "unexpected", "changed", "unreadable"]


@dataclass(frozen=True)
class FieldChange:
    path: str
    desired: Any
    live: Any


@dataclass(frozen=True)
class ObjectDrift:
    status: Status
    api_version: str
    kind: str
    name: str
    namespace: str | None
    changes: tuple[FieldChange, ...] = ()
    reason: str | None = None

    @property
    def ref(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {where}{self.name}"


@dataclass
class DriftReport:
    stack: str
    cluster: str
    checked: int = 0
    drifts: list[ObjectDrift] = field(default_factory=list)

    @property
    def unreadable(self) -> list[ObjectDrift]:
        return [d for d in self.drifts if d.status == "unreadable"]

    @property
    def drifted(self) -> list[ObjectDrift]:
        return [d for d in self.drifts if d.status != "unreadable"]


# -- comparing ---------------------------------------------------------------------------------


def quantity(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return Decimal(str(value))
    if not isinstance(value, str):
        return None
    match = _QUANTITY.match(value.strip())
    if not match:
        return None
    try:
        return Decimal(match.group(1)) * Decimal(str(_SUFFIX[match.group(2) or ""]))
    except InvalidOperation:
        return None


def _empty(value: Any) -> bool:
    # What the API server does not write back: nil, empty maps and lists, and "" (string fields are
    # omitempty; a pointer to "" is kept, so its removal is still seen as a change).
    return value is None or value == {} or value == [] or value == ""


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    plain = re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", key)
    return (f"{path}.{key}" if path else key) if plain else f'{path}["{key}"]'


def compare(desired: Any, live: Any, path: str = "", parent: str | None = None) -> list[FieldChange]:
    """Field changes between what the stack sets and the live value, on the stack's fields only.

    `parent` is the key holding the mapping `desired` sits in (quantities live under `requests`...).
    """
    if isinstance(desired, str) and desired in OPAQUE:
        return []
    if isinstance(desired, Mapping):
        if live is ABSENT or live is None:
            return [] if not desired else [FieldChange(path, desired, ABSENT)]
        if not isinstance(live, Mapping):
            return [FieldChange(path, desired, live)]
        changes: list[FieldChange] = []
        last = path.rsplit(".", 1)[-1] if path and not path.endswith(("]", '"')) else None
        for key, value in desired.items():
            here = _join(path, str(key))
            if key not in live:
                if not _empty(value):
                    changes.append(FieldChange(here, value, ABSENT))
                continue
            changes.extend(compare(value, live[key], here, last))
        return changes
    if isinstance(desired, list):
        if (live is ABSENT or live is None) and not desired:
            return []
        if not isinstance(live, list) or len(live) != len(desired):
            return [FieldChange(path, desired, live)]
        return [c for i, (d, v) in enumerate(zip(desired, live, strict=True)) for c in compare(d, v, _join(path, i))]
    if desired == live and type(desired) is type(live):
        return []
    if isinstance(desired, int | float) and isinstance(live, int | float) and not isinstance(desired, bool) \
            and not isinstance(live, bool) and desired == live:
        return []
    if parent in _QUANTITY_PARENTS:
        a, b = quantity(desired), quantity(live)
        if a is not None and a == b:
            return []  # the server writes quantities in canonical form ("1000m" reads back as "1")
    return [FieldChange(path, desired, live)]


# -- reading -----------------------------------------------------------------------------------


def _identity(obj: Mapping[str, Any]) -> tuple[str, str, str | None, str]:
    meta = obj.get("metadata") or {}
    return str(obj.get("apiVersion")), str(obj.get("kind")), meta.get("namespace"), str(meta.get("name"))


def _desired_view(obj: Mapping[str, Any]) -> dict[str, Any]:
    """What of a desired object is compared: for Secrets, only their metadata."""
    if obj.get("kind") == "Secret":
        meta = obj.get("metadata") or {}
        return {"metadata": {k: meta[k] for k in ("labels", "annotations") if k in meta}}
    return {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "status")}


def detect(api: client.ApiClient, stack: str, cluster: str, desired: Sequence[Mapping[str, Any]]) -> DriftReport:
    report = DriftReport(stack=stack, cluster=cluster, checked=len(desired))
    try:
        resources = served_kinds(api, (str(o.get("apiVersion")) for o in desired))
    except ApiError as exc:
        raise ConnectionError(exc.reason) from None
    wanted = {_identity(o) for o in desired}
    namespaces = sorted({ns for _, kind, ns, name in wanted if ns} |
                        {name for _, kind, _, name in wanted if kind == "Namespace"})
    for obj in desired:
        api_version, kind, namespace, name = _identity(obj)
        resource = resources.get((api_version, kind))
        if resource is None:
            report.drifts.append(ObjectDrift("unreadable", api_version, kind, name, namespace,
                                             reason=f"{api_version} {kind} is not served by this cluster"))
            continue
        secret = kind == "Secret"
        try:
            accept = METADATA_ACCEPT if secret else "application/json"
            live = get_json(api, resource.path(namespace, name), accept=accept)
        except ApiError as exc:
            status: Status = "missing" if exc.status == 404 else "unreadable"
            report.drifts.append(ObjectDrift(status, api_version, kind, name, namespace,
                                             reason=None if status == "missing" else exc.reason))
            continue
        changes = compare(_desired_view(obj), live)
        if changes:
            report.drifts.append(ObjectDrift("changed", api_version, kind, name, namespace, tuple(changes)))
    # Unexpected: labelled as the platform's, in the stack's namespaces, of a kind the stack declares.
    selector = [("labelSelector", f"{OWNER_LABEL}={OWNER_VALUE}")]
    for api_version, kind in sorted({(a, k) for a, k, _, _ in wanted}):
        resource = resources.get((api_version, kind))
        if resource is None:
            continue
        scopes: list[str | None] = list(namespaces) if resource.namespaced else [None]
        for namespace in scopes:
            accept = METADATA_LIST_ACCEPT if kind == "Secret" else "application/json"
            try:
                items, _ = list_all(api, resource.path(namespace), selector, accept)
            except ApiError as exc:
                report.drifts.append(ObjectDrift("unreadable", api_version, kind, "*", namespace,
                                                 reason=f"cannot list: {exc.reason}"))
                continue
            for item in items:
                meta = item.get("metadata") or {} if isinstance(item, dict) else {}
                key = (api_version, kind, meta.get("namespace") if resource.namespaced else None, str(meta.get("name")))
                if key not in wanted:
                    report.drifts.append(ObjectDrift("unexpected", api_version, kind, key[3], key[2]))
    report.drifts.sort(key=lambda d: (d.status, d.kind, d.namespace or "", d.name))
    return report
