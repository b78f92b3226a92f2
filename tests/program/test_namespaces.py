"""Namespaces: Pod Security level and the labels the ministry's register reads."""

from __future__ import annotations

import pytest

from common.config import load_stack
from tests.program.conftest import STACKS, plan_of

LEVEL = {
    "visio-signalling": "restricted",
    "visio-identity": "restricted",
    "visio-captioning": "restricted",
    # Host networking and host ports: only "privileged" admits LiveKit and coturn.
    "visio-media": "privileged",
    "visio-guard": "restricted",
}


@pytest.mark.parametrize("stack", STACKS)
def test_namespaces_carry_pod_security_and_ministry_labels(stack: str) -> None:
    config = load_stack(stack).config
    namespaces = plan_of(stack).of_type("kubernetes:core/v1:Namespace")
    expected = set(LEVEL) - (set() if config.captioning.enabled else {"visio-captioning"})
    assert {ns.name for ns in namespaces} == expected
    for ns in namespaces:
        labels = ns.inputs["metadata"]["labels"]
        assert labels["pod-security.kubernetes.io/enforce"] == LEVEL[ns.name]
        assert labels["visio.gouv.fr/ministry"] == config.ministry
        assert labels["visio.gouv.fr/data-classification"] in {"call-content", "personal-data", "configuration"}


@pytest.mark.parametrize("stack", STACKS)
def test_only_the_media_namespace_runs_host_network_pods(stack: str) -> None:
    plan = plan_of(stack)
    for obj in plan.kubernetes_objects():
        spec = obj.inputs.get("spec", {}).get("template", {}).get("spec", {})
        if spec.get("hostNetwork"):
            assert obj.inputs["metadata"]["namespace"] == "visio-media", obj.name
