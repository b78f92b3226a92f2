"""Read-only requests to a cluster's API, shared by `visio scan` and `visio drift`.

Every request is a raw GET through the official client, so its authentication, TLS and proxy
settings apply, while the paths come from the kinds table or the server's own discovery documents.
Every failure — an HTTP error, a network error, an answer that is not JSON — is one `ApiError`,
with the HTTP status when the server answered at all.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import urllib3

from visio.cluster.kinds import PAGE_SIZE, Kind, version_root

if TYPE_CHECKING:
    from kubernetes import client

TIMEOUT = (10.0, 120.0)  # connect, read (seconds); a read covers one page of PAGE_SIZE objects
JSON = "application/json"


class ApiError(Exception):
    """A request that gave no usable answer; `status` is None when the server was not reached."""

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


def _failure(status: int, http_reason: str | None, data: bytes) -> ApiError:
    """The server's own message from a Status body, else the HTTP reason."""
    message = None
    try:
        doc = json.loads(data)
    except ValueError:
        doc = None
    if isinstance(doc, dict) and isinstance(doc.get("message"), str):
        message = doc["message"]
    head = f"HTTP {status} {http_reason or 'error'}"
    return ApiError(f"{head}: {message}" if message else head, status)


def get_json(api: client.ApiClient, path: str, query: Sequence[tuple[str, str]] = (), accept: str = JSON) -> Any:
    """One GET, its body decoded as JSON."""
    try:
        method, url, headers, body, post = api.param_serialize(
            "GET", path, query_params=list(query), header_params={"Accept": accept}, auth_settings=["BearerToken"])
        response = api.call_api(method, url, header_params=headers, body=body, post_params=post,
                                _request_timeout=TIMEOUT)
        data = response.read() or b""  # type: ignore[no-untyped-call]
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise ApiError(f"request failed: {_first_line(exc)}") from None
    if not 200 <= response.status < 300:
        raise _failure(response.status, response.reason, data)
    try:
        return json.loads(data)
    except ValueError:
        raise ApiError("the server's answer is not JSON") from None


def list_all(api: client.ApiClient, path: str, query: Sequence[tuple[str, str]] = (), accept: str = JSON,
             page_size: int = PAGE_SIZE) -> tuple[list[Any], str | None]:
    """Every item of a list and the list's kind, page by page; one restart if a token expires (410)."""
    restarted = False
    while True:
        items: list[Any] = []
        token: str | None = None
        try:
            while True:
                page = [*query, ("limit", str(page_size))] + ([("continue", token)] if token else [])
                doc = get_json(api, path, page, accept)
                if not isinstance(doc, dict) or not isinstance(doc.get("items") or [], list):
                    raise ApiError("the server's answer is not a list")
                items.extend(doc.get("items") or [])
                meta = doc.get("metadata")
                token = (meta.get("continue") if isinstance(meta, dict) else None) or None
                if not token:
                    kind = doc.get("kind")
                    return items, kind if isinstance(kind, str) else None
        except ApiError as exc:
            # An expired continue token: the list starts over so that it stays one consistent read.
            if exc.status == 410 and token and not restarted:
                restarted = True
                continue
            raise


def served_groups(api: client.ApiClient) -> dict[str, set[str]]:
    """API group -> served versions, from /apis."""
    doc = get_json(api, "/apis")
    groups: dict[str, set[str]] = {}
    for group in doc.get("groups") or [] if isinstance(doc, dict) else []:
        if isinstance(group, dict) and isinstance(group.get("name"), str):
            groups[group["name"]] = {str(v.get("version")) for v in group.get("versions") or []
                                     if isinstance(v, dict)}
    return groups


def served_kinds(api: client.ApiClient, api_versions: Iterable[str]) -> dict[tuple[str, str], Kind]:
    """(apiVersion, kind) -> how to read it, from each version's discovery document.

    A version the server does not serve is left out (its objects are then unreadable one by one);
    not reaching the server at all raises.
    """
    found: dict[tuple[str, str], Kind] = {}
    for api_version in sorted(set(api_versions)):
        try:
            doc = get_json(api, version_root(api_version))
        except ApiError as exc:
            if exc.status is None:
                raise
            continue
        for r in doc.get("resources") or [] if isinstance(doc, dict) else []:
            name = r.get("name") if isinstance(r, dict) else None
            # "deployments/scale" and the like are subresources, not kinds of their own.
            if isinstance(name, str) and "/" not in name and isinstance(r.get("kind"), str):
                found[(api_version, r["kind"])] = Kind(api_version, r["kind"], name, bool(r.get("namespaced")))
    return found


def server_version(api: client.ApiClient) -> str | None:
    try:
        doc = get_json(api, "/version")
    except ApiError:
        return None
    version = doc.get("gitVersion") if isinstance(doc, dict) else None
    return version if isinstance(version, str) else None
