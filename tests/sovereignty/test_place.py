"""Placement, operator and jurisdiction from the offline tables and the bundled GeoIP/AS data."""

from __future__ import annotations

import ipaddress
from dataclasses import replace

import pytest

from policies.sovereignty import Judge
from policies.sovereignty.geo import ip_facts
from policies.sovereignty.place import judge_ip
from policies.sovereignty.tables import EU_EEA, network_operators, provider_domains

# Real addresses and what the bundled data says about them.
KNOWN_IPS = [
    # AWS eu-west-3 (Paris): located in France, American operator
    ("13.36.0.1", "FR", "Amazon", "US", "FR"),
    ("15.236.0.1", "FR", "Amazon", "US", "FR"),
    ("2a05:d012::1", "FR", "Amazon", "US", "FR"),
    ("20.74.0.1", "FR", "Microsoft", "US", "FR"),  # Azure France Central
    ("51.210.0.1", "FR", "OVHcloud", "FR", "FR"),
    ("2001:41d0::1", "FR", "OVHcloud", "FR", "FR"),
    ("51.15.0.1", "FR", "Scaleway", "FR", "FR"),
    ("163.172.0.1", "FR", "Scaleway", "FR", "FR"),
    ("171.33.64.1", "FR", "3DS Outscale", "FR", "FR"),
    ("193.51.224.1", "FR", "RENATER", "FR", "FR"),
    ("90.0.0.1", "FR", "Orange", "FR", "FR"),
    ("2a01:4f8::1", "DE", "Hetzner", "DE", "EU"),
    ("8.8.8.8", "US", "Google", "US", "non-EU"),
    ("1.1.1.1", "AU", "Cloudflare", "US", "non-EU"),
    ("151.101.1.1", "US", "Fastly", "US", "non-EU"),
]


@pytest.mark.parametrize(("ip", "country", "operator", "jurisdiction", "placement"), KNOWN_IPS)
def test_known_ip(ip: str, country: str, operator: str, jurisdiction: str, placement: str) -> None:
    verdict = judge_ip(ipaddress.ip_address(ip))
    assert (verdict.country, verdict.operator, verdict.jurisdiction, verdict.placement) == (
        country, operator, jurisdiction, placement,
    )


def test_aws_paris_is_located_in_france_but_under_us_law() -> None:
    verdict = judge_ip(ipaddress.ip_address("13.36.0.1"))
    assert verdict.acceptable("eu-residency")
    assert not verdict.acceptable("secnumcloud")
    assert "AS16509" in verdict.explain() and "US law" in verdict.explain()


@pytest.mark.parametrize(
    "ip", ["10.1.2.3", "172.16.0.1", "192.168.1.1", "127.0.0.1", "169.254.169.254", "100.64.0.1", "fd00::1",
           "fe80::1", "::1", "0.0.0.0", "224.0.0.251", "192.0.2.10", "240.0.0.1", "64:ff9b:1::1"],
)
def test_non_public_addresses_are_internal(ip: str) -> None:
    assert judge_ip(ipaddress.ip_address(ip)).placement == "internal"


def test_unknown_operator_is_not_acceptable_in_secnumcloud() -> None:
    facts = ip_facts("185.120.1.1")
    assert facts.as_name and facts.operator is None
    verdict = judge_ip(ipaddress.ip_address("185.120.1.1"))
    assert verdict.jurisdiction is None and verdict.unverified
    assert not verdict.acceptable("secnumcloud")


JUDGED = [
    # raw, placement, jurisdiction, acceptable under secnumcloud, under eu-residency
    ("redis:6379", "internal", None, True, True),
    ("x.ns.svc.cluster.local", "internal", None, True, True),
    ("postgres.visio-data.svc", "internal", None, True, True),
    ("printer.local", "internal", None, True, True),
    ("nas.home.arpa", "internal", None, True, True),
    ("http://[::ffff:169.254.169.254]/", "internal", None, True, True),
    ("https://meet.visio.example.fr/", "trusted", None, True, True),
    ("https://visio.example.fr", "trusted", None, True, True),
    ("https://evilvisio.example.fr/", "unknown", None, False, True),
    ("https://visio.example.fr.evil.com/", "unknown", None, False, True),
    ("https://visio.example.fr@evil.com/", "unknown", None, False, True),
    ("https://auth.proconnect.gouv.fr", "FR", "FR", True, True),
    ("https://gouv.fr.evil.com", "unknown", None, False, True),
    ("https://s3.gra.io.cloud.ovh.net", "FR", "FR", True, True),
    ("https://s3.nl-ams.scw.cloud", "EU", "FR", True, True),
    ("https://api.ovh.com", "unknown", "FR", False, True),
    ("https://s3.eu-west-3.amazonaws.com", "FR", "US", False, True),
    ("https://bucket.s3.amazonaws.com", "non-EU", "US", False, False),
    ("https://notamazonaws.com", "unknown", None, False, True),
    ("https://eu.i.posthog.com", "EU", "US", False, True),
    ("https://app.posthog.com", "non-EU", "US", False, False),
    ("https://api.openai.com/v1", "non-EU", "US", False, False),
    ("stun:stun.l.google.com:19302", "non-EU", "US", False, False),
    ("https://client.crisp.chat", "unknown", "FR", False, True),
    ("https://acme-v02.api.letsencrypt.org/directory", "non-EU", "US", False, False),
    ("quay.io:443", "non-EU", "US", False, False),
    ("http://3232235777/", "internal", None, True, True),
    ("http://220463105/", "FR", "US", False, True),
]


@pytest.mark.parametrize(("raw", "placement", "jurisdiction", "strict_ok", "residency_ok"), JUDGED)
def test_verdicts(raw: str, placement: str, jurisdiction: str | None, strict_ok: bool, residency_ok: bool) -> None:
    judge = Judge("secnumcloud", ["visio.example.fr"])
    verdict = judge.judge(raw)
    assert (verdict.placement, verdict.jurisdiction) == (placement, jurisdiction), verdict.describe()
    assert verdict.acceptable("secnumcloud") is strict_ok
    assert verdict.acceptable("eu-residency") is residency_ok


def test_eu_residency_accepts_unknown_with_a_caveat() -> None:
    verdict = Judge("eu-residency").judge("https://partner.example.org")
    assert verdict.acceptable("eu-residency")
    caveat = verdict.caveat("eu-residency")
    assert caveat and "not verified" in caveat
    assert verdict.caveat("secnumcloud") is None


def test_trusted_domains_are_canonicalized() -> None:
    judge = Judge("secnumcloud", ["*.Visio.Example.FR.", "b\u00fccher.de"])
    assert judge.judge("https://meet.visio.example.fr").placement == "trusted"
    assert judge.judge("https://xn--bcher-kva.de").placement == "trusted"


def test_verdicts_are_cached_per_canonical_host() -> None:
    judge = Judge("secnumcloud")
    first = judge.judge("https://api.openai.com/v1")
    again = judge.judge("HTTPS://API.OPENAI.COM./other")
    assert replace(again, notes=()) == first and again.notes == ("trailing dot removed",)
    assert judge.judge("https://x@api.openai.com/").notes  # notes belong to the spelling, not the cache


def test_operator_table_names_exist_in_the_geoip_data() -> None:
    import geoip2fast.geoip2fast as data

    ip_facts("8.8.8.8")  # loads the database
    names = set(data.mainListNamesASN)
    missing = [name for name in network_operators() if name not in names]
    assert not missing, f"AS names the bundled data does not know: {missing}"


def test_tables_are_well_formed() -> None:
    for name, op in network_operators().items():
        assert len(op.jurisdiction) == 2 and op.jurisdiction.isupper(), name
        assert op.asn == "" or op.asn.isdigit(), name
    for suffix, op in provider_domains().items():
        assert suffix == suffix.lower().strip(".") and "." in suffix, suffix
        assert len(op.jurisdiction) == 2, suffix
        assert op.location in ("", "EU", "world") or len(op.location) == 2, suffix
    assert "FR" in EU_EEA and "CH" not in EU_EEA and "GB" not in EU_EEA
