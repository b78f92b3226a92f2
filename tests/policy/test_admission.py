"""The rules at admission, without a cluster: what the policies generated from the catalog say, and the
webhook's decision on AdmissionReviews. The policies themselves run on the real API server in
tests/realcluster/test_admission_policies.py."""

from __future__ import annotations

import datetime as dt
import fnmatch
import json
import re
from typing import Any

import pytest

from policies.admission.policies import CONTROL_PLANE_NAMESPACES, _glob, cel_rules, validating_policies
from policies.admission.review import decide, rules_for, webhook_rules
from policies.engine.config import Exemption, PolicyConfig, Selector
from policies.engine.model import ResourceRef
from policies.rules import ALL_RULES

TODAY = dt.date(2026, 12, 1)
BASE = {"allowedRegistries": ["registry.gouv.fr/visio"], "allowedRegions": ["eu-west-par"],
        "trustedDomains": ["visio.gouv.fr"]}


def _by_name(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def _exemption(rule: str, days: int, **selector: str) -> Exemption:
    return Exemption(rule=rule, resource=Selector(**selector), justification="reviewed by the RSSI",
                     approver="rssi@gouv.fr", expiry=TODAY + dt.timedelta(days=days))


def test_each_rule_with_cel_has_one_policy_and_one_binding_named_after_it() -> None:
    docs = validating_policies(PolicyConfig(**BASE, production=True), TODAY)
    policies, bindings = (_by_name(docs, k) for k in ("ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"))
    expected = {f"visio-{r.id}" for r in ALL_RULES if r.cel is not None}
    assert set(policies) == set(bindings) == expected
    for name, binding in bindings.items():
        assert binding["spec"]["policyName"] == name
        assert policies[name]["spec"]["failurePolicy"] == "Fail"
        excluded = binding["spec"]["matchResources"]["namespaceSelector"]["matchExpressions"]
        assert excluded == [{"key": "kubernetes.io/metadata.name", "operator": "NotIn",
                             "values": list(CONTROL_PLANE_NAMESPACES)}]
        for validation in policies[name]["spec"]["validations"]:
            assert validation["messageExpression"].startswith(f"'{name.removeprefix('visio-')}: ")


def test_mandatory_rules_deny_and_advisory_ones_warn_and_audit() -> None:
    def actions(**config: Any) -> dict[str, list[str]]:
        docs = validating_policies(PolicyConfig(**BASE, **config), TODAY)
        bindings = _by_name(docs, "ValidatingAdmissionPolicyBinding")
        return {n: b["spec"]["validationActions"] for n, b in bindings.items()}

    assert actions(production=True)["visio-image-digest"] == ["Deny"]
    assert actions()["visio-image-digest"] == ["Warn", "Audit"]  # development tracks tags
    assert actions()["visio-image-registry"] == ["Deny"]
    assert actions(enforcement={"image-registry": "advisory"})["visio-image-registry"] == ["Warn", "Audit"]
    assert "visio-node-region" not in actions(enforcement={"node-region": "disabled"})


def test_an_exemption_in_force_leaves_its_objects_to_the_webhook_and_an_expired_one_does_not() -> None:
    config = PolicyConfig(**BASE, exemptions=[
        _exemption("image-registry", 30, kind="Deployment", namespace="visio-media", name="media-*"),
        _exemption("image-registry", -1, name="old"),
    ])
    policy = _by_name(validating_policies(config, TODAY), "ValidatingAdmissionPolicy")["visio-image-registry"]
    [condition] = policy["spec"]["matchConditions"]  # the expired one exempts nothing, here as anywhere
    for regex in ('"^Deployment$"', '"^media\\\\-.*$"', '"^visio\\\\-media$"'):
        assert regex in condition["expression"]
    # The webhook then judges those objects with the rule, exemption paths and expiry applied.
    ref = ResourceRef("Deployment", "media-livekit", "visio-media")
    assert "image-registry" in {r.id for r in rules_for(ref, config, TODAY)}
    assert "image-registry" not in {r.id for r in rules_for(ResourceRef("Deployment", "old", "x"), config, TODAY)}


@pytest.mark.parametrize("pattern", ["media-*", "[!a]b", "a?c", "[]x]y", "a[", "visio.*", "[^a]", "*-[0-9]"])
def test_exemption_wildcards_mean_in_the_policy_what_they_mean_in_the_engine(pattern: str) -> None:
    names = ["media-livekit", "media", "ab", "bb", "b", "abc", "ac", "]y", "xy", "a[", "visio.x", "visioax", "^",
             "a", "pod-7", "pod-x"]
    regex = re.compile(_glob(pattern)[1:-1])  # the RE2 subset used reads the same in Python's re
    assert [n for n in names if regex.fullmatch(n)] == [n for n in names if fnmatch.fnmatchcase(n, pattern)]


def test_the_webhook_runs_every_per_object_rule_cel_does_not_decide_whole() -> None:
    ids = {r.id for r in webhook_rules()}
    complete = {rule.id for rule, check, _ in cel_rules(PolicyConfig(**BASE)) if check.complete}
    assert complete == {"image-registry", "image-digest", "node-region"}
    assert ids.isdisjoint(complete)
    # Decided in part by CEL (Ingress TLS), the rest of tls-required is the webhook's; a stack check
    # that judges one object at a time runs there too.
    assert {"endpoint-sovereignty", "tls-required", "pod-security", "implicit-endpoint", "plaintext-secret",
            "opaque-data"} <= ids
    assert "egress-policy" not in ids  # a namespace-wide property, judged by plan, audit and scan


def _review(obj: dict[str, Any], operation: str = "CREATE", dry_run: bool = False) -> dict[str, Any]:
    meta = obj["metadata"]
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": "u-1", "kind": {"group": "", "version": "v1", "kind": obj["kind"]}, "operation": operation,
        "name": meta["name"], "namespace": meta.get("namespace"), "object": obj, "dryRun": dry_run}}


def _configmap(data: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "backend", "namespace": "visio-signalling"},
            "data": data}


def test_a_us_endpoint_in_a_configmap_is_denied_naming_the_rule_and_the_field() -> None:
    decision = decide(_review(_configmap({"LLM_URL": "https://api.openai.com/v1"})), PolicyConfig(**BASE), TODAY)
    response = decision.response()["response"]
    assert response["allowed"] is False and response["uid"] == "u-1"
    assert response["status"]["code"] == 403
    assert 'endpoint-sovereignty: data.LLM_URL: ' in response["status"]["message"]
    assert decision.log_record()["denied"] == ["endpoint-sovereignty"]


def test_a_sovereign_configmap_is_admitted_and_a_delete_is_not_judged() -> None:
    config = PolicyConfig(**BASE)
    ok = decide(_review(_configmap({"URL": "https://meet.visio.gouv.fr/"})), config, TODAY)
    assert ok.allowed and "status" not in ok.response()["response"]
    gone = decide(_review(_configmap({"URL": "https://api.openai.com"}), operation="DELETE"), config, TODAY)
    assert gone.allowed


def test_the_decision_log_names_rules_and_paths_never_values() -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "visio-signalling"},
              "type": "Opaque", "stringData": {"url": "https://user:hunter2-topsecret@api.openai.com/"}}
    decision = decide(_review(secret, dry_run=True), PolicyConfig(**BASE), TODAY)
    record = json.dumps(decision.log_record())
    assert decision.log_record()["dryRun"] is True and not decision.allowed
    assert "hunter2-topsecret" not in record and "hunter2-topsecret" not in json.dumps(decision.response())


def test_advisory_findings_are_warnings_on_an_admitted_request() -> None:
    config = PolicyConfig(**BASE, enforcement={"endpoint-sovereignty": "advisory"})
    decision = decide(_review(_configmap({"LLM_URL": "https://api.openai.com/v1"})), config, TODAY)
    response = decision.response()["response"]
    assert response["allowed"] is True
    assert response["warnings"][0].startswith("endpoint-sovereignty: data.LLM_URL: ")


def test_what_is_not_an_admission_review_is_an_error_and_an_object_that_cannot_be_read_is_denied() -> None:
    with pytest.raises(ValueError):
        decide({"kind": "AdmissionReview"}, PolicyConfig(**BASE), TODAY)
    review = _review(_configmap({}))
    review["request"]["object"] = "not an object"
    decision = decide(review, PolicyConfig(**BASE), TODAY)
    assert not decision.allowed and decision.log_record()["denied"] == ["unusable-input"]


def test_the_pods_of_an_exempted_deployment_are_exempted_at_the_same_fields() -> None:
    exemption = Exemption(rule="pod-security", resource=Selector(kind="Deployment", namespace="visio-media",
                                                                  name="media-livekit"),
                          paths=("spec.template.spec.hostNetwork",), justification="reviewed by the RSSI",
                          approver="rssi@gouv.fr", expiry=TODAY + dt.timedelta(days=30))
    config = PolicyConfig(**BASE, exemptions=[exemption])
    container = {"name": "livekit", "image": "registry.gouv.fr/visio/livekit:v1",
                 "securityContext": {"allowPrivilegeEscalation": False, "runAsNonRoot": True,
                                     "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}}

    def pod(owner: str, hostpid: bool = False) -> dict[str, Any]:
        return {"apiVersion": "v1", "kind": "Pod", "metadata": {
            "name": f"{owner}-x1", "namespace": "visio-media", "labels": {"pod-template-hash": "5d8f9"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": f"{owner}-5d8f9",
                                 "uid": "1", "controller": True}]},
            "spec": {"hostNetwork": True, "hostPID": hostpid, "containers": [container]}}

    ok = decide(_review(pod("media-livekit")), config, TODAY)
    assert ok.allowed, ok.message
    assert [f.path for f in ok.exempted] == ["spec.hostNetwork"]
    # Only the approved fields, only for that Deployment.
    assert not decide(_review(pod("media-livekit", hostpid=True)), config, TODAY).allowed
    assert not decide(_review(pod("media-coturn")), config, TODAY).allowed
