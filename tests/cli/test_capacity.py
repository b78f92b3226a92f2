"""`visio capacity`: the same figures as the program deploys, every assumption sourced, clean refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from common.config import stack_names
from tests.conftest import ROOT, run_visio
from tests.program.conftest import plan_of


def _json(*args: str) -> object:
    result = run_visio("capacity", *args, "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _replicas(stack: str) -> dict[tuple[str, str], int]:
    return {(r.inputs["kind"], r.inputs["metadata"]["name"]): r.inputs["spec"]["replicas"]
            for r in plan_of(stack).kubernetes_objects()
            if r.inputs["kind"] in {"Deployment", "StatefulSet"} and "replicas" in r.inputs.get("spec", {})}


@pytest.mark.parametrize("stack", ["interieur-prod", "culture-staging"])
def test_capacity_plan_and_program_agree(stack: str) -> None:
    doc = _json(stack)
    assert isinstance(doc, dict)
    assert all(isinstance(doc[k], int) for k in ("sfuNodes", "turnReplicas", "sttGpus"))
    plan = plan_of(stack)
    assert plan.outputs["capacity"] == {"sfuNodes": doc["sfuNodes"], "turnReplicas": doc["turnReplicas"],
                                        "sttGpus": doc["sttGpus"], "nodePools": doc["nodePools"]}
    replicas = _replicas(stack)
    livekit = [n for (kind, name), n in replicas.items() if "livekit" in name]
    coturn = [n for (kind, name), n in replicas.items() if "coturn" in name or "turn" in name.split("-")]
    assert livekit == [doc["sfuNodes"]] and coturn == [doc["turnReplicas"]], replicas


def test_every_assumption_has_a_source() -> None:
    doc = _json("interieur-prod")
    assert isinstance(doc, dict)
    assert doc["sfuNodes"] == 19 and doc["rooms"][0]["limit"] == "bandwidth"
    assert all(a["source"] for a in doc["assumptions"])
    planning = {a["key"] for a in doc["assumptions"] if a["source"] == "planning assumption"}
    assert "capacity.traffic.relayedShare" in planning and "capacity.sfuNode.cores" not in planning
    assert doc["monthlyCost"] is None


def test_all_adds_a_national_total() -> None:
    doc = _json("--all")
    assert isinstance(doc, dict)
    assert [s["stack"] for s in doc["stacks"]] == stack_names()
    assert doc["national"]["sfuNodes"] == sum(s["sfuNodes"] for s in doc["stacks"])
    assert doc["national"]["monthlyCost"] is None and doc["national"]["unpricedStacks"] == stack_names()


def _edit(tmp_path: Path, stack: str, **capacity: object) -> Path:
    """A copy of the stack file with `capacity` merged into its visio:capacity."""
    doc = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())
    doc["config"]["visio:capacity"].update(capacity)
    path = tmp_path / f"Pulumi.{stack}.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_prices_give_the_monthly_cost(tmp_path: Path) -> None:
    prices = {"currency": "EUR", "source": "test price list", "monthlyPerNode": {"media": 1000.0, "gpu-l4": 3000.0}}
    path = str(_edit(tmp_path, "interieur-prod", prices=prices))
    doc = _json(path)
    assert isinstance(doc, dict)
    pools = doc["nodePools"]
    assert doc["monthlyCost"]["perPool"] == {"media": pools["media"] * 1000, "gpu-l4": pools["gpu-l4"] * 3000}
    assert doc["monthlyCost"]["total"] == pools["media"] * 1000 + pools["gpu-l4"] * 3000
    text = run_visio("capacity", path)
    assert f"{doc['monthlyCost']['total']:,.2f} EUR" in text.stdout
    # A pool without a price leaves the total open rather than guessing it.
    _edit(tmp_path, "interieur-prod", prices={**prices, "monthlyPerNode": {"media": 1000.0}})
    doc = _json(path)
    assert isinstance(doc, dict)
    assert doc["monthlyCost"]["total"] is None and doc["monthlyCost"]["unpriced"] == ["gpu-l4"]


@pytest.mark.parametrize(("capacity", "message"), [
    ({"participantsPerRoom": 400},
     "visio:capacity.participantsPerRoom: a room of 400 needs"),
    ({"rooms": [{"participants": 8, "share": 0.5}]},
     "visio:capacity.participantsPerRoom: give either participantsPerRoom or rooms"),
    ({"prices": {"currency": "EUR", "source": "x", "monthlyPerNode": {"nowhere": 1.0}}},
     "visio:capacity.prices.monthlyPerNode.nowhere: not a node pool"),
    ({"traffic": {"cameraShare": 1.5}},
     "visio:capacity.traffic.cameraShare:"),
])
def test_bad_capacity_is_one_line_exit_2_and_nothing_printed(tmp_path: Path, capacity: dict[str, object],
                                                              message: str) -> None:
    path = _edit(tmp_path, "justice-prod", **capacity)
    for fmt in ("text", "json"):
        result = run_visio("capacity", str(path), "--format", fmt)
        assert result.returncode == 2, result.stderr
        assert result.stdout == ""
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error: {path}: {message}"), lines
        assert "Traceback" not in result.stderr
