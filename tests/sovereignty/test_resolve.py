"""DNS follow-up against a real dnsmasq: CNAME chains, every A and AAAA answer, failures fail closed."""

from __future__ import annotations

import pytest

from policies.engine.adapters import from_kubernetes
from policies.engine.config import PolicyConfig
from policies.engine.rule import Context
from policies.rules.endpoint_sovereignty import check
from policies.sovereignty import Judge, judge_for
from policies.sovereignty.resolve import Resolver, from_environment


@pytest.fixture
def resolver(dnsmasq: tuple[str, int]) -> Resolver:
    host, port = dnsmasq
    return Resolver([host], port, timeout=2.0)


def test_cname_chain_and_addresses(resolver: Resolver) -> None:
    found = resolver.resolve("a.chain-visio.fr")
    assert found.failure is None
    assert found.cnames == ("b.chain-visio.fr", "d3.cloudfront.net")
    assert found.addresses == ("151.101.1.1",)


def test_a_and_aaaa_both_collected(resolver: Resolver) -> None:
    found = resolver.resolve("meet.ministere.gouv.fr")
    assert set(found.addresses) == {"51.210.0.1", "2001:41d0::1"} and found.failure is None


def test_aaaa_only(resolver: Resolver) -> None:
    found = resolver.resolve("v6only.visio-ovh.fr")
    assert found.addresses == ("2001:41d0::1",) and found.failure is None


def test_nxdomain(resolver: Resolver) -> None:
    found = resolver.resolve("api.nx-visio.fr")
    assert found.addresses == () and found.failure == "NXDOMAIN"


def test_timeout(silent_server: tuple[str, int]) -> None:
    host, port = silent_server
    found = Resolver([host], port, timeout=0.3).resolve("meet.ministere.gouv.fr")
    assert found.addresses == () and found.failure is not None and "no answer" in found.failure


JUDGED = [
    # host, placement, jurisdiction, acceptable under secnumcloud, under eu-residency, evidence fragment
    ("cdn.ministere.gouv.fr", "non-EU", "US", False, False, "CNAME d1.cloudfront.net"),
    ("static.visio-paris.fr", "FR", "US", False, True, "AS16509"),
    ("a.chain-visio.fr", "non-EU", "US", False, False, "CNAME b.chain-visio.fr → CNAME d3.cloudfront.net"),
    ("meet.ministere.gouv.fr", "FR", "FR", True, True, "2001:41d0::1"),
    ("plain.visio-ovh.fr", "FR", "FR", True, True, "OVHcloud"),
    ("mixed.visio-ovh.fr", "FR", "US", False, True, "2a05:d012::1"),
    ("v6only.visio-ovh.fr", "FR", "FR", True, True, "2001:41d0::1"),
    ("vpn.visio-ovh.fr", "internal", None, True, True, "10.20.30.40"),
    ("api.nx-visio.fr", "unknown", None, False, True, "NXDOMAIN"),
]


@pytest.mark.parametrize(("host", "placement", "jurisdiction", "strict_ok", "residency_ok", "fragment"), JUDGED)
def test_resolved_verdicts(
    resolver: Resolver, host: str, placement: str, jurisdiction: str | None, strict_ok: bool,
    residency_ok: bool, fragment: str,
) -> None:
    verdict = Judge("secnumcloud", resolver=resolver).judge(f"https://{host}/")
    assert (verdict.placement, verdict.jurisdiction) == (placement, jurisdiction), verdict.describe()
    assert verdict.acceptable("secnumcloud") is strict_ok
    assert verdict.acceptable("eu-residency") is residency_ok
    assert fragment in verdict.describe()


def test_cdn_evidence_chain(resolver: Resolver) -> None:
    verdict = Judge("secnumcloud", resolver=resolver).judge("https://cdn.ministere.gouv.fr/")
    chain = verdict.explain()
    assert chain.startswith("cdn.ministere.gouv.fr (French State")
    assert "CNAME d1.cloudfront.net (Amazon CloudFront, US law" in chain
    assert "13.32.1.1 (AS16509 AMAZON-02: Amazon, US law; located US)" in chain


def test_timeout_fails_closed(silent_server: tuple[str, int]) -> None:
    host, port = silent_server
    verdict = Judge("secnumcloud", resolver=Resolver([host], port, timeout=0.3)).judge("https://meet.ministere.gouv.fr")
    assert verdict.placement == "unknown" and not verdict.acceptable("secnumcloud")
    assert verdict.unverified and "no answer" in verdict.unverified


class CountingResolver(Resolver):
    calls = 0

    def resolve(self, host: str):  # type: ignore[no-untyped-def]
        CountingResolver.calls += 1
        return super().resolve(host)


def test_lookups_are_cached_and_trusted_names_skipped(dnsmasq: tuple[str, int]) -> None:
    counting = CountingResolver([dnsmasq[0]], dnsmasq[1], timeout=2.0)
    judge = Judge("secnumcloud", ["ministere.gouv.fr"], resolver=counting)
    assert judge.judge("https://cdn.ministere.gouv.fr").placement == "trusted"
    assert CountingResolver.calls == 0
    for _ in range(3):
        judge.judge("https://plain.visio-ovh.fr/x")
    judge.judge("plain.visio-ovh.fr:443")
    assert CountingResolver.calls == 1


def test_rule_resolves_through_the_environment(dnsmasq: tuple[str, int], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VISIO_DNS_SERVER", f"{dnsmasq[0]}:{dnsmasq[1]}")
    judge_for.cache_clear()
    pod = from_kubernetes({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "visio"},
        "spec": {"containers": [{"name": "c", "image": "x", "env": [
            {"name": "CDN", "value": "https://cdn.ministere.gouv.fr/app.js"},
            {"name": "MEET", "value": "https://meet.ministere.gouv.fr"},
        ]}]},
    })
    try:
        offline = list(check(pod, Context(PolicyConfig(profile="secnumcloud"))))
        resolved = list(check(pod, Context(PolicyConfig(profile="secnumcloud", resolve=True))))
    finally:
        judge_for.cache_clear()
    assert offline == []  # the table alone trusts gouv.fr names
    assert [v.path for v in resolved] == ["spec.containers[0].env[0].value"]
    assert resolved[0].evidence["jurisdiction"] == "US"
    assert "d1.cloudfront.net" in resolved[0].evidence["chain"]


def test_resolver_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VISIO_DNS_SERVER", "[::1]:5353")
    monkeypatch.setenv("VISIO_DNS_TIMEOUT", "0.5")
    found = from_environment()
    assert (found.nameservers, found.port, found.timeout) == (["::1"], 5353, 0.5)
    monkeypatch.setenv("VISIO_DNS_SERVER", "127.0.0.1")
    assert (from_environment().nameservers, from_environment().port) == (["127.0.0.1"], 53)


def test_name_the_server_cannot_answer_is_unverifiable(resolver: Resolver) -> None:
    found = resolver.resolve("nobody-knows.visio-ovh.fr")
    assert found.addresses == () and found.failure
    verdict = Judge("secnumcloud", resolver=resolver).judge("https://nobody-knows.visio-ovh.fr")
    assert verdict.placement == "unknown" and not verdict.acceptable("secnumcloud")
