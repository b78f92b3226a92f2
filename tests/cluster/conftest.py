"""Fixtures for the cluster tests: the stack's offline plan and loopback API servers holding it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cluster.fakeapi import FakeCluster
from tests.cluster.state import STACK, populate
from tests.conftest import one_target, run_visio
from visio.plan.stackplan import StackPlan, plan_stack


@pytest.fixture(scope="session")
def stack_plan() -> StackPlan:
    return plan_stack(STACK)


@pytest.fixture
def make_cluster(stack_plan: StackPlan) -> Iterator[Callable[..., FakeCluster]]:
    """Start a loopback API server holding the applied stack; stopped after the test."""
    started: list[FakeCluster] = []

    def make(populated: bool = True, **options: Any) -> FakeCluster:
        # The stack's TURN certificate is a cert-manager Certificate: a cluster it was applied to
        # serves that group.
        options.setdefault("cert_manager", any(o["apiVersion"].startswith("cert-manager.io/")
                                               for o in stack_plan.objects))
        cluster = FakeCluster(**options)
        if populated:
            populate(cluster, stack_plan)
        started.append(cluster.start())
        return cluster

    yield make
    for cluster in started:
        cluster.stop()


Key = tuple[str, str, str | None, str, str]


def keys(findings: list[dict[str, Any]]) -> set[Key]:
    return {(f["rule"], f["resource"]["kind"], f["resource"]["namespace"], f["resource"]["name"], f["path"])
            for f in findings}


def scan_json(kubeconfig: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    result = run_visio("scan", "--kubeconfig", str(kubeconfig), "--format", "json", *args)
    try:
        doc = one_target(result.stdout, "scan") if result.stdout.strip() else {}
    except json.JSONDecodeError:
        pytest.fail(f"scan did not print JSON: {result.stdout[:500]}\n{result.stderr[-2000:]}")
    return result.returncode, doc, result.stderr
