"""`visio audit` judges an object as the API server stores it: an omitted field takes the server's default.

The server fills its defaults before it validates, so an object that omits a field the schema requires
but the server defaults is accepted, and a rule never sees an omitted field differently from its default.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_audit import audit
from tests.conftest import one_target
from visio.audit.manifests import KUBERNETES_VERSION, collect
from visio.kube import schema
from visio.kube.defaulting import DEFAULTS

OMITTED = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: apps}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports: [{containerPort: 80}]
        livenessProbe: {httpGet: {port: 80}}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: apps}
spec:
  selector: {app: web}
  ports: [{port: 80}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: dns, namespace: apps}
spec:
  podSelector: {}
  egress: [{ports: [{port: 53}]}]
"""
EXPLICIT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: apps}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      restartPolicy: Always
      dnsPolicy: ClusterFirst
      hostNetwork: false
      hostPID: false
      hostIPC: false
      enableServiceLinks: true
      terminationGracePeriodSeconds: 30
      containers:
      - name: web
        image: nginx:1.27
        imagePullPolicy: IfNotPresent
        terminationMessagePath: /dev/termination-log
        terminationMessagePolicy: File
        ports: [{containerPort: 80, protocol: TCP}]
        livenessProbe: {httpGet: {port: 80, scheme: HTTP}}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: apps}
spec:
  type: ClusterIP
  sessionAffinity: None
  selector: {app: web}
  ports: [{port: 80, protocol: TCP}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: dns, namespace: apps}
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
  egress: [{ports: [{port: 53, protocol: TCP}]}]
"""
# The API server defaults a pod failure pattern's `status`, which the schema requires.
JOB = """\
apiVersion: batch/v1
kind: Job
metadata: {name: migrate, namespace: apps}
spec:
  podFailurePolicy:
    rules: [{action: Ignore, onPodConditions: [{type: DisruptionTarget}]}]
  template:
    spec:
      restartPolicy: Never
      hostNetwork: true
      containers: [{name: migrate, image: migrate:1.0}]
"""


def _bodies(tmp_path: Path, name: str, text: str) -> list[Any]:
    (tmp_path / name).write_text(text)
    collected = collect([tmp_path / name])
    assert not collected.refused
    return [r.body for r in collected.resources]


def _findings(tmp_path: Path, name: str) -> list[tuple[str, str, str]]:
    result = audit(name, "--format", "json", cwd=tmp_path)
    assert "Traceback" not in result.stderr, result.stderr
    return sorted((f["rule"], f["path"], f["message"]) for f in one_target(result.stdout, "audit")["findings"])


def test_an_omitted_field_is_judged_as_its_default(tmp_path: Path) -> None:
    omitted = _bodies(tmp_path, "omitted.yaml", OMITTED)
    assert omitted == _bodies(tmp_path, "explicit.yaml", EXPLICIT)
    assert _findings(tmp_path, "omitted.yaml") == _findings(tmp_path, "explicit.yaml")


def test_a_field_the_schema_requires_but_the_server_defaults_is_accepted(tmp_path: Path) -> None:
    (tmp_path / "job.yaml").write_text(JOB)
    result = audit("job.yaml", "--format", "json", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    findings = {(f["rule"], f["path"]) for f in one_target(result.stdout, "audit")["findings"]}
    assert ("pod-security", "spec.template.spec.hostNetwork") in findings
    assert "unusable-input" not in {rule for rule, _ in findings}


@pytest.mark.parametrize(("image", "policy"), [
    ("nginx", "Always"), ("nginx:latest", "Always"), ("registry:5000/nginx", "Always"),
    ("registry:5000/nginx:1.27", "IfNotPresent"), ("nginx@sha256:" + "0" * 64, "IfNotPresent"),
])
def test_image_pull_policy_defaults_from_the_tag(image: str, policy: str) -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
           "spec": {"containers": [{"name": "c", "image": image}]}}
    assert schema.defaulted(pod, KUBERNETES_VERSION)["spec"]["containers"][0]["imagePullPolicy"] == policy


def test_defaulting_leaves_the_object_read_untouched() -> None:
    ports = [{"containerPort": 80}]
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
           "spec": {"containers": [{"name": "c", "image": "nginx:1", "ports": ports, "imagePullPolicy": "Never"}]}}
    filled = schema.defaulted(pod, KUBERNETES_VERSION)
    assert ports == [{"containerPort": 80}]
    assert filled["spec"]["containers"][0]["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert filled["spec"]["containers"][0]["imagePullPolicy"] == "Never"


def test_each_default_is_the_one_the_schema_documents() -> None:
    directory = schema._schema_dir(KUBERNETES_VERSION)
    definitions = schema._load(directory, "_definitions.json")["$defs"]
    for name, fields in DEFAULTS.items():
        for field, default in fields.items():
            description = definitions[name]["properties"][field]["description"]
            if callable(default):
                assert re.search(r"[Dd]efault", description), (name, field)
                continue
            shown = {True: "true", False: "false"}.get(default, str(default))  # type: ignore[call-overload]
            assert re.search(rf"[Dd]efaults? (?:to|is|value is) \W?{re.escape(shown)}\b", description), (name, field)
