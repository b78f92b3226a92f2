"""One audited target (a stack, a set of manifests, a cluster) with its engine report.

SARIF, JUnit and HTML reports cover several targets at once (`visio plan --all`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from policies.engine.report import Report


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


# A kind a live scan could not read (RBAC denial, API error): reported, never skipped silently.
NOT_AUDITED = "not-audited"


def rule_descriptions() -> dict[str, str]:
    """Every id a finding can carry: the rules, then the engine's and the scanner's own."""
    from policies.engine.report import EXEMPTION_EXPIRED, RULE_ERROR, UNUSABLE_INPUT
    from policies.rules import ALL_RULES

    described = {rule.id: rule.description for rule in ALL_RULES}
    described[RULE_ERROR] = "A rule failed to evaluate; the resource is treated as non-compliant."
    described[EXEMPTION_EXPIRED] = "An exemption past its expiry date no longer exempts anything."
    described[UNUSABLE_INPUT] = "A document the API server would refuse (or not parse) was not audited."
    described[NOT_AUDITED] = "A kind of object could not be read from the cluster, so it was not audited."
    return described


def rule_ids() -> list[str]:
    return list(rule_descriptions())
