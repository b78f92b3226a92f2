"""NetworkPolicies: deny by default in every namespace, DNS, and exactly the flows each service needs."""

from __future__ import annotations

from typing import Any

import pytest

from common.config import StackConfig, load_stack
from components import network
from components.network import COMPONENT_LABEL, NODE_RANGES
from tests.program.conftest import STACKS, plan_of
from visio.plan.mockrun import Plan

POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet", "Job")


def policies(plan: Plan, namespace: str) -> dict[str, dict[str, Any]]:
    return {
        r.inputs["metadata"]["name"]: r.inputs["spec"]
        for r in plan.of_type(POLICY)
        if r.inputs["metadata"]["namespace"] == namespace
    }


def namespaces(plan: Plan) -> list[str]:
    return [r.name for r in plan.of_type("kubernetes:core/v1:Namespace")]


def allowed(spec: dict[str, Any], direction: str) -> set[tuple[str, str | None, int]]:
    """(peer namespace or cidr, peer component, port) for every rule of one direction."""
    side = "from" if direction == "ingress" else "to"
    out = set()
    for rule in spec.get(direction, []):
        for peer in rule[side]:
            if "ipBlock" in peer:
                where, component = peer["ipBlock"]["cidr"], None
            else:
                where = peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
                component = peer["podSelector"].get("matchLabels", {}).get(COMPONENT_LABEL)
            out |= {(where, component, p["port"]) for p in rule["ports"]}
    return out


@pytest.mark.parametrize("stack", STACKS)
def test_every_namespace_denies_all_traffic_by_default_and_allows_dns(stack: str) -> None:
    plan = plan_of(stack)
    for ns in namespaces(plan):
        found = policies(plan, ns)
        deny = found["default-deny"]
        assert deny["podSelector"] == {}
        assert sorted(deny["policyTypes"]) == ["Egress", "Ingress"]
        assert deny.get("ingress", []) == [] and deny.get("egress", []) == []
        dns = found["allow-dns"]
        assert dns["podSelector"] == {} and dns["policyTypes"] == ["Egress"]
        (rule,) = dns["egress"]
        assert {(p["port"], p["protocol"]) for p in rule["ports"]} == {(53, "UDP"), (53, "TCP")}
        (peer,) = rule["to"]
        assert peer["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "kube-system"}
        assert peer["podSelector"]["matchLabels"] == {"k8s-app": "kube-dns"}


def ingress_namespace(stack: str) -> str:
    return load_stack(stack).config.cluster.ingressNamespace


@pytest.mark.parametrize("stack", STACKS)
def test_signalling_flows(stack: str) -> None:
    found = policies(plan_of(stack), "visio-signalling")
    ingress = ingress_namespace(stack)
    backend = allowed(found["allow-backend"], "egress")
    assert {("visio-signalling", "postgres", 5432), ("visio-signalling", "redis", 6379),
            ("visio-identity", "keycloak", 8080), (ingress, None, 443)} <= backend
    assert allowed(found["allow-frontend"], "ingress") == {(ingress, None, 8080)}
    assert "egress" not in found["allow-frontend"]
    assert allowed(found["allow-postgres"], "ingress") == {
        ("visio-signalling", c, 5432) for c in ("backend", "worker", "migrate")
    }
    redis = allowed(found["allow-redis"], "ingress")
    assert {(cidr, None, 6379) for cidr in NODE_RANGES} <= redis  # LiveKit, host network
    assert {p for _, _, p in redis} == {6379}


@pytest.mark.parametrize("stack", STACKS)
def test_keycloak_reaches_the_internet_only_for_proconnect(stack: str) -> None:
    config = load_stack(stack).config
    keycloak = policies(plan_of(stack), "visio-identity")["allow-keycloak"]
    egress = allowed(keycloak, "egress")
    assert ("visio-identity", "postgres", 5432) in egress
    public = {e for e in egress if e[0] == "0.0.0.0/0"}
    if config.identity.provider == "proconnect":
        assert public == {("0.0.0.0/0", None, 443)}
        (block,) = [p["ipBlock"] for r in keycloak["egress"] for p in r["to"] if "ipBlock" in p]
        assert {"10.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16"} <= set(block["except"])
    else:
        assert public == set()
    assert allowed(keycloak, "ingress") >= {(ingress_namespace(stack), None, 8080)}
    # Nothing else in any namespace may open the internet.
    for ns in namespaces(plan_of(stack)):
        for name, spec in policies(plan_of(stack), ns).items():
            if (ns, name) != ("visio-identity", "allow-keycloak"):
                assert not any(e[0] == "0.0.0.0/0" for e in allowed(spec, "egress")), (ns, name)


@pytest.mark.parametrize("stack", [s for s in STACKS if load_stack(s).config.captioning.enabled])
def test_captioning_agent_reaches_only_livekit_and_its_stt(stack: str) -> None:
    plan = plan_of(stack)
    found = policies(plan, "visio-captioning")
    stt_port = plan.get("kubernetes:helm.sh/v4:Chart", "captioning").inputs["values"]["stt"]["port"]
    agent = allowed(found["allow-agent"], "egress")
    assert agent == {(cidr, None, 7880) for cidr in NODE_RANGES} | {("visio-captioning", "stt", stt_port)}
    assert "ingress" not in found["allow-agent"]
    assert allowed(found["allow-stt"], "ingress") == {("visio-captioning", "agent", stt_port)}
    assert "egress" not in found["allow-stt"]  # audio never leaves the cluster


@pytest.mark.parametrize("stack", STACKS)
def test_policies_select_pods_the_charts_actually_run(stack: str) -> None:
    """A selector that matches no pod is a flow silently denied (or a hole left open)."""
    plan = plan_of(stack)
    pods: dict[str, list[dict[str, str]]] = {}
    for r in plan.kubernetes_objects():
        if r.inputs["kind"] in WORKLOADS:
            labels = r.inputs["spec"]["template"]["metadata"]["labels"]
            pods.setdefault(r.inputs["metadata"]["namespace"], []).append(labels)
    for r in plan.of_type(POLICY):
        ns, spec = r.inputs["metadata"]["namespace"], r.inputs["spec"]
        selectors = [(ns, spec["podSelector"])]
        for direction, side in (("ingress", "from"), ("egress", "to")):
            for rule in spec.get(direction, []):
                for peer in rule[side]:
                    target = peer.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name")
                    if target and target.startswith("visio-"):
                        selectors.append((target, peer["podSelector"]))
        for target, selector in selectors:
            wanted = selector.get("matchLabels", {})
            assert any(wanted.items() <= labels.items() for labels in pods.get(target, [])), (r.name, target, wanted)


@pytest.mark.parametrize("stack", STACKS)
def test_host_network_pods_get_no_pointless_allow_policy(stack: str) -> None:
    assert set(policies(plan_of(stack), "visio-media")) == {"default-deny", "allow-dns"}


@pytest.mark.parametrize("stack", STACKS)
def test_livekit_reaches_the_backend_only_through_the_ingress_controller(stack: str) -> None:
    """Webhooks and server API calls use the public names: no node address reaches the backend or
    is reached by it (host-network LiveKit goes out through the node and back in through the ingress)."""
    found = policies(plan_of(stack), "visio-signalling")
    for component in ("backend", "worker"):
        both = allowed(found[f"allow-{component}"], "ingress") | allowed(found[f"allow-{component}"], "egress")
        assert not {e for e in both if e[0] in NODE_RANGES}, component
    assert allowed(found["allow-backend"], "ingress") == {(ingress_namespace(stack), None, 8000)}


@pytest.mark.parametrize("stack", STACKS)
def test_keycloak_replicas_open_exactly_the_cache_ports_to_each_other(stack: str) -> None:
    plan = plan_of(stack)
    keycloak = policies(plan, "visio-identity")["allow-keycloak"]
    cache = {("visio-identity", "keycloak", 7800), ("visio-identity", "keycloak", 57800)}
    for direction in ("ingress", "egress"):
        between = {e for e in allowed(keycloak, direction) if e[:2] == ("visio-identity", "keycloak")}
        assert between == cache, direction
    # Nothing but Keycloak itself may use those ports.
    for ns in namespaces(plan):
        for name, spec in policies(plan, ns).items():
            for direction in ("ingress", "egress"):
                for where, component, port in allowed(spec, direction):
                    if port in (7800, 57800):
                        assert (ns, name, where, component) == (
                            "visio-identity", "allow-keycloak", "visio-identity", "keycloak")
    # The ports the chart's Keycloak container declares are the ones opened.
    chart = plan.get("kubernetes:helm.sh/v4:Chart", "identity").inputs["values"]["keycloak"]["cache"]
    assert {chart["port"], chart["port"] + chart["failureDetectionOffset"]} == {7800, 57800}
    (deployment,) = [r.inputs for r in plan.kubernetes_objects()
                     if r.inputs["kind"] == "Deployment" and r.inputs["metadata"]["name"] == "identity-keycloak"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    declared = {p["containerPort"] for p in container["ports"] if p["name"].startswith("jgroups")}
    assert declared == {7800, 57800}


def _with_ingress_namespace(stack: str, namespace: str) -> StackConfig:
    config = load_stack(stack).config
    return config.model_copy(
        update={"cluster": config.cluster.model_copy(update={"ingressNamespace": namespace})}
    )


@pytest.mark.parametrize("stack", STACKS)
def test_ingress_controller_namespace_comes_from_the_stack(stack: str) -> None:
    config = _with_ingress_namespace(stack, "haproxy-ingress")
    seen = set()
    for ns in (network.SIGNALLING, network.IDENTITY):
        for policy in network.policies(ns, config):
            for direction in ("ingress", "egress"):
                seen |= {where for where, _, _ in allowed(policy["spec"], direction)}
    assert "haproxy-ingress" in seen
    assert "ingress-nginx" not in seen
