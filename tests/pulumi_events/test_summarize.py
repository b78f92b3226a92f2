"""Real-format `pulumi preview --json`, event-log and stack-export output, parsed and summarised."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from common.errors import InputError
from tests.conftest import run_visio
from visio.summarize.events import plain, read_events, read_preview, read_stack_export, summarize, urn_parts

FIXTURES = Path(__file__).parent / "fixtures"
PREVIEW, EVENTS, EXPORT = FIXTURES / "preview.json", FIXTURES / "events.jsonl", FIXTURES / "stack-export.json"
LIVEKIT = "visio-media/media-livekit"


def test_preview_json_steps_and_diagnostics():
    s = read_preview(PREVIEW)
    assert s.stack == "interieur-prod"
    assert [(st.op, st.type, st.name) for st in s.changes] == [
        ("update", "kubernetes:apps/v1:Deployment", f"media:{LIVEKIT}"),
        ("create", "kubernetes:networking.k8s.io/v1:NetworkPolicy", "visio-media/allow-turn-relay"),
        ("replace", "kubernetes:core/v1:Service", "signalling:visio-signalling/signalling-redis"),
        ("delete", "kubernetes:core/v1:ConfigMap", "visio-signalling/legacy-settings"),
    ]
    assert s.changes[0].changed == ("spec.replicas", "spec.template.spec.containers[0].image")
    assert s.changes[2].replace_keys == ("spec.clusterIP",)
    assert s.change_summary == {"create": 1, "delete": 1, "replace": 1, "same": 74, "update": 1}
    assert [d.severity for d in s.diagnostics] == ["warning"]
    assert "<{%" not in s.diagnostics[0].message
    assert not s.has_policy_results and s.violations == []


def test_event_log_policy_events_steps_and_summary():
    s = read_events(EVENTS)
    assert s.is_preview is True and not s.failed
    assert s.policy_packs == {"visio-sovereignty": "v0.1.0"}
    assert [(v.level, v.policy) for v in s.violations] == [
        ("mandatory", "image-registry"), ("mandatory", "image-digest"), ("advisory", "egress-policy")]
    first = s.violations[0]
    assert first.pack == "visio-sovereignty" and first.pack_version == "0.1.0"
    assert urn_parts(first.urn or "")[2] == f"media:{LIVEKIT}"
    assert first.message.startswith("Container images come only from") and "docker.io" in first.message
    assert [st.op for st in s.changes] == ["update", "create", "replace", "delete"]
    # The ephemeral progress line is display-only and not kept.
    assert [d.message for d in s.diagnostics] == [
        "networking.k8s.io/v1 NetworkPolicy: spec.egress[0].to: the selected pods may also reach the node network"]


def test_stack_export_resources_and_no_secret_in_the_summary():
    resources = read_stack_export(EXPORT)
    assert [r["type"] for r in resources][:2] == ["pulumi:pulumi:Stack", "pulumi:providers:kubernetes"]
    result = run_visio("summarize", str(PREVIEW), "--events", str(EVENTS), "--state", str(EXPORT), "--format", "json")
    doc = json.loads(result.stdout)
    assert doc["stateResources"] == 4
    assert "ciphertext" not in result.stdout and "[secret]" not in result.stdout


def test_merge_request_comment(tmp_path):
    result = run_visio("summarize", str(PREVIEW), "--events", str(EVENTS))
    assert result.returncode == 1  # mandatory violations block
    md = result.stdout
    assert md.startswith("### Pulumi preview: stack `interieur-prod`")
    assert "**Changes:** 1 create, 1 update, 1 replace, 1 delete, 74 same" in md
    assert "| replace | `kubernetes:core/v1:Service` | signalling:visio-signalling/signalling-redis | " \
           "replaced because of spec.clusterIP; spec.clusterIP |" in md
    assert "**Policy (visio-sovereignty v0.1.0):** **blocked**: 2 mandatory, 1 advisory violation(s)" in md
    rows = [line for line in md.splitlines() if line.startswith("| mandatory") or line.startswith("| advisory")]
    assert [row.split(" | ")[1] for row in rows] == ["image-digest", "image-registry", "egress-policy"]
    assert "<br>" in rows[0] and "<{%" not in md
    assert "- warning: `kubernetes:networking.k8s.io/v1:NetworkPolicy` visio-media/allow-turn-relay" in md
    out = tmp_path / "comment.md"
    assert run_visio("summarize", str(PREVIEW), "--events", str(EVENTS), "-o", str(out)).returncode == 1
    assert out.read_text() == md


def test_preview_alone_says_policy_results_are_missing():
    result = run_visio("summarize", str(PREVIEW))
    assert result.returncode == 0
    assert "leaves policy results out" in result.stdout


def test_a_clean_event_log_passes(tmp_path):
    lines = [json.loads(line) for line in EVENTS.read_text().splitlines()]
    clean = tmp_path / "clean.jsonl"
    clean.write_text("".join(json.dumps(e) + "\n" for e in lines if "policyEvent" not in e))
    s = summarize(None, clean)
    assert s.violations == [] and s.has_policy_results and s.mandatory == []
    assert run_visio("summarize", "--events", str(clean)).returncode == 0


@pytest.mark.parametrize(("content", "message"), [
    ("{not json", "invalid JSON: line 1"),
    ('{"steps": {"op": "create"}}', "steps: expected a list"),
    ('{"steps": [{"urn": "urn:pulumi:a::b::t::n"}]}', "steps[0].op: expected a string"),
    ('{"changeSummary": {"create": "one"}}', "changeSummary.create: expected a number"),
])
def test_bad_preview_is_one_line(tmp_path, content, message):
    bad = tmp_path / "preview.json"
    bad.write_text(content)
    with pytest.raises(InputError, match=re.escape(message)):
        read_preview(bad)
    result = run_visio("summarize", str(bad))
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and message in result.stderr


def test_bad_event_log_and_export_name_the_line(tmp_path):
    log = tmp_path / "events.jsonl"
    log.write_text('{"sequence": 0, "timestamp": 1, "preludeEvent": {"config": {}}}\n{"policyEvent": {}}\n')
    with pytest.raises(InputError, match=r"line 2: not an engine event"):
        read_events(log)
    log.write_text('{"sequence": 0, "timestamp": 1, "policyEvent": {"policyName": "x", "policyPackName": "p", '
                   '"message": "m"}}\n')
    with pytest.raises(InputError, match=r"line 1: policyEvent.enforcementLevel: expected a string"):
        read_events(log)
    export = tmp_path / "export.json"
    export.write_text('{"version": 2, "deployment": {}}')
    with pytest.raises(InputError, match="version: expected 3"):
        read_stack_export(export)
    assert run_visio("summarize").returncode == 2


def test_colour_markup_is_removed():
    assert plain("<{%reset%}>a\nb<{%fg 3%}>\n") == "a\nb"
