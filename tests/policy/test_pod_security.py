"""pod-security covers every Pod Security Standards control, names it with its level, in every carrier."""

from __future__ import annotations

from pathlib import Path

from policies.engine.evaluate import evaluate
from policies.engine.podspec import CARRIERS
from policies.rules.pod_security import RULE, controls
from tests.policy.test_rule_fixtures import fixtures_dir, load_fixture

FIXTURES = fixtures_dir(RULE)


def _findings(outcome: str) -> list[tuple[Path, str, dict[str, str], str]]:
    out = []
    for path in sorted((FIXTURES / outcome).glob("*.yaml")):
        resources, config, stack, _ = load_fixture(path)
        for f in evaluate(resources, config, stack, rules=[RULE]).findings:
            out.append((path, f.message, dict(f.evidence), f.resource.kind))
    return out


def test_every_control_has_a_failing_fixture_and_each_finding_names_control_and_level() -> None:
    by_id = {c.id: c for c in controls.ALL}
    seen = set()
    for path, message, evidence, _ in _findings("fail"):
        control = by_id[evidence["control"]]
        assert evidence["level"] == control.level, (path, message)
        assert message.startswith(f"{control.level} / {control.title}: "), (path, message)
        seen.add(control.id)
    assert seen == set(by_id), f"controls without a failing fixture: {sorted(set(by_id) - seen)}"


def test_every_pod_carrier_is_in_the_fixtures() -> None:
    kinds = set()
    for outcome in ("pass", "fail"):
        for path in (FIXTURES / outcome).glob("*.yaml"):
            kinds |= {r.kind for r in load_fixture(path)[0]}
    assert set(CARRIERS) <= kinds, sorted(set(CARRIERS) - kinds)


def test_controls_follow_the_kubernetes_version() -> None:
    assert "net.ipv4.tcp_keepalive_time" not in controls.safe_sysctls((1, 28))
    assert "net.ipv4.tcp_keepalive_time" in controls.safe_sysctls((1, 29))
    assert "container_engine_t" in controls.selinux_types((1, 31)) - controls.selinux_types((1, 30))
    assert not controls.HOST_PROBES.applies((1, 33)) and controls.HOST_PROBES.applies(controls.parse_version(None))
    assert controls.parse_version("v1.34.2") == (1, 34)


def test_plan_judges_pods_at_the_stack_kubernetes_version() -> None:
    from common.config import load_stack
    from policies.engine.stackconfig import from_stack

    stack = load_stack("interieur-prod")
    assert from_stack(stack).kubernetesVersion == stack.config.cluster.kubernetesVersion
