"""The engine itself: fail-closed rule errors, enforcement, exemptions, ordering, JSON shape."""

from __future__ import annotations

import datetime as dt
import functools
import json
import random
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from common.errors import InputError
from policies.engine import evaluate as engine
from policies.engine.adapters import from_kubernetes
from policies.engine.config import Exemption, PolicyConfig, Selector
from policies.engine.exemptions import load_exemptions, with_exemptions_file
from policies.engine.model import Resource, ResourceRef, StackFacts, Violation
from policies.engine.rule import Context, Rule
from policies.rules import ALL_RULES
from policies.rules.image_digest import RULE as IMAGE_DIGEST
from policies.rules.image_registry import RULE as IMAGE_REGISTRY
from policies.rules.pod_security import RULE as POD_SECURITY
from tests.conftest import ROOT

TODAY = dt.date(2026, 3, 1)
# Exemption expiry is judged on a fixed date, injected as the engine takes it.
evaluate = functools.partial(engine.evaluate, today=TODAY)
MIRROR = "registry.interieur.gouv.fr/visio"


def deployment(name: str, namespace: str, *images: str, host_network: bool = False) -> Resource:
    spec: dict[str, Any] = {"containers": [{"name": f"c{i}", "image": im} for i, im in enumerate(images)]}
    if host_network:
        spec["hostNetwork"] = True
    return from_kubernetes({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"template": {"spec": spec}},
    })


def config(**changes: Any) -> PolicyConfig:
    return PolicyConfig(allowedRegistries=[MIRROR], **changes)


def exemption(rule: str, expiry: dt.date = dt.date(2027, 1, 1), **selector: str) -> Exemption:
    return Exemption(rule=rule, resource=Selector(**selector), justification="host networking for media",
                     approver="rssi@interieur.gouv.fr", expiry=expiry)


def _boom(resource: Resource, ctx: Context) -> Iterator[Violation]:
    yield Violation("spec", "first")
    raise RuntimeError("cannot read spec\nTraceback (most recent call last): ...")


def _boom_stack(resources: Sequence[Resource], ctx: Context) -> Iterator[tuple[ResourceRef | None, Violation]]:
    raise KeyError("namespace")


def _not_violations(resource: Resource, ctx: Context) -> Iterator[Violation]:
    yield "spec is wrong"  # type: ignore[misc]


BROKEN = Rule(id="broken", description="raises", check=_boom)
BROKEN_STACK = Rule(id="broken-stack", description="raises", check_stack=_boom_stack)


def test_crashing_rule_fails_closed_and_others_still_run() -> None:
    resources = [deployment("a", "ns", "nginx")]
    report = evaluate(resources, config(enforcement={"broken": "advisory"}), rules=[BROKEN, BROKEN_STACK,
                                                                                      IMAGE_REGISTRY])
    errors = {f.resource.kind: f for f in report.findings if f.rule == "rule-error"}
    assert {k: (f.enforcement, f.resource) for k, f in errors.items()} == {
        "Deployment": ("mandatory", ResourceRef("Deployment", "a", "ns")),
        "Stack": ("mandatory", ResourceRef("Stack", "(unknown)")),
    }
    message = errors["Deployment"].message
    assert "broken" in message and "RuntimeError: cannot read spec" in message and "Traceback" not in message
    assert "broken-stack" in errors["Stack"].message and "KeyError" in errors["Stack"].message
    # The partial output of the crashing rule is not trusted; the other rule still reports.
    assert [f.rule for f in report.findings if f.rule != "rule-error"] == ["image-registry"]
    assert not report.passed


def test_malformed_workload_is_a_rule_error_not_a_pass() -> None:
    bad = from_kubernetes({"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": "nginx"}})
    report = evaluate([bad], config(), rules=[IMAGE_REGISTRY])
    assert [(f.rule, f.enforcement) for f in report.findings] == [("rule-error", "mandatory")]


def test_rule_returning_garbage_fails_closed() -> None:
    garbage = Rule(id="garbage", description="returns strings", check=_not_violations)
    report = evaluate([deployment("a", "ns", "nginx")], config(), rules=[garbage])
    assert [(f.rule, f.enforcement) for f in report.findings] == [("rule-error", "mandatory")]
    assert "garbage" in report.findings[0].message


def test_rule_error_cannot_be_exempted() -> None:
    cfg = config(exemptions=[exemption("rule-error"), exemption("broken")])
    report = evaluate([deployment("a", "ns", "nginx")], cfg, rules=[BROKEN])
    assert [f.rule for f in report.findings] == ["rule-error"]


def test_enforcement_defaults_and_overrides() -> None:
    res = [deployment("a", "ns", f"{MIRROR}/app:1")]
    assert [f.enforcement for f in evaluate(res, config(), rules=[IMAGE_DIGEST]).findings] == ["advisory"]
    assert [f.enforcement for f in evaluate(res, config(production=True), rules=[IMAGE_DIGEST]).findings] == [
        "mandatory"]
    prod_stack = StackFacts(name="interieur-prod", production=True)
    assert [f.enforcement for f in evaluate(res, config(), prod_stack, rules=[IMAGE_DIGEST]).findings] == [
        "mandatory"]
    overridden = evaluate(res, config(production=True, enforcement={"image-digest": "advisory"}),
                          rules=[IMAGE_DIGEST])
    assert [f.enforcement for f in overridden.findings] == ["advisory"] and overridden.passed
    assert evaluate(res, config(enforcement={"image-digest": "disabled"}), rules=[IMAGE_DIGEST]).findings == []


def test_exemption_wildcards_and_paths() -> None:
    media = deployment("media-livekit", "visio-media", "nginx", host_network=True)
    other = deployment("media-livekit", "visio-signalling", "nginx")
    cfg = config(exemptions=[
        exemption("image-registry", name="media-*", namespace="visio-med?a", kind="Deploy*"),
        exemption("pod-security", name="media-livekit").model_copy(update={"paths": ("*.hostNetwork",)}),
        exemption("image-registry", kind="StatefulSet"),
    ])
    report = evaluate([media, other], cfg, rules=[IMAGE_REGISTRY, POD_SECURITY])
    exempted = {(f.rule, f.resource.namespace, f.path) for f in report.exempted}
    assert ("image-registry", "visio-media", "spec.template.spec.containers[0].image") in exempted
    assert ("pod-security", "visio-media", "spec.template.spec.hostNetwork") in exempted
    assert len(exempted) == 2
    remaining = {(f.rule, f.resource.namespace) for f in report.findings}
    assert ("image-registry", "visio-signalling") in remaining
    # Only the named path is exempted: the other pod-security findings on the SFU remain.
    assert ("pod-security", "visio-media") in remaining
    assert all(f.exempted_by is not None for f in report.exempted)


def test_expired_exemption_is_mandatory_and_exempts_nothing() -> None:
    expired = exemption("image-registry", expiry=dt.date(2026, 2, 28), name="a")
    last_day = exemption("image-registry", expiry=TODAY, name="b")
    report = evaluate([deployment("a", "ns", "nginx"), deployment("b", "ns", "nginx")],
                      config(exemptions=[expired, last_day]), rules=[IMAGE_REGISTRY])
    assert [(f.rule, f.resource.name) for f in report.findings] == [
        ("exemption-expired", "image-registry:a"), ("image-registry", "a")]
    expired_finding = report.findings[0]
    assert expired_finding.enforcement == "mandatory" and expired_finding.path == "exemptions[0]"
    assert "2026-02-28" in expired_finding.message
    assert [f.resource.name for f in report.exempted] == ["b"]
    assert report.exemptions_in_force == [last_day]


def test_exemptions_in_force_listed_even_when_unused() -> None:
    report = evaluate([], config(exemptions=[exemption("pod-security", name="media-coturn")]), rules=[])
    assert report.findings == [] and report.passed
    assert report.to_dict()["exemptionsInForce"][0]["resource"] == {"name": "media-coturn"}


def test_deterministic_order_and_json_shape() -> None:
    resources = [deployment(f"d{i}", f"ns{i % 3}", "nginx", "busybox:1") for i in range(20)]
    first = evaluate(resources, config(), rules=ALL_RULES).to_dict()
    shuffled = list(resources)
    random.Random(7).shuffle(shuffled)
    second = evaluate(shuffled, config(), rules=list(reversed(ALL_RULES))).to_dict()
    assert json.dumps(first) == json.dumps(second)
    finding = first["findings"][0]
    assert set(finding) >= {"rule", "enforcement", "resource", "path", "message", "evidence"}
    assert set(finding["resource"]) == {"kind", "name", "namespace"}
    keys = [(f["rule"], f["resource"]["namespace"], f["resource"]["name"], f["path"]) for f in first["findings"]]
    assert keys == sorted(keys)
    assert first["summary"]["mandatory"] == sum(f["enforcement"] == "mandatory" for f in first["findings"])


def test_load_exemptions_errors_name_file_and_field(tmp_path: Path) -> None:
    path = tmp_path / "ex.yaml"
    path.write_text(
        "- {rule: pod-security, resource: {name: a}, justification: host networking for media,"
        " approver: rssi@interieur.gouv.fr, expiry: 2027-01-01}\n"
        "- {rule: pod-security, resource: {name: b, nmespace: x}, justification: short,"
        " approver: rssi@interieur.gouv.fr, expiry: next year}\n"
    )
    with pytest.raises(InputError) as err:
        load_exemptions(path)
    problems = err.value.problems
    assert any(p.startswith(f"{path}: exemptions[1].expiry: ") for p in problems)
    assert any(p.startswith(f"{path}: exemptions[1].resource.nmespace: ") for p in problems)
    assert any(p.startswith(f"{path}: exemptions[1].justification: ") for p in problems)
    path.write_text("exemptions: {rule: x}\n")
    with pytest.raises(InputError, match="expected a list"):
        load_exemptions(path)
    path.write_text("- &a {rule: x}\n- *a\n")
    with pytest.raises(InputError, match="aliases"):
        load_exemptions(path)


def test_interieur_prod_exemptions_cover_only_host_networking() -> None:
    cfg = with_exemptions_file(config(), ROOT / "policies/exemptions/interieur-prod.yaml")
    pod = [e for e in cfg.exemptions if e.rule == "pod-security"]
    assert {e.resource.name for e in pod} == {"media-livekit", "media-coturn"}
    assert all(e.expiry.year == 2027 and e.approver.endswith("@interieur.gouv.fr") for e in cfg.exemptions)
    sfu = deployment("media-livekit", "visio-media", f"{MIRROR}/livekit/livekit-server:v1.9.0",
                     host_network=True)
    report = evaluate([sfu], cfg, rules=[POD_SECURITY])
    assert [f.path for f in report.exempted] == ["spec.template.spec.hostNetwork"]
    assert report.findings, "the SFU's other deviations are still reported"
    elsewhere = deployment("media-livekit", "visio-signalling", "x", host_network=True)
    assert "spec.template.spec.hostNetwork" in [f.path for f in evaluate([elsewhere], cfg,
                                                                          rules=[POD_SECURITY]).findings]


def test_bad_registry_allow_entry_fails_closed_on_workloads_only() -> None:
    cm = from_kubernetes({"kind": "ConfigMap", "metadata": {"name": "c", "namespace": "ns"}, "data": {}})
    report = evaluate([deployment("a", "ns", f"{MIRROR}/app:1"), cm],
                      config().with_overrides(allowedRegistries=["https://registry.gouv.fr"]), rules=[IMAGE_REGISTRY])
    assert [(f.rule, f.resource.name) for f in report.findings] == [("rule-error", "a")]
    assert "allowedRegistries" in report.findings[0].message
