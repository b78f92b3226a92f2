"""Findings point at the file, line and column the object was read from, in every report format."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from tests.cli.test_audit import audit

LIST = """\
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Service
    metadata: {name: analytics, namespace: apps}
    spec: {type: ExternalName, externalName: eu.i.posthog.com}
"""
SEVERAL = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: fine, namespace: apps}
---
# the second document
apiVersion: v1
kind: Service
metadata: {name: tracker, namespace: apps}
spec: {type: ExternalName, externalName: eu.i.posthog.com}
"""


def _tree(root: Path) -> None:
    (root / "sub").mkdir()
    (root / "sub" / "list.yaml").write_text(LIST)
    (root / "sub" / "several.yaml").write_text(SEVERAL)


def _sarif(root: Path) -> dict[str, Any]:
    result = audit("sub", "--format", "sarif", cwd=root)
    assert result.returncode == 1, result.stderr
    loaded: dict[str, Any] = json.loads(result.stdout)
    return loaded


def test_sarif_locations_are_real_files_with_regions(tmp_path: Path) -> None:
    _tree(tmp_path)
    run = _sarif(tmp_path)["runs"][0]
    located = {
        r["locations"][0]["logicalLocations"][0]["name"]: r["locations"][0]["physicalLocation"]
        for r in run["results"] if r["ruleId"] == "endpoint-sovereignty"
    }
    assert located["analytics"] == {"artifactLocation": {"uri": "sub/list.yaml"},
                                    "region": {"startLine": 4, "startColumn": 5}}
    assert located["tracker"] == {"artifactLocation": {"uri": "sub/several.yaml"},
                                  "region": {"startLine": 6, "startColumn": 1}}


def test_sarif_rules_carry_help_link_and_security_severity(tmp_path: Path) -> None:
    _tree(tmp_path)
    rules = {r["id"]: r for r in _sarif(tmp_path)["runs"][0]["tool"]["driver"]["rules"]}
    rule = rules["endpoint-sovereignty"]
    assert rule["helpUri"].endswith("docs/policies.md#rule-endpoint-sovereignty")
    assert rule["help"]["text"] and float(rule["properties"]["security-severity"]) >= 9.0
    assert all(float(r["properties"]["security-severity"]) > 0 and r["help"]["text"] for r in rules.values())


def test_junit_and_html_name_the_location_and_the_rule_metadata(tmp_path: Path) -> None:
    _tree(tmp_path)
    junit = audit("sub", "--format", "junit", cwd=tmp_path).stdout
    case = next(c for c in ET.fromstring(junit).iter("testcase") if c.get("name") == "endpoint-sovereignty")
    failure = case.find("failure")
    assert failure is not None and failure.text is not None
    assert "(sub/list.yaml:4:5)" in failure.text and "(sub/several.yaml:6:1)" in failure.text
    properties = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert properties["severity"] == "critical" and properties["helpUri"].endswith("#rule-endpoint-sovereignty")
    html = audit("sub", "--format", "html", "-o", tmp_path / "r.html", cwd=tmp_path)
    assert html.returncode == 1, html.stderr
    page = (tmp_path / "r.html").read_text()
    assert "sub/list.yaml:4:5" in page and "#rule-endpoint-sovereignty" in page


def _regions(run: dict[str, Any], rule: str) -> dict[str, Any]:
    return {
        r["locations"][0]["logicalLocations"][0]["name"]: r["locations"][0]["physicalLocation"]
        for r in run["results"] if r["ruleId"] == rule
    }


def _service(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "apps"},
            "spec": {"type": "ExternalName", "externalName": "eu.i.posthog.com"}}


def test_json_objects_and_list_items_have_line_and_column(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    items = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "fine"}, "data": {"items": "[1]"}},
             _service("first"), _service("second")]
    (tmp_path / "sub" / "list.json").write_text(json.dumps({"kind": "List", "apiVersion": "v1", "items": items},
                                                           indent=2))
    (tmp_path / "sub" / "one.json").write_text("\n\n  " + json.dumps(_service("alone")))
    located = _regions(_sarif(tmp_path)["runs"][0], "endpoint-sovereignty")
    lines = (tmp_path / "sub" / "list.json").read_text().splitlines()
    starts = [i + 1 for i, line in enumerate(lines) if line == "    {"]
    assert located["first"] == {"artifactLocation": {"uri": "sub/list.json"},
                                "region": {"startLine": starts[1], "startColumn": 5}}
    assert located["second"]["region"] == {"startLine": starts[2], "startColumn": 5}
    assert located["alone"] == {"artifactLocation": {"uri": "sub/one.json"},
                                "region": {"startLine": 3, "startColumn": 3}}
    junit = audit("sub", "--format", "junit", cwd=tmp_path).stdout
    assert f"(sub/list.json:{starts[1]}:5)" in junit and "(sub/one.json:3:3)" in junit


CHART_TEMPLATE = """\
{{- if .Values.enabled }}
apiVersion: v1
kind: ConfigMap
metadata: {name: {{ .Release.Name }}-config, namespace: apps}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}-proxy
  namespace: apps
spec: {type: ExternalName, externalName: eu.i.posthog.com}
{{- end }}
"""


def test_chart_objects_point_at_their_template_with_the_rendered_line(tmp_path: Path) -> None:
    chart = tmp_path / "sub"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: proxy\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text("enabled: true\n")
    (chart / "templates" / "proxy.yaml").write_text(CHART_TEMPLATE)
    run = _sarif(tmp_path)["runs"][0]
    # The template renders with its first line (the `if`) left empty, so lines match the source here.
    assert _regions(run, "endpoint-sovereignty")["proxy-proxy"] == {
        "artifactLocation": {"uri": "sub/templates/proxy.yaml"}, "region": {"startLine": 6, "startColumn": 1}}
    # A directive above an object would shift its source line: the location says it is the rendered one.
    proxy = next(r for r in run["results"] if r["locations"][0]["logicalLocations"][0]["name"] == "proxy-proxy")
    assert "as the chart renders it" in proxy["locations"][0]["message"]["text"]
    html = audit("sub", "--format", "html", "-o", tmp_path / "r.html", cwd=tmp_path)
    assert html.returncode == 1, html.stderr
    assert "sub/templates/proxy.yaml:6:1 (as rendered)" in (tmp_path / "r.html").read_text()
