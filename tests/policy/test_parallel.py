"""Large evaluations spread over forked children give the report one process gives, finding for finding."""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.estate import POLICY, generate
from common import workers
from common.errors import InputError
from common.yamlsafe import load_all, read_text
from policies.engine import evaluate as evaluation
from policies.engine.adapters import from_kubernetes
from policies.engine.catalog import RULE_ERROR
from policies.engine.config import PolicyConfig
from policies.engine.model import Resource, Violation
from policies.engine.rule import Context, Rule
from policies.rules import ALL_RULES

TODAY = dt.date(2026, 6, 1)


def test_shares_cover_the_range_in_order() -> None:
    for count in (1, 2, 7, 100):
        for parts in (1, 2, 3, 8, 200):
            got = workers.shares(count, parts)
            assert [i for r in got for i in r] == list(range(count))
            assert all(len(r) for r in got) and len(got) == min(parts, count)
            assert max(map(len, got)) - min(map(len, got)) <= 1


def test_balanced_cuts_by_weight_and_keeps_order() -> None:
    weights = [100, 1, 1, 1, 1, 100, 1, 1]
    got = workers.balanced(weights, 2)
    assert [i for r in got for i in r] == list(range(len(weights)))
    assert got == [range(0, 4), range(4, 8)]  # 103 and 103
    assert workers.balanced([5], 4) == [range(0, 1)]
    assert workers.balanced([0, 0, 0], 2) == [range(0, 2), range(2, 3)]


def test_fork_map_keeps_order_and_shares_the_work_with_children() -> None:
    here = os.getpid()
    ended: list[int] = []

    def task(i: int) -> tuple[int, bool]:
        time.sleep(0.2)  # long enough for the child to be busy when this process looks for more work
        return i, os.getpid() == here

    got = workers.fork_map(task, 6, 2, done=ended.append)
    assert [i for i, _ in got] == list(range(6))
    assert sorted(ended) == list(range(6))
    local = [i for i, mine in got if mine]
    assert local[0] == 0 and len(local) > 1, "this process takes back the tasks no child has started"
    assert len(local) < 6, "the child computed some of them"


def test_fork_map_raises_what_a_task_raises() -> None:
    def task(i: int) -> int:
        if i == 2:
            raise ValueError("share 2 is wrong")
        return i

    with pytest.raises(ValueError, match="share 2"):
        workers.fork_map(task, 3, 2)


def test_a_child_that_dies_leaves_no_result() -> None:
    here = os.getpid()

    def task(i: int) -> int:
        if os.getpid() != here:
            os._exit(9)
        return i

    with pytest.raises(workers.WorkerLost, match="died before answering"):
        workers.fork_map(task, 2, 2)


@pytest.mark.parametrize("value", ["0", "two", "-1", "1.5"])
def test_a_bad_process_count_is_refused(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("VISIO_JOBS", value)
    with pytest.raises(InputError, match="VISIO_JOBS"):
        workers.jobs()


def test_the_process_count_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VISIO_JOBS", "3")
    assert workers.jobs() == 3
    monkeypatch.delenv("VISIO_JOBS")
    assert workers.jobs() == len(os.sched_getaffinity(0))


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> list[Resource]:
    root = tmp_path_factory.mktemp("estate")
    generate(root, 600, seed=7)
    resources = []
    for path in sorted((root / "manifests").glob("*.yaml")):
        for i, doc in enumerate(load_all(read_text(path), path)):
            resources.append(from_kubernetes(doc, f"{path.name}#{i}"))
    return resources


def _crashes_on_every_seventh(resource: Resource, ctx: Context) -> Iterator[Violation]:
    if sum(map(ord, resource.name)) % 7 == 0:
        raise KeyError("planted crash")
    yield from ()


CRASHING = Rule(id="crashes-sometimes", description="raises on some resources", check=_crashes_on_every_seventh)


def _report(resources: list[Resource], config: PolicyConfig, jobs: str, monkeypatch: pytest.MonkeyPatch) -> object:
    monkeypatch.setenv("VISIO_JOBS", jobs)
    report = evaluation.evaluate(resources, config, rules=[*ALL_RULES, CRASHING], today=TODAY)
    return ([f.to_dict() for f in report.findings], [f.to_dict() for f in report.exempted])


def test_spread_evaluation_equals_one_process(estate: list[Resource], monkeypatch: pytest.MonkeyPatch) -> None:
    config = PolicyConfig.model_validate({**POLICY, "exemptions": [{
        "rule": "image-registry", "resource": {"kind": "Deployment"}, "justification": "mirror pending",
        "approver": "rssi@interieur.gouv.fr", "expiry": "2026-12-31",
    }]})
    monkeypatch.setattr(evaluation, "PARALLEL_MIN", 0)
    alone = _report(estate, config, "1", monkeypatch)
    findings, exempted = alone  # type: ignore[misc]
    # The comparison means something only if every kind of outcome is there to be reordered or lost.
    assert {f["rule"] for f in findings} >= {"image-registry", "image-digest", "endpoint-sovereignty", RULE_ERROR}
    assert exempted
    for jobs in ("2", "3"):
        assert _report(estate, config, jobs, monkeypatch) == alone


def test_small_evaluations_stay_in_one_process(estate: list[Resource], monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object) -> None:
        raise AssertionError("forked for a small evaluation")

    monkeypatch.setenv("VISIO_JOBS", "2")
    monkeypatch.setattr(evaluation, "fork_map", refuse)
    evaluation.evaluate(estate[:50], PolicyConfig.model_validate(POLICY), today=TODAY)


def test_the_audit_reads_a_large_tree_over_every_core(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from visio.audit import manifests

    generate(tmp_path, 700, seed=3)
    (tmp_path / "manifests" / "broken.yaml").write_text("kind: [\n", encoding="utf-8")
    (tmp_path / "manifests" / "part-00002.yaml").write_text(
        (tmp_path / "manifests" / "part-00002.yaml").read_text() + "---\napiVersion: v1\nkind: Service\nspec: 3\n")
    monkeypatch.setattr(manifests, "PARALLEL_BYTES", 0)
    seen: list[tuple[int, int]] = []
    real = manifests.fork_map

    def counting(task, count, processes, done=None):  # type: ignore[no-untyped-def]
        seen.append((count, processes))
        return real(task, count, processes, done)

    monkeypatch.setattr(manifests, "fork_map", counting)
    results = {}
    for jobs in ("1", "2", "3"):
        monkeypatch.setenv("VISIO_JOBS", jobs)
        collected = manifests.collect([tmp_path / "manifests"])
        results[jobs] = ([(r.source, r.kind, r.name, r.body) for r in collected.resources],
                         [(r.ref, r.path, r.message) for r in collected.refused])
    sizes = [p.stat().st_size for p in sorted((tmp_path / "manifests").glob("*.yaml"))]
    # Several shares a process, so that the parent can take back those no child has started.
    assert seen == [(len(manifests.balanced(sizes, manifests.SHARES_PER_PROCESS * j)), j) for j in (1, 2, 3)]
    assert all(count > 1 for count, _ in seen)
    assert len(results["1"][0]) == 700 and len(results["1"][1]) == 2
    assert results["2"] == results["1"] and results["3"] == results["1"]
