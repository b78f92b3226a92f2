"""The offline plan of a stack: the real program under the SDK mock runtime, charts expanded with the
real Helm library, every object checked against the Kubernetes schema, then the policy engine."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from common.config import Stack, load_stack
from common.errors import InputError
from common.markers import REDACTED
from common.paths import display
from common.yamlsafe import load_one, read_text
from policies.engine.config import PolicyConfig
from policies.engine.evaluate import evaluate
from policies.engine.model import Resource, StackFacts
from policies.engine.report import Report
from policies.engine.stackconfig import from_stack
from policies.engine.stackfacts import stack_facts as decide
from visio.kube.order import apply_order
from visio.kube.schema import UnknownKind, problems
from visio.plan.mockrun import STACK_TYPE, Plan, PlannedResource, Secret, redact, run_program


@dataclass(frozen=True)
class StackPlan:
    stack: Stack
    plan: Plan
    # Desired Kubernetes objects as they would be applied, Secret values redacted.
    objects: list[dict[str, Any]]
    report: Report
    policy: PolicyConfig
    # What the engine judged (secrets and unknowns redacted), kept for the endpoint map of reports.
    judged: list[Resource]
    # Kinds no schema covers (custom resources): applied as is, not schema-checked.
    unchecked: list[str]

    @property
    def resources(self) -> list[PlannedResource]:
        return [r for r in self.plan.resources if r.type != STACK_TYPE]

    def counts(self) -> dict[str, int]:
        """Resources per component and kind, the preview-like summary."""
        components = {r.urn: r for r in self.plan.resources if r.type.startswith("visio:")}
        counted: Counter[str] = Counter()
        for r in self.resources:
            owner = _component_of(r, components, self.plan)
            kind = r.inputs.get("kind") if r.is_kubernetes_object else r.type
            counted[f"{owner} · {kind}"] += 1
        return dict(counted)


def _component_of(resource: PlannedResource, components: Mapping[str, PlannedResource], plan: Plan) -> str:
    parent = resource.chart or resource.parent
    seen = 0
    while parent and seen < 50:
        if parent in components:
            return components[parent].type
        try:
            parent = plan.by_urn(parent).parent
        except KeyError:
            break
        seen += 1
    return "stack"


def stack_facts(stack: Stack) -> StackFacts:
    """The stack's facts as the pack decides them (`policies.engine.stackfacts`), from the stack file as written."""
    doc = load_one(read_text(stack.path, max_bytes=1024 * 1024), display(stack.path))
    return decide(stack.name, doc if isinstance(doc, dict) else None, stack.config.production)


def reveal(value: Any) -> Any:
    """The value with every Pulumi secret unwrapped: what the engine sends to the provider."""
    if isinstance(value, Secret):
        return reveal(value.value)
    if isinstance(value, Mapping):
        return {k: reveal(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [reveal(v) for v in value]
    return value


# kubectl's order: the type first, then metadata, then the body (spec, data, ...) as declared.
_LEADING_KEYS = ("apiVersion", "kind", "metadata")


def redact_object(obj: Mapping[str, Any]) -> dict[str, Any]:
    """Pulumi secrets and every value of a Kubernetes Secret replaced, whatever marked them.

    A Secret's `data` and `stringData` keep their keys (reviewers see what the Secret holds, and the
    object stays valid) even when the whole mapping is a Pulumi secret.
    """
    out: dict[str, Any] = redact(dict(obj))
    if out.get("kind") == "Secret":
        for field in ("data", "stringData"):
            value = reveal(obj.get(field))
            if isinstance(value, Mapping):
                out[field] = dict.fromkeys(value, REDACTED)
    leading = {key: out[key] for key in _LEADING_KEYS if key in out}
    return {**leading, **{k: v for k, v in out.items() if k not in leading}}


def _schema_check(stack: Stack, plan: Plan) -> list[str]:
    version = stack.config.cluster.kubernetesVersion
    lines: list[str] = []
    unchecked: set[str] = set()
    for r in plan.kubernetes_objects():
        obj = reveal(r.inputs)
        try:
            found = problems(obj, version)
        except UnknownKind as exc:
            unchecked.add(str(exc))
            continue
        meta = obj.get("metadata") or {}
        namespace = f"{meta['namespace']}/" if meta.get("namespace") else ""
        where = f"{obj.get('kind')} {namespace}{meta.get('name')}"
        lines.extend(f"stack {stack.name}: {where}: {p} (Kubernetes {version} schema)" for p in found)
    if lines:
        raise InputError(*lines)
    return sorted(unchecked)


def plan_stack(name: str) -> StackPlan:
    stack = load_stack(name)
    policy = from_stack(stack)  # reads the exemptions file: bad input surfaces before the program runs
    plan = run_program(stack.name, stack_file=stack.path)
    unchecked = _schema_check(stack, plan)
    judged = plan.engine_resources()
    # An offline plan is a preview: a finding on a value unknown until update is advisory, naming it.
    report = evaluate(judged, policy, stack_facts(stack), preview=True)
    objects = sorted((redact_object(r.inputs) for r in plan.kubernetes_objects()), key=apply_order)
    return StackPlan(stack=stack, plan=plan, objects=objects, report=report, policy=policy, judged=judged,
                     unchecked=unchecked)
