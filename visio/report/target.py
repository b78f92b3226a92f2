"""One judged target (a stack, a set of manifests, a cluster, a drift check, a verification) and its report.

SARIF, JUnit and HTML reports cover several targets at once (`visio plan --all`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from policies.engine.report import Finding, Report


@dataclass(frozen=True)
class EndpointPlacement:
    """Where one endpoint found in the target lives, for the security officer's map."""

    value: str
    host: str
    placement: str  # internal, trusted, FR, EU, non-EU, unknown
    country: str | None
    operator: str | None
    jurisdiction: str | None
    resource: str


@dataclass(frozen=True)
class Target:
    name: str
    report: Report
    # The file findings point at in code-scanning UIs (the stack file, or the audited path).
    uri: str | None = None
    resources: int | None = None
    # Resources per component and kind, for the plan summary.
    counts: Mapping[str, int] = field(default_factory=dict)
    endpoints: Sequence[EndpointPlacement] = ()
    # What the JSON report says of the target besides its findings: a plan's resources, the kinds a
    # scan read, drift's objects, verify's checks.
    details: Mapping[str, Any] = field(default_factory=dict)


def location(finding: Finding) -> str | None:
    """`file:line:column` (or the file alone) of the object a finding is about, when it was read from one."""
    origin = finding.origin
    if origin is None:
        return None
    if origin.line is None:
        return origin.file
    return f"{origin.file}:{origin.line}:{origin.column or 1}" + (" (as rendered)" if origin.rendered else "")
