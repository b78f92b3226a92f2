"""A plan is the same whatever order the program's resources registered in; its files apply as written."""

from __future__ import annotations

from pathlib import Path
from random import Random

import yaml

from tests.conftest import run_visio
from visio.plan.mockrun import in_order, run_program


def _documents(path: Path) -> list[tuple[str, str]]:
    return [(d["kind"], d["metadata"]["name"]) for d in yaml.safe_load_all(path.read_text())]


def test_two_plans_write_the_same_files_namespaces_and_policies_first(tmp_path: Path) -> None:
    reports = []
    for run in ("a", "b"):
        result = run_visio("plan", "dev", "--format", "json", "--out", str(tmp_path / run))
        assert result.returncode in (0, 1), result.stderr
        reports.append(result.stdout)
    assert reports[0] == reports[1]
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.yaml"))
    assert files
    for f in files:
        assert (tmp_path / "a" / f).read_text() == (tmp_path / "b" / f).read_text(), f
    cluster = _documents(tmp_path / "a" / "dev" / "cluster.yaml")
    assert cluster[0][0] == "Namespace"
    media = [kind for kind, _ in _documents(tmp_path / "a" / "dev" / "visio-media.yaml")]
    assert media.index("NetworkPolicy") < media.index("Deployment")


def test_resources_come_parents_first_then_by_urn_whatever_order_they_registered_in() -> None:
    plan = run_program("dev")
    shuffled = list(plan.resources)
    Random(7).shuffle(shuffled)
    assert in_order(shuffled) == plan.resources
    registered, seen = {r.urn for r in plan.resources}, set()
    for r in plan.resources:
        assert r.parent not in registered or r.parent in seen, r.urn
        seen.add(r.urn)
