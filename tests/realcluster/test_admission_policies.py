"""Every generated ValidatingAdmissionPolicy on the real API server, against its rule's own fixtures.

Each fixture document is created with `--dry-run=server`: the API server runs the policy generated
for the fixture's configuration, and its verdict must be the engine's. A document the server refuses
for another reason (a container without image, an ephemeral container at creation) is split into one
Pod per container, each judged alike, so every container of every fixture is judged.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from policies.admission.policies import policy_name, validating_policies
from policies.engine.adapters import from_kubernetes
from policies.engine.config import PolicyConfig
from policies.engine.evaluate import enforcement_of, evaluate
from policies.engine.podspec import CARRIERS, CONTAINER_LISTS
from policies.engine.rule import Context, Rule
from policies.rules import ALL_RULES
from tests.policy.test_rule_fixtures import TODAY, fixtures_dir, load_fixture
from tests.realcluster.cluster import LocalCluster

STACK = "dev"
CEL_RULES = [r for r in ALL_RULES if r.cel is not None]
# How long a new or changed policy may take to reach the API server's admission plugin.
PROPAGATION = 20.0


def _cases() -> Iterator[Any]:
    for rule in CEL_RULES:
        for outcome in ("pass", "fail"):
            for path in sorted((fixtures_dir(rule) / outcome).glob("*.yaml")):
                yield pytest.param(rule, path, id=f"{rule.id}/{outcome}/{path.stem}")


@dataclass(frozen=True)
class Verdict:
    admitted: bool
    by_policy: bool  # the refusal (or warning) names the rule's policy
    text: str


def _judge(cluster: LocalCluster, obj: Mapping[str, Any], rule: Rule) -> Verdict:
    result = cluster.kubectl("create", "--dry-run=server", "-o", "name", "-f", "-", input=json.dumps(obj),
                             check=False)
    named = f"ValidatingAdmissionPolicy '{policy_name(rule.id)}'" in result.stderr
    return Verdict(result.returncode == 0, named, result.stderr.strip())


def _engine_flags(obj: Mapping[str, Any], rule: Rule, config: PolicyConfig) -> list[str]:
    report = evaluate([from_kubernetes(obj, "fixture")], config, rules=[rule], today=TODAY)
    paths = [f.path for f in report.findings if f.rule == rule.id]
    if rule.cel is not None and not rule.cel(config).complete:
        # A rule CEL decides in part: only what its policy covers (the kinds it matches) is compared.
        kinds = rule.cel(config).kinds
        paths = paths if obj.get("kind") in kinds else []
    return paths


def _split(obj: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One Pod per container of a pod-spec carrier, each container as the Pod's only container."""
    keys = CARRIERS.get(str(obj.get("kind")))
    if keys is None:
        return []
    spec: Any = obj
    for key in keys:
        spec = spec.get(key) if isinstance(spec, Mapping) else None
    if not isinstance(spec, Mapping):
        return []
    pods = []
    for list_name in CONTAINER_LISTS:
        for i, container in enumerate(spec.get(list_name) or []):
            one = {k: v for k, v in container.items() if k != "targetContainerName"}
            rest = {k: v for k, v in spec.items() if k not in CONTAINER_LISTS}
            meta = obj.get("metadata") or {}
            pods.append({"apiVersion": "v1", "kind": "Pod",
                         "metadata": {"name": f"{meta.get('name', 'x')}-{list_name.lower()}-{i}",
                                      "namespace": meta.get("namespace", "default")},
                         "spec": {**copy.deepcopy(rest), "containers": [one]}})
    return pods


def _install(cluster: LocalCluster, rule: Rule, config: PolicyConfig, canary: Mapping[str, Any] | None) -> None:
    docs = [d for d in validating_policies(config, TODAY) if d["metadata"]["name"] == policy_name(rule.id)]
    assert len(docs) == 2, f"{rule.id}: no policy generated"
    # One policy at a time: the API server names only the first policy that refuses. This rule's own
    # is removed too, and seen gone, so that what refuses the canary below is the new one.
    for kind in ("validatingadmissionpolicybinding", "validatingadmissionpolicy"):
        for item in cluster.get(kind)["items"]:
            if item["metadata"]["name"].startswith("visio-"):
                cluster.kubectl("delete", kind, item["metadata"]["name"])
    deadline = time.monotonic() + PROPAGATION
    while canary is not None and _judge(cluster, canary, rule).by_policy:
        assert time.monotonic() < deadline, f"{rule.id}: the removed policy still refuses"
        time.sleep(0.5)
    cluster.apply(docs)
    policy = cluster.get("validatingadmissionpolicy", policy_name(rule.id))
    warnings = (policy.get("status") or {}).get("typeChecking", {}).get("expressionWarnings")
    assert warnings is None or all("no such key" in str(w) or "undefined field" in str(w) for w in warnings), warnings
    deadline = time.monotonic() + PROPAGATION
    if canary is None:
        time.sleep(3)  # no document of this fixture is refused: give the plugin time to see the change
        return
    while time.monotonic() < deadline:
        if _judge(cluster, canary, rule).by_policy:
            return
        time.sleep(0.5)
    raise AssertionError(f"{rule.id}: the policy never refused {canary['kind']} {canary['metadata']['name']}")


@pytest.fixture(scope="module")
def namespaces(local_cluster: LocalCluster) -> set[str]:
    return set()


def _ensure_namespace(cluster: LocalCluster, seen: set[str], obj: Mapping[str, Any]) -> None:
    ns = (obj.get("metadata") or {}).get("namespace")
    if ns and ns not in seen:
        cluster.kubectl("create", "namespace", ns, check=False)
        seen.add(ns)


@pytest.mark.parametrize(("rule", "path"), list(_cases()))
def test_the_generated_policy_decides_each_fixture_as_the_engine_does(
        local_cluster: LocalCluster, namespaces: set[str], rule: Rule, path: Path) -> None:
    resources, config, _stack, _expected = load_fixture(path)
    level = enforcement_of(rule, Context(config))
    assert level is not None
    objects = [dict(r.body) for r in resources if r.pulumi_type is None]
    judged: list[tuple[dict[str, Any], list[str]]] = []
    for obj in objects:
        _ensure_namespace(local_cluster, namespaces, obj)
        judged.append((obj, _engine_flags(obj, rule, config)))
    canary = next((o for o, flags in judged if flags and not _split(o)), None) or next(
        (p for o, flags in judged if flags for p in _split(o) if _engine_flags(p, rule, config)), None)
    _install(local_cluster, rule, config, canary if level == "mandatory" else None)
    checked = 0
    disagreements = []
    for obj, flags in judged:
        verdict = _judge(local_cluster, obj, rule)
        candidates = [(obj, flags, verdict)]
        if not verdict.admitted and not verdict.by_policy:
            # Refused for another reason: judge each container on its own.
            candidates = [(p, _engine_flags(p, rule, config), _judge(local_cluster, p, rule)) for p in _split(obj)]
        for candidate, candidate_flags, v in candidates:
            if not v.admitted and not v.by_policy:
                continue  # the API server refuses it anyway
            checked += 1
            if level == "mandatory":
                denied = not v.admitted and v.by_policy
            else:  # advisory: admitted with the policy's warning
                assert v.admitted, v.text
                denied = v.by_policy
            if denied != bool(candidate_flags):
                disagreements.append(f"{candidate['kind']} {candidate['metadata'].get('name')}: engine "
                                     f"{candidate_flags or 'admits'}, API server {v.text or 'admits'}")
            elif denied:
                assert f"{rule.id}: " in v.text, v.text
    assert checked, f"{path}: the API server judged none of its documents"
    assert not disagreements, "\n".join(disagreements)


def test_every_rule_with_cel_is_generated_and_accepted(local_cluster: LocalCluster) -> None:
    config = PolicyConfig(allowedRegistries=["registry.gouv.fr/visio"], allowedRegions=["eu-west-par"],
                          production=True)
    docs = validating_policies(config, TODAY)
    assert {d["metadata"]["name"] for d in docs} == {policy_name(r.id) for r in CEL_RULES}
    result = local_cluster.apply(docs, "--dry-run=server")
    assert result.stdout.count("serverside-applied") == len(docs), result.stdout
    assert yaml.safe_dump_all(docs)  # plain data, printable as `visio admission policies` prints it


_DIGEST = "sha256:" + "66274e46e282dd7424363bf84c8bed9280873d84a6daea3bacbbdf08749bd6d6"
# Where registry allow-lists get bypassed: each is judged by the engine and by the API server alike.
REFERENCES = (
    "nginx", "library/nginx", "docker.io/nginx", "docker.io/library/redis:7", "index.docker.io/library/redis",
    "redis", "redis:7.4@" + _DIGEST, "library/redis/extra", "registry.gouv.fr/visio/livekit:v1",
    "registry.gouv.fr/visio", "registry.gouv.fr/visiox/livekit", "registry.gouv.fr:443/visio/livekit",
    "REGISTRY.GOUV.FR/visio/livekit", "registry.gouv.fr.evil.com/visio/livekit", "evil.com/registry.gouv.fr/visio/x",
    "registry.gouv.fr./visio/livekit", "registry.gouv.fr/visio/LiveKit", "registry.gouv.fr/visio/livekit@" + _DIGEST,
    "registry.gouv.fr/visio/livekit:v1@" + _DIGEST, "registry.gouv.fr/visio/livekit@sha256:abc",
    "registry.gouv.fr/visio/livekit@md5:" + "a" * 32, "registry.gouv.fr/visio/livekit@sha512:" + "b" * 128,
    "registry.gouv.fr/visio//livekit", "registry.gouv.fr/visio/livekit:", "registry.gouv.fr/visio/livekit:-v1",
    "registry.gouv.fr/visio/a__b", "registry.gouv.fr/visio/a---b", "registry.gouv.fr/visio/a..b",
    "registry.gouv.fr/visio/" + "x" * 240, "localhost:5000/livekit", "localhost/visio/livekit",
    "[::1]:5000/livekit", "Registry/visio/livekit", "registry/visio/livekit", "a" * 64,
    "registry.gouv.fr@" + _DIGEST, "visio/registry.gouv.fr/livekit",
)


@pytest.mark.parametrize("rule", [r for r in CEL_RULES if r.id in ("image-registry", "image-digest")],
                         ids=lambda r: r.id)
def test_image_references_are_parsed_by_the_policy_as_by_the_runtime(
        local_cluster: LocalCluster, namespaces: set[str], rule: Rule) -> None:
    config = PolicyConfig(allowedRegistries=["registry.gouv.fr/visio", "docker.io/library/redis", "localhost:5000"],
                          production=True)

    def pod(i: int, image: str) -> dict[str, Any]:
        return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"ref-{i}", "namespace": "visio-refs"},
                "spec": {"containers": [{"name": "c", "image": image}]}}

    pods = [pod(i, image) for i, image in enumerate(REFERENCES)]
    _ensure_namespace(local_cluster, namespaces, pods[0])
    _install(local_cluster, rule, config, pod(999, "nginx"))
    checked, disagreements = 0, []
    for image, obj in zip(REFERENCES, pods, strict=True):
        flags = _engine_flags(obj, rule, config)
        verdict = _judge(local_cluster, obj, rule)
        if not verdict.admitted and not verdict.by_policy:
            continue
        checked += 1
        if (not verdict.admitted) != bool(flags):
            disagreements.append(f"{image}: engine {flags or 'admits'}, API server {verdict.text or 'admits'}")
    assert checked >= len(REFERENCES) - 3, f"the API server judged only {checked} references"
    assert not disagreements, "\n".join(disagreements)


def test_an_exemption_in_force_leaves_its_workload_and_the_pods_made_from_it_to_the_webhook(
        local_cluster: LocalCluster, namespaces: set[str]) -> None:
    import datetime as dt

    from policies.engine.config import Exemption, Selector

    def exemption(name: str, days: int) -> Exemption:
        selector = Selector(kind="Deployment", namespace="visio-media", name=name)
        return Exemption(rule="image-registry", resource=selector,
                         justification="mirrored next quarter, reviewed", approver="rssi@gouv.fr",
                         expiry=TODAY + dt.timedelta(days=days))

    config = PolicyConfig(allowedRegistries=["registry.gouv.fr/visio"], production=True,
                          exemptions=[exemption("media-*", 30), exemption("legacy-*", -1)])
    rule = next(r for r in CEL_RULES if r.id == "image-registry")
    image = "ghcr.io/livekit/livekit-server:v1.9"
    spec = {"containers": [{"name": "c", "image": image}]}

    def deployment(name: str) -> dict[str, Any]:
        return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "visio-media"},
                "spec": {"selector": {"matchLabels": {"app": name}},
                         "template": {"metadata": {"labels": {"app": name}}, "spec": spec}}}

    def pod(owner: str, kind: str = "ReplicaSet", hashed: str | None = "6f7c9d") -> dict[str, Any]:
        meta: dict[str, Any] = {"name": f"{owner}-x1", "namespace": "visio-media", "ownerReferences": [
            {"apiVersion": "apps/v1", "kind": kind, "name": owner, "uid": "0a1b", "controller": True}]}
        if hashed:
            meta["labels"] = {"pod-template-hash": hashed}
        return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}

    _ensure_namespace(local_cluster, namespaces, deployment("x"))
    _install(local_cluster, rule, config, deployment("other-sfu"))
    admitted = {
        "the exempted Deployment": deployment("media-sfu"),
        "a Pod of its ReplicaSet": pod("media-sfu-6f7c9d"),
        "its ReplicaSet": {**deployment("media-sfu-6f7c9d"), "kind": "ReplicaSet", "metadata": {
            "name": "media-sfu-6f7c9d", "namespace": "visio-media", "ownerReferences": [
                {"apiVersion": "apps/v1", "kind": "Deployment", "name": "media-sfu", "uid": "0a1c",
                 "controller": True}]}},
    }
    refused = {
        "another Deployment": deployment("other-sfu"),
        "a Deployment whose exemption expired": deployment("legacy-sfu"),
        "a Pod whose ReplicaSet name does not carry its hash": pod("media-sfu-6f7c9d", hashed="zzzz"),
        "a Pod owned by something else of that name": pod("media-sfu", kind="StatefulSet", hashed=None),
    }
    for what, obj in admitted.items():
        verdict = _judge(local_cluster, obj, rule)
        assert verdict.admitted, f"{what}: {verdict.text}"
    for what, obj in refused.items():
        verdict = _judge(local_cluster, obj, rule)
        assert not verdict.admitted and verdict.by_policy, f"{what}: {verdict.text or 'admitted'}"
