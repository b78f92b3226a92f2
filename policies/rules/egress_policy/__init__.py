"""egress-policy: every namespace denies egress by default and no policy opens the way out of the EU.

Each namespace needs a NetworkPolicy selecting all pods (empty podSelector) with Egress among its
policyTypes and no egress rule. Allow rules must not open the Internet: 0.0.0.0/0 or ::/0 (an `except`
list does not close them), a rule without `to`, or a public block wider than /16 (IPv4) or /32 (IPv6),
which spans too many networks to belong to one country or operator; a block that is not a network
fails closed. Where a narrower public block is and who runs it is endpoint-sovereignty's judgement,
made once with the sovereignty data.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from policies.engine.model import Resource, ResourceRef, Violation
from policies.engine.podspec import list_at
from policies.engine.rule import Context, Rule

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# IPv6 prefixes that carry IPv4 addresses: a block there is as wide as its IPv4 part.
IPV4_CARRIERS = tuple(ipaddress.IPv6Network(n) for n in ("::ffff:0:0/96", "64:ff9b::/96"))

INTERNAL = tuple(
    ipaddress.ip_network(n)
    for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16",
              "127.0.0.0/8", "fc00::/7", "fe80::/10", "::1/128")
)


def _internal(net: Network) -> bool:
    return any(net.version == p.version and net.subnet_of(p) for p in INTERNAL)  # type: ignore[arg-type]


def _policy_types(spec: Mapping[str, Any]) -> list[Any]:
    types = spec.get("policyTypes")
    if isinstance(types, list):
        return types
    return ["Ingress", "Egress"] if spec.get("egress") else ["Ingress"]


def _selects_all(spec: Mapping[str, Any]) -> bool:
    selector = spec.get("podSelector")
    return isinstance(selector, Mapping) and not selector.get("matchLabels") and not selector.get(
        "matchExpressions")


def is_default_deny(resource: Resource) -> bool:
    spec = resource.body.get("spec")
    return (
        isinstance(spec, Mapping) and _selects_all(spec) and "Egress" in _policy_types(spec)
        and not spec.get("egress")
    )


def _cidr(path: str, cidr: Any) -> Iterator[Violation]:
    try:
        net = ipaddress.ip_network(str(cidr).strip(), strict=False)
    except ValueError:
        # A CNI may read a malformed block differently from us (or drop the rule): fail closed.
        yield Violation(path, f"ipBlock cidr {cidr!r} is not a network; what it allows cannot be judged",
                        {"cidr": str(cidr)})
        return
    if isinstance(net, ipaddress.IPv6Network) and any(net.subnet_of(c) for c in IPV4_CARRIERS):
        net = ipaddress.IPv4Network((int(net.network_address) & 0xFFFFFFFF, net.prefixlen - 96))
    if net.prefixlen == 0:
        yield Violation(path, f"egress to {net} opens the whole Internet (an except list does not close it)",
                        {"cidr": str(net)})
    elif net.prefixlen < (16 if net.version == 4 else 32) and not _internal(net):
        yield Violation(path, f"egress to {net} opens a large part of the Internet, too wide to belong to "
                        "one country or operator", {"cidr": str(net)})


def _egress_rules(resource: Resource) -> Iterator[Violation]:
    spec = resource.body.get("spec")
    if not isinstance(spec, Mapping) or "Egress" not in _policy_types(spec):
        return
    for i, rule in enumerate(list_at(spec, "egress", "spec")):
        path = f"spec.egress[{i}]"
        if not isinstance(rule, Mapping):
            continue
        peers = rule.get("to")
        if not peers:
            yield Violation(f"{path}.to", "egress rule without destinations allows every address, "
                            "the Internet included")
            continue
        for j, peer in enumerate(peers if isinstance(peers, list) else []):
            block = peer.get("ipBlock") if isinstance(peer, Mapping) else None
            if isinstance(block, Mapping):
                yield from _cidr(f"{path}.to[{j}].ipBlock.cidr", block.get("cidr"))


def check_stack(
    resources: Sequence[Resource], ctx: Context
) -> Iterator[tuple[ResourceRef | None, Violation]]:
    namespaces: set[str] = set()
    denied: set[str] = set()
    for r in resources:
        if r.kind == "Namespace":
            namespaces.add(r.name)
        elif r.namespace:
            namespaces.add(r.namespace)
        if r.kind == "NetworkPolicy":
            if r.namespace and is_default_deny(r):
                denied.add(r.namespace)
            for violation in _egress_rules(r):
                yield r.ref, violation
    for ns in sorted(namespaces - denied):
        yield ResourceRef("Namespace", ns), Violation(
            "metadata.name",
            f"namespace {ns} has no default-deny egress NetworkPolicy (empty podSelector, policyTypes "
            "[Egress], no egress rules)",
            {"namespace": ns},
        )


RULE = Rule(
    id="egress-policy",
    description="Every namespace denies egress by default; no egress rule reaches outside the EU",
    check_stack=check_stack,
    title="Default-deny egress",
    severity="high",
    help=(
        "Add a NetworkPolicy with an empty podSelector and policyTypes [Egress] to each namespace, and allow "
        "only the destinations the workload needs."
    ),
)
