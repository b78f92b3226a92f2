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
