"""endpoint-sovereignty: every endpoint written in the configuration stays in the EU, under EU law.

Endpoints are read from container env/args, ConfigMap and Secret data (embedded YAML/JSON/INI/.env
documents included, Secret data decoded), Service external names and IPs, Endpoints and EndpointSlices,
Ingress annotations, webhook client URLs, ACME servers, NetworkPolicy ipBlocks and the Kubernetes
provider's API server. Each is canonicalized and judged by `policies.sovereignty`; an endpoint that
cannot be read, or (secnumcloud) cannot be placed, is a violation: the rule fails closed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from policies.engine.model import Resource, Violation
from policies.engine.rule import Context, Rule
from policies.rules.endpoint_sovereignty.fields import endpoint_fields
from policies.sovereignty import EndpointSyntaxError, Verdict, judge_for

RULE_ID = "endpoint-sovereignty"


def _evidence(raw: str, where: str, verdict: Verdict) -> dict[str, str]:
    evidence = {
        "value": raw,
        "endpoint": verdict.endpoint,
        "placement": verdict.placement,
        "country": verdict.country or "unknown",
        "operator": verdict.operator or "unknown",
        "jurisdiction": verdict.jurisdiction or "unknown",
        "chain": verdict.explain(),
    }
    if where:
        evidence["location"] = where
    if verdict.unverified:
        evidence["unverified"] = verdict.unverified
    if verdict.notes:
        evidence["canonicalization"] = "; ".join(verdict.notes)
    return evidence


def prepare(resources: Sequence[Resource], ctx: Context) -> None:
    """With DNS on, every hostname of the evaluation is resolved at once, under one deadline."""
    config = ctx.config
    if not config.resolve:
        return
    judge = judge_for(config.profile, tuple(config.trustedDomains), config.resolve)
    judge.prefetch(hit.raw for r in resources for _path, hits in endpoint_fields(r) for hit in hits if not hit.problem)


def check(resource: Resource, ctx: Context) -> Iterator[Violation]:
    config = ctx.config
    judge = judge_for(config.profile, tuple(config.trustedDomains), config.resolve)
    for path, hits in endpoint_fields(resource):
        if not hits:
            continue
        seen: set[str] = set()
        for hit in hits:
            at = f" ({hit.where})" if hit.where else ""
            if hit.problem:
                yield Violation(path, f"cannot inspect{at}: {hit.problem}", {"location": hit.where})
                continue
            try:
                verdict = judge.judge(hit.raw)
            except EndpointSyntaxError as exc:
                yield Violation(path, f"unreadable endpoint{at}: {exc}", {"value": hit.raw, "location": hit.where})
                continue
            if verdict.endpoint in seen or verdict.acceptable(config.profile):
                continue
            seen.add(verdict.endpoint)
            yield Violation(
                path,
                f"endpoint {hit.raw!r}{at} is not acceptable under {config.profile}: {verdict.describe()}",
                _evidence(hit.raw, hit.where, verdict),
            )


RULE = Rule(
    judges=("kubernetes", "pulumi"),  # the Kubernetes provider's API server too
    id=RULE_ID,
    description="Endpoints named in the configuration are located in the EU/EEA and, under secnumcloud, "
    "operated by companies under EU/EEA law",
    check=check,
    prepare=prepare,
    enforcement=lambda _ctx: "mandatory",
    title="Endpoint sovereignty",
    severity="critical",
    help=(
        "Point the value at a service located in the EU/EEA and, under secnumcloud, operated under EU/EEA law "
        "(a self-hosted or sovereign provider)."
    ),
)
