"""A Kubernetes API server on loopback, enough of it for the unmodified `kubernetes` client.

Serves /version, discovery (/api, /api/v1, /apis, /apis/<group>/<version>), list (all namespaces or
one, `labelSelector`, `limit`/`continue` pagination) and get, metadata-only answers for
`Accept: ...;as=PartialObjectMetadataList` / `PartialObjectMetadata`, bearer-token authentication,
and Status bodies for 401/403/404/410/500 exactly as the real server shapes them. List items carry
no kind/apiVersion, as from the real server. Every request is recorded so tests can check what was
asked (read-only verbs, Secret data never requested).
"""

from __future__ import annotations

import base64
import copy
import json
import socket
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml


@dataclass(frozen=True)
class Resource:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


BUILTIN = (
    Resource("", "v1", "namespaces", "Namespace", False),
    Resource("", "v1", "nodes", "Node", False),
    Resource("", "v1", "pods", "Pod", True),
    Resource("", "v1", "services", "Service", True),
    Resource("", "v1", "endpoints", "Endpoints", True),
    Resource("", "v1", "configmaps", "ConfigMap", True),
    Resource("", "v1", "secrets", "Secret", True),
    Resource("", "v1", "serviceaccounts", "ServiceAccount", True),
    Resource("", "v1", "replicationcontrollers", "ReplicationController", True),
    Resource("", "v1", "podtemplates", "PodTemplate", True),
    Resource("apps", "v1", "deployments", "Deployment", True),
    Resource("apps", "v1", "statefulsets", "StatefulSet", True),
    Resource("apps", "v1", "daemonsets", "DaemonSet", True),
    Resource("apps", "v1", "replicasets", "ReplicaSet", True),
    Resource("batch", "v1", "jobs", "Job", True),
    Resource("batch", "v1", "cronjobs", "CronJob", True),
    Resource("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", True),
    Resource("networking.k8s.io", "v1", "ingresses", "Ingress", True),
    Resource("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", True),
    Resource("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", True),
    Resource("autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", True),
    Resource("admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations",
             "ValidatingWebhookConfiguration", False),
    Resource("admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations",
             "MutatingWebhookConfiguration", False),
    Resource("admissionregistration.k8s.io", "v1", "validatingadmissionpolicies", "ValidatingAdmissionPolicy", False),
    Resource("admissionregistration.k8s.io", "v1", "validatingadmissionpolicybindings",
             "ValidatingAdmissionPolicyBinding", False),
)
CERT_MANAGER = (
    Resource("cert-manager.io", "v1", "issuers", "Issuer", True),
    Resource("cert-manager.io", "v1", "clusterissuers", "ClusterIssuer", False),
    Resource("cert-manager.io", "v1", "certificates", "Certificate", True),
)


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    accept: str
    authorized: bool


@dataclass
class FakeCluster:
    token: str = "visio-auditor-token"
    cert_manager: bool = False
    # plural -> status answered for it (403 Forbidden, 500, ...), for list and get alike
    failing: dict[str, int] = field(default_factory=dict)
    # Largest page the server hands out whatever `limit` asks (a real server may return fewer).
    max_page: int | None = None
    # Answer the next request carrying a continue token with 410 Gone (an expired token).
    expire_next_continue: bool = False
    objects: dict[Resource, list[dict[str, Any]]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    secret_data_served: int = 0
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _rv: int = 1000

    # -- content ----------------------------------------------------------------------------

    @property
    def resources(self) -> tuple[Resource, ...]:
        return BUILTIN + (CERT_MANAGER if self.cert_manager else ())

    def resource_for(self, api_version: str, kind: str) -> Resource:
        for r in self.resources:
            if r.api_version == api_version and r.kind == kind:
                return r
        raise KeyError(f"{api_version} {kind} is not served")

    def add(self, obj: dict[str, Any]) -> dict[str, Any]:
        r = self.resource_for(obj["apiVersion"], obj["kind"])
        with self._lock:
            self._rv += 1
            obj = copy.deepcopy(obj)
            meta = obj.setdefault("metadata", {})
            meta.setdefault("uid", f"00000000-0000-4000-8000-{self._rv:012d}")
            meta["resourceVersion"] = str(self._rv)
            meta.setdefault("creationTimestamp", "2025-03-01T09:00:00Z")
            if not r.namespaced:
                meta.pop("namespace", None)
            self.objects.setdefault(r, []).append(obj)
        return obj

    def add_all(self, objs: Iterable[dict[str, Any]]) -> None:
        for obj in objs:
            self.add(obj)

    def find(self, kind: str, name: str, namespace: str | None = None) -> dict[str, Any]:
        for r, objs in self.objects.items():
            if r.kind != kind:
                continue
            for obj in objs:
                meta = obj["metadata"]
                if meta["name"] == name and meta.get("namespace") == namespace:
                    return obj
        raise KeyError(f"{kind} {namespace}/{name}")

    def remove(self, kind: str, name: str, namespace: str | None = None) -> None:
        obj = self.find(kind, name, namespace)
        for objs in self.objects.values():
            if obj in objs:
                objs.remove(obj)

    # -- serving ----------------------------------------------------------------------------

    def start(self) -> FakeCluster:
        cluster = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                # Headers and body leave in two writes: without this, delayed ACKs cost 40 ms a request.
                self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def log_message(self, format: str, *args: Any) -> None:  # quiet test output
                return

            def do_GET(self) -> None:
                status, body = cluster.handle("GET", self.path, dict(self.headers.items()))
                self._send(status, body)

            def _refuse(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                cluster.seen.append(Seen(self.command, self.path, {}, "", True))
                self._send(405, _status(405, "MethodNotAllowed", "the auditor never writes"))

            do_POST = do_PUT = do_PATCH = do_DELETE = _refuse

            def _send(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def write_kubeconfig(self, path: Path, token: str | None = None) -> Path:
        doc = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "loopback", "cluster": {"server": self.url}}],
            "users": [{"name": "auditor", "user": {"token": token or self.token}}],
            "contexts": [{"name": "visio-test", "context": {"cluster": "loopback", "user": "auditor"}}],
            "current-context": "visio-test",
        }
        path.write_text(yaml.safe_dump(doc))
        return path

    # -- the API ----------------------------------------------------------------------------

    def handle(self, method: str, raw_path: str, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        split = urlsplit(raw_path)
        query = parse_qs(split.query)
        lower = {k.lower(): v for k, v in headers.items()}
        authorized = lower.get("authorization") == f"Bearer {self.token}"
        accept = lower.get("accept", "")
        self.seen.append(Seen(method, split.path, query, accept, authorized))
        if not authorized:
            return 401, _status(401, "Unauthorized", "Unauthorized")
        parts = [p for p in split.path.split("/") if p]
        if parts == ["version"]:
            return 200, {"major": "1", "minor": "31", "gitVersion": "v1.31.4", "platform": "linux/amd64"}
        if parts == ["api"]:
            return 200, {"kind": "APIVersions", "versions": ["v1"],
                         "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]}
        if parts == ["apis"]:
            return 200, self._groups()
        if parts[:1] == ["api"] and len(parts) >= 2:
            group, version, rest = "", parts[1], parts[2:]
        elif parts[:1] == ["apis"] and len(parts) >= 3:
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            return 404, _status(404, "NotFound", "the server could not find the requested resource")
        served = [r for r in self.resources if r.group == group and r.version == version]
        if not served:
            return 404, _status(404, "NotFound", "the server could not find the requested resource")
        if not rest:
            return 200, {"kind": "APIResourceList", "apiVersion": "v1",
                         "groupVersion": f"{group}/{version}" if group else version,
                         "resources": [{"name": r.plural, "singularName": r.kind.lower(), "namespaced": r.namespaced,
                                        "kind": r.kind, "verbs": ["get", "list", "watch"]} for r in served]}
        namespace: str | None = None
        if rest[0] == "namespaces" and len(rest) >= 3:
            namespace, rest = rest[1], rest[2:]
        by_plural = {r.plural: r for r in served}
        resource = by_plural.get(rest[0])
        if resource is None or len(rest) > 2:
            return 404, _status(404, "NotFound", "the server could not find the requested resource")
        if resource.plural in self.failing:
            code = self.failing[resource.plural]
            where = f"in the namespace \"{namespace}\"" if namespace else "at the cluster scope"
            group_text = f"{resource.plural}.{group}" if group else resource.plural
            if code == 403:
                verb = "get" if len(rest) == 2 else "list"
                message = (f"{group_text} is forbidden: User \"system:serviceaccount:visio-audit:auditor\" cannot "
                           f"{verb} resource \"{resource.plural}\" in API group \"{group}\" {where}")
                return 403, _status(403, "Forbidden", message, {"group": group, "kind": resource.plural})
            return code, _status(code, "InternalError", f"an error on the server (\"etcdserver: request timed out\") "
                                 f"has prevented the request from succeeding (get {group_text})")
        if len(rest) == 2:
            return self._get(resource, namespace, rest[1], accept)
        return self._list(resource, namespace, query, accept)

    def _groups(self) -> dict[str, Any]:
        groups: dict[str, list[str]] = {}
        for r in self.resources:
            if r.group and r.version not in groups.setdefault(r.group, []):
                groups[r.group].append(r.version)
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
            {"name": g, "versions": [{"groupVersion": f"{g}/{v}", "version": v} for v in vs],
             "preferredVersion": {"groupVersion": f"{g}/{vs[0]}", "version": vs[0]}}
            for g, vs in groups.items()]}

    def _matching(self, resource: Resource, namespace: str | None, selector: str | None) -> list[dict[str, Any]]:
        wanted: dict[str, str] = {}
        for term in (selector or "").split(","):
            if term.strip():
                key, _, value = term.partition("=")
                wanted[key.strip()] = value.strip().lstrip("=")
        out = []
        for obj in self.objects.get(resource, []):
            meta = obj["metadata"]
            if namespace is not None and meta.get("namespace") != namespace:
                continue
            labels = meta.get("labels") or {}
            if all(labels.get(k) == v for k, v in wanted.items()):
                out.append(obj)
        return sorted(out, key=lambda o: (o["metadata"].get("namespace") or "", o["metadata"]["name"]))

    def _get(self, resource: Resource, namespace: str | None, name: str, accept: str) -> tuple[int, dict[str, Any]]:
        for obj in self._matching(resource, namespace if resource.namespaced else None, None):
            if obj["metadata"]["name"] == name:
                if "as=PartialObjectMetadata;" in accept or accept.endswith("as=PartialObjectMetadata"):
                    return 200, {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                                 "metadata": copy.deepcopy(obj["metadata"])}
                if resource.kind == "Secret":
                    self.secret_data_served += 1
                return 200, copy.deepcopy(obj)
        group_text = f"{resource.plural}.{resource.group}" if resource.group else resource.plural
        return 404, _status(404, "NotFound", f"{group_text} \"{name}\" not found",
                            {"name": name, "group": resource.group, "kind": resource.plural})

    def _list(self, resource: Resource, namespace: str | None, query: dict[str, list[str]], accept: str
              ) -> tuple[int, dict[str, Any]]:
        items = self._matching(resource, namespace, (query.get("labelSelector") or [None])[0])
        start = 0
        token = (query.get("continue") or [None])[0]
        if token:
            if self.expire_next_continue:
                self.expire_next_continue = False
                return 410, _status(410, "Expired", "The provided continue parameter is too old to display a "
                                    "consistent list result. You can start a new list without the continue parameter.")
            try:
                start = int(json.loads(base64.urlsafe_b64decode(token))["start"])
            except (ValueError, KeyError, TypeError):
                return 400, _status(400, "BadRequest", "continue key is not valid")
        limit_text = (query.get("limit") or [None])[0]
        limit = int(limit_text) if limit_text else None
        if self.max_page is not None:
            limit = min(limit or self.max_page, self.max_page)
        page = items[start:start + limit] if limit else items[start:]
        end = start + len(page)
        meta: dict[str, Any] = {"resourceVersion": str(self._rv)}
        if end < len(items):
            meta["continue"] = base64.urlsafe_b64encode(json.dumps({"start": end}).encode()).decode()
            meta["remainingItemCount"] = len(items) - end
        if "as=PartialObjectMetadataList" in accept:
            return 200, {"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1", "metadata": meta,
                         "items": [{"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                                    "metadata": copy.deepcopy(o["metadata"])} for o in page]}
        if resource.kind == "Secret" and page:
            self.secret_data_served += len(page)
        body_items = []
        for obj in page:
            item = copy.deepcopy(obj)
            item.pop("kind", None)  # the real server leaves them out of list items
            item.pop("apiVersion", None)
            body_items.append(item)
        return 200, {"kind": f"{resource.kind}List", "apiVersion": resource.api_version, "metadata": meta,
                     "items": body_items}


def _status(code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                            "message": message, "reason": reason, "code": code}
    if details:
        body["details"] = details
    return body
