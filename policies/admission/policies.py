"""ValidatingAdmissionPolicies and their bindings, generated from the rules that state themselves in CEL.

One policy per rule, named after it. Mandatory rules deny; advisory ones warn the client and annotate
the audit log. Unexpired exemptions of the rule leave the objects they select to the webhook, which
applies them precisely (finding paths, expiry by the clock): the API server's CEL has no clock.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from fnmatch import fnmatchcase
from typing import Any

from policies.engine.cel import RESOURCES, SUBRESOURCES, CelCheck, literal
from policies.engine.config import Exemption, PolicyConfig
from policies.engine.evaluate import enforcement_of
from policies.engine.exemptions import is_expired
from policies.engine.model import Enforcement
from policies.engine.owners import HASH_LABEL
from policies.engine.rule import Context, Rule
from policies.rules import ALL_RULES

API_VERSION = "admissionregistration.k8s.io/v1"
RULE_ANNOTATION = "visio.numerique.gouv.fr/rule"
# The control plane's own namespaces run the provider's components, which no stack manages.
CONTROL_PLANE_NAMESPACES = ("kube-system", "kube-public", "kube-node-lease")
NAMESPACE_LABEL = "kubernetes.io/metadata.name"


def policy_name(rule_id: str) -> str:
    return f"visio-{rule_id}"


def cel_rules(config: PolicyConfig) -> list[tuple[Rule, CelCheck, Enforcement]]:
    """The rules CEL decides (wholly or in part), with their level for this configuration."""
    ctx = Context(config)
    out = []
    for rule in ALL_RULES:
        level = enforcement_of(rule, ctx)
        if rule.cel is not None and level is not None:
            out.append((rule, rule.cel(config), level))
    return out


def _glob(pattern: str) -> str:
    """A shell wildcard, as `fnmatchcase` reads it, as an anchored RE2 expression."""
    out, i, n = [], 0, len(pattern)
    while i < n:
        c = pattern[i]
        i += 1
        if c == "*":
            out.append(".*")
        elif c == "?":
            out.append(".")
        elif c == "[":
            j = i + (pattern[i:i + 1] == "!")
            j += pattern[j:j + 1] == "]"
            j = pattern.find("]", j)
            if j < 0:
                out.append(re.escape(c))
                continue
            body, i = pattern[i:j], j + 1
            negate = body.startswith("!")
            body = (body[1:] if negate else body).replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")
            if body.startswith("^"):
                body = "\\" + body
            out.append("[" + ("^" if negate else "") + body + "]")
        else:
            out.append(re.escape(c))
    return "^" + "".join(out) + "$"


def _not_exempted(exemption: Exemption) -> str:
    """The object is neither selected by the exemption nor made by a controller it selects."""
    sel = exemption.resource

    def glob(expr: str, pattern: str) -> str:
        return f"{expr}.matches({literal(_glob(pattern))})"

    def selects(kind: str, name: str) -> list[str]:
        return [glob(e, p) for e, p in ((kind, sel.kind), (name, sel.name)) if p is not None]

    namespace = [glob("request.namespace", sel.namespace)] if sel.namespace is not None else []
    itself = " && ".join([*selects("object.kind", "object.metadata.name"), *namespace]) or "true"
    controller = "o.?controller.orValue(false) == true"
    owners = [" && ".join([controller, *selects("o.kind", "o.name"), *namespace])]
    if sel.kind is None or fnmatchcase("Deployment", sel.kind):
        # A Pod of the Deployment: its ReplicaSet is named <deployment>-<pod-template-hash>.
        hashed = f"object.metadata.labels[{literal(HASH_LABEL)}]"
        deployment = f"o.name.substring(0, o.name.size() - {hashed}.size() - 1)"
        owners.append(" && ".join([
            controller, "o.kind == 'ReplicaSet'", f"{literal(HASH_LABEL)} in object.metadata.?labels.orValue({{}})",
            f"o.name.endsWith('-' + {hashed})", *([glob(deployment, sel.name)] if sel.name is not None else []),
            *namespace]))
    made = "object.metadata.?ownerReferences.orValue([]).exists(o, " + " || ".join(f"({o})" for o in owners) + ")"
    return f"!(({itself}) || {made})"


def _resource_rules(kinds: Sequence[str]) -> list[dict[str, Any]]:
    groups: dict[str, list[str]] = {}
    for kind in kinds:
        group, plural = RESOURCES[kind]
        groups.setdefault(group, []).extend((plural, *SUBRESOURCES.get(kind, ())))
    return [{"apiGroups": [group], "apiVersions": ["*"], "operations": ["CREATE", "UPDATE"], "resources": plurals}
            for group, plurals in sorted(groups.items())]


def _meta(name: str, rule_id: str, labels: dict[str, str] | None) -> dict[str, Any]:
    return {"name": name, "labels": dict(labels or {}), "annotations": {RULE_ANNOTATION: rule_id}}


def validating_policies(config: PolicyConfig, today: dt.date | None = None,
                        labels: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Each CEL rule's ValidatingAdmissionPolicy and its binding, in rule order."""
    today = today or dt.date.today()
    out: list[dict[str, Any]] = []
    for rule, check, level in cel_rules(config):
        name = policy_name(rule.id)
        exemptions = [e for e in config.exemptions if e.rule == rule.id and not is_expired(e, today)]
        spec: dict[str, Any] = {
            "failurePolicy": "Fail",
            "matchConstraints": {"resourceRules": _resource_rules(check.kinds)},
            "variables": [{"name": n, "expression": e} for n, e in check.variables],
            "validations": [{"expression": v.expression, "messageExpression": v.message,
                             "message": f"{rule.id}: {rule.description}", "reason": "Forbidden"}
                            for v in check.validations],
        }
        if exemptions:
            spec["matchConditions"] = [{"name": f"exemption-{i}", "expression": _not_exempted(e)}
                                       for i, e in enumerate(exemptions)]
        out.append({"apiVersion": API_VERSION, "kind": "ValidatingAdmissionPolicy",
                    "metadata": _meta(name, rule.id, labels), "spec": spec})
        out.append({
            "apiVersion": API_VERSION, "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": _meta(name, rule.id, labels),
            "spec": {
                "policyName": name,
                "validationActions": ["Deny"] if level == "mandatory" else ["Warn", "Audit"],
                "matchResources": {"namespaceSelector": {"matchExpressions": [
                    {"key": NAMESPACE_LABEL, "operator": "NotIn", "values": list(CONTROL_PLANE_NAMESPACES)}]}},
            },
        })
    return out
