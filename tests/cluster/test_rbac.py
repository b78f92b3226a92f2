"""The shipped auditor RBAC grants read-only access to exactly what scan and drift read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml

from tests.cluster.fakeapi import BUILTIN, CERT_MANAGER
from visio.cluster.kinds import KINDS

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
DRIFT_ONLY = {("policy", "poddisruptionbudgets"), ("autoscaling", "horizontalpodautoscalers"),
              ("cert-manager.io", "certificates"), ("admissionregistration.k8s.io", "validatingadmissionpolicies"),
              ("admissionregistration.k8s.io", "validatingadmissionpolicybindings")}


def _rules(name: str) -> list[dict[str, Any]]:
    docs = [d for d in yaml.safe_load_all((DEPLOY / name).read_text()) if d]
    for doc in docs:
        kubernetes_validate.validate(doc, "1.31", strict=True)
    return [rule for d in docs if d["kind"] == "ClusterRole" for rule in d["rules"]]


def _grants(rules: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(group, res) for r in rules for group in r["apiGroups"] for res in r["resources"]}


def test_auditor_role_is_get_list_on_exactly_the_kinds_read_except_secrets():
    rules = _rules("auditor-rbac.yaml")
    assert {verb for r in rules for verb in r["verbs"]} == {"get", "list"}
    scanned = {(k.group, k.plural) for k in KINDS}
    assert _grants(rules) == (scanned - {("", "secrets")}) | DRIFT_ONLY
    # Drift reads the kinds the stacks declare; the loopback server serves them all.
    assert {(r.group, r.plural) for r in BUILTIN + CERT_MANAGER} >= DRIFT_ONLY


def test_secret_metadata_grant_is_separate_and_only_secrets():
    rules = _rules("auditor-rbac-secrets.yaml")
    assert _grants(rules) == {("", "secrets")}
    assert {verb for r in rules for verb in r["verbs"]} == {"get", "list"}


def test_drift_kinds_of_the_stack_are_granted(stack_plan):
    granted = _grants(_rules("auditor-rbac.yaml")) | _grants(_rules("auditor-rbac-secrets.yaml"))
    served = {(r.api_version, r.kind): (r.group, r.plural) for r in BUILTIN + CERT_MANAGER}
    declared = {(o["apiVersion"], o["kind"]) for o in stack_plan.objects}
    assert {served[k] for k in declared} <= granted
