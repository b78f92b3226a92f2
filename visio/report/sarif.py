"""SARIF 2.1.0 for code-scanning UIs (GitHub, GitLab): one run, one result per finding.

Exempted findings are kept as results with an accepted external suppression, so the UI shows who
approved them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from policies.engine.catalog import INFORMATION_URI, RuleInfo, catalog
from policies.engine.report import Finding, exemption_to_dict
from policies.engine.rule import Severity
from visio.report.target import Target

# SARIF's `security-severity` scores (code-scanning UIs bucket them: >= 9 critical, >= 7 high, >= 4 medium).
SECURITY_SEVERITY: dict[Severity, str] = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0"}
SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"


def _result(target: Target, finding: Finding, rule_index: dict[str, int]) -> dict[str, Any]:
    r = finding.resource
    qualified = "/".join(p for p in (target.name, r.namespace, r.kind, r.name) if p)
    origin = finding.origin
    location: dict[str, Any] = {
        "logicalLocations": [{"name": r.name, "fullyQualifiedName": qualified, "kind": "resource"}]
    }
    if origin is not None:
        physical: dict[str, Any] = {"artifactLocation": {"uri": origin.file}}
        if origin.line is not None:
            physical["region"] = {"startLine": origin.line, "startColumn": origin.column or 1}
            if origin.rendered:
                # The region is in the template's output; a directive above the object shifts the source.
                location["message"] = {"text": f"line {origin.line}, column {origin.column or 1} of "
                                               f"{origin.file} as the chart renders it"}
        location["physicalLocation"] = physical
    elif target.uri:
        location["physicalLocation"] = {"artifactLocation": {"uri": target.uri}}
    fingerprint = hashlib.sha256(f"{qualified}|{finding.rule}|{finding.path}".encode()).hexdigest()
    result: dict[str, Any] = {
        "ruleId": finding.rule,
        "level": "error" if finding.enforcement == "mandatory" else "warning",
        "message": {"text": f"{r}: {finding.path or '-'}: {finding.message}"},
        "locations": [location],
        "partialFingerprints": {"visioFinding/v1": fingerprint},
        "properties": {"target": target.name, "path": finding.path, "evidence": dict(finding.evidence)},
    }
    if finding.rule in rule_index:
        result["ruleIndex"] = rule_index[finding.rule]
    if finding.exempted_by is not None:
        exemption = exemption_to_dict(finding.exempted_by)
        result["suppressions"] = [
            {
                "kind": "external",
                "status": "accepted",
                "justification": f"{exemption['justification']} (approved by {exemption['approver']}, "
                f"expires {exemption['expiry']})",
            }
        ]
    return result


def _rule(info: RuleInfo) -> dict[str, Any]:
    return {
        "id": info.id,
        "name": info.title,
        "shortDescription": {"text": info.title},
        "fullDescription": {"text": info.description},
        "help": {"text": info.help, "markdown": f"{info.help} [{info.title}]({info.help_uri})"},
        "helpUri": info.help_uri,
        "properties": {"security-severity": SECURITY_SEVERITY[info.severity], "tags": ["security", "sovereignty"]},
    }


def as_dict(targets: Sequence[Target]) -> dict[str, Any]:
    described = catalog()
    rule_index = {rule_id: i for i, rule_id in enumerate(described)}
    results = [
        _result(target, finding, rule_index)
        for target in targets
        for finding in [*target.report.findings, *target.report.exempted]
    ]
    rules = [_rule(info) for info in described.values()]
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "visio", "informationUri": INFORMATION_URI,
                                    "rules": rules}},
                "results": results,
                "columnKind": "unicodeCodePoints",
            }
        ],
    }


def render(targets: Sequence[Target]) -> str:
    return json.dumps(as_dict(targets), indent=2)
