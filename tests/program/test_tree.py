"""The component tree the program registers for each example stack."""

from __future__ import annotations

from collections import Counter

import kubernetes_validate
import pytest

from common.config import load_stack
from tests.charts.rendering import UNSCHEMAED_GROUPS
from tests.program.conftest import STACKS, plan_of
from visio.plan.mockrun import Secret, redact

COMPONENTS = {
    "signalling": "visio:signalling:Signalling",
    "media": "visio:media:Media",
    "identity": "visio:identity:Identity",
    "captioning": "visio:captioning:Captioning",
}
CHART = "kubernetes:helm.sh/v4:Chart"
PROVIDER = "pulumi:providers:kubernetes"


def test_every_example_stack_is_covered() -> None:
    assert {"dev", "interieur-prod", "justice-prod", "culture-staging"} <= set(STACKS)


@pytest.mark.parametrize("stack", STACKS)
def test_components_hang_under_the_stack_and_own_their_chart(stack: str) -> None:
    plan = plan_of(stack)
    captioned = load_stack(stack).config.captioning.enabled
    expected = {name: t for name, t in COMPONENTS.items() if name != "captioning" or captioned}
    root = f"urn:pulumi:{stack}::visio::pulumi:pulumi:Stack::visio-{stack}"
    for name, type_ in expected.items():
        component = plan.get(type_, name)
        assert component.parent == root and not component.custom
        chart = plan.get(CHART, name)
        assert chart.parent == component.urn and chart.remote
        assert chart.inputs["chart"].endswith(f"charts/{name}")
        assert chart.inputs["namespace"] == f"visio-{name}"
        children = plan.children(chart.urn)
        assert children, f"chart {name} expanded to nothing"
        assert all(c.template and c.template.startswith(f"{name}/templates/") for c in children)
        assert all(c.name.startswith(f"{name}:") for c in children)
        kinds = {c.type for c in plan.children(component.urn)}
        assert {"kubernetes:core/v1:Namespace", "kubernetes:networking.k8s.io/v1:NetworkPolicy", CHART} <= kinds
    if not captioned:
        assert not plan.of_type(COMPONENTS["captioning"])
        assert not [r for r in plan.kubernetes_objects() if "visio-captioning" in r.name]


@pytest.mark.parametrize("stack", STACKS)
def test_every_kubernetes_object_goes_through_the_explicit_provider(stack: str) -> None:
    plan = plan_of(stack)
    (provider,) = plan.of_type(PROVIDER)
    assert provider.name == "k8s"
    assert provider.inputs.get("enableServerSideApply") == "true"
    objects = plan.kubernetes_objects() + plan.of_type(CHART)
    assert objects
    for obj in objects:
        assert obj.provider is not None and obj.provider.startswith(provider.urn), obj.name


@pytest.mark.parametrize("stack", STACKS)
def test_no_resource_identity_is_registered_twice(stack: str) -> None:
    plan = plan_of(stack)
    twice = [k for k, n in Counter((r.type, r.name) for r in plan.resources).items() if n > 1]
    assert twice == []
    objects = Counter(
        (r.inputs["apiVersion"], r.inputs["kind"], r.inputs["metadata"].get("namespace"), r.inputs["metadata"]["name"])
        for r in plan.kubernetes_objects()
    )
    assert [k for k, n in objects.items() if n > 1] == []


@pytest.mark.parametrize("stack", STACKS)
def test_exports_name_the_public_endpoints(stack: str) -> None:
    config = load_stack(stack).config
    outputs = plan_of(stack).outputs
    assert outputs["webUrl"] == f"https://{config.domains.web}"
    assert outputs["livekitUrl"] == f"wss://{config.domains.media}"
    assert outputs["identityUrl"] == f"https://{config.domains.identity}/realms/{config.identity.realm}"
    turn = config.media.turn
    assert outputs["turnUris"] == [
        f"turns:{turn.domain}:{turn.tlsPort}?transport=tcp",
        f"turn:{turn.domain}:3478?transport=udp",
    ]
    expected = {"signalling", "media", "identity", "guard"} | ({"captioning"} if config.captioning.enabled else set())
    assert outputs["namespaces"] == {name: f"visio-{name}" for name in expected}
    assert not any(isinstance(v, Secret) for v in outputs.values())


@pytest.mark.parametrize("stack", STACKS)
def test_every_object_is_valid_for_the_cluster_version(stack: str) -> None:
    config = load_stack(stack).config
    unchecked = []
    for r in plan_of(stack).kubernetes_objects():
        obj = redact(dict(r.inputs))
        # Secret payloads are redacted: give the schema a well-formed stand-in.
        for key in ("data", "stringData"):
            if obj.get(key) == "[secret]":
                obj[key] = {"k": "dmFsdWU="}
        if obj["apiVersion"].startswith(UNSCHEMAED_GROUPS):
            # cert-manager's custom resources: no schema to check them against.
            with pytest.raises(kubernetes_validate.SchemaNotFoundError):
                kubernetes_validate.validate(obj, config.cluster.kubernetesVersion, strict=True)
            unchecked.append(obj["kind"])
            continue
        kubernetes_validate.validate(obj, config.cluster.kubernetesVersion, strict=True)
    # Only the TURN and the webhook's certificates, and only when cert-manager issues them.
    assert unchecked == (["Certificate", "Certificate"] if config.tls.issuer else [])


@pytest.mark.parametrize("stack", STACKS)
def test_charts_wait_for_their_namespace_secrets_and_policies(stack: str) -> None:
    plan = plan_of(stack)
    for chart in plan.of_type(CHART):
        siblings = plan.children(chart.parent or "")
        needed = {
            r.urn for r in siblings
            if r.type.split(":")[-1] in {"Namespace", "Secret", "NetworkPolicy"}
        }
        assert len(needed) >= 3
        assert needed <= set(chart.dependencies), chart.name
