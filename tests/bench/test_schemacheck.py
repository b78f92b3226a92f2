"""The compiled schema check answers exactly as jsonschema does, valid or not, on real and broken objects."""

from __future__ import annotations

import copy
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bench.estate import generate
from visio.kube import schema, schemacheck

ROOT = Path(__file__).resolve().parents[2]
VERSION = "1.31"
# Values that probe every type rule: bool is not an integer, 1.0 is, null passes only where allowed.
PROBES: tuple[Any, ...] = (None, True, False, 0, 7, 1.0, 1.5, "", "x", "RuntimeDefault", [], ["x"], {}, {"x": 1})


def _reference(obj: dict[str, Any]) -> bool:
    validator = schema._validator(VERSION, str(obj.get("apiVersion", "")), str(obj.get("kind", "")))
    return not any(True for _ in validator.iter_errors(obj))


def _known(obj: Any) -> bool:
    if not isinstance(obj, dict) or not isinstance(obj.get("kind"), str):
        return False
    try:
        schema._validator(VERSION, str(obj.get("apiVersion", "")), obj["kind"])
    except schema.UnknownKind:
        return False
    return True


def _fixtures() -> Iterator[dict[str, Any]]:
    for path in sorted((ROOT / "policies" / "rules").glob("*/fixtures/*/*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if _known(doc):
                yield doc


def _slots(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*path, key)
            yield from _slots(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield (*path, i)
            yield from _slots(value, (*path, i))


def _mutants(obj: dict[str, Any], rng: random.Random, count: int) -> Iterator[dict[str, Any]]:
    slots = [s for s in _slots(obj) if s not in (("apiVersion",), ("kind",))]  # keep the schema chosen
    for _ in range(count):
        out = copy.deepcopy(obj)
        *parent_path, last = rng.choice(slots)
        parent: Any = out
        for key in parent_path:
            parent = parent[key]
        action = rng.random()
        if action < 0.15 and isinstance(parent, dict):
            del parent[last]
        elif action < 0.3 and isinstance(parent, dict):
            parent[rng.choice(("unknownField", "x-extra", "Spec"))] = rng.choice(PROBES)
        else:
            parent[last] = copy.deepcopy(rng.choice(PROBES))
        yield out


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    root = tmp_path_factory.mktemp("estate")
    generate(root, 150, seed=11)
    objects = [doc for path in sorted((root / "manifests").glob("*.yaml"))
               for doc in yaml.safe_load_all(path.read_text()) if _known(doc)]
    return objects + list(_fixtures())


def test_agrees_on_valid_objects(corpus: list[dict[str, Any]]) -> None:
    assert len(corpus) > 150
    for obj in corpus:
        assert schema.valid(obj, VERSION) is _reference(obj), obj["metadata"]


def test_agrees_on_broken_objects(corpus: list[dict[str, Any]]) -> None:
    rng = random.Random(5)
    refused = 0
    for obj in corpus:
        for mutant in _mutants(obj, rng, 12):
            expected = _reference(mutant)
            refused += not expected
            assert schema.valid(mutant, VERSION) is expected, mutant
    assert refused > 500  # the mutations do break objects, so both answers are exercised


def test_errors_still_come_from_jsonschema() -> None:
    bad = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
           "spec": {"ports": [{"port": "eighty"}], "sessionAfinity": "None"}}
    assert schema.valid(bad, VERSION) is False
    paths = [path for path, _ in schema.errors(bad, VERSION)]
    assert paths == [("spec",), ("spec", "ports", 0, "port")]


def test_knows_every_keyword_jsonschema_asserts() -> None:
    import jsonschema

    assert set(jsonschema.Draft202012Validator.VALIDATORS) - {"format"} == schemacheck.ASSERTED
