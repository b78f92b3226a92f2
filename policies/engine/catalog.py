"""Every id a finding can carry: each rule's, and the engine's own, with what reports say of them.

The engine's own findings are raised by the evaluation itself (a rule that crashed, an exemption
past its date, a document that cannot be audited) or by a front end that could not read part of
what it was asked to judge (a kind of a live cluster). They are defined here once, with the rules'
metadata, so that every report (text, JSON, SARIF, JUnit, HTML) names and explains them alike.
"""

from __future__ import annotations

from dataclasses import dataclass

from policies.engine.rule import Severity

RULE_ERROR = "rule-error"
EXEMPTION_EXPIRED = "exemption-expired"
# A document that could not be audited is non-compliant until it can be.
UNUSABLE_INPUT = "unusable-input"
# A kind a live scan could not read (RBAC denial, API error): reported, never skipped silently.
NOT_AUDITED = "not-audited"
# A stack's object that the live cluster no longer holds as the stack declares it (`visio drift`).
DRIFT = "drift"
# Raised by the evaluation itself, never exemptable.
ENGINE_RULES = frozenset({RULE_ERROR, EXEMPTION_EXPIRED, UNUSABLE_INPUT})

INFORMATION_URI = "https://visio.numerique.gouv.fr"
# Where each id's section lives: the rules table of docs/policies.md, one anchor per id.
DOCS_URI = f"{INFORMATION_URI}/docs/policies.md"


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


ENGINE_FINDINGS = (
    RuleInfo(RULE_ERROR, "Rule error", "A rule failed to evaluate; the resource is treated as non-compliant.",
             "high", "Fix the input the rule could not read; the finding names the rule and the error."),
    RuleInfo(EXEMPTION_EXPIRED, "Expired exemption",
             "An exemption past its expiry date no longer exempts anything.", "medium",
             "Renew the exemption with a new approval and expiry, or remove it and fix the findings."),
    RuleInfo(UNUSABLE_INPUT, "Unusable document",
             "A document the API server would refuse (or not parse) was not audited.", "high",
             "Fix the document at the file, document and key path named, then audit again."),
    RuleInfo(NOT_AUDITED, "Not audited",
             "A kind of object (or one object) could not be read from the cluster, so it was not audited.",
             "medium", "Grant the auditor role read access to the kind (deploy/auditor-rbac.yaml)."),
    RuleInfo(DRIFT, "Drift",
             "An object of the stack is missing from the cluster or differs in a field the stack sets, or an "
             "object labelled as the platform's is not in the stack.", "high",
             "Apply the stack again, or bring the change into the stack; the finding lists each field."),
)


def catalog() -> dict[str, RuleInfo]:
    """Every id, in report order: the rules, then the engine's own findings."""
    from policies.rules import ALL_RULES  # the rules import the engine; read them only when asked

    infos = [RuleInfo(r.id, r.title, r.description, r.severity, r.help) for r in ALL_RULES]
    return {info.id: info for info in (*infos, *ENGINE_FINDINGS)}
