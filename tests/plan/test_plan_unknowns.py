"""A value unknown at preview is judged alike by `visio plan` and the pack: advisory at preview, naming
the field, mandatory at update; never passed over because a placeholder string looked harmless."""

from __future__ import annotations

from typing import Any

import pytest
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

from policies.engine.adapters import from_pulumi
from policies.engine.config import PolicyConfig
from policies.engine.evaluate import evaluate
from policies.engine.model import Resource
from visio.plan.mockrun import UNKNOWN, PlannedResource

TYPE = "kubernetes:apps/v1:Deployment"
CONFIG = PolicyConfig(allowedRegistries=["registry.interieur.gouv.fr"], trustedDomains=["visio.interieur.gouv.fr"])


def _deployment(unknown: Any) -> dict[str, Any]:
    container = {
        "name": "backend",
        "image": "registry.interieur.gouv.fr/visio/backend@sha256:" + "ab" * 32,
        "env": [{"name": "STORAGE_URL", "value": unknown}],
        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
    }
    pod = {"securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
           "containers": [container]}
    return {"metadata": {"name": "backend", "namespace": "visio"},
            "spec": {"selector": {"matchLabels": {"app": "b"}},
                     "template": {"metadata": {"labels": {"app": "b"}}, "spec": pod}}}


def _planned() -> Resource:
    inputs = {"apiVersion": "apps/v1", "kind": "Deployment", **_deployment(UNKNOWN)}
    return PlannedResource("urn:b", TYPE, "backend", None, True, inputs).to_engine_resource()


def _packed() -> Resource:
    return from_pulumi(TYPE, "backend", _deployment(UNKNOWN_STRING_VALUE), "urn:b")


def _seen(resource: Resource, preview: bool) -> set[tuple[str, str, str]]:
    report = evaluate([resource], CONFIG, preview=preview)
    return {(f.rule, f.path, f.enforcement) for f in report.findings if "unknown at preview" in f.message}


@pytest.mark.parametrize("preview", [True, False], ids=["preview", "update"])
def test_plan_and_pack_judge_an_unknown_endpoint_alike(preview: bool) -> None:
    planned, packed = _seen(_planned(), preview), _seen(_packed(), preview)
    assert planned == packed
    level = "advisory" if preview else "mandatory"
    assert ("endpoint-sovereignty", "spec.template.spec.containers[0].env[0].value", level) in planned
