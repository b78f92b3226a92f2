"""Every rule against the fixtures beside it.

A pass fixture yields no finding of the rule; a fail fixture yields exactly the paths its
`# expect:` lines list (as a multiset). `# config: {json}` and `# stack: {json}` lines adjust the
policy configuration and the stack facts. A document with `pulumiType` is a Pulumi resource
(`name`, `inputs`); any other document is a Kubernetes object.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from common import yamlsafe
from policies.engine.adapters import from_kubernetes
from policies.engine.catalog import RULE_ERROR
from policies.engine.config import PolicyConfig
from policies.engine.evaluate import evaluate
from policies.engine.model import Resource, StackFacts
from policies.engine.rule import Rule
from policies.rules import ALL_RULES

BASE_CONFIG: dict[str, Any] = {
    "profile": "secnumcloud",
    "allowedRegistries": ["registry.interieur.gouv.fr/visio"],
    "allowedRegions": ["cloudgouv-eu-west-1"],
    "trustedDomains": ["visio.interieur.gouv.fr"],
}
TODAY = dt.date(2026, 1, 15)


def fixtures_dir(rule: Rule) -> Path:
    module = importlib.import_module(f"policies.rules.{rule.id.replace('-', '_')}")
    assert module.__file__ is not None
    return Path(module.__file__).parent / "fixtures"


def _cases() -> Iterator[Any]:
    for rule in ALL_RULES:
        for outcome in ("pass", "fail"):
            for path in sorted((fixtures_dir(rule) / outcome).glob("*.yaml")):
                yield pytest.param(rule, outcome, path, id=f"{rule.id}/{outcome}/{path.stem}")


def _header(text: str, key: str) -> list[str]:
    prefix = f"# {key}:"
    return [line[len(prefix):].strip() for line in text.splitlines() if line.startswith(prefix)]


def load_fixture(path: Path) -> tuple[list[Resource], PolicyConfig, StackFacts | None, list[str]]:
    text = path.read_text(encoding="utf-8")
    resources: list[Resource] = []
    for i, doc in enumerate(yamlsafe.load_all(text, path)):
        if doc is None:
            continue
        if "pulumiType" in doc:
            kind = doc["pulumiType"].rsplit(":", 1)[-1]
            resources.append(Resource(kind, "", doc["name"], None, doc.get("inputs", {}),
                                      pulumi_type=doc["pulumiType"], source=f"{path.name}#{i}"))
        else:
            resources.append(from_kubernetes(doc, f"{path.name}#{i}"))
    config = dict(BASE_CONFIG)
    for line in _header(text, "config"):
        config.update(json.loads(line))
    stacks = _header(text, "stack")
    stack = StackFacts(**json.loads(stacks[0])) if stacks else None
    expected = [p.strip() for line in _header(text, "expect") for p in line.split(", ") if p.strip()]
    return resources, PolicyConfig(**config), stack, expected


@pytest.mark.parametrize(("rule", "outcome", "path"), list(_cases()))
def test_fixture(rule: Rule, outcome: str, path: Path) -> None:
    resources, config, stack, expected = load_fixture(path)
    assert resources or stack, f"{path} holds nothing to evaluate"
    report = evaluate(resources, config, stack, rules=[rule], today=TODAY)
    errors = [f.message for f in report.findings if f.rule == RULE_ERROR]
    assert not errors, errors
    found = sorted(f.path for f in report.findings if f.rule == rule.id)
    if outcome == "pass":
        assert not expected, f"{path}: a pass fixture declares no expectations"
        assert found == [], [f.message for f in report.findings]
    else:
        assert expected, f"{path}: a fail fixture must declare `# expect:` paths"
        assert found == sorted(expected), [f"{f.path}: {f.message}" for f in report.findings]


@pytest.mark.parametrize("rule", ALL_RULES, ids=[r.id for r in ALL_RULES])
def test_rule_has_pass_and_fail_fixtures(rule: Rule) -> None:
    for outcome in ("pass", "fail"):
        assert list((fixtures_dir(rule) / outcome).glob("*.yaml")), f"{rule.id} has no {outcome} fixture"
