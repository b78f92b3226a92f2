"""Chart expansion as the Kubernetes provider does it, on a small chart rendered by the real Helm library."""

from __future__ import annotations

from pathlib import Path

import pytest

from common.errors import InputError
from visio.plan.expand import expand, plain_numbers, type_token

TEMPLATES = {
    "config.yaml": """apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-settings
data:
  port: {{ .Values.port | quote }}
""",
    "scoped.yaml": """apiVersion: v1
kind: Namespace
metadata:
  name: extra
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: {{ .Release.Name }}-reader
rules: []
---
apiVersion: v1
kind: Service
metadata:
  name: pinned
  namespace: elsewhere
spec:
  ports: [{port: 80}]
""",
    "secret.yaml": """apiVersion: v1
kind: Secret
metadata:
  name: token
stringData:
  token: not-from-values
""",
    "list.yaml": """apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: ConfigMap
    metadata: {name: first}
  - apiVersion: v1
    kind: ConfigMap
    metadata: {name: second}
""",
    "hooks.yaml": """apiVersion: v1
kind: Pod
metadata:
  name: smoke-test
  annotations: {"helm.sh/hook": test}
spec:
  containers: [{name: t, image: busybox}]
---
apiVersion: batch/v1
kind: Job
metadata:
  name: pre-install
  annotations: {"helm.sh/hook": pre-install}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: t, image: busybox}]
""",
    "NOTES.txt": "Installed {{ .Release.Name }}.\n",
}


@pytest.fixture
def chart(tmp_path: Path) -> Path:
    root = tmp_path / "demo"
    (root / "templates").mkdir(parents=True)
    (root / "Chart.yaml").write_text("apiVersion: v2\nname: demo\nversion: 0.1.0\n")
    (root / "values.yaml").write_text("port: 1\n")
    for name, text in TEMPLATES.items():
        (root / "templates" / name).write_text(text)
    return root


def test_children_are_named_typed_and_namespaced_like_the_provider(chart: Path) -> None:
    inputs = {"chart": str(chart), "namespace": "apps", "values": {"port": 7880.0}}
    children = {c.name: c for c in expand("demo", inputs)}
    assert set(children) == {
        "demo:apps/demo-settings",
        "demo:extra",
        "demo:demo-reader",
        "demo:elsewhere/pinned",
        "demo:apps/token",
        "demo:apps/first",
        "demo:apps/second",
    }
    settings = children["demo:apps/demo-settings"]
    assert settings.type == "kubernetes:core/v1:ConfigMap"
    assert settings.template == "demo/templates/config.yaml"
    # A whole number arrives from the engine as a double; the chart must still see 7880.
    assert settings.object["data"] == {"port": "7880"}
    assert "namespace" not in children["demo:extra"].object["metadata"]
    assert children["demo:demo-reader"].type == "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole"
    assert "namespace" not in children["demo:demo-reader"].object["metadata"]
    assert children["demo:apps/token"].secret_fields == ("stringData",)
    assert settings.secret_fields == ()


def test_release_name_and_prefix_follow_the_inputs(chart: Path) -> None:
    children = expand("demo", {"chart": str(chart), "name": "rel", "resourcePrefix": "", "values": {}}, "fallback")
    names = {c.name for c in children}
    assert "fallback/rel-settings" in names and "rel-reader" in names


def test_hooks_are_left_out(chart: Path) -> None:
    names = {c.object["metadata"]["name"] for c in expand("demo", {"chart": str(chart), "values": {}})}
    assert "smoke-test" not in names and "pre-install" not in names


def test_only_local_charts_expand_offline(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a local chart directory"):
        expand("remote", {"chart": "oci://registry.example.fr/charts/demo"})
    with pytest.raises(InputError, match="repositoryOpts"):
        expand("demo", {"chart": str(tmp_path), "repositoryOpts": {"repo": "https://charts.example.fr"}})


def test_type_tokens_and_numbers() -> None:
    assert type_token("v1", "Service") == "kubernetes:core/v1:Service"
    assert type_token("apps/v1", "Deployment") == "kubernetes:apps/v1:Deployment"
    assert plain_numbers({"a": [1.0, 2.5, True], "b": 3.0}) == {"a": [1, 2.5, True], "b": 3}
    assert isinstance(plain_numbers(3.0), int)
