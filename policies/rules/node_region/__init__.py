"""node-region: workloads are not steered to, and nodes are not in, a region the stack does not allow.

Looks at nodeSelector and node affinity (required and preferred) on the region labels of every pod
spec, and at the region label of Node objects read from a live cluster.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from policies.engine.model import Resource, Violation
from policies.engine.podspec import key_path, list_at, mapping_at, pod_specs
from policies.engine.rule import Context, Rule
from policies.rules.node_region.cel import cel
from policies.rules.node_region.labels import REGION_LABELS


def _outside(region: Any, allowed: frozenset[str]) -> bool:
    return not isinstance(region, str) or region not in allowed


def _expressions(terms: list[Any], path: str, allowed: frozenset[str]) -> Iterator[Violation]:
    for i, term in enumerate(terms):
        if not isinstance(term, Mapping):
            continue
        term_path = f"{path}[{i}]"
        # Preferred terms wrap the selector term in `preference`.
        selector = term.get("preference", term)
        if not isinstance(selector, Mapping):
            continue
        inner = f"{term_path}.preference" if "preference" in term else term_path
        for j, expr in enumerate(list_at(selector, "matchExpressions", inner)):
            if not isinstance(expr, Mapping) or expr.get("key") not in REGION_LABELS:
                continue
            if expr.get("operator") != "In":
                continue  # NotIn/Exists/DoesNotExist do not name a destination region
            values = expr.get("values")
            for k, value in enumerate(values if isinstance(values, list) else []):
                if _outside(value, allowed):
                    yield Violation(
                        f"{inner}.matchExpressions[{j}].values[{k}]",
                        f"node affinity targets region {value!r}, outside the allowed regions",
                        {"region": str(value), "label": str(expr["key"])},
                    )


def _pod_spec(prefix: str, spec: Mapping[str, Any], allowed: frozenset[str]) -> Iterator[Violation]:
    selector = spec.get("nodeSelector")
    if isinstance(selector, Mapping):
        for label in REGION_LABELS:
            if label in selector and _outside(selector[label], allowed):
                yield Violation(
                    key_path(f"{prefix}.nodeSelector", label),
                    f"nodeSelector pins region {selector[label]!r}, outside the allowed regions",
                    {"region": str(selector[label]), "label": label},
                )
    affinity = mapping_at(spec, ("affinity", "nodeAffinity"))
    if affinity is None:
        return
    base = f"{prefix}.affinity.nodeAffinity"
    required = affinity.get("requiredDuringSchedulingIgnoredDuringExecution")
    if isinstance(required, Mapping):
        path = f"{base}.requiredDuringSchedulingIgnoredDuringExecution"
        yield from _expressions(list_at(required, "nodeSelectorTerms", path), f"{path}.nodeSelectorTerms",
                                allowed)
    path = f"{base}.preferredDuringSchedulingIgnoredDuringExecution"
    yield from _expressions(list_at(affinity, "preferredDuringSchedulingIgnoredDuringExecution", base), path,
                            allowed)


def check(resource: Resource, ctx: Context) -> Iterator[Violation]:
    allowed = frozenset(ctx.config.allowedRegions)
    if resource.kind == "Node":
        labels = mapping_at(resource.body, ("metadata", "labels")) or {}
        for label in REGION_LABELS:
            if label in labels and _outside(labels[label], allowed):
                yield Violation(
                    key_path("metadata.labels", label),
                    f"node is in region {labels[label]!r}, outside the allowed regions",
                    {"region": str(labels[label]), "label": label},
                )
        return
    for prefix, spec in pod_specs(resource):
        yield from _pod_spec(prefix, spec, allowed)


RULE = Rule(
    id="node-region",
    cel=cel,
    description="Pods are scheduled, and nodes run, only in allowed regions",
    check=check,
    title="Node region",
    severity="high",
    help="Select only nodes in an allowed region, or label the nodes with an allowed region.",
)
