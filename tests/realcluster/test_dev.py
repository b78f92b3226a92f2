"""The development stack on the real control plane: scheduled, ready, clean, destroyed."""

from __future__ import annotations

from tests.cluster.conftest import scan_json
from tests.realcluster.cluster import Deployed, desired

STACK = "dev"


def test_the_development_stack_runs_and_scans_clean(deployed: Deployed):
    _, doc, err = scan_json(deployed.cluster.kubeconfig, "--stack", STACK)
    assert doc["kinds"]["notAudited"] == [], err
    ours = [f for f in doc["findings"] if f["enforcement"] == "mandatory"
            and (f["resource"]["namespace"] in deployed.namespaces or f["resource"]["kind"] == "Node")]
    assert ours == []
    assert deployed.not_ready() == []


def test_destroy_leaves_no_object_of_the_stack(deployed: Deployed):
    deployed.delete()
    for obj in desired(deployed.plan):
        meta = obj["metadata"]
        found = deployed.cluster.kubectl("get", obj["kind"], meta["name"], "-n", meta.get("namespace") or "default",
                                         "--ignore-not-found", "-o", "name").stdout.strip()
        assert not found, f"{obj['kind']} {meta.get('namespace')}/{meta['name']} left behind"
