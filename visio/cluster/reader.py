"""Listing every kind of the table from a live cluster, page by page, read-only.

A kind that cannot be read (credentials refused, RBAC denial, API not served, server error, network
failure, an answer that does not parse) becomes an `Unaudited` entry with the reason; nothing is
skipped silently. Only reaching the API server at all is a precondition: if discovery cannot connect,
the cluster is unusable input.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from common.errors import InputError
from visio.cluster.api import ApiError, list_all, served_groups, server_version
from visio.cluster.kinds import KINDS, METADATA_LIST_ACCEPT, PAGE_SIZE, Kind

if TYPE_CHECKING:
    from kubernetes import client


@dataclass(frozen=True)
class Unaudited:
    """A kind (in one namespace, or everywhere) the scan could not read, or was told not to."""

    kind: Kind
    namespace: str | None
    reason: str
    status: int | None = None
    excluded: bool = False  # left out on request (--exclude-kind): reported, never a failure

    @property
    def scope(self) -> str:
        return f"namespace {self.namespace}" if self.namespace else "all namespaces" if self.kind.namespaced \
            else "cluster"


@dataclass
class Snapshot:
    cluster: str
    server_version: str | None = None
    objects: list[dict[str, Any]] = field(default_factory=list)
    unaudited: list[Unaudited] = field(default_factory=list)
    # Kinds read completely, and optional API groups the cluster does not serve (nothing to read).
    read: list[Kind] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)
    namespaces: tuple[str, ...] = ()


def _metadata_only(kind: Kind, items: list[Any], list_kind: str | None) -> list[dict[str, Any]]:
    if list_kind != "PartialObjectMetadataList":
        # Whatever came back is dropped unread: it may hold the data the scan must never see.
        raise ApiError("the server did not answer the metadata-only list; its answer was discarded")
    return [{"apiVersion": kind.api_version, "kind": kind.kind, "metadata": item.get("metadata") or {}}
            for item in items if isinstance(item, dict)]


def _normalise(kind: Kind, items: list[Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        # List items from the API server carry no kind/apiVersion of their own.
        item["apiVersion"] = kind.api_version
        item["kind"] = kind.kind
        if kind.kind == "Node" and isinstance(item.get("status"), dict):
            item["status"].pop("images", None)  # every cached image of the node: large, judged nowhere
        out.append(item)
    return out


def _groups(api: client.ApiClient) -> dict[str, set[str]]:
    """Served API groups; not reaching the server at all is unusable input."""
    try:
        return served_groups(api)
    except ApiError as exc:
        if exc.status is None:
            host = api.configuration.host
            raise InputError(f"cluster {host}: cannot reach the API server ({exc.reason})") from None
        raise


def _list_kind(api: client.ApiClient, kind: Kind, namespace: str | None, page_size: int) -> list[dict[str, Any]]:
    accept = METADATA_LIST_ACCEPT if kind.metadata_only else "application/json"
    items, list_kind = list_all(api, kind.path(namespace), accept=accept, page_size=page_size)
    if kind.metadata_only:
        return _metadata_only(kind, items, list_kind)
    return _normalise(kind, items)


def read_cluster(
    api: client.ApiClient,
    cluster: str,
    namespaces: Iterable[str] = (),
    exclude: Iterable[Kind] = (),
    page_size: int = PAGE_SIZE,
    progress: Callable[[int], Callable[[int], None]] | None = None,
) -> Snapshot:
    """Everything the rules judge, from every namespace (or the given ones); cluster-scoped kinds
    are always read since they apply to every namespace. `progress(total)` gives the callback told
    of each kind read."""
    selected = tuple(dict.fromkeys(namespaces))
    excluded = set(exclude)
    snapshot = Snapshot(cluster=cluster, namespaces=selected)
    snapshot.server_version = server_version(api)
    discovery_error: ApiError | None = None
    try:
        groups: dict[str, set[str]] | None = _groups(api)
    except ApiError as exc:
        groups = None  # discovery refused: list the built-in kinds anyway, custom ones cannot be found
        discovery_error = exc
    advance = progress(len(KINDS)) if progress is not None else None
    for kind in KINDS:
        if advance is not None and kind is not KINDS[0]:
            advance(1)
        if kind in excluded:
            snapshot.unaudited.append(Unaudited(kind, None, "excluded on request", excluded=True))
            continue
        if kind.group:
            if groups is None:
                if kind.custom:
                    assert discovery_error is not None
                    snapshot.unaudited.append(Unaudited(kind, None, f"API discovery failed: {discovery_error.reason}",
                                                        discovery_error.status))
                    continue
            elif kind.version not in groups.get(kind.group, set()):
                if kind.custom:
                    if kind.group not in snapshot.absent:
                        snapshot.absent.append(kind.group)
                else:
                    reason = f"{kind.api_version} is not served by this cluster"
                    snapshot.unaudited.append(Unaudited(kind, None, reason))
                continue
        scopes: Sequence[str | None] = selected if (kind.namespaced and selected) else (None,)
        complete = True
        for namespace in scopes:
            try:
                objects = _list_kind(api, kind, namespace, page_size)
            except ApiError as exc:
                snapshot.unaudited.append(Unaudited(kind, namespace, exc.reason, exc.status))
                complete = False
                continue
            if kind.kind == "Namespace" and selected:
                objects = [o for o in objects if (o.get("metadata") or {}).get("name") in selected]
            snapshot.objects.extend(objects)
        if complete:
            snapshot.read.append(kind)
    if advance is not None:
        advance(1)
    return snapshot
