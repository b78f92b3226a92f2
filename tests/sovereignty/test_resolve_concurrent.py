"""Names are looked up concurrently, the whole under one deadline: a file naming many hosts whose
servers never answer costs the deadline, not the per-query timeout once per name."""

from __future__ import annotations

import threading
import time

import pytest

from policies.engine.adapters import from_kubernetes
from policies.engine.config import PolicyConfig
from policies.engine.evaluate import evaluate
from policies.rules.endpoint_sovereignty import RULE
from policies.sovereignty import place
from policies.sovereignty.resolve import Resolver

HOSTS = [f"h{i}.example.fr" for i in range(6)]


class Together(Resolver):
    """Answers only once every host is being looked up at the same time (a barrier no sequence of
    lookups can pass), and never answers for `silent`."""

    def __init__(self, silent: frozenset[str] = frozenset(), **kwargs: float) -> None:
        super().__init__(["192.0.2.1"], **kwargs)
        self.barrier = threading.Barrier(len(HOSTS) - len(silent), timeout=10)
        self.silent = silent
        self.asked: list[str] = []

    def _query(self, name: str, rdtype: str, until: float | None) -> tuple[list[str], list[str], str | None]:
        self.asked.append(name)
        if name in self.silent:
            time.sleep(max(0.0, (until or time.monotonic()) - time.monotonic()))  # a server that never answers
            return [], [], f"no answer within {self.timeout:g} s"
        if rdtype == "A":
            self.barrier.wait()
            return [], ["51.15.0.1"], None
        return [], [], None


def test_hosts_are_resolved_concurrently() -> None:
    resolver = Together(deadline=30)
    resolver.resolve_all(HOSTS)
    for host in HOSTS:
        assert resolver.resolve(host).addresses == ("51.15.0.1",), host
    assert sorted(set(resolver.asked)) == sorted(HOSTS)


def test_an_overall_deadline_bounds_every_lookup() -> None:
    resolver = Together(silent=frozenset(HOSTS[:2]), deadline=0.5, timeout=2.0)
    resolver.resolve_all(HOSTS)
    for host in HOSTS[:2]:
        found = resolver.resolve(host)
        assert found.addresses == () and found.failure is not None and "no answer" in found.failure
    assert all(resolver.resolve(h).addresses for h in HOSTS[2:])


def test_the_endpoint_rule_looks_every_host_up_before_judging(monkeypatch: pytest.MonkeyPatch) -> None:
    resolver = Together(deadline=30)
    config = PolicyConfig(profile="eu-residency", resolve=True)
    judge = place.Judge(config.profile, (), resolver)
    monkeypatch.setattr("policies.rules.endpoint_sovereignty.judge_for", lambda *_args: judge)
    resources = [from_kubernetes({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{i}"},
                                  "data": {"url": f"https://{host}/api"}}) for i, host in enumerate(HOSTS)]
    report = evaluate(resources, config, rules=[RULE])
    assert [f.message for f in report.findings] == []
