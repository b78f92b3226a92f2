"""The machine-readable report: one JSON object, stable keys, sorted findings."""

from __future__ import annotations

import json
from typing import Any

from policies.engine.report import Report, exemption_to_dict


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


def render(report: Report, resources: int | None = None) -> str:
    return json.dumps(as_dict(report, resources), indent=2, sort_keys=False)
