"""`visio audit` reads third-party input as the API server decodes it, and audits everything it can.

A null field is unset, the items of a typed `<Kind>List` take its kind, and one unusable document is a
mandatory finding naming its file and document while every other document is still judged (exit 1).
Exit 2 is kept for input that leaves nothing to audit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_audit import ROOT, audit
from tests.conftest import one_target

CHART = Path(__file__).parent / "fixtures" / "analytics-chart"
CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fine, namespace: apps}\ndata: {A: b}\n"
FOREIGN_NAME = (
    "apiVersion: v1\nkind: Service\nmetadata: {name: analytics, namespace: apps}\n"
    "spec: {type: ExternalName, externalName: eu.i.posthog.com}\n"
)


def report(result: Any) -> dict[str, Any]:
    assert "Traceback" not in result.stderr, result.stderr
    loaded: dict[str, Any] = one_target(result.stdout, "audit")
    return loaded


def rules(findings: list[dict[str, Any]]) -> set[str]:
    return {f["rule"] for f in findings}


def test_chart_with_null_target_port_reports_its_foreign_analytics_proxy(tmp_path: Path) -> None:
    without = report(audit(CHART, "--format", "json", cwd=tmp_path))["findings"]
    assert not rules(without) & {"endpoint-sovereignty", "unusable-input"}
    values = tmp_path / "analytics.yaml"
    values.write_text("analytics:\n  enabled: true\n")
    result = audit(CHART, "-f", values, "--format", "json", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    findings = report(result)["findings"]
    proxy = [f for f in findings if f["resource"]["name"] == "analytics-analytics-proxy"]
    assert [(f["rule"], f["path"]) for f in proxy] == [("endpoint-sovereignty", "spec.externalName")]
    assert proxy[0]["origin"] == {"file": str(CHART.relative_to(ROOT)) + "/templates/analytics-service.yaml",
                                  "line": 2, "column": 1, "rendered": True}
    assert "unusable-input" not in rules(findings)


def test_null_fields_are_unset_but_null_required_fields_are_still_refused(tmp_path: Path) -> None:
    (tmp_path / "svc.yaml").write_text(
        "apiVersion: v1\nkind: Service\nmetadata: {name: analytics, namespace: apps, labels: null}\n"
        "spec: {type: ExternalName, externalName: eu.i.posthog.com, selector: null,\n"
        "       ports: [{port: 443, targetPort: null, name: null}]}\n"
        "---\napiVersion: v1\nkind: Pod\nmetadata: {name: empty, namespace: apps}\nspec: {containers: null}\n"
    )
    findings = report(audit("svc.yaml", "--format", "json", cwd=tmp_path))["findings"]
    assert ("endpoint-sovereignty", "spec.externalName") in {(f["rule"], f["path"]) for f in findings}
    refused = [f for f in findings if f["rule"] == "unusable-input"]
    assert [(f["resource"]["name"], f["path"]) for f in refused] == [("empty", "spec")]
    assert "containers" in refused[0]["message"]


def test_items_of_a_typed_list_take_its_kind(tmp_path: Path) -> None:
    (tmp_path / "list.yaml").write_text(
        "apiVersion: v1\nkind: ServiceList\nitems:\n"
        "  - metadata: {name: analytics, namespace: apps}\n"
        "    spec: {type: ExternalName, externalName: eu.i.posthog.com}\n"
    )
    # A chart's list template with nothing to list renders `items:` alone: an empty list.
    (tmp_path / "empty.yaml").write_text("apiVersion: batch/v1\nkind: CronJobList\nitems:\n")
    result = audit("list.yaml", "empty.yaml", "--format", "json", cwd=tmp_path)
    findings = report(result)["findings"]
    assert {(f["rule"], f["resource"]["kind"], f["resource"]["name"]) for f in findings} >= {
        ("endpoint-sovereignty", "Service", "analytics")}
    assert "unusable-input" not in rules(findings)


def test_unusable_documents_are_findings_and_the_rest_is_audited(tmp_path: Path) -> None:
    tree = tmp_path / "estate"
    (tree / "apps").mkdir(parents=True)
    (tree / "apps" / "analytics.yaml").write_text(FOREIGN_NAME)
    (tree / "apps" / "broken.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [unclosed\n")
    (tree / "apps" / "mixed.yaml").write_text(
        CONFIGMAP + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: bad, namespace: apps}\ndata: [1]\n"
        + "---\n" + CONFIGMAP.replace("fine", "also-fine")
    )
    (tree / "apps" / "list.yaml").write_text(
        "apiVersion: v1\nkind: List\nitems:\n  - {apiVersion: v1, kind: ConfigMap, metadata: {name: ok}}\n"
        "  - {apiVersion: v1, kind: ConfigMap, metadata: {name: wrong}, binaryData: 7}\n"
    )
    result = audit("estate", "--format", "json", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    out = report(result)
    refused = {(f["origin"].get("document"), f["origin"].get("item"), f["origin"]["file"], f["path"],
                f["enforcement"]) for f in out["findings"] if f["rule"] == "unusable-input"}
    assert refused == set([
        (None, None, "estate/apps/broken.yaml", "", "mandatory"),
        (2, None, "estate/apps/mixed.yaml", "data", "mandatory"),
        (None, 1, "estate/apps/list.yaml", "items[1].binaryData", "mandatory"),
    ])
    messages = {f["resource"]["name"]: f["message"] for f in out["findings"] if f["rule"] == "unusable-input"}
    assert "invalid YAML" in messages["estate/apps/broken.yaml"]
    assert "estate/apps/mixed.yaml: document 2: data:" in messages["bad"]
    # Every other document is still judged and counted.
    assert ("endpoint-sovereignty", "analytics") in {(f["rule"], f["resource"]["name"]) for f in out["findings"]}
    assert out["summary"]["resources"] == 7  # 4 audited, 3 refused


@pytest.mark.parametrize("policy", [
    "exemptions:\n  - rule: unusable-input\n    resource: {name: '*'}\n"
    "    justification: we would rather not look\n    approver: rssi@interieur.gouv.fr\n    expiry: 2999-01-01\n",
    "enforcement: {unusable-input: disabled}\n",
], ids=["exemption", "disabled"])
def test_unusable_findings_cannot_be_exempted_or_disabled(tmp_path: Path, policy: str) -> None:
    bad = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: 3\n"
    (tmp_path / "app.yaml").write_text(CONFIGMAP + "---\n" + bad)
    (tmp_path / "policy.yaml").write_text(policy)
    result = audit("app.yaml", "--policy-config", "policy.yaml", "--format", "json", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert [f["resource"]["name"] for f in report(result)["findings"] if f["rule"] == "unusable-input"] == ["x"]
