"""The scan and drift checks against a real cluster, when `VISIO_TEST_KUBECONFIG` names one.

The cluster must hold the stack `VISIO_TEST_STACK` (default interieur-prod) as applied, and the
identity of deploy/auditor-rbac.yaml plus auditor-rbac-secrets.yaml. Nothing is written to it: the
planted defects and hand edits of the loopback tests cannot be made here, so these tests check what
holds on any correctly applied stack.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.cluster.conftest import scan_json
from tests.conftest import run_visio

KUBECONFIG = os.environ.get("VISIO_TEST_KUBECONFIG")
STACK = os.environ.get("VISIO_TEST_STACK", "interieur-prod")

pytestmark = pytest.mark.skipif(not KUBECONFIG, reason="VISIO_TEST_KUBECONFIG is not set (no real cluster)")


def test_scan_reads_every_kind_and_reports_in_the_common_format():
    assert KUBECONFIG is not None
    code, doc, err = scan_json(Path(KUBECONFIG), "--stack", STACK)
    assert code in (0, 1), err
    assert doc["kinds"]["notAudited"] == [], doc["kinds"]["notAudited"]
    assert doc["summary"]["resources"] > 0
    assert {"Pod (v1)", "Node (v1)", "Deployment (apps/v1)", "Secret (v1)"} <= set(doc["kinds"]["read"])
    assert code == (1 if doc["summary"]["mandatory"] else 0)


def test_drift_of_the_applied_stack():
    assert KUBECONFIG is not None
    result = run_visio("drift", STACK, "--kubeconfig", KUBECONFIG, "--format", "json")
    doc = json.loads(result.stdout)
    assert doc["complete"] is True, doc["objects"]
    assert result.returncode == (1 if doc["drift"] else 0)
    assert doc["checked"] > 0
