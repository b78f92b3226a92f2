"""What the mock runtime lets through and the engine would not: duplicates; the engine's config view."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from common.config import stack_path
from visio.plan.mockrun import ProgramError, run_program
from visio.plan.pulumiconfig import PLACEHOLDER, engine_config

TWO_CONFIGMAPS = """
import pulumi_kubernetes as k8s
for name in ("first", "second"):
    k8s.core.v1.ConfigMap(name, metadata={"name": "settings", "namespace": "apps"}, data={"k": name})
"""

SAME_NAME_TWICE = """
import pulumi
import pulumi_random
parent = pulumi.ComponentResource("visio:test:Group", "group")
pulumi_random.RandomPassword("same", length=16)
pulumi_random.RandomPassword("same", length=16, opts=pulumi.ResourceOptions(parent=parent))
"""


def _program(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "__main__.py"
    path.write_text(text)
    return path


def test_two_declarations_of_one_kubernetes_object_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ProgramError, match="core/ConfigMap apps/settings: declared by"):
        run_program("dev", program=_program(tmp_path, TWO_CONFIGMAPS))


def test_one_type_and_name_twice_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ProgramError, match="RandomPassword same: registered twice"):
        run_program("dev", program=_program(tmp_path, SAME_NAME_TWICE))


def test_engine_config_passes_objects_as_json_and_lists_secret_keys() -> None:
    values, secret = engine_config(stack_path("interieur-prod"), {"kubernetes:context": "ovh-par"})
    assert values["visio:ministry"] == "interieur"
    identity = json.loads(values["visio:identity"])
    assert identity["proconnect"]["clientSecret"] == PLACEHOLDER.format(key="visio:identity.proconnect.clientSecret")
    assert secret == ["visio:identity"]
    assert json.loads(values["visio:media"])["udpPortRange"] == {"start": 50000, "end": 60000}
    assert values["kubernetes:context"] == "ovh-par"


def test_runs_do_not_leak_into_each_other() -> None:
    first = run_program("justice-prod")
    second = run_program("culture-staging")
    assert first.stack == "justice-prod" and second.stack == "culture-staging"
    assert all(r.urn.startswith("urn:pulumi:culture-staging::") for r in second.resources)
    assert not first.of_type("visio:captioning:Captioning") and second.of_type("visio:captioning:Captioning")
