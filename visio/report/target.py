"""One audited target (a stack, a set of manifests, a cluster) with its engine report.

SARIF, JUnit and HTML reports cover several targets at once (`visio plan --all`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from policies.engine.report import Finding, Report
from policies.engine.rule import Severity


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


# Where each rule's section lives: the rules table of docs/policies.md, one anchor per rule.
INFORMATION_URI = "https://visio.numerique.gouv.fr"
DOCS_URI = f"{INFORMATION_URI}/docs/policies.md"
# SARIF's `security-severity` scores (code-scanning UIs bucket them: >= 9 critical, >= 7 high, >= 4 medium).
SECURITY_SEVERITY: Mapping[Severity, str] = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0"}


@dataclass(frozen=True)
class RuleInfo:
    id: str
    title: str
    description: str
    severity: Severity
    help: str

    @property
    def help_uri(self) -> str:
        return f"{DOCS_URI}#rule-{self.id}"

    @property
    def security_severity(self) -> str:
        return SECURITY_SEVERITY[self.severity]


def catalog() -> dict[str, RuleInfo]:
    """Every id a finding can carry, with its metadata: the rules, then the engine's and the scanner's own."""
    from policies.engine.report import EXEMPTION_EXPIRED, RULE_ERROR, UNUSABLE_INPUT
    from policies.rules import ALL_RULES

    infos = [RuleInfo(r.id, r.title, r.description, r.severity, r.help) for r in ALL_RULES]
    infos += [
        RuleInfo(RULE_ERROR, "Rule error", "A rule failed to evaluate; the resource is treated as non-compliant.",
                 "high", "Fix the input the rule could not read; the finding names the rule and the error."),
        RuleInfo(EXEMPTION_EXPIRED, "Expired exemption",
                 "An exemption past its expiry date no longer exempts anything.", "medium",
                 "Renew the exemption with a new approval and expiry, or remove it and fix the findings."),
        RuleInfo(UNUSABLE_INPUT, "Unusable document",
                 "A document the API server would refuse (or not parse) was not audited.", "high",
                 "Fix the document at the file, document and key path named, then audit again."),
        RuleInfo(NOT_AUDITED, "Not audited",
                 "A kind of object could not be read from the cluster, so it was not audited.", "medium",
                 "Grant the auditor role read access to the kind (deploy/auditor-rbac.yaml)."),
    ]
    return {info.id: info for info in infos}


def location(finding: Finding) -> str | None:
    """`file:line:column` (or the file alone) of the object a finding is about, when it was read from one."""
    origin = finding.origin
    if origin is None:
        return None
    if origin.line is None:
        return origin.file
    return f"{origin.file}:{origin.line}:{origin.column or 1}" + (" (as rendered)" if origin.rendered else "")


def rule_descriptions() -> dict[str, str]:
    return {rule_id: info.description for rule_id, info in catalog().items()}


def rule_ids() -> list[str]:
    return list(catalog())
