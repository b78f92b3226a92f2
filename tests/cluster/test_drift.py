"""`visio drift` against the loopback API server holding the applied stack."""

from __future__ import annotations

import json
from typing import Any

from tests.cluster.state import STACK, plant_defects
from tests.conftest import one_target, run_visio
from visio.drift.compare import ABSENT, compare


def drift_json(kubeconfig: Any) -> tuple[int, dict[str, Any], str]:
    result = run_visio("drift", STACK, "--kubeconfig", str(kubeconfig), "--format", "json")
    return result.returncode, (one_target(result.stdout, "drift") if result.stdout.strip() else {}), result.stderr


def _edits(cluster: Any, stack_plan: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    deployment = next(o for o in stack_plan.objects if o["kind"] == "Deployment" and "replicas" in o["spec"])
    policy = next(o for o in stack_plan.objects if o["kind"] == "NetworkPolicy")
    meta = deployment["metadata"]
    live = cluster.find("Deployment", meta["name"], meta["namespace"])
    live["spec"]["replicas"] = deployment["spec"]["replicas"] + 3  # scaled by hand
    cluster.remove("NetworkPolicy", policy["metadata"]["name"], policy["metadata"]["namespace"])
    cluster.add({"apiVersion": "v1", "kind": "ConfigMap",
                 "metadata": {"name": "debug-flags", "namespace": "visio-signalling",
                              "labels": {"app.kubernetes.io/part-of": "visio"}},
                 "data": {"LOG_LEVEL": "debug"}})
    return deployment, policy


def test_an_applied_stack_has_no_drift_whatever_the_server_filled_in(make_cluster, stack_plan, tmp_path):
    cluster = make_cluster()
    plant_defects(cluster, stack_plan)  # objects not labelled as the stack's are not its drift
    code, doc, err = drift_json(cluster.write_kubeconfig(tmp_path / "kc"))
    assert (code, doc["objects"]) == (0, []), err
    assert doc["checked"] == len(stack_plan.objects) and doc["drift"] is False and doc["complete"] is True
    assert {s.method for s in cluster.seen} == {"GET"}
    assert cluster.secret_data_served == 0


def test_hand_edits_deletions_and_strays_are_reported_field_by_field(make_cluster, stack_plan, tmp_path):
    cluster = make_cluster()
    deployment, policy = _edits(cluster, stack_plan)
    kubeconfig = cluster.write_kubeconfig(tmp_path / "kc")
    code, doc, _ = drift_json(kubeconfig)
    assert code == 1 and doc["drift"] is True
    found = {(o["status"], o["kind"], o["namespace"], o["name"]): o for o in doc["objects"]}
    dmeta, pmeta = deployment["metadata"], policy["metadata"]
    assert set(found) == {
        ("changed", "Deployment", dmeta["namespace"], dmeta["name"]),
        ("missing", "NetworkPolicy", pmeta["namespace"], pmeta["name"]),
        ("unexpected", "ConfigMap", "visio-signalling", "debug-flags"),
    }
    changed = found[("changed", "Deployment", dmeta["namespace"], dmeta["name"])]
    assert changed["changes"] == [{"path": "spec.replicas", "desired": deployment["spec"]["replicas"],
                                   "live": deployment["spec"]["replicas"] + 3, "liveAbsent": False}]
    text = run_visio("drift", STACK, "--kubeconfig", str(kubeconfig))
    assert text.returncode == 1
    assert f"~ Deployment {dmeta['namespace']}/{dmeta['name']}" in text.stdout
    assert f"    spec.replicas: {deployment['spec']['replicas']} -> {deployment['spec']['replicas'] + 3}" in text.stdout
    assert f"- NetworkPolicy {pmeta['namespace']}/{pmeta['name']} (missing)" in text.stdout
    assert "+ ConfigMap visio-signalling/debug-flags" in text.stdout


def test_what_cannot_be_read_is_an_error_not_a_pass(make_cluster, tmp_path):
    cluster = make_cluster(failing={"poddisruptionbudgets": 403})
    code, doc, _ = drift_json(cluster.write_kubeconfig(tmp_path / "kc"))
    assert code == 2 and doc["complete"] is False
    unreadable = [o for o in doc["objects"] if o["status"] == "unreadable"]
    assert unreadable and {o["kind"] for o in unreadable} == {"PodDisruptionBudget"}
    assert all("403" in o["reason"] for o in unreadable)


def test_an_expired_continue_token_restarts_the_list_instead_of_failing(make_cluster, stack_plan, tmp_path):
    # One object a page: every list of two or more of the stack's objects is cut, and the first token
    # presented is answered 410 Gone, as a real server does once its compaction passes the list.
    cluster = make_cluster(max_page=1, expire_next_continue=True)
    code, doc, err = drift_json(cluster.write_kubeconfig(tmp_path / "kc"))
    assert cluster.expire_next_continue is False  # the token did expire
    assert (code, doc["objects"]) == (0, []), err
    continued = [s for s in cluster.seen if "continue" in s.query]
    assert continued and all("labelSelector" in s.query for s in continued)


def test_unreachable_cluster_is_exit_2(tmp_path):
    kc = tmp_path / "kc"
    kc.write_text(json.dumps({"apiVersion": "v1", "kind": "Config", "current-context": "c",
                              "clusters": [{"name": "c", "cluster": {"server": "http://127.0.0.1:9"}}],
                              "users": [{"name": "u", "user": {"token": "t"}}],
                              "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}]}))
    result = run_visio("drift", STACK, "--kubeconfig", str(kc))
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "cannot reach" in result.stderr
    unknown = run_visio("drift", "no-such-stack", "--kubeconfig", str(kc))
    assert unknown.returncode == 2


def test_compare_only_looks_at_what_the_stack_sets():
    desired = {"spec": {"replicas": 2, "egress": [], "selector": {}, "template": {"spec": {"containers": [
        {"name": "a", "image": "r/a:1", "resources": {"limits": {"cpu": "1000m", "memory": "1Gi"}}}]}}},
        "data": "[secret]"}
    live = {"spec": {"replicas": 2, "selector": {"matchLabels": {"x": "y"}}, "progressDeadlineSeconds": 600,
                     "template": {"spec": {"containers": [{"name": "a", "image": "r/a:1", "imagePullPolicy": "Always",
                                                          "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}]}}},
            "data": {"k": "dg=="}, "status": {"replicas": 2}}
    assert compare(desired, live) == []
    live["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"] = "2Gi"
    live["spec"]["template"]["spec"]["containers"].append({"name": "sidecar", "image": "r/b:1"})
    [change] = compare(desired, live)
    assert change.path == "spec.template.spec.containers" and len(change.live) == 2
    live["spec"]["template"]["spec"]["containers"].pop()
    [change] = compare(desired, live)
    assert (change.path, change.desired, change.live) == (
        "spec.template.spec.containers[0].resources.limits.memory", "1Gi", "2Gi")
    [change] = compare({"metadata": {"labels": {"app.kubernetes.io/name": "x"}}}, {"metadata": {"labels": {}}})
    assert change.path == 'metadata.labels["app.kubernetes.io/name"]' and change.live is ABSENT
    assert compare({"spec": {"port": 80}}, {"spec": {"port": "80"}})  # a type change is a change


def test_compare_reads_values_as_the_api_server_writes_them_back():
    # Found on the real API server: an extended resource written as a number reads back as a quantity
    # string, and an env var set to "" reads back without its `value`.
    resources = {"requests": {"nvidia.com/gpu": 1, "cpu": "500m"}, "limits": {"nvidia.com/gpu": 1}}
    live_resources = {"requests": {"nvidia.com/gpu": "1", "cpu": "500m"}, "limits": {"nvidia.com/gpu": "1"}}
    desired = {"spec": {"containers": [{"resources": resources, "env": [{"name": "A", "value": ""}]}]}}
    live = {"spec": {"containers": [{"resources": live_resources, "env": [{"name": "A"}]}]}}
    assert compare(desired, live) == []
    live_resources["limits"]["nvidia.com/gpu"] = "2"
    [change] = compare(desired, live)
    assert change.path == 'spec.containers[0].resources.limits["nvidia.com/gpu"]'
    # Outside quantities a number and its string stay different, and a set value that disappears is a change.
    assert compare({"spec": {"port": 1}}, {"spec": {"port": "1"}})
    assert compare({"env": [{"name": "A", "value": "x"}]}, {"env": [{"name": "A"}]})
