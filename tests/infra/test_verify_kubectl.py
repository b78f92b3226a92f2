"""`visio verify STACK` against a real cluster, only when VISIO_TEST_KUBECONFIG names its kubeconfig.

The stack (VISIO_TEST_STACK, default dev) must have been deployed there. The captioning check sends
one TCP SYN from inside the captioning pods to the egress probe address; nothing is sent from here.
"""

from __future__ import annotations

import os
from pathlib import Path

import junitparser
import pytest

from common.config import load_stack
from tests.conftest import run_visio
from visio.verify.cluster import workloads

KUBECONFIG = os.environ.get("VISIO_TEST_KUBECONFIG")
STACK = os.environ.get("VISIO_TEST_STACK", "dev")

pytestmark = pytest.mark.skipif(not KUBECONFIG, reason="VISIO_TEST_KUBECONFIG is not set: no cluster to verify")


def test_verify_reports_every_workload_of_the_stack(tmp_path: Path) -> None:
    report = tmp_path / "verify.xml"
    result = run_visio("verify", STACK, "--kubeconfig", str(KUBECONFIG), "--format", "junit",
                       "--output", str(report), timeout=900)
    assert result.returncode in (0, 1), result.stderr
    cases = [case for suite in junitparser.JUnitXml.fromfile(str(report)) for case in suite]
    names = [case.name for case in cases]
    for w in workloads(load_stack(STACK)):
        assert any(n.startswith(f"{w.name}-running [") for n in names), w.name
    failed = [f"{c.name}: {c.result[0].message}" for c in cases if not c.is_passed]
    # Exit status and report agree: 1 exactly when some check failed.
    assert (result.returncode == 1) == bool(failed), failed
    running = [c for c in cases if "-running [" in c.name and c.is_passed]
    if running:
        assert any("-user [" in n for n in names) and any("-endpoints [" in n for n in names)
