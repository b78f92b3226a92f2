"""Which pod may talk to which: default deny in every namespace, then each needed flow, nothing more.

Every namespace gets a policy denying all ingress and egress, one allowing DNS to kube-dns, and one
policy per workload listing the flows it takes part in (ingress on the receiving side, egress on the
sending side, so both ends of a flow are written from one declaration).

Two kinds of peers cannot be selected by label:
- LiveKit and coturn run with host networking. NetworkPolicy does not govern host-network pods (their
  traffic carries the node's address), so the media namespace keeps only its default deny and DNS,
  and flows to or from them are allowed to and from node addresses: the private ranges below, on the
  flow's port only. The provider firewall (security groups) is what guards those nodes.
  LiveKit posts its webhooks to the backend by the public web name (`https://<domains.web>/api/...`):
  the backend's production settings redirect plain HTTP and refuse any Host but that name. The request
  leaves the media node, comes back in through the load balancer and the ingress controller, and
  reaches the backend on the ingress controller's flow; no node-to-backend flow is opened for it.
  The backend likewise calls the LiveKit server API by its public name (`https://<domains.media>`),
  through the ingress controller, never on the node addresses.
- ProConnect is on the internet and its addresses are not published as a stable list, so an ipBlock
  for the issuer cannot be written offline. Keycloak alone may open HTTPS (443) to public addresses
  (every range except private, loopback, link-local and metadata ones), and only when the stack is
  brokered to ProConnect. A stack that needs tighter control points Keycloak at an egress proxy.

The ingress controller is every pod of the namespace `cluster.ingressNamespace` of the stack.
Keycloak replicas form one cache cluster (JGroups over TCP): they open to each other the data port
and the failure-detection port, and to nothing else of one another.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from common.config import StackConfig
from components import naming
from components.values import captioning as captioning_values
from components.values import identity as identity_values

# Namespaces of the services the flows name.
SIGNALLING, CAPTIONING, IDENTITY, GUARD = (
    naming.namespace(s) for s in ("signalling", "captioning", "identity", "guard"))
COMPONENT_LABEL = "app.kubernetes.io/component"
NAMESPACE_LABEL = "kubernetes.io/metadata.name"

# Node addresses inside the cluster network (host-network pods speak from these).
NODE_RANGES = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")
# Never reachable as "the internet": private, loopback, link-local (cloud metadata), CGNAT, multicast.
NOT_PUBLIC = (*NODE_RANGES, "127.0.0.0/8", "169.254.0.0/16", "0.0.0.0/8", "224.0.0.0/4", "240.0.0.0/4")

Port = tuple[int, str]


@dataclass(frozen=True)
class Pods:
    """Pods of one component in one namespace (component None: every pod of the namespace)."""

    namespace: str
    component: str | None = None


@dataclass(frozen=True)
class Addresses:
    """Peers known only by address."""

    cidr: str
    excepted: tuple[str, ...] = ()


Peer = Pods | Addresses


@dataclass(frozen=True)
class Flow:
    source: Peer
    target: Peer
    ports: tuple[Port, ...]
    why: str


def _tcp(*ports: int) -> tuple[Port, ...]:
    return tuple((p, "TCP") for p in ports)


def _nodes() -> list[Addresses]:
    return [Addresses(cidr) for cidr in NODE_RANGES]


INTERNET = Addresses("0.0.0.0/0", NOT_PUBLIC)
# The API server calls admission webhooks from the provider's control plane, whose addresses the
# stack does not know: the webhook port is open to any source, and only that port.
CONTROL_PLANE = Addresses("0.0.0.0/0")
WEBHOOK_PORT = 8443


def ingress_controller(stack: StackConfig) -> Pods:
    return Pods(stack.cluster.ingressNamespace)


def flows(stack: StackConfig) -> list[Flow]:
    """Every flow the stack needs, each with its reason."""
    backend, worker = Pods(SIGNALLING, "backend"), Pods(SIGNALLING, "worker")
    migrate = Pods(SIGNALLING, "migrate")
    redis, postgres = Pods(SIGNALLING, "redis"), Pods(SIGNALLING, "postgres")
    keycloak, idp_db = Pods(IDENTITY, "keycloak"), Pods(IDENTITY, "postgres")
    ingress = ingress_controller(stack)
    out = [
        Flow(ingress, Pods(SIGNALLING, "frontend"), _tcp(8080), "public web application"),
        # Browsers, and LiveKit's webhooks (host network, by the public web name: see above).
        Flow(ingress, backend, _tcp(8000), "public room and token API, LiveKit webhooks"),
        Flow(ingress, keycloak, _tcp(8080), "public login pages and OIDC endpoints"),
        Flow(keycloak, idp_db, _tcp(5432), "realm database"),
        Flow(keycloak, keycloak, _tcp(*identity_values.cache_ports()), "Keycloak cache cluster (JGroups)"),
    ]
    for django in (backend, worker):
        out += [
            Flow(django, postgres, _tcp(5432), "application database"),
            Flow(django, redis, _tcp(6379), "cache and Celery broker"),
            Flow(django, keycloak, _tcp(8080), "OIDC token, user-info and keys endpoints"),
            # The backend reaches LiveKit (server API) and Keycloak by their public names (hairpin
            # through the ingress controller).
            Flow(django, ingress, _tcp(443, 80), "public names of LiveKit and Keycloak"),
        ]
    out.append(Flow(migrate, postgres, _tcp(5432), "schema migrations"))
    out.append(Flow(CONTROL_PLANE, Pods(GUARD, "webhook"), _tcp(WEBHOOK_PORT), "admission reviews"))
    out += [Flow(nodes, redis, _tcp(6379), "LiveKit routing bus (host network)") for nodes in _nodes()]
    if stack.identity.provider == "proconnect":
        out.append(Flow(keycloak, INTERNET, _tcp(443), "ProConnect identity federation"))
    if stack.captioning.enabled:
        agent, stt = Pods(CAPTIONING, "agent"), Pods(CAPTIONING, "stt")
        stt_port = int(captioning_values.values(stack)["stt"]["port"])
        out += [Flow(agent, nodes, _tcp(7880), "LiveKit agent connection (host network)") for nodes in _nodes()]
        out.append(Flow(agent, stt, _tcp(stt_port), "in-cluster speech-to-text"))
    return out


def _peer(peer: Peer) -> dict[str, Any]:
    if isinstance(peer, Addresses):
        block: dict[str, Any] = {"cidr": peer.cidr}
        if peer.excepted:
            block["except"] = list(peer.excepted)
        return {"ipBlock": block}
    selector: dict[str, Any] = {"namespaceSelector": {"matchLabels": {NAMESPACE_LABEL: peer.namespace}}}
    selector["podSelector"] = {"matchLabels": {COMPONENT_LABEL: peer.component}} if peer.component else {}
    return selector


def _ports(ports: Iterable[Port]) -> list[dict[str, Any]]:
    return [{"port": port, "protocol": protocol} for port, protocol in ports]


def default_deny(namespace: str) -> dict[str, Any]:
    return _policy(namespace, "default-deny", {}, ingress=[], egress=[])


def allow_dns(namespace: str) -> dict[str, Any]:
    dns = {
        "namespaceSelector": {"matchLabels": {NAMESPACE_LABEL: "kube-system"}},
        "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
    }
    return _policy(namespace, "allow-dns", {}, egress=[{"to": [dns], "ports": _ports([(53, "UDP"), (53, "TCP")])}])


def _policy(
    namespace: str,
    name: str,
    pod_selector: dict[str, Any],
    ingress: list[dict[str, Any]] | None = None,
    egress: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    types = [t for t, rules in (("Ingress", ingress), ("Egress", egress)) if rules is not None]
    spec: dict[str, Any] = {"podSelector": pod_selector, "policyTypes": types}
    # A type without rules denies all. An empty list is not written: the API server drops it, and an
    # apply that sends it again counts as a change of spec every time (a new generation).
    if ingress:
        spec["ingress"] = ingress
    if egress:
        spec["egress"] = egress
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def policies(namespace: str, stack: StackConfig) -> list[dict[str, Any]]:
    """The NetworkPolicies of one namespace: deny all, DNS, then one per workload with flows."""
    out = [default_deny(namespace), allow_dns(namespace)]
    workloads: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for flow in flows(stack):
        target, source = flow.target, flow.source
        if isinstance(target, Pods) and target.namespace == namespace and target.component:
            rules = workloads.setdefault(target.component, {"ingress": [], "egress": []})
            rules["ingress"].append({"from": [_peer(source)], "ports": _ports(flow.ports)})
        if isinstance(source, Pods) and source.namespace == namespace and source.component:
            rules = workloads.setdefault(source.component, {"ingress": [], "egress": []})
            rules["egress"].append({"to": [_peer(target)], "ports": _ports(flow.ports)})
    for component, rules in sorted(workloads.items()):
        out.append(
            _policy(
                namespace,
                f"allow-{component}",
                {"matchLabels": {COMPONENT_LABEL: component}},
                ingress=rules["ingress"] or None,
                egress=rules["egress"] or None,
            )
        )
    return out
