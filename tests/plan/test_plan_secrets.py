"""No generated secret reaches any output of `visio plan`: JSON, SARIF, JUnit, HTML, text, manifests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from visio.console import out
from visio.kube.schema import UnknownKind, problems
from visio.plan.command import _as_text, _target, _write_manifests
from visio.plan.mockrun import walk_secrets
from visio.plan.stackplan import StackPlan, plan_stack, reveal
from visio.report import html, junit, sarif
from visio.report import json as json_report

STACKS = ["interieur-prod", "dev"]


def _secrets(p: StackPlan) -> set[str]:
    everything: list[Any] = [dict(r.inputs) for r in p.plan.resources]
    everything += [dict(r.outputs) for r in p.plan.resources]
    found: set[str] = set()
    for value in walk_secrets(everything):
        if isinstance(value, str):
            found.add(value)
        elif isinstance(value, dict):
            found |= {v for v in value.values() if isinstance(v, str)}
    # Short strings (ports, booleans) could match by accident; generated secrets are long.
    return {s for s in found if len(s) >= 12}


@pytest.mark.parametrize("stack", STACKS)
def test_generated_secrets_never_appear_in_any_output(stack: str, tmp_path: Path) -> None:
    p = plan_stack(stack)
    secrets = _secrets(p)
    assert len(secrets) >= 8, "the stack generates passwords, API keys and the TURN secret"
    target = _target(p)
    with out.capture() as captured:
        _as_text([p])
    _write_manifests([p], tmp_path)
    outputs = {
        "json": json_report.render("plan", [target]),
        "sarif": sarif.render([target]),
        "junit": junit.render([target]),
        "html": html.render([target]),
        "text": captured.get(),
        **{str(f): f.read_text() for f in tmp_path.rglob("*.yaml")},
    }
    assert any(f.suffix == ".yaml" for f in tmp_path.rglob("*"))
    for name, text in outputs.items():
        leaked = [s[:4] + "…" for s in secrets if s in text]
        assert not leaked, f"{name} shows generated secrets {leaked}"


@pytest.mark.parametrize("stack", STACKS)
def test_written_secrets_keep_their_keys_and_every_object_validates(stack: str, tmp_path: Path) -> None:
    p = plan_stack(stack)
    version = p.stack.config.cluster.kubernetesVersion
    _write_manifests([p], tmp_path)
    written = [obj for f in sorted(tmp_path.rglob("*.yaml")) for obj in yaml.safe_load_all(f.read_text()) if obj]
    assert len(written) == len(p.plan.kubernetes_objects())
    keys = {(o["metadata"].get("namespace"), o["metadata"]["name"]): o for o in written if o["kind"] == "Secret"}
    secrets = [r for r in p.plan.kubernetes_objects() if r.inputs.get("kind") == "Secret"]
    assert secrets, "the stack writes Secrets"
    for r in secrets:
        source = reveal(r.inputs)
        obj = keys[(source["metadata"].get("namespace"), source["metadata"]["name"])]
        for field in ("data", "stringData"):
            if field in source:
                assert list(obj[field]) == list(source[field]), (obj["metadata"], field)
                assert set(obj[field].values()) == {"[redacted]"}
    for obj in written:
        assert list(obj)[:3] == ["apiVersion", "kind", "metadata"], obj["metadata"]
        try:
            assert problems(obj, version) == [], obj["metadata"]
        except UnknownKind:
            continue  # custom resources (cert-manager): no schema offline
