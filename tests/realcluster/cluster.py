"""A real control plane on loopback (scripts/local-cluster.sh) and the stacks applied to it.

The objects applied are the ones `visio plan` predicts for the stack, with their generated secret
values, applied server-side by kubectl: what reaches the API server is what the program registers.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT
from visio.plan.stackplan import StackPlan, plan_stack, reveal

SCRIPT = ROOT / "scripts" / "local-cluster.sh"
FIELD_MANAGER = "visio-test"
# Enough for every workload of the largest stack to be scheduled and marked ready by kwok.
READY_TIMEOUT = 240.0


def tools_available() -> None:
    if shutil.which("go") is None and not os.environ.get("VISIO_TOOLS_CACHE"):
        if os.environ.get("VISIO_REQUIRE_SERVERS"):
            pytest.fail("Go is required to build the local control plane (VISIO_REQUIRE_SERVERS is set)")
        pytest.skip("Go is not installed: the local control plane cannot be built")


@dataclass
class LocalCluster:
    state: Path
    kubeconfig: Path = field(init=False)
    bin: Path = field(init=False)

    def __post_init__(self) -> None:
        self.kubeconfig = self.state / "kubeconfig"
        self.bin = self.state / "bin"

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "VISIO_LOCAL_CLUSTER_DIR": str(self.state)}

    def up(self, *stacks: str) -> None:
        result = subprocess.run([str(SCRIPT), "up", *stacks], env=self.env, capture_output=True, text=True,
                                timeout=1800, check=False)
        if result.returncode != 0:
            pytest.fail(f"local-cluster.sh up failed:\n{result.stderr[-3000:]}")
        assert result.stdout.strip() == str(self.kubeconfig)

    def down(self) -> None:
        subprocess.run([str(SCRIPT), "down"], env=self.env, capture_output=True, timeout=120, check=False)

    def kubectl(self, *args: str, input: str | None = None, check: bool = True,
                kubeconfig: Path | None = None) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([str(self.bin / "kubectl"), "--kubeconfig", str(kubeconfig or self.kubeconfig),
                                 *args], input=input, capture_output=True, text=True, timeout=300, check=False)
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed: {result.stderr[-3000:]}")
        return result

    def get(self, *args: str) -> Any:
        return json.loads(self.kubectl("get", *args, "-o", "json").stdout)

    def apply(self, objects: Iterable[Mapping[str, Any]], *extra: str) -> subprocess.CompletedProcess[str]:
        doc = yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": list(objects)})
        return self.kubectl("apply", "--server-side", "--force-conflicts", "--field-manager", FIELD_MANAGER,
                            *extra, "-f", "-", input=doc)

    def audit_log(self) -> list[dict[str, Any]]:
        log = self.state / "kwok" / "clusters" / "visio" / "logs" / "audit.log"
        return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def desired(plan: StackPlan) -> list[dict[str, Any]]:
    """Every Kubernetes object of the stack with its real (generated) values, namespaces first."""
    objects = [reveal(r.inputs) for r in plan.plan.kubernetes_objects()]
    return sorted(objects, key=lambda o: o["kind"] != "Namespace")


def identity(obj: Mapping[str, Any]) -> tuple[str, str | None, str]:
    meta = obj.get("metadata") or {}
    return obj["kind"], meta.get("namespace"), meta["name"]


@dataclass
class Deployed:
    cluster: LocalCluster
    plan: StackPlan
    # How an object reaches this cluster when it cannot as planned (a webhook served on loopback).
    rewrite: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    # Kinds left out: see `deploy`.
    without: tuple[str, ...] = ()

    def objects(self) -> list[dict[str, Any]]:
        return [self.rewrite(o) if self.rewrite else o for o in desired(self.plan) if o["kind"] not in self.without]

    @property
    def name(self) -> str:
        return self.plan.stack.name

    @property
    def namespaces(self) -> set[str]:
        return {o["metadata"]["name"] for o in self.plan.objects if o["kind"] == "Namespace"}

    def apply(self) -> None:
        self.cluster.apply(self.objects())

    def delete(self) -> None:
        for ns in sorted(self.namespaces):
            self.cluster.kubectl("delete", "namespace", ns, "--ignore-not-found", "--wait=true", "--timeout=180s")
        cluster_scoped = [o for o in desired(self.plan)
                          if o["kind"] != "Namespace" and not o["metadata"].get("namespace")]
        for obj in cluster_scoped:
            self.cluster.kubectl("delete", obj["kind"], obj["metadata"]["name"], "--ignore-not-found")

    def wait_ready(self) -> None:
        """Every workload of the stack ready, every Job complete, every selecting Service with endpoints."""
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            waiting = self.not_ready()
            if not waiting:
                return
            if time.monotonic() > deadline:
                pods = self.cluster.kubectl("get", "pods", "-A", "-o", "wide", check=False).stdout
                raise AssertionError(f"stack {self.name} not ready: {waiting}\n{pods[-4000:]}")
            time.sleep(2)

    def not_ready(self) -> list[str]:
        waiting: list[str] = []
        for ns in sorted(self.namespaces):
            for item in self.cluster.get("deployments,statefulsets,daemonsets,jobs,services,endpointslices",
                                         "-n", ns)["items"]:
                kind, name, status = item["kind"], item["metadata"]["name"], item.get("status") or {}
                spec = item.get("spec") or {}
                if kind in ("Deployment", "StatefulSet"):
                    want = spec.get("replicas", 1)
                    if status.get("readyReplicas", 0) != want or status.get("updatedReplicas", 0) != want:
                        waiting.append(f"{kind} {ns}/{name}: {status.get('readyReplicas', 0)}/{want} ready")
                elif kind == "DaemonSet" and status.get("numberReady", 0) != status.get("desiredNumberScheduled", -1):
                    waiting.append(f"DaemonSet {ns}/{name}")
                elif kind == "Job" and not status.get("succeeded"):
                    waiting.append(f"Job {ns}/{name}")
            waiting += self._services_without_endpoints(ns)
        return waiting

    def _services_without_endpoints(self, ns: str) -> list[str]:
        services = self.cluster.get("services", "-n", ns)["items"]
        slices = self.cluster.get("endpointslices", "-n", ns)["items"]
        ready: set[str] = set()
        for s in slices:
            if any((e.get("conditions") or {}).get("ready") for e in s.get("endpoints") or []):
                ready.add(s["metadata"]["labels"].get("kubernetes.io/service-name", ""))
        return [f"Service {ns}/{s['metadata']['name']} has no ready endpoint" for s in services
                if (s.get("spec") or {}).get("selector") and s["metadata"]["name"] not in ready]


# The Guard's webhook configuration sends every guarded request to its Service, which kwok's pods
# cannot serve: with failurePolicy Fail nothing would deploy. The webhook itself runs on loopback in
# test_admission_webhook.py; elsewhere the stack is applied without its configuration.
UNSERVED = ("ValidatingWebhookConfiguration",)


def deploy(cluster: LocalCluster, stack: str) -> Deployed:
    deployed = Deployed(cluster, plan_stack(stack), without=UNSERVED)
    deployed.apply()
    deployed.wait_ready()
    return deployed
