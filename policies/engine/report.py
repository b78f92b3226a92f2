"""What an evaluation hands back to every front end: findings, exempted findings, exemptions in force."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from policies.engine.config import Exemption
from policies.engine.model import Enforcement, Origin, ResourceRef


@dataclass(slots=True)
class Finding:
    rule: str
    enforcement: Enforcement
    resource: ResourceRef
    path: str
    message: str
    evidence: Mapping[str, str] = field(default_factory=dict)
    source: str | None = None
    urn: str | None = None
    exempted_by: Exemption | None = None
    origin: Origin | None = None

    def sort_key(self) -> tuple[str, str, str, str, str, str]:
        r = self.resource
        return (self.rule, r.namespace or "", r.kind, r.name, self.path, self.message)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "rule": self.rule,
            "enforcement": self.enforcement,
            "resource": {
                "kind": self.resource.kind,
                "name": self.resource.name,
                "namespace": self.resource.namespace,
            },
            "path": self.path,
            "message": self.message,
            "evidence": dict(self.evidence),
        }
        if self.source is not None:
            out["source"] = self.source
        if self.origin is not None:
            out["origin"] = self.origin.to_dict()
        if self.urn is not None:
            out["urn"] = self.urn
        if self.exempted_by is not None:
            out["exemptedBy"] = exemption_to_dict(self.exempted_by)
        return out


def exemption_to_dict(exemption: Exemption) -> dict[str, Any]:
    out: dict[str, Any] = {
        "rule": exemption.rule,
        "resource": exemption.resource.model_dump(exclude_none=True),
        "justification": exemption.justification,
        "approver": exemption.approver,
        "expiry": exemption.expiry.isoformat(),
    }
    if exemption.paths:
        out["paths"] = list(exemption.paths)
    return out


@dataclass(frozen=True)
class Report:
    findings: list[Finding]
    exempted: list[Finding]
    exemptions_in_force: list[Exemption]

    @property
    def mandatory(self) -> list[Finding]:
        return [f for f in self.findings if f.enforcement == "mandatory"]

    @property
    def advisory(self) -> list[Finding]:
        return [f for f in self.findings if f.enforcement == "advisory"]

    @property
    def passed(self) -> bool:
        """True when nothing mandatory is left unexempted."""
        return not self.mandatory

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "summary": {
                "mandatory": len(self.mandatory),
                "advisory": len(self.advisory),
                "exempted": len(self.exempted),
            },
            "findings": [f.to_dict() for f in self.findings],
            "exempted": [f.to_dict() for f in self.exempted],
            "exemptionsInForce": [exemption_to_dict(e) for e in self.exemptions_in_force],
        }
