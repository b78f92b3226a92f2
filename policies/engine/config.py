"""The policy configuration every front end passes to the engine.

`visio audit --policy-config FILE` reads it from YAML (camelCase keys); the CrossGuard pack gets the
same keys from `Configure`; `visio plan` derives it from the stack configuration.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Profile = Literal["secnumcloud", "eu-residency"]
Level = Literal["mandatory", "advisory", "disabled"]


class Selector(BaseModel):
    """Which resources an exemption covers; every given field must match (shell-style wildcards)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: str | None = None
    name: str | None = None
    namespace: str | None = None


class Exemption(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    rule: str
    resource: Selector
    justification: str = Field(min_length=10)
    approver: str = Field(min_length=3)
    expiry: dt.date
    # Finding paths the exemption covers ("*" matches any run of characters, nothing else is special);
    # empty covers every finding of the rule on the selected resources.
    paths: tuple[str, ...] = ()


class PolicyConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    profile: Profile = "secnumcloud"
    # Registry hosts (exact, case-insensitive), optionally with a path prefix: "registry.gouv.fr/visio".
    allowedRegistries: list[str] = []
    # Domains whose names and sub-names are trusted without lookup: the stack's own public names.
    trustedDomains: list[str] = []
    # Region names accepted in node selectors, node labels and cloud resources.
    allowedRegions: list[str] = []
    exemptions: list[Exemption] = []
    # Production stacks make advisory-by-default rules (image-digest) mandatory.
    production: bool = False
    # Per-rule level overrides, by rule id.
    enforcement: dict[str, Level] = {}
    # Follow DNS (CNAME chains, A/AAAA) for hostnames; off means offline tables only.
    resolve: bool = False
    # The cluster's Kubernetes version ("1.31"): which Pod Security controls apply. Unset, the latest.
    kubernetesVersion: str | None = Field(default=None, pattern=r"^1\.[0-9]{1,2}$")

    def with_overrides(self, **changes: Any) -> PolicyConfig:
        return self.model_copy(update=changes)
