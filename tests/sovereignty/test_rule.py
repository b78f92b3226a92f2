"""The endpoint-sovereignty rule over its fixtures and the engine, as every front end drives it."""

from __future__ import annotations

from pathlib import Path

import pytest

from policies.engine.adapters import from_kubernetes
from policies.engine.catalog import RULE_ERROR
from policies.engine.config import PolicyConfig
from policies.engine.evaluate import evaluate
from policies.engine.model import Resource
from policies.engine.rule import Context
from policies.rules.endpoint_sovereignty import RULE, check
from tests.policy.test_rule_fixtures import load_fixture

FIXTURES = Path(__file__).resolve().parents[2] / "policies" / "rules" / "endpoint_sovereignty" / "fixtures"
CASES = sorted(FIXTURES.glob("*/*.yaml"))


@pytest.mark.parametrize("path", CASES, ids=[f"{p.parent.name}/{p.stem}" for p in CASES])
def test_fixture(path: Path) -> None:
    resources, config, stack, expected = load_fixture(path)
    report = evaluate(resources, config, stack, rules=[RULE])
    assert not [f.message for f in report.findings if f.rule == RULE_ERROR]
    found = sorted(f.path for f in report.findings if f.rule == RULE.id)
    assert found == sorted(expected), [f"{f.path}: {f.message}" for f in report.findings]
    assert all(f.enforcement == "mandatory" for f in report.findings)
    assert (path.parent.name == "fail") == bool(expected)


def _pod(*env: tuple[str, str]) -> Resource:
    return from_kubernetes({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "visio"},
        "spec": {"containers": [{"name": "c", "image": "x", "env": [{"name": n, "value": v} for n, v in env]}]},
    })


def test_message_and_evidence_name_value_place_operator_and_law() -> None:
    (violation,) = check(_pod(("EDGE", "http://[::ffff:13.36.0.1]/")), Context(PolicyConfig()))
    assert violation.evidence["value"] == "http://[::ffff:13.36.0.1]/"
    assert violation.evidence["endpoint"] == "13.36.0.1"
    assert (violation.evidence["country"], violation.evidence["jurisdiction"]) == ("FR", "US")
    assert violation.evidence["operator"] == "Amazon"
    assert "IPv4-mapped" in violation.evidence["canonicalization"]
    assert "13.36.0.1" in violation.message and "US law" in violation.message


def test_unreadable_endpoint_is_a_violation() -> None:
    (violation,) = check(_pod(("URL", "http://1.2.3.256/")), Context(PolicyConfig()))
    assert "unreadable endpoint" in violation.message


def test_one_finding_per_endpoint_and_field() -> None:
    found = list(check(_pod(("URLS", "https://api.openai.com/a https://API.openai.com./b https://sentry.io")),
                       Context(PolicyConfig())))
    assert sorted(v.evidence["endpoint"] for v in found) == ["api.openai.com", "sentry.io"]


def test_unparseable_kubeconfig_fails_closed() -> None:
    provider = Resource("kubernetes", "", "k", None, {"kubeconfig": "clusters: [unclosed"},
                        pulumi_type="pulumi:providers:kubernetes")
    (violation,) = check(provider, Context(PolicyConfig()))
    assert violation.path == "kubeconfig" and "does not parse" in violation.message


def test_enforcement_is_mandatory_outside_production() -> None:
    assert RULE.enforcement(Context(PolicyConfig(production=False))) == "mandatory"

