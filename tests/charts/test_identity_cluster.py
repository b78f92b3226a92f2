"""Keycloak replicas form one cache cluster: discovery, JGroups ports and the addresses they bind."""

from __future__ import annotations

import copy
from typing import Any

import helm_python
import pytest

from common.config import StackConfig, load_stack
from common.paths import chart_path
from components import naming
from components.values import identity
from tests.charts.rendering import STACKS, by_kind, env_of, rendered, validate_all

Obj = dict[str, Any]


def config(name: str) -> StackConfig:
    return load_stack(name).config


def _objects(values: dict[str, Any]) -> list[Obj]:
    return rendered("identity", values, naming.namespace("identity"))


def _keycloak(objs: list[Obj]) -> Obj:
    (container,) = by_kind(objs, "Deployment")["identity-keycloak"]["spec"]["template"]["spec"]["containers"]
    return container


def _jvm_properties(container: Obj) -> dict[str, str]:
    opts = env_of(container)["JAVA_OPTS_APPEND"]["value"].split()
    assert all(o.startswith("-D") and "=" in o for o in opts), opts
    return dict(o[2:].split("=", 1) for o in opts)


def _kubernetes_stack(name: str) -> dict[str, Any]:
    values = copy.deepcopy(identity.values(config(name)))
    values["keycloak"]["cache"]["stack"] = "kubernetes"
    return values


def test_production_stacks_run_several_keycloak_replicas() -> None:
    replicas = {n: identity.values(config(n))["keycloak"]["replicas"] for n in STACKS}
    assert all(replicas[n] >= 2 for n in STACKS if config(n).production), replicas


@pytest.mark.parametrize("name", STACKS)
def test_keycloak_clusters_its_cache_over_tcp_bound_to_the_pod_address(name: str) -> None:
    objs = _objects(identity.values(config(name)))
    container = _keycloak(objs)
    env = env_of(container)
    assert env["KC_CACHE"]["value"] == "ispn"
    assert env["KC_CACHE_STACK"]["value"] == "jdbc-ping"
    # The pod address comes from the downward API and is declared before it is referenced.
    assert env["POD_IP"]["valueFrom"]["fieldRef"]["fieldPath"] == "status.podIP"
    names = list(env)
    assert names.index("POD_IP") < names.index("JAVA_OPTS_APPEND")
    props = _jvm_properties(container)
    assert props == {
        "jgroups.bind.address": "$(POD_IP)",
        "jgroups.bind.port": "7800",
        "jgroups.fd.port-offset": "50000",
    }
    ports = {p["name"]: (p["containerPort"], p["protocol"]) for p in container["ports"]}
    assert ports["jgroups"] == (7800, "TCP") and ports["jgroups-fd"] == (57800, "TCP")
    # jdbc-ping discovers replicas through the database: no discovery Service.
    assert "identity-keycloak-discovery" not in by_kind(objs, "Service")


@pytest.mark.parametrize("name", STACKS)
def test_kubernetes_stack_discovers_replicas_through_a_headless_service(name: str) -> None:
    objs = _objects(_kubernetes_stack(name))
    validate_all(objs, config(name).cluster.kubernetesVersion)
    container = _keycloak(objs)
    assert env_of(container)["KC_CACHE_STACK"]["value"] == "kubernetes"
    svc = by_kind(objs, "Service")["identity-keycloak-discovery"]
    assert svc["spec"]["clusterIP"] == "None"
    # Starting replicas must find each other before any of them is ready.
    assert svc["spec"]["publishNotReadyAddresses"] is True
    pod_labels = by_kind(objs, "Deployment")["identity-keycloak"]["spec"]["template"]["metadata"]["labels"]
    assert svc["spec"]["selector"].items() <= pod_labels.items()
    assert [(p["port"], p["targetPort"]) for p in svc["spec"]["ports"]] == [(7800, "jgroups")]
    props = _jvm_properties(container)
    assert props["jgroups.dns.query"] == "identity-keycloak-discovery.visio-identity.svc.cluster.local"
    assert props["jgroups.bind.address"] == "$(POD_IP)"


@pytest.mark.parametrize("stack_name", ["jdbc-ping", "kubernetes"])
def test_both_cache_stacks_pass_strict_lint(stack_name: str) -> None:
    values = _kubernetes_stack("interieur-prod") if stack_name == "kubernetes" else identity.values(
        config("interieur-prod"))
    report = helm_python.lint(chart_path("identity"), values, strict=True, kube_version="v1.31.0")
    assert report["errors"] == [] and [m for m in report["messages"] if m["severity"] > 1] == []


@pytest.mark.parametrize(("key", "value"), [("stack", "udp"), ("port", 80), ("port", 20000)])
def test_schema_refuses_other_cache_settings(key: str, value: Any) -> None:
    values = copy.deepcopy(identity.values(config("interieur-prod")))
    values["keycloak"]["cache"][key] = value
    chart = helm_python.Chart.load(chart_path("identity"))
    with pytest.raises(helm_python.HelmValuesError, match=f"/keycloak/cache/{key}"):
        chart.validate_schema(values)
