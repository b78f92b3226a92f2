"""The webhook's decision on one AdmissionReview: the engine's own rules, for what CEL does not decide.

The webhook runs every per-object rule that has no complete CEL form (endpoints and their placement
and jurisdiction, URLs inside env vars and ConfigMap or Secret data, TLS of what clients reach,
Pod Security, ...), and a CEL rule too on an object one of its exemptions selects: the generated
policy leaves such objects here, where the exemption's finding paths and expiry are applied. A
rule that crashes, or an object that cannot be read, denies (fail closed).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

from policies.engine.adapters import from_kubernetes
from policies.engine.catalog import ENGINE_RULES, UNUSABLE_INPUT
from policies.engine.config import Exemption, PolicyConfig
from policies.engine.evaluate import evaluate
from policies.engine.exemptions import Exemptions, is_expired, selects
from policies.engine.model import Resource, ResourceRef
from policies.engine.owners import as_owner_path, controllers
from policies.engine.report import Finding
from policies.engine.rule import Rule
from policies.rules import ALL_RULES

# What the webhook is registered for: (API group, plural) of every kind a per-object rule reads but
# Nodes, which only node-region reads and its policy decides in the API server.
WEBHOOK_RESOURCES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("", ("pods", "pods/ephemeralcontainers", "replicationcontrollers", "podtemplates", "configmaps", "secrets",
          "services", "endpoints")),
    ("apps", ("deployments", "statefulsets", "daemonsets", "replicasets")),
    ("batch", ("jobs", "cronjobs")),
    ("networking.k8s.io", ("ingresses", "networkpolicies")),
    ("discovery.k8s.io", ("endpointslices",)),
    ("cert-manager.io", ("issuers", "clusterissuers")),
)
# Finding messages in a denial: enough to act on, short enough for a terminal.
MAX_LISTED = 8
# Related objects: ConfigMaps of the object's namespace, through which env values are resolved.
Related = Callable[[str], Sequence[Resource]]


@cache
def webhook_rules() -> tuple[Rule, ...]:
    # Once per process: the catalog is fixed, and this is asked on every request.
    return tuple(r for r in ALL_RULES if _per_object(r) and not (r.cel and _complete(r)))


def _per_object(rule: Rule) -> bool:
    judged = rule.check is not None or (rule.check_stack is not None and rule.per_object)
    return judged and "kubernetes" in rule.judges


def _complete(rule: Rule) -> bool:
    assert rule.cel is not None
    return rule.cel(PolicyConfig()).complete


def rules_for(ref: ResourceRef, config: PolicyConfig, today: dt.date,
              owners: Sequence[tuple[str, str]] = ()) -> tuple[Rule, ...]:
    """The webhook's rules, and each CEL rule whose unexpired exemption left this object to the webhook
    (the exemption selects the object or the workload that made it)."""
    refs = [ref, *(ResourceRef(kind, name, ref.namespace) for kind, name in owners)]
    left = {e.rule for e in config.exemptions if not is_expired(e, today) and any(selects(e, r) for r in refs)}
    return tuple(r for r in ALL_RULES if _per_object(r) and (r in webhook_rules() or r.id in left))


@dataclass(frozen=True)
class Decision:
    uid: str
    allowed: bool
    ref: ResourceRef
    operation: str
    dry_run: bool
    denied: tuple[Finding, ...] = ()
    warned: tuple[Finding, ...] = ()
    exempted: tuple[Finding, ...] = ()

    @property
    def message(self) -> str:
        lines = [f"{f.rule}: {f.path or '(object)'}: {f.message}" for f in self.denied[:MAX_LISTED]]
        more = len(self.denied) - MAX_LISTED
        if more > 0:
            lines.append(f"... and {more} more")
        return f"visio guard denied {self.ref}: " + "; ".join(lines)

    def response(self) -> dict[str, Any]:
        """The AdmissionReview (v1) the API server expects back."""
        out: dict[str, Any] = {"uid": self.uid, "allowed": self.allowed}
        if not self.allowed:
            out["status"] = {"code": 403, "reason": "Forbidden", "message": self.message}
        warnings = [f"{f.rule}: {f.path or '(object)'}: {f.message}"[:500] for f in self.warned[:MAX_LISTED]]
        if warnings:
            out["warnings"] = warnings
        return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": out}

    def log_record(self) -> dict[str, Any]:
        """One line of the decision log: every rule that spoke, never a value of the object."""
        return {
            "uid": self.uid, "allowed": self.allowed, "operation": self.operation, "dryRun": self.dry_run,
            "kind": self.ref.kind, "namespace": self.ref.namespace, "name": self.ref.name,
            "denied": sorted({f.rule for f in self.denied}), "warned": sorted({f.rule for f in self.warned}),
            "exempted": sorted({f.rule for f in self.exempted}),
            "findings": [{"rule": f.rule, "path": f.path, "enforcement": f.enforcement}
                         for f in (*self.denied, *self.warned)],
        }


def _refused(uid: str, operation: str, dry_run: bool, ref: ResourceRef, why: str) -> Decision:
    finding = Finding(UNUSABLE_INPUT, "mandatory", ref, "", why)
    return Decision(uid, False, ref, operation, dry_run, denied=(finding,))


def decide(review: Mapping[str, Any], config: PolicyConfig, today: dt.date | None = None,
           related: Related | None = None) -> Decision:
    """The decision on an AdmissionReview request (already parsed from JSON)."""
    today = today or dt.date.today()
    request = review.get("request") if isinstance(review, Mapping) else None
    if not isinstance(request, Mapping) or not isinstance(request.get("uid"), str):
        raise ValueError("not an AdmissionReview with a request uid")
    uid, operation = request["uid"], str(request.get("operation", ""))
    dry_run = request.get("dryRun") is True
    obj = request.get("object")
    kind = str((request.get("kind") or {}).get("kind", "")) if isinstance(request.get("kind"), Mapping) else ""
    ref = ResourceRef(kind or "(unknown)", str(request.get("name") or ""), request.get("namespace") or None)
    if operation not in ("CREATE", "UPDATE"):
        return Decision(uid, True, ref, operation, dry_run)
    if not isinstance(obj, Mapping):
        return _refused(uid, operation, dry_run, ref, "the request carries no object to judge")
    body = dict(obj)
    metadata = dict(body.get("metadata") or {})
    # A namespaced object is judged in the namespace it is created in, whatever its body says.
    if ref.namespace:
        metadata["namespace"] = ref.namespace
    body["metadata"] = metadata
    try:
        resource = from_kubernetes(body, f"admission {uid}")
    except Exception as exc:  # an object the engine cannot read is refused, never let through
        return _refused(uid, operation, dry_run, ref, f"the object cannot be read ({type(exc).__name__})")
    ref = resource.ref
    owners = list(controllers(body))
    rules = rules_for(ref, config, today, owners)
    # The namespace's ConfigMaps are context for the rules that resolve env values through them,
    # never judged themselves: the per-object rules see the object alone.
    contextual = tuple(r for r in rules if r.check is None)
    reports = [evaluate([resource], config, rules=[r for r in rules if r.check is not None], today=today)]
    if contextual:
        others = [r for r in (related(ref.namespace) if related is not None and ref.namespace else ()) if r.ref != ref]
        reports.append(evaluate([resource, *others], config, rules=contextual, today=today))
    exemptions = Exemptions(config.exemptions, today)
    mine, exempted = [], [f for report in reports for f in report.exempted if f.resource == ref]
    for finding in (f for report in reports for f in report.findings if f.resource == ref):
        by_owner = _owner_exemption(finding, owners, exemptions)
        if by_owner is None:
            mine.append(finding)
        else:
            exempted.append(replace(finding, exempted_by=by_owner))
    denied = tuple(f for f in mine if f.enforcement == "mandatory")
    warned = tuple(f for f in mine if f.enforcement != "mandatory")
    return Decision(uid, not denied, ref, operation, dry_run, denied, warned, tuple(exempted))


def _owner_exemption(finding: Finding, owners: Sequence[tuple[str, str]], exemptions: Exemptions) -> Exemption | None:
    """The exemption of the workload that made the object, at the same field of its pod template."""
    if finding.rule in ENGINE_RULES:
        return None
    for kind, name in owners:
        path = as_owner_path(finding.path, finding.resource.kind, kind)
        if path is not None:
            found = exemptions.find(finding.rule, ResourceRef(kind, name, finding.resource.namespace), path)
            if found is not None:
                return found
    return None
