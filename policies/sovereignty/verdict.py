"""Where an endpoint lives, who operates it, and whether a profile accepts that."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from policies.sovereignty.tables import EU_EEA

Placement = Literal["internal", "trusted", "FR", "EU", "non-EU", "unknown"]
Profile = Literal["secnumcloud", "eu-residency"]

# Worse placements win when several facts (a CNAME chain, many addresses) describe one name.
PLACEMENT_RANK: dict[Placement, int] = {"internal": 0, "trusted": 0, "FR": 1, "EU": 2, "unknown": 3, "non-EU": 4}


def placement_of(location: str | None) -> Placement:
    """`location` is an ISO country, "EU", "world" (a global network) or empty/None (not known)."""
    if not location:
        return "unknown"
    if location == "FR":
        return "FR"
    if location == "EU" or location in EU_EEA:
        return "EU"
    return "non-EU"


def jurisdiction_rank(jurisdiction: str | None) -> int:
    if jurisdiction is None:
        return 1
    return 0 if jurisdiction in EU_EEA else 2


@dataclass(frozen=True)
class Verdict:
    endpoint: str  # canonical host or IP
    placement: Placement
    country: str | None = None  # where it runs, when one country is known
    operator: str | None = None
    jurisdiction: str | None = None  # ISO country of the law the operator answers to
    evidence: tuple[str, ...] = ()  # the chain of facts, first to last
    # Why the location or operator is not known (unverifiable name, AS not in the table, ...).
    unverified: str | None = None
    # How the raw text differed from the canonical endpoint (userinfo, numeric IPv4, IDN, ...).
    notes: tuple[str, ...] = ()

    def acceptable(self, profile: Profile) -> bool:
        """eu-residency: located in the EU/EEA; an unverifiable endpoint passes there (see `caveat`).
        secnumcloud: located in the EU/EEA and operated under EU/EEA law; unknown fails (fail closed)."""
        if self.placement in ("internal", "trusted"):
            return True
        if profile == "eu-residency":
            return self.placement != "non-EU"
        return self.placement in ("FR", "EU") and self.jurisdiction in EU_EEA

    def caveat(self, profile: Profile) -> str | None:
        """Why an accepted verdict is accepted only for want of proof (eu-residency and unknown)."""
        if profile == "eu-residency" and self.placement == "unknown":
            return f"{self.endpoint}: location not verified ({self.unverified or 'no data'})"
        return None

    def explain(self) -> str:
        return " → ".join(self.evidence) if self.evidence else self.endpoint

    def describe(self) -> str:
        """One line for a violation message."""
        parts = [f"placement {self.placement}"]
        if self.country:
            parts.append(f"country {self.country}")
        if self.operator:
            parts.append(f"operator {self.operator}")
        parts.append(f"jurisdiction {self.jurisdiction or 'unknown'}")
        if self.unverified:
            parts.append(f"unverified: {self.unverified}")
        return f"{self.explain()} ({', '.join(parts)})"
