"""Which front end enforces each rule: the table of docs/policies.md, generated from the catalog."""

from __future__ import annotations

from policies.admission.review import webhook_rules
from policies.engine.config import PolicyConfig
from policies.engine.rule import Rule
from policies.rules import ALL_RULES

FRONT_ENDS = ("pack", "plan", "audit", "scan", "VAP", "webhook")
YES, NO = "yes", "no"


def _row(rule: Rule, in_webhook: set[str]) -> list[str]:
    kubernetes = "kubernetes" in rule.judges
    cel = rule.cel(PolicyConfig()) if rule.cel is not None else None
    if cel is None:
        vap = NO
    elif cel.complete:
        vap = YES
    else:
        vap = "for " + ", ".join(cel.kinds)
    if rule.id in in_webhook:
        webhook = YES if cel is None else "the rest"
    elif cel is not None:
        webhook = "exempted objects"  # the policy leaves what an exemption selects to the webhook
    else:
        webhook = NO
    return [YES, YES, YES if kubernetes else NO, YES if kubernetes else NO, vap, webhook]


def table() -> str:
    in_webhook = {r.id for r in webhook_rules()}
    lines = ["| rule | " + " | ".join(FRONT_ENDS) + " |", "| --- |" + " --- |" * len(FRONT_ENDS)]
    for rule in ALL_RULES:
        lines.append(f"| [`{rule.id}`](#rule-{rule.id}) | " + " | ".join(_row(rule, in_webhook)) + " |")
    return "\n".join(lines)
