"""`visio audit` end to end: manifests and charts in, the engine's findings out, exit code by verdict."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import one_target

ROOT = Path(__file__).resolve().parents[2]
VISIO = ROOT / ".venv" / "bin" / "visio"
DIGEST = "sha256:" + "c0" * 32
POLICY = {
    "profile": "secnumcloud",
    "allowedRegistries": ["registry.interieur.gouv.fr"],
    "trustedDomains": ["visio.interieur.gouv.fr"],
    "allowedRegions": ["eu-west-par"],
    "production": True,
}


def audit(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VISIO), "audit", *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=120,
        check=False, env={**os.environ, "NO_COLOR": "1"},
    )


def pod(image: str, **extra: Any) -> dict[str, Any]:
    """A pod spec meeting the restricted profile; tests plant their defects on top."""
    container = {
        "name": "app",
        "image": image,
        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
        "env": [{"name": "LOG_LEVEL", "value": "info"}],
    }
    return {
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [container],
        **extra,
    }


def deployment(name: str, namespace: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": spec},
        },
    }


def default_deny(namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "default-deny", "namespace": namespace},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
    }


def clean_tree(root: Path) -> Path:
    """Namespace with its default-deny policy (YAML), a workload (YAML, nested dir), a ConfigMap (JSON)."""
    good = f"registry.interieur.gouv.fr/visio/backend@{DIGEST}"
    (root / "apps").mkdir(parents=True)
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "visio"}}
    (root / "namespace.yaml").write_text(yaml.safe_dump_all([namespace, default_deny("visio")]))
    (root / "apps" / "backend.yml").write_text(yaml.safe_dump(deployment("backend", "visio", pod(good))))
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": "visio"},
              "data": {"LOG_LEVEL": "info"}}
    (root / "apps" / "settings.json").write_text(json.dumps(config))
    (root / "README.md").write_text("not a manifest, not read\n")
    (root / "policy.yaml").write_text(yaml.safe_dump(POLICY))
    return root


def findings(result: subprocess.CompletedProcess[str]) -> set[tuple[str, str, str, str, str]]:
    report = one_target(result.stdout, "audit")
    return {
        (f["rule"], f["enforcement"], f["resource"]["kind"], f["resource"]["name"], f["path"])
        for f in report["findings"]
    }


def test_clean_manifests_pass(tmp_path: Path) -> None:
    root = clean_tree(tmp_path / "tree")
    result = audit("--policy-config", root / "policy.yaml", "--format", "json", root / "namespace.yaml",
                   root / "apps", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    report = one_target(result.stdout, "audit")
    assert report["findings"] == []
    assert report["summary"]["resources"] == 4
    assert report["summary"]["passed"] is True


def test_planted_defects_are_found_exactly(tmp_path: Path) -> None:
    root = clean_tree(tmp_path / "tree")
    # The same workload with defects, in a List, in a namespace with no default-deny policy.
    planted = pod(
        "docker.io/library/nginx:1.27",
        nodeSelector={"topology.kubernetes.io/region": "us-east-1"},
        hostNetwork=True,
    )
    items = [deployment("web", "edge", planted)]
    (root / "apps" / "edge.yaml").write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": items}))
    result = audit("--policy-config", root / "policy.yaml", "--format", "json", root / "namespace.yaml",
                   root / "apps", cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    image = "spec.template.spec.containers[0].image"
    assert findings(result) == {
        ("image-registry", "mandatory", "Deployment", "web", image),
        ("image-digest", "mandatory", "Deployment", "web", image),
        ("node-region", "mandatory", "Deployment", "web",
         'spec.template.spec.nodeSelector["topology.kubernetes.io/region"]'),
        ("pod-security", "mandatory", "Deployment", "web", "spec.template.spec.hostNetwork"),
        ("egress-policy", "mandatory", "Namespace", "edge", "metadata.name"),
    }
    report = one_target(result.stdout, "audit")
    registry = next(f for f in report["findings"] if f["rule"] == "image-registry")
    assert registry["resource"] == {"kind": "Deployment", "name": "web", "namespace": "edge"}
    assert "docker.io" in registry["message"]
    assert registry["evidence"]["registry"] == "docker.io"
    assert registry["source"].endswith("apps/edge.yaml.items[0]")
    assert report["summary"]["mandatory"] == 5
    # The same findings as one list at the top, each naming its target.
    flat = json.loads(result.stdout)["findings"]
    assert [{k: v for k, v in f.items() if k != "target"} for f in flat] == report["findings"]
    assert {f["target"] for f in flat} == {report["name"]}

    text = audit("--policy-config", root / "policy.yaml", root / "namespace.yaml", root / "apps", cwd=tmp_path)
    assert text.returncode == 1
    assert "image-registry" in text.stdout and "Deployment edge/web" in text.stdout
    assert "failed: 5 resources, 5 mandatory" in text.stdout


def test_exemption_in_force_is_listed_and_lifts_the_finding(tmp_path: Path) -> None:
    root = clean_tree(tmp_path / "tree")
    spec = pod(f"registry.interieur.gouv.fr/visio/livekit@{DIGEST}", hostNetwork=True)
    (root / "apps" / "sfu.yaml").write_text(yaml.safe_dump(deployment("livekit", "visio", spec)))
    exemption = {
        "rule": "pod-security",
        "resource": {"kind": "Deployment", "name": "livekit", "namespace": "visio"},
        "paths": ["*.hostNetwork"],
        "justification": "the SFU receives media on host UDP ports",
        "approver": "rssi@interieur.gouv.fr",
        "expiry": "2099-12-31",
    }
    (root / "exemptions.yaml").write_text(yaml.safe_dump({"exemptions": [exemption]}))
    (root / "policy.yaml").write_text(yaml.safe_dump({**POLICY, "exemptionsFile": "exemptions.yaml"}))
    result = audit("--policy-config", root / "policy.yaml", "--format", "json", root / "namespace.yaml",
                   root / "apps", cwd=tmp_path)
    assert result.returncode == 0, result.stdout
    report = one_target(result.stdout, "audit")
    assert report["findings"] == []
    assert [(f["rule"], f["path"]) for f in report["exempted"]] == [("pod-security", "spec.template.spec.hostNetwork")]
    assert report["exemptions"][0]["approver"] == "rssi@interieur.gouv.fr"


def make_chart(root: Path) -> Path:
    """A small third-party-style chart: helpers, values, a conditional and a range."""
    chart = root / "webapp"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: webapp\nversion: 1.2.3\nappVersion: '4.5'\n")
    (chart / "values.yaml").write_text(yaml.safe_dump({
        "image": {"repository": "registry.interieur.gouv.fr/vendor/webapp", "digest": DIGEST},
        "replicas": 2,
        "extraEnv": {"LOG_LEVEL": "info"},
        "networkPolicy": True,
    }))
    (chart / "templates" / "_helpers.tpl").write_text(
        '{{- define "webapp.fullname" -}}{{ .Release.Name }}-{{ .Chart.Name }}{{- end -}}\n'
    )
    (chart / "templates" / "deployment.yaml").write_text("""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "webapp.fullname" . }}
  namespace: {{ .Release.Namespace }}
spec:
  replicas: {{ .Values.replicas }}
  selector:
    matchLabels: {app: {{ include "webapp.fullname" . }}}
  template:
    metadata:
      labels: {app: {{ include "webapp.fullname" . }}}
    spec:
      securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
      containers:
        - name: web
          {{- $ref := printf "%s:%s" .Values.image.repository (.Values.image.tag | default "latest") }}
          {{- with .Values.image.digest }}{{ $ref = printf "%s@%s" $.Values.image.repository . }}{{ end }}
          image: {{ $ref | quote }}
          securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
          env:
          {{- range $k, $v := .Values.extraEnv }}
            - name: {{ $k }}
              value: {{ $v | quote }}
          {{- end }}
""")
    (chart / "templates" / "networkpolicy.yaml").write_text("""\
{{- if .Values.networkPolicy }}
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: {{ .Release.Namespace }}}
spec: {podSelector: {}, policyTypes: [Ingress, Egress]}
{{- end }}
""")
    (chart / "templates" / "NOTES.txt").write_text("Thanks for installing {{ .Chart.Name }}.\n")
    return chart


def test_chart_is_rendered_and_audited(tmp_path: Path) -> None:
    chart = make_chart(tmp_path)
    policy = tmp_path / "policy.yaml"
    policy.write_text(yaml.safe_dump(POLICY))
    clean = audit("--policy-config", policy, "--format", "json", chart, cwd=tmp_path)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert one_target(clean.stdout, "audit")["summary"]["resources"] == 2

    # Values files merge in order, as with helm: the last one wins key by key.
    (tmp_path / "upstream.yaml").write_text(yaml.safe_dump({
        "image": {"repository": "ghcr.io/vendor/webapp", "tag": "4.5", "digest": ""},
        "networkPolicy": False,
    }))
    (tmp_path / "ours.yaml").write_text(yaml.safe_dump({"networkPolicy": True}))
    result = audit("--policy-config", policy, "--format", "json", "--values", "upstream.yaml",
                   "--values", "ours.yaml", chart, cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    image = "spec.template.spec.containers[0].image"
    assert findings(result) == {
        ("image-registry", "mandatory", "Deployment", "webapp-webapp", image),
        ("image-digest", "mandatory", "Deployment", "webapp-webapp", image),
    }
    registry = next(f for f in one_target(result.stdout, "audit")["findings"] if f["rule"] == "image-registry")
    assert registry["source"] == "chart webapp: webapp/templates/deployment.yaml"
    assert registry["resource"]["namespace"] == "default"


def test_chart_inside_a_directory_is_rendered_not_read_as_manifests(tmp_path: Path) -> None:
    make_chart(tmp_path / "vendor")
    (tmp_path / "policy.yaml").write_text(yaml.safe_dump(POLICY))
    result = audit("--policy-config", "policy.yaml", "--format", "json", "vendor", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert one_target(result.stdout, "audit")["summary"]["resources"] == 2


def test_sarif_report_written_to_file(tmp_path: Path) -> None:
    root = clean_tree(tmp_path / "tree")
    spec = pod("docker.io/library/nginx:1.27")
    (root / "apps" / "web.yaml").write_text(yaml.safe_dump(deployment("web", "visio", spec)))
    out = tmp_path / "reports" / "audit.sarif"
    result = audit("--policy-config", root / "policy.yaml", "--format", "sarif", "--output", out,
                   root / "namespace.yaml", root / "apps", cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    sarif = json.loads(out.read_text())
    rules = {r["ruleId"] for r in sarif["runs"][0]["results"]}
    assert {"image-registry", "image-digest"} <= rules
