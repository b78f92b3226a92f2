"""node-region in CEL: node selectors, node affinity (required and preferred) and Node labels."""

from __future__ import annotations

from policies.engine.cel import POD_CARRIERS, CelCheck, CelValidation, literal, pod_spec_variables
from policies.engine.config import PolicyConfig
from policies.rules.node_region.labels import REGION_LABELS


def cel(config: PolicyConfig) -> CelCheck:
    allowed, labels = literal(sorted(config.allowedRegions)), literal(list(REGION_LABELS))
    # Only `In` names a destination region (NotIn, Exists and DoesNotExist do not).
    terms_ok = (f"x.key in {labels} && x.operator == 'In' ? x.?values.orValue([]).all(v, v in {allowed}) : true")
    selector = "variables.spec.?nodeSelector.orValue({})"
    affinity = "variables.spec.?affinity.?nodeAffinity"
    node_labels = "object.metadata.?labels.orValue({})"
    return CelCheck(
        kinds=(*POD_CARRIERS, "Node"),
        variables=(*pod_spec_variables()[:2],),
        validations=(
            CelValidation(
                f"object.kind == 'Node' || {labels}.all(l, !(l in {selector}) || {selector}[l] in {allowed})",
                f"'node-region: ' + variables.prefix + '.nodeSelector pins region ' + {labels}.filter(l, l in "
                f"{selector} && !({selector}[l] in {allowed})).map(l, {selector}[l]).join(', ')"
                f" + ', outside the allowed regions'",
            ),
            CelValidation(
                f"object.kind == 'Node' || "
                f"{affinity}.?requiredDuringSchedulingIgnoredDuringExecution.?nodeSelectorTerms.orValue([])"
                f".all(t, t.?matchExpressions.orValue([]).all(x, {terms_ok}))",
                "'node-region: ' + variables.prefix + '.affinity.nodeAffinity.requiredDuringScheduling"
                "IgnoredDuringExecution targets a region outside the allowed regions'",
            ),
            CelValidation(
                f"object.kind == 'Node' || {affinity}.?preferredDuringSchedulingIgnoredDuringExecution.orValue([])"
                f".all(p, p.?preference.?matchExpressions.orValue([]).all(x, {terms_ok}))",
                "'node-region: ' + variables.prefix + '.affinity.nodeAffinity.preferredDuringScheduling"
                "IgnoredDuringExecution targets a region outside the allowed regions'",
            ),
            CelValidation(
                f"object.kind != 'Node' || {labels}.all(l, !(l in {node_labels}) || {node_labels}[l] in {allowed})",
                f"'node-region: node is in region ' + {labels}.filter(l, l in {node_labels}).map(l, "
                f"{node_labels}[l]).join(', ') + ', outside the allowed regions'",
            ),
        ),
        complete=True,
    )
