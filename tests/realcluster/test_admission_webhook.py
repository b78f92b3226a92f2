"""The rules at admission on the real API server: the generated policies and the webhook, together.

A production stack is deployed through them, every evasion class is refused with its rule id, dry
runs are judged and logged as such, and a webhook that is down or untrusted refuses what it guards
while its own namespace can still be repaired. Tests run in file order.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.realcluster.cluster import Deployed, LocalCluster, desired, identity
from tests.realcluster.guard import Webhook, make_pki
from visio.plan.stackplan import plan_stack

STACK = "interieur-prod"
GUARD_NAMESPACE = "visio-guard"
PROBE = "visio-probe"
CONFIGURATION = "visio-guard"
REGISTRY = "registry.interieur.gouv.fr/visio"
DIGEST = "sha256:66274e46e282dd7424363bf84c8bed9280873d84a6daea3bacbbdf08749bd6d6"
IMAGE = f"{REGISTRY}/livekit/livekit-server:v1.9.12@{DIGEST}"
RESTRICTED = {"allowPrivilegeEscalation": False, "runAsNonRoot": True, "capabilities": {"drop": ["ALL"]},
              "seccompProfile": {"type": "RuntimeDefault"}}


def _through(webhook: Webhook) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The stack's objects as the program registers them, but for where the API server reaches the
    webhook: kwok runs no container, so the Guard's Deployment is scheduled and ready but serves
    nothing; the same `visio admission serve` runs on loopback, with a certificate of the test's CA."""
    def rewrite(obj: dict[str, Any]) -> dict[str, Any]:
        if obj["kind"] != "ValidatingWebhookConfiguration":
            return obj
        hooks = [{**h, "clientConfig": {"url": webhook.url, "caBundle": webhook.pki.ca_bundle}}
                 for h in obj["webhooks"]]
        return {**obj, "webhooks": hooks}
    return rewrite


def _create(cluster: LocalCluster, obj: dict[str, Any], *extra: str) -> tuple[bool, str]:
    result = cluster.kubectl("create", *extra, "-o", "name", "-f", "-", input=json.dumps(obj), check=False)
    return result.returncode == 0, result.stderr.strip()


def _configmap(name: str, namespace: str, data: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace}, "data": data}


def _pod_spec(image: str = IMAGE, **extra: Any) -> dict[str, Any]:
    return {"securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{"name": "main", "image": image, "securityContext": RESTRICTED}], **extra}


def _deployment(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": PROBE},
            "spec": {"selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": spec}}}


@pytest.fixture(scope="module")
def webhook(local_cluster: LocalCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Webhook]:
    state = tmp_path_factory.mktemp("guard")
    hook = Webhook(state, ["--stack", STACK], make_pki(state), kubeconfig=local_cluster.kubeconfig)
    hook.start()
    local_cluster.kubectl("create", "namespace", PROBE)
    try:
        yield hook
    finally:
        hook.stop()
        local_cluster.kubectl("delete", "validatingwebhookconfiguration", CONFIGURATION, "--ignore-not-found")


@pytest.fixture(scope="module")
def guarded(webhook: Webhook, local_cluster: LocalCluster) -> Deployed:
    """The stack applied as `pulumi up` orders it: the Guard first (its webhook configuration once its
    webhook is up), then everything else through it."""
    stack = Deployed(local_cluster, plan_stack(STACK), _through(webhook))
    guard = [o for o in stack.objects() if o["metadata"].get("namespace") == GUARD_NAMESPACE
             or o["kind"].startswith("ValidatingAdmissionPolicy") or o["kind"] == "ValidatingWebhookConfiguration"
             or (o["kind"] == "Namespace" and o["metadata"]["name"] == GUARD_NAMESPACE)]
    local_cluster.apply(guard)
    # The configuration reaches the API server's admission chain shortly after it is written.
    canary = _configmap("canary", PROBE, {"url": "https://api.openai.com/v1"})
    deadline = time.monotonic() + 30
    while "endpoint-sovereignty" not in _create(local_cluster, canary, "--dry-run=server")[1]:
        assert time.monotonic() < deadline, "the webhook never refused the canary"
        time.sleep(0.5)
    stack.apply()
    stack.wait_ready()
    return stack


def test_the_stack_deploys_through_the_guard_and_applying_it_again_changes_nothing(
        guarded: Deployed, webhook: Webhook) -> None:
    cluster = guarded.cluster

    # An autoscaler changes its target's replicas (and so its generation) on its own schedule.
    scaled = {(o["metadata"]["namespace"], o["spec"]["scaleTargetRef"]["name"]) for o in desired(guarded.plan)
              if o["kind"] == "HorizontalPodAutoscaler"}

    def versions() -> dict[tuple[str, str | None, str], Any]:
        # What an apply can change: the spec (its generation) and, for objects without one, the content.
        out = {}
        for obj in guarded.objects():
            meta = obj["metadata"]
            ns = ["-n", meta["namespace"]] if meta.get("namespace") else []
            live = cluster.get(obj["kind"], meta["name"], *ns)
            m = live["metadata"]
            spec = ({k: v for k, v in live["spec"].items() if k != "replicas"}
                    if (meta.get("namespace"), meta["name"]) in scaled else m.get("generation"))
            out[identity(obj)] = (spec, m.get("labels"), m.get("annotations"),
                                  {k: v for k, v in live.items() if k not in ("metadata", "status", "spec")})
        return out

    before = versions()
    guarded.apply()
    assert versions() == before
    # The Guard itself: two webhook replicas on two nodes, a disruption budget, restricted pods.
    pods = [p for p in cluster.get("pods", "-n", GUARD_NAMESPACE)["items"] if p["status"].get("phase") == "Running"]
    assert len(pods) == 2 and len({p["spec"]["nodeName"] for p in pods}) == 2
    assert cluster.get("pdb", "-n", GUARD_NAMESPACE)["items"]
    labels = cluster.get("namespace", GUARD_NAMESPACE)["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    decisions = webhook.decisions()
    # The controllers' own objects went through too: the SFU's Pods, exempted at the approved fields.
    livekit = [d for d in decisions if d["kind"] == "Pod" and d["namespace"] == "visio-media"
               and d["name"].startswith("media-livekit-")]
    assert livekit and all(d["allowed"] and d["exempted"] == ["pod-security"] for d in livekit)
    assert not [d for d in decisions if not d["allowed"] and d["namespace"] in guarded.namespaces]


EVASIONS: list[tuple[str, dict[str, Any], str, str]] = [
    ("look-alike registry host", _deployment("lookalike", _pod_spec(
        f"registry.interieur.gouv.fr.evil.com/visio/livekit/livekit-server@{DIGEST}")), "image-registry",
     "spec.template.spec.containers[name=main].image"),
    ("implicit Docker Hub", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "hub", "namespace": PROBE},
                             "spec": _pod_spec(f"livekit/livekit-server@{DIGEST}")}, "image-registry",
     "spec.containers[name=main].image"),
    ("init container", {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "init", "namespace": PROBE},
                        "spec": {"template": {"spec": {**_pod_spec(), "restartPolicy": "Never", "initContainers": [
                            {"name": "fetch", "image": f"ghcr.io/visio/tools@{DIGEST}",
                             "securityContext": RESTRICTED}]}}}}, "image-registry",
     "spec.template.spec.initContainers[name=fetch].image"),
    ("CronJob template", {"apiVersion": "batch/v1", "kind": "CronJob",
                          "metadata": {"name": "nightly", "namespace": PROBE},
                          "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": {"spec": {
                              **_pod_spec(f"docker.io/library/redis@{DIGEST}"), "restartPolicy": "Never"}}}}}},
     "image-registry", "spec.jobTemplate.spec.template.spec.containers[name=main].image"),
    ("a region outside the stack's", _deployment("elsewhere", _pod_spec(
        nodeSelector={"topology.kubernetes.io/region": "us-east-1"})), "node-region", "nodeSelector"),
    ("a US endpoint in an env var", _deployment("llm", {**_pod_spec(), "containers": [
        {"name": "main", "image": IMAGE, "securityContext": RESTRICTED,
         "env": [{"name": "LLM_BASE_URL", "value": "https://api.openai.com/v1"}]}]}),
     "endpoint-sovereignty", "spec.template.spec.containers[0].env[0].value"),
    ("a US endpoint in a ConfigMap", _configmap("storage", PROBE, {
        "settings.yaml": "storage:\n  endpoint: https://visio-backups.s3.eu-west-3.amazonaws.com\n"}),
     "endpoint-sovereignty", 'data["settings.yaml"]'),
    ("a US endpoint in a Secret", {"apiVersion": "v1", "kind": "Secret",
                                   "metadata": {"name": "smtp", "namespace": PROBE},
                                   "stringData": {"SMTP_URL": "smtps://mailer@smtp.sendgrid.net:465"}},
     "endpoint-sovereignty", "SMTP_URL"),
    ("an ExternalName to a CDN", {"apiVersion": "v1", "kind": "Service",
                                  "metadata": {"name": "cdn", "namespace": PROBE},
                                  "spec": {"type": "ExternalName", "externalName": "d111111abcdef8.cloudfront.net"}},
     "endpoint-sovereignty", "spec.externalName"),
    ("an AWS address in Paris", {"apiVersion": "v1", "kind": "Service",
                                 "metadata": {"name": "edge", "namespace": PROBE},
                                 "spec": {"ports": [{"port": 443}], "externalIPs": ["13.36.0.1"]}},
     "endpoint-sovereignty", "spec.externalIPs[0]"),
    ("an Ingress without TLS", {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                                "metadata": {"name": "plain", "namespace": PROBE},
                                "spec": {"rules": [{"host": "visio.interieur.gouv.fr", "http": {"paths": [
                                    {"path": "/", "pathType": "Prefix", "backend": {
                                        "service": {"name": "web", "port": {"number": 80}}}}]}}]}},
     "tls-required", "spec.tls"),
]


@pytest.mark.parametrize(("what", "obj", "rule", "field"), EVASIONS, ids=[e[0] for e in EVASIONS])
def test_each_evasion_class_is_refused_naming_the_rule_and_the_field(
        guarded: Deployed, what: str, obj: dict[str, Any], rule: str, field: str) -> None:
    cluster = guarded.cluster
    for extra in (("--dry-run=server",), ()):
        admitted, message = _create(cluster, obj, *extra)
        assert not admitted, f"{what} was admitted"
        assert f"{rule}: " in message and field in message, message
    kind, name = obj["kind"], obj["metadata"]["name"]
    assert cluster.kubectl("get", kind, name, "-n", PROBE, "--ignore-not-found", "-o", "name").stdout == ""


def test_an_ephemeral_container_from_outside_the_registries_is_refused(guarded: Deployed) -> None:
    cluster = guarded.cluster
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "debuggee", "namespace": PROBE},
           "spec": _pod_spec()}
    admitted, message = _create(cluster, pod)
    assert admitted, message
    live = cluster.get("pod", "debuggee", "-n", PROBE)
    live["spec"]["ephemeralContainers"] = [{"name": "debug", "image": f"busybox@{DIGEST}",
                                            "targetContainerName": "main", "securityContext": RESTRICTED}]
    result = cluster.kubectl("replace", "--raw", f"/api/v1/namespaces/{PROBE}/pods/debuggee/ephemeralcontainers",
                             "-f", "-", input=json.dumps(live), check=False)
    assert result.returncode != 0
    assert "image-registry: spec.ephemeralContainers[name=debug].image 'busybox@" in result.stderr, result.stderr
    cluster.kubectl("delete", "pod", "debuggee", "-n", PROBE, "--wait=false")


def test_compliant_objects_are_admitted_and_a_dry_run_is_judged_logged_and_not_kept(
        guarded: Deployed, webhook: Webhook) -> None:
    cluster = guarded.cluster
    ok = _configmap("settings", PROBE, {"url": "https://visio.interieur.gouv.fr/api", "redis": "redis://redis:6379"})
    admitted, message = _create(cluster, ok, "--dry-run=server")
    assert admitted, message
    assert cluster.kubectl("get", "configmap", "settings", "-n", PROBE, "--ignore-not-found", "-o",
                           "name").stdout == ""
    [logged] = [d for d in webhook.decisions() if d["name"] == "settings" and d["namespace"] == PROBE]
    assert logged["dryRun"] is True and logged["allowed"] is True
    admitted, message = _create(cluster, ok)
    assert admitted, message
    refused = [d for d in webhook.decisions() if not d["allowed"]]
    assert refused and all(d["denied"] for d in refused)  # every refusal logged with its rule ids


def test_a_webhook_down_or_untrusted_refuses_what_it_guards_and_its_namespace_can_be_repaired(
        guarded: Deployed, webhook: Webhook, tmp_path: Path) -> None:
    cluster = guarded.cluster
    probe = _configmap("after", PROBE, {"url": "https://visio.interieur.gouv.fr/"})
    webhook.stop()
    admitted, message = _create(cluster, probe, "--dry-run=server")
    assert not admitted and "failed calling webhook" in message, message
    repair = _configmap("repair", GUARD_NAMESPACE, {"note": "webhook being restored"})
    admitted, message = _create(cluster, repair)
    assert admitted, message
    # A certificate the API server does not trust is refused just the same.
    untrusted = Webhook(tmp_path, ["--stack", STACK], make_pki(tmp_path, "other"), kubeconfig=cluster.kubeconfig,
                        port=webhook.port)
    untrusted.start()
    try:
        admitted, message = _create(cluster, probe, "--dry-run=server")
        assert not admitted and "x509" in message, message
    finally:
        untrusted.stop()
    webhook.start()
    admitted, message = _create(cluster, probe, "--dry-run=server")
    assert admitted, message
