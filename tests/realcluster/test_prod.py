"""A production stack on the real control plane: scheduled on its node pools, scanned, drifted by hand
and destroyed. Tests run in file order; each leaves the stack as applied for the next."""

from __future__ import annotations

import base64
import json
import time
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from components.sizing import size
from tests.cluster.conftest import keys, scan_json
from tests.conftest import ROOT, one_target, run_visio
from tests.realcluster.cluster import Deployed, LocalCluster, desired, identity
from visio.cluster.localnodes import POOL_LABEL

STACK = "interieur-prod"
AUDITOR = "system:serviceaccount:visio-audit:visio-auditor"
READ_VERBS = {"get", "list", "watch"}


def _pods(cluster: LocalCluster, namespace: str) -> list[dict[str, Any]]:
    return [p for p in cluster.get("pods", "-n", namespace)["items"] if p["status"].get("phase") == "Running"]


def _pool_of(cluster: LocalCluster) -> dict[str, str | None]:
    return {n["metadata"]["name"]: n["metadata"]["labels"].get(POOL_LABEL) for n in cluster.get("nodes")["items"]}


def test_every_workload_is_ready_on_the_pool_it_belongs_to(deployed: Deployed):
    config = deployed.plan.stack.config
    cluster = deployed.cluster
    pools = _pool_of(cluster)
    sizing = size(config)
    media = _pods(cluster, "visio-media")
    by_app = Counter(p["metadata"]["labels"]["app.kubernetes.io/name"] for p in media)
    livekit = [p for p in media if p["metadata"]["labels"]["app.kubernetes.io/name"] == "livekit"]
    assert by_app == {"livekit": sizing.sfu_nodes, "coturn": sizing.turn_replicas}
    assert {pools[p["spec"]["nodeName"]] for p in media} == {config.media.nodePool}
    # Host networking: the scheduler's port check leaves one SFU per node.
    assert len({p["spec"]["nodeName"] for p in livekit}) == len(livekit)
    stt = [p for p in _pods(cluster, "visio-captioning")
           if p["metadata"]["labels"]["app.kubernetes.io/component"] == "stt"]
    assert len(stt) == sizing.stt_replicas
    assert {pools[p["spec"]["nodeName"]] for p in stt} == {config.captioning.gpuNodePool}
    for namespace in ("visio-signalling", "visio-identity"):
        assert {pools[p["spec"]["nodeName"]] for p in _pods(cluster, namespace)} == {None}


def test_scan_of_the_cluster_shows_what_the_offline_plan_shows(deployed: Deployed, tmp_path: Path):
    code, doc, err = scan_json(deployed.cluster.kubeconfig, "--stack", STACK)
    assert doc["kinds"]["notAudited"] == [], err
    platform = {f["resource"]["namespace"] for f in doc["findings"]} - {None}
    live = {k for k in keys(doc["findings"]) | keys(doc["exempted"])
            if k[2] in deployed.namespaces or k[1] == "Node"}
    plan = deployed.plan
    offline = {k for k in keys([f.to_dict() for f in [*plan.report.findings, *plan.report.exempted]])
               if k[1] not in ("Stack", "Secret")}  # the state backend and Secret data are not in a cluster
    assert live == offline
    assert not [f for f in doc["findings"] if f["enforcement"] == "mandatory"
                and (f["resource"]["namespace"] in deployed.namespaces or f["resource"]["kind"] == "Node")]
    # What is left is the cluster's own namespaces, which no stack manages.
    assert platform <= deployed.namespaces
    assert code == 1


def test_a_deployment_applied_by_hand_from_a_foreign_registry_is_found(deployed: Deployed):
    cluster = deployed.cluster
    cluster.kubectl("create", "namespace", "hand-made")
    refused = cluster.kubectl("create", "deployment", "rogue", "-n", "hand-made", "--image", "nginx:1.27", check=False)
    assert refused.returncode != 0 and "ValidatingAdmissionPolicy 'visio-image-" in refused.stderr  # the Guard
    # What got in before the Guard was installed: the policies' bindings away, the Deployment applied.
    cluster.kubectl("delete", "validatingadmissionpolicybinding", "-l", "app.kubernetes.io/part-of=visio")
    try:
        deadline = time.monotonic() + 30  # until the API server's admission chain has seen them go
        while cluster.kubectl("create", "deployment", "rogue", "-n", "hand-made", "--image", "nginx:1.27",
                              check=False).returncode != 0:
            assert time.monotonic() < deadline, "the bindings' removal never reached admission"
            time.sleep(0.5)
        # Its ReplicaSet and Pods are made before the Guard comes back.
        cluster.kubectl("rollout", "status", "deployment/rogue", "-n", "hand-made", "--timeout=120s")
    finally:
        deployed.apply()
    try:
        code, doc, _ = scan_json(cluster.kubeconfig, "--stack", STACK)
        [found] = [f for f in doc["findings"] if f["resource"]["namespace"] == "hand-made"
                   and f["rule"] == "image-registry"]
        assert (found["resource"]["kind"], found["resource"]["name"]) == ("Deployment", "rogue")
        assert found["enforcement"] == "mandatory" and found["evidence"]["registry"] == "docker.io"
        assert code == 1
    finally:
        cluster.kubectl("delete", "namespace", "hand-made", "--wait=true", "--timeout=120s")


def _token_kubeconfig(cluster: LocalCluster, token: str, path: Path) -> Path:
    admin = yaml.safe_load(cluster.kubeconfig.read_text())
    server = admin["clusters"][0]["cluster"]
    ca = server.get("certificate-authority-data") or base64.b64encode(
        Path(server["certificate-authority"]).read_bytes()).decode()
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "auditor",
        "clusters": [{"name": "local", "cluster": {"server": server["server"], "certificate-authority-data": ca}}],
        "users": [{"name": "auditor", "user": {"token": token}}],
        "contexts": [{"name": "auditor", "context": {"cluster": "local", "user": "auditor"}}],
    }))
    return path


def test_scan_as_the_read_only_auditor_role_reads_all_but_secrets_and_writes_nothing(
        deployed: Deployed, tmp_path: Path):
    cluster = deployed.cluster
    cluster.kubectl("apply", "--server-side", "-f", str(ROOT / "deploy" / "auditor-rbac.yaml"))
    token = cluster.kubectl("create", "token", "visio-auditor", "-n", "visio-audit").stdout.strip()
    kubeconfig = _token_kubeconfig(cluster, token, tmp_path / "auditor")
    code, doc, _ = scan_json(kubeconfig, "--stack", STACK)
    assert {(u["kind"], u["status"]) for u in doc["kinds"]["notAudited"]} == {("Secret", 403)}
    assert doc["summary"]["resources"] > 0 and code == 1
    drift = run_visio("drift", STACK, "--kubeconfig", str(kubeconfig), "--format", "json")
    assert one_target(drift.stdout, "drift")["complete"] is False  # Secrets cannot be compared without their grant
    requests = [e for e in cluster.audit_log() if e.get("user", {}).get("username") == AUDITOR]
    assert requests
    assert {e["verb"] for e in requests} <= READ_VERBS
    denied = {e["objectRef"]["resource"] for e in requests if e["responseStatus"]["code"] == 403}
    assert denied == {"secrets"}


def _changed_paths(doc: dict[str, Any]) -> dict[tuple[str, str, str, str], list[str]]:
    return {(o["status"], o["kind"], o["namespace"], o["name"]): [c["path"] for c in o.get("changes", [])]
            for o in doc["objects"]}


# Left out of what the tests apply (tests/realcluster/cluster.py), so reported missing: nothing else is.
UNAPPLIED = {("missing", "ValidatingWebhookConfiguration", None, "visio-guard"): []}


def test_drift_reports_out_of_band_changes_until_the_stack_is_applied_again(deployed: Deployed):
    cluster = deployed.cluster
    # As applied, whatever the server defaulted, converted or added, nothing has drifted.
    clean = run_visio("drift", STACK, "--kubeconfig", str(cluster.kubeconfig), "--format", "json")
    assert _changed_paths(one_target(clean.stdout, "drift")) == UNAPPLIED, clean.stdout[-2000:]
    policy = next(o for o in deployed.plan.objects if o["kind"] == "NetworkPolicy")
    redis = next(o for o in deployed.plan.objects if o["kind"] == "Deployment"
                 and o["metadata"]["name"] == "signalling-redis")
    backend = next(o for o in deployed.plan.objects if o["kind"] == "Deployment"
                   and o["metadata"]["name"] == "signalling-backend")
    env = backend["spec"]["template"]["spec"]["containers"][0]["env"]
    index = next(i for i, e in enumerate(env) if "value" in e)
    cluster.kubectl("delete", "networkpolicy", policy["metadata"]["name"], "-n", policy["metadata"]["namespace"])
    cluster.kubectl("scale", "deployment/signalling-redis", "-n", "visio-signalling",
                    f"--replicas={redis['spec']['replicas'] + 2}")
    cluster.kubectl("patch", "deployment/signalling-backend", "-n", "visio-signalling", "--type=json", "-p",
                    json.dumps([{"op": "replace", "path": f"/spec/template/spec/containers/0/env/{index}/value",
                                 "value": "edited-by-hand"}]))
    stray = {"apiVersion": "v1", "kind": "ConfigMap",
             "metadata": {"name": "debug-flags", "namespace": "visio-signalling",
                          "labels": {"app.kubernetes.io/part-of": "visio"}}, "data": {"LOG_LEVEL": "debug"}}
    cluster.kubectl("apply", "-f", "-", input=json.dumps(stray))

    result = run_visio("drift", STACK, "--kubeconfig", str(cluster.kubeconfig), "--format", "json")
    doc = one_target(result.stdout, "drift")
    assert result.returncode == 1 and doc["drift"] is True and doc["complete"] is True
    found = _changed_paths(doc)
    assert set(found) == {
        *UNAPPLIED,
        ("missing", "NetworkPolicy", policy["metadata"]["namespace"], policy["metadata"]["name"]),
        ("changed", "Deployment", "visio-signalling", "signalling-redis"),
        ("changed", "Deployment", "visio-signalling", "signalling-backend"),
        ("unexpected", "ConfigMap", "visio-signalling", "debug-flags"),
    }
    assert found[("changed", "Deployment", "visio-signalling", "signalling-redis")] == ["spec.replicas"]
    assert found[("changed", "Deployment", "visio-signalling", "signalling-backend")] == [
        f"spec.template.spec.containers[0].env[{index}].value"]

    text = run_visio("drift", STACK, "--kubeconfig", str(cluster.kubeconfig))
    assert f"- NetworkPolicy {policy['metadata']['namespace']}/{policy['metadata']['name']} (missing)" in text.stdout
    assert "    spec.replicas: 1 -> 3" in text.stdout and "+ ConfigMap visio-signalling/debug-flags" in text.stdout

    deployed.apply()  # what `pulumi up` does: the stack's objects applied again (strays are left alone)
    cluster.kubectl("delete", "configmap", "debug-flags", "-n", "visio-signalling")
    again = run_visio("drift", STACK, "--kubeconfig", str(cluster.kubeconfig), "--format", "json")
    assert _changed_paths(one_target(again.stdout, "drift")) == UNAPPLIED


def test_scan_limited_to_a_namespace_reads_only_there(deployed: Deployed):
    cluster = deployed.cluster
    before = len(cluster.audit_log())
    _, doc, _ = scan_json(cluster.kubeconfig, "--stack", STACK, "-n", "visio-media")
    assert {f["resource"]["namespace"] for f in doc["findings"] + doc["exempted"]} - {None} <= {"visio-media"}
    # The scan's own requests (the official Python client), not the controllers' at the same time.
    listed = [e for e in cluster.audit_log()[before:] if e["verb"] == "list"
              and e.get("userAgent", "").startswith("OpenAPI-Generator/")
              and e["objectRef"]["resource"] in ("pods", "configmaps", "deployments")]
    assert listed and {e["objectRef"].get("namespace") for e in listed} == {"visio-media"}


def test_rejected_credentials_leave_every_kind_not_audited(deployed: Deployed, tmp_path: Path):
    kubeconfig = _token_kubeconfig(deployed.cluster, "not-a-token", tmp_path / "wrong")
    code, doc, _ = scan_json(kubeconfig, "--stack", STACK)
    assert code == 1 and doc["summary"]["resources"] == 0
    assert {u["status"] for u in doc["kinds"]["notAudited"]} == {401}
    assert {u["kind"] for u in doc["kinds"]["notAudited"]} >= {"Pod", "Deployment", "Node", "Secret"}


def test_reports_of_a_live_cluster_in_every_format(deployed: Deployed, tmp_path: Path):
    kubeconfig = str(deployed.cluster.kubeconfig)
    reports = [f"--report={fmt}={tmp_path / ('report.' + fmt)}" for fmt in ("json", "sarif", "junit", "html")]
    result = run_visio("scan", "--kubeconfig", kubeconfig, "--stack", STACK, *reports)
    assert result.returncode == 1, result.stderr
    doc = one_target((tmp_path / "report.json").read_text(), "scan")
    sarif = json.loads((tmp_path / "report.sarif").read_text())
    assert len(sarif["runs"][0]["results"]) == len(doc["findings"]) + len(doc["exempted"])
    suite = ET.parse(tmp_path / "report.junit").getroot().find("testsuite")
    assert suite is not None and suite.get("name") == f"cluster {doc['cluster']}"
    html = (tmp_path / "report.html").read_text()
    assert all(f["resource"]["name"] in html for f in doc["findings"])


def test_destroy_leaves_no_object_of_the_stack(deployed: Deployed):
    deployed.delete()
    left = [identity(o) for o in desired(deployed.plan)
            if deployed.cluster.kubectl("get", o["kind"], o["metadata"]["name"], "-n",
                                        o["metadata"].get("namespace") or "default", "--ignore-not-found",
                                        "-o", "name").stdout.strip()]
    assert left == []
    assert deployed.cluster.get("pods", "-A", "-l", "app.kubernetes.io/part-of=visio")["items"] == []
