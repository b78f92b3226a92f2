"""Judge an endpoint: internal, trusted, or where it runs and under which law.

Offline, a hostname is placed by the provider-domain table and an IP by the bundled GeoIP and AS data
mapped through the operator table (location is not jurisdiction: an AWS address in Paris answers to
American law). With a resolver, a hostname is followed through DNS and every CNAME target and address
counts; the worst of them decides.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import replace
from functools import lru_cache

from policies.sovereignty.canonical import Endpoint, EndpointSyntaxError, IPAddress, canonicalize
from policies.sovereignty.geo import ip_facts
from policies.sovereignty.resolve import Resolver, from_environment
from policies.sovereignty.tables import Operator, is_public_name, provider_domains, suffix_match, under
from policies.sovereignty.verdict import (
    PLACEMENT_RANK,
    Placement,
    Profile,
    Verdict,
    jurisdiction_rank,
    placement_of,
)

# Names that never leave the site even though their last label is delegated (RFC 8375).
INTERNAL_SUFFIXES = ("home.arpa",)


def _table_fact(host: str, entry: Operator) -> str:
    where = {"": "location not fixed by the name", "world": "global network"}.get(entry.location, entry.location)
    return f"{host} ({entry.name}, {entry.jurisdiction} law, {where})"


def judge_ip(ip: IPAddress) -> Verdict:
    # Reserved ranges (240/4, the local-use NAT64 prefix 64:ff9b:1::/48, ...) are not routed either.
    if not ip.is_global or ip.is_multicast or ip.is_reserved:
        return Verdict(str(ip), "internal", evidence=(f"{ip} (non-public address range)",))
    facts = ip_facts(str(ip))
    op = facts.operator
    placement = placement_of(facts.country)
    asn = f"AS{op.asn} " if op and op.asn else ""
    network = f"{asn}{facts.as_name}" if facts.as_name else "no AS data"
    who = f"{op.name}, {op.jurisdiction} law" if op else "operator not in the table"
    fact = f"{ip} ({network}: {who}; located {facts.country or 'unknown'})"
    unverified = None
    if op is None:
        unverified = f"AS {facts.as_name!r} not in the operator table" if facts.as_name else "no AS data"
    if facts.country is None:
        unverified = "no GeoIP data"
    return Verdict(
        str(ip), placement, facts.country, op.name if op else None, op.jurisdiction if op else None, (fact,), unverified
    )


def combine(host: str, parts: Iterable[Verdict], chain: tuple[str, ...], unverified: str | None) -> Verdict:
    """The worst placement and the worst jurisdiction among a name's CNAME targets and addresses."""
    items = list(parts)
    if unverified:
        items.append(Verdict(host, "unknown", unverified=unverified))
    placement: Placement = max((v.placement for v in items), key=PLACEMENT_RANK.__getitem__, default="unknown")
    # Private addresses in an answer say nothing about law; everything else does, unknown included.
    judged = [v for v in items if v.jurisdiction is not None or v.placement not in ("internal", "trusted")]
    ruling = max(judged, key=lambda v: jurisdiction_rank(v.jurisdiction), default=Verdict(host, "internal"))
    countries = {v.country for v in items if v.country}
    return Verdict(
        host,
        placement,
        countries.pop() if len(countries) == 1 else None,
        ruling.operator,
        ruling.jurisdiction,
        (host, *chain, *(e for v in items for e in v.evidence if e not in chain)),
        unverified or next((v.unverified for v in items if v.unverified), None),
    )


class Judge:
    """Judges endpoint strings for one profile; verdicts are cached per canonical host."""

    def __init__(self, profile: Profile, trusted_domains: Iterable[str] = (), resolver: Resolver | None = None):
        self.profile = profile
        self.resolver = resolver
        self.trusted = tuple(canonicalize(d.lstrip("*").lstrip(".")).host for d in trusted_domains if d.strip("*. "))
        self._cache: dict[str, Verdict] = {}

    def judge(self, raw: str) -> Verdict:
        """Raises EndpointSyntaxError when `raw` has no single unambiguous host."""
        endpoint = canonicalize(raw)
        verdict = self._cache.get(endpoint.host)
        if verdict is None:
            verdict = self._cache[endpoint.host] = self.judge_endpoint(endpoint)
        return replace(verdict, notes=endpoint.notes) if endpoint.notes else verdict

    def prefetch(self, raws: Iterable[str]) -> None:
        """Resolve at once every host among `raws` that judging will look up (with a resolver only)."""
        if self.resolver is None:
            return
        hosts: set[str] = set()
        for raw in raws:
            try:
                endpoint = canonicalize(raw)
            except EndpointSyntaxError:
                continue
            if endpoint.host not in self._cache and self._without_dns(endpoint) is None:
                hosts.add(endpoint.host)
        self.resolver.resolve_all(hosts)

    def _without_dns(self, endpoint: Endpoint) -> Verdict | None:
        """The verdict on an address, a cluster name or a trusted name; None for a name to look up."""
        if endpoint.ip is not None:
            return judge_ip(endpoint.ip)
        host = endpoint.host
        if "." not in host or not is_public_name(host) or any(under(host, s) for s in INTERNAL_SUFFIXES):
            return Verdict(host, "internal", evidence=(f"{host} (cluster or site-local name)",))
        if any(under(host, d) for d in self.trusted):
            return Verdict(host, "trusted", evidence=(f"{host} (under a trusted domain)",))
        return None

    def judge_endpoint(self, endpoint: Endpoint) -> Verdict:
        known = self._without_dns(endpoint)
        if known is not None:
            return known
        host = endpoint.host
        entry = suffix_match(host, provider_domains())
        if self.resolver is None:
            return self._offline(host, entry)
        return self._resolved(host, entry, self.resolver)

    @staticmethod
    def _offline(host: str, entry: Operator | None) -> Verdict:
        if entry is None:
            return Verdict(host, "unknown", evidence=(host,), unverified="name not in the provider table")
        placement = placement_of(entry.location)
        unverified = "location not fixed by the name" if placement == "unknown" else None
        country = entry.location if len(entry.location) == 2 and entry.location != "EU" else None
        fact = _table_fact(host, entry)
        return Verdict(host, placement, country, entry.name, entry.jurisdiction, (fact,), unverified)

    def _resolved(self, host: str, entry: Operator | None, resolver: Resolver) -> Verdict:
        found = resolver.resolve(host)
        parts: list[Verdict] = []
        chain: list[str] = []
        for name in (host, *found.cnames):
            target = suffix_match(name, provider_domains())
            label = f"CNAME {name}" if name != host else name
            if target is not None:
                # The name's operator counts for jurisdiction; the addresses decide the location.
                parts.append(Verdict(name, "internal", None, target.name, target.jurisdiction, ()))
                label = f"CNAME {_table_fact(name, target)}" if name != host else _table_fact(name, target)
            if name != host:
                chain.append(label)
        parts.extend(judge_ip(ipaddress.ip_address(a)) for a in found.addresses)
        verdict = combine(host, parts, tuple(chain), found.failure)
        if entry is not None and verdict.evidence and verdict.evidence[0] == host:
            verdict = replace(verdict, evidence=(_table_fact(host, entry), *verdict.evidence[1:]))
        return verdict


@lru_cache(maxsize=32)
def judge_for(profile: Profile, trusted_domains: tuple[str, ...], resolve: bool) -> Judge:
    """One shared judge per policy configuration, so its cache serves a whole evaluation."""
    return Judge(profile, trusted_domains, from_environment() if resolve else None)


__all__ = ["EndpointSyntaxError", "Judge", "Verdict", "judge_for", "judge_ip"]
