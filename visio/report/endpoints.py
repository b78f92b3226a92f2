"""Where a target's endpoints live, for the security officer's map in reports.

The same field walk and the same judge as the `endpoint-sovereignty` rule: the map and the findings
can never disagree about an endpoint.
"""

from __future__ import annotations

from collections.abc import Sequence

from common.redact import redact
from policies.engine.config import PolicyConfig
from policies.engine.model import Resource
from policies.rules.endpoint_sovereignty.fields import endpoint_fields
from policies.sovereignty import EndpointSyntaxError, judge_for
from visio.report.target import EndpointPlacement


def placements(resources: Sequence[Resource], config: PolicyConfig) -> list[EndpointPlacement]:
    judge = judge_for(config.profile, tuple(config.trustedDomains), config.resolve)
    found: dict[tuple[str, str], EndpointPlacement] = {}
    for resource in resources:
        where = str(resource.ref)
        for _path, hits in endpoint_fields(resource):
            for hit in hits:
                if hit.problem:
                    continue
                try:
                    verdict = judge.judge(hit.raw)
                except EndpointSyntaxError:
                    shown = redact(hit.raw)
                    found.setdefault((hit.raw, where), EndpointPlacement(
                        shown, shown, "unknown", None, None, None, where))
                    continue
                found.setdefault((verdict.endpoint, where), EndpointPlacement(
                    value=redact(hit.raw), host=verdict.endpoint, placement=verdict.placement, country=verdict.country,
                    operator=verdict.operator, jurisdiction=verdict.jurisdiction, resource=where,
                ))
    return sorted(found.values(), key=lambda e: (e.placement, e.host, e.resource))
