"""Listing every kind of the table from a live cluster, page by page, read-only.

A kind that cannot be read (credentials refused, RBAC denial, API not served, server error, network
failure, an answer that does not parse) becomes an `Unaudited` entry with the reason; nothing is
skipped silently. Only reaching the API server at all is a precondition: if discovery cannot connect,
the cluster is unusable input.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import urllib3
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from common.errors import InputError
from visio.cluster.kinds import KINDS, METADATA_LIST_ACCEPT, PAGE_SIZE, Kind

TIMEOUT = (10.0, 120.0)  # connect, read (seconds)


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


class _Unreadable(Exception):
    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


def _status_reason(exc: ApiException) -> str:
    """The server's own message from a Status body, else the HTTP reason."""
    body = exc.body
    if isinstance(body, bytes | bytearray):
        body = body.decode("utf-8", "replace")
    message = None
    if isinstance(body, str) and body.strip().startswith("{"):
        try:
            doc = json.loads(body)
        except ValueError:
            doc = None
        if isinstance(doc, dict) and isinstance(doc.get("message"), str):
            message = doc["message"]
    reason = exc.reason or "error"
    return f"HTTP {exc.status} {reason}: {message}" if message else f"HTTP {exc.status} {reason}"


def _call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """One request, its JSON body decoded; every failure as `_Unreadable`."""
    try:
        response = fn(*args, _preload_content=False, _request_timeout=TIMEOUT, **kwargs)
        data = response.data
    except ApiException as exc:
        raise _Unreadable(_status_reason(exc), exc.status) from None
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise _Unreadable(f"request failed: {_first_line(exc)}") from None
    try:
        return json.loads(data)
    except ValueError:
        raise _Unreadable("the server's answer is not JSON") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


def _paged(fn: Callable[..., Any], args: Sequence[Any], page_size: int, headers: dict[str, str] | None
           ) -> tuple[list[Any], str | None]:
    """Every item of a list call, following `continue` tokens; one restart if a token expires (410)."""
    restarts = 0
    while True:
        items: list[Any] = []
        token: str | None = None
        try:
            while True:
                kwargs: dict[str, Any] = {"limit": page_size}
                if token:
                    kwargs["_continue"] = token
                if headers:
                    kwargs["_headers"] = dict(headers)
                doc = _call(fn, *args, **kwargs)
                if not isinstance(doc, dict) or not isinstance(doc.get("items", []), list):
                    raise _Unreadable("the server's answer is not a list")
                items.extend(doc.get("items") or [])
                meta = doc.get("metadata")
                token = (meta.get("continue") if isinstance(meta, dict) else None) or None
                if not token:
                    return items, doc.get("kind") if isinstance(doc.get("kind"), str) else None
        except _Unreadable as exc:
            # An expired continue token: the list must start over to stay consistent.
            if exc.status == 410 and token and restarts == 0:
                restarts += 1
                continue
            raise


def _metadata_only(kind: Kind, items: list[Any], list_kind: str | None) -> list[dict[str, Any]]:
    if list_kind != "PartialObjectMetadataList":
        # Whatever came back is dropped unread: it may hold the data the scan must never see.
        raise _Unreadable("the server did not answer the metadata-only list; its answer was discarded")
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


def _served_groups(api: client.ApiClient) -> dict[str, set[str]]:
    """API group -> served versions, from /apis. Not reaching the server at all is unusable input."""
    try:
        doc = _call(client.ApisApi(api).get_api_versions)
    except _Unreadable as exc:
        if exc.status is None:
            host = api.configuration.host
            raise InputError(f"cluster {host}: cannot reach the API server ({exc.reason})") from None
        raise
    groups: dict[str, set[str]] = {}
    for group in doc.get("groups") or [] if isinstance(doc, dict) else []:
        if isinstance(group, dict) and isinstance(group.get("name"), str):
            groups[group["name"]] = {str(v.get("version")) for v in group.get("versions") or []
                                     if isinstance(v, dict)}
    return groups


def _server_version(api: client.ApiClient) -> str | None:
    try:
        doc = _call(client.VersionApi(api).get_code)
    except _Unreadable:
        return None
    version = doc.get("gitVersion") if isinstance(doc, dict) else None
    return version if isinstance(version, str) else None


def _list_kind(api: client.ApiClient, kind: Kind, namespace: str | None, page_size: int) -> list[dict[str, Any]]:
    headers = {"Accept": METADATA_LIST_ACCEPT} if kind.metadata_only else None
    fn: Callable[..., Any]
    args: list[Any]
    if kind.custom:
        custom = client.CustomObjectsApi(api)
        if namespace is not None:
            fn, args = custom.list_namespaced_custom_object, [kind.group, kind.version, namespace, kind.plural]
        else:
            fn, args = custom.list_cluster_custom_object, [kind.group, kind.version, kind.plural]
    else:
        assert kind.api is not None and kind.list_all is not None
        typed = getattr(client, kind.api)(api)
        if namespace is not None:
            assert kind.list_namespaced is not None
            fn, args = getattr(typed, kind.list_namespaced), [namespace]
        else:
            fn, args = getattr(typed, kind.list_all), []
    items, list_kind = _paged(fn, args, page_size, headers)
    if kind.metadata_only:
        return _metadata_only(kind, items, list_kind)
    return _normalise(kind, items)


def read_cluster(
    api: client.ApiClient,
    cluster: str,
    namespaces: Iterable[str] = (),
    exclude: Iterable[Kind] = (),
    page_size: int = PAGE_SIZE,
) -> Snapshot:
    """Everything the rules judge, from every namespace (or the given ones); cluster-scoped kinds
    are always read since they apply to every namespace."""
    selected = tuple(dict.fromkeys(namespaces))
    excluded = set(exclude)
    snapshot = Snapshot(cluster=cluster, namespaces=selected)
    snapshot.server_version = _server_version(api)
    discovery_error: _Unreadable | None = None
    try:
        groups: dict[str, set[str]] | None = _served_groups(api)
    except _Unreadable as exc:
        groups = None  # discovery refused: list the built-in kinds anyway, custom ones cannot be found
        discovery_error = exc
    for kind in KINDS:
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
            except _Unreadable as exc:
                snapshot.unaudited.append(Unaudited(kind, namespace, exc.reason, exc.status))
                complete = False
                continue
            if kind.kind == "Namespace" and selected:
                objects = [o for o in objects if (o.get("metadata") or {}).get("name") in selected]
            snapshot.objects.extend(objects)
        if complete:
            snapshot.read.append(kind)
    return snapshot
