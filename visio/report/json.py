"""The machine-readable report, one shape for every command.

    {"command": "scan", "passed": false, "targets": [
        {"name": ..., <what the command says of the target>,
         "findings": [...], "exempted": [...], "exemptions": [...], "summary": {...}}],
     "findings": [...]}

`passed` is the verdict the exit code gives. The top-level `findings` lists every target's findings
in one list, each naming its `target`, for tools that read one list (`jq '.findings[]'`, scorers).
Findings are sorted; keys are stable.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from policies.engine.report import Report, exemption_to_dict
from visio.report.target import Target

_REPORT_KEYS = frozenset({"name", "findings", "exempted", "exemptions", "summary"})


def as_dict(report: Report, resources: int | None = None) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "passed": report.passed,
        "mandatory": len(report.mandatory),
        "advisory": len(report.advisory),
        "exempted": len(report.exempted),
        "exemptionsInForce": len(report.exemptions_in_force),
    }
    if resources is not None:
        summary["resources"] = resources
    return {
        "findings": [f.to_dict() for f in report.findings],
        "exempted": [f.to_dict() for f in report.exempted],
        "exemptions": [exemption_to_dict(e) for e in report.exemptions_in_force],
        "summary": summary,
    }


def target_dict(target: Target) -> dict[str, Any]:
    clash = _REPORT_KEYS & set(target.details)
    if clash:
        raise ValueError(f"{target.name}: details may not hold {sorted(clash)}")
    return {"name": target.name, **target.details, **as_dict(target.report, target.resources)}


def document(command: str, targets: Sequence[Target]) -> dict[str, Any]:
    dicts = [target_dict(t) for t in targets]
    return {"command": command, "passed": all(t.report.passed for t in targets), "targets": dicts,
            "findings": [{**f, "target": d["name"]} for d in dicts for f in d["findings"]]}


def render(command: str, targets: Sequence[Target]) -> str:
    # `default=str`: a plan's property values may hold what JSON has no type for (dates from YAML).
    return json.dumps(document(command, targets), indent=2, default=str)
