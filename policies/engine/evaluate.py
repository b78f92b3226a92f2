"""Run the rules over a set of resources and a stack: the one entry point every front end calls."""

from __future__ import annotations

import datetime as dt
import gc
from collections.abc import Callable, Iterable, Sequence

from common.redact import redact
from common.workers import fork_map, jobs, shares
from policies.engine.adapters import reads_of
from policies.engine.catalog import ENGINE_RULES, EXEMPTION_EXPIRED, RULE_ERROR, UNUSABLE_INPUT
from policies.engine.config import PolicyConfig
from policies.engine.exemptions import Exemptions
from policies.engine.model import Enforcement, Refused, Resource, ResourceRef, StackFacts, Violation
from policies.engine.podspec import forget_containers
from policies.engine.report import Finding, Report
from policies.engine.rule import Context, ResourceCheck, Rule
from policies.engine.unknowns import Watch, settle


def _error_text(rule: Rule, exc: BaseException) -> str:
    detail = str(exc).splitlines()[0][:300] if str(exc) else ""
    what = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
    return f"rule {rule.id} could not evaluate this resource ({what}); failing closed"


def _stack_ref(stack: StackFacts | None) -> ResourceRef:
    return ResourceRef("Stack", stack.name if stack else "(unknown)")


def enforcement_of(rule: Rule, ctx: Context) -> Enforcement | None:
    level = ctx.config.enforcement.get(rule.id)
    if level == "disabled":
        return None
    if level is not None:
        return level
    return rule.enforcement(ctx)


class _Collector:
    def __init__(self, exemptions: Exemptions) -> None:
        self.exemptions = exemptions
        self.findings: list[Finding] = []
        self.exempted: list[Finding] = []

    def add(
        self,
        rule: str,
        level: Enforcement,
        ref: ResourceRef,
        violation: Violation,
        resource: Resource | None = None,
    ) -> None:
        exemption = None
        if rule not in ENGINE_RULES:
            exemption = self.exemptions.find(rule, ref, violation.path)
        finding = Finding(
            rule=rule,
            enforcement=level,
            resource=ref,
            path=violation.path,
            message=redact(violation.message),
            evidence={k: redact(v) if isinstance(v, str) else v for k, v in violation.evidence.items()},
            source=resource.source if resource else None,
            urn=resource.urn if resource else None,
            exempted_by=exemption,
            origin=resource.origin if resource else None,
        )
        (self.exempted if exemption else self.findings).append(finding)

    def refused(self, item: Refused) -> None:
        finding = Finding(
            rule=UNUSABLE_INPUT,
            enforcement="mandatory",
            resource=item.ref,
            path=item.path,
            message=item.message,
            source=str(item.origin) if item.origin else None,
            origin=item.origin,
        )
        self.findings.append(finding)

    def rule_error(self, rule: Rule, ref: ResourceRef, exc: Exception, resource: Resource | None) -> None:
        evidence = {"rule": rule.id, "error": type(exc).__name__}
        self.add(RULE_ERROR, "mandatory", ref, Violation("", _error_text(rule, exc), evidence), resource)


class _Recorder(_Collector):
    """What a forked child found, by resource index, for the parent's collector to add in order."""

    def __init__(self, resources: Sequence[Resource], offset: int) -> None:
        super().__init__(Exemptions((), dt.date.min))
        self.index = {id(r): offset + i for i, r in enumerate(resources)}
        self.records: list[tuple[str, Enforcement, ResourceRef, Violation, int | None]] = []

    def add(
        self, rule: str, level: Enforcement, ref: ResourceRef, violation: Violation, resource: Resource | None = None
    ) -> None:
        self.records.append((rule, level, ref, violation, None if resource is None else self.index[id(resource)]))


# Below this many resources, forking children costs more than the work it spreads.
PARALLEL_MIN = 2000
SHARES_PER_PROCESS = 8


def _resource_rules(
    rules: Sequence[tuple[Rule, Enforcement]],
    resources: Sequence[Resource],
    ctx: Context,
    out: _Collector,
    preview: bool,
    advance: Callable[[int], None] | None,
) -> None:
    """Every per-resource check; over every core for a large evaluation, with the same findings in
    the same order as in one process (each share's findings are added in resource order)."""
    if len(resources) < PARALLEL_MIN:
        _run_resource_rules(rules, resources, ctx, out, preview)
        if advance is not None:
            advance(len(resources))
        return
    processes = jobs()
    # Several shares a process: the parent takes back the ones no child has started, so a slow
    # share does not leave a core idle, and progress moves in steps a person can follow.
    parts = shares(len(resources), SHARES_PER_PROCESS * processes)

    def judge(part: int) -> list[tuple[str, Enforcement, ResourceRef, Violation, int | None]]:
        share = resources[parts[part].start:parts[part].stop]
        recorder = _Recorder(share, parts[part].start)
        _run_resource_rules(rules, share, ctx, recorder, preview)
        return recorder.records

    def done(part: int) -> None:
        if advance is not None:
            advance(len(parts[part]))

    for records in fork_map(judge, len(parts), processes, done):
        for rule, level, ref, violation, index in records:
            out.add(rule, level, ref, violation, None if index is None else resources[index])


def _run_resource_rules(
    rules: Iterable[tuple[Rule, Enforcement]],
    resources: Sequence[Resource],
    ctx: Context,
    out: _Collector,
    preview: bool,
) -> None:
    checks: list[tuple[str, ResourceCheck, Rule, Enforcement]] = [
        (rule.id, rule.check, rule, level) for rule, level in rules if rule.check is not None]
    for resource in resources:
        if reads_of(resource) is None:
            _plain_rules(checks, resource, ctx, out)
            continue
        for rule_id, check, rule, level in checks:
            watch = Watch.start(resource)
            try:
                violations = list(check(resource, ctx))
                if not all(isinstance(v, Violation) for v in violations):
                    raise TypeError("the rule returned something other than violations")
            except Exception as exc:  # fail closed: a crashing rule is a mandatory finding
                watch.stop()
                out.rule_error(rule, resource.ref, exc, resource)
                continue
            read = watch.stop()
            if violations or read:
                ref = resource.ref
                for found_level, v in settle(violations, level, watch.unknown, read, preview):
                    out.add(rule_id, found_level, ref, v, resource)


def _plain_rules(
    checks: Sequence[tuple[str, ResourceCheck, Rule, Enforcement]], resource: Resource, ctx: Context, out: _Collector
) -> None:
    """The rules over a resource that holds no unknown value (every resource but a preview's)."""
    for rule_id, check, rule, level in checks:
        try:
            violations = list(check(resource, ctx))
            if not all(isinstance(v, Violation) for v in violations):
                raise TypeError("the rule returned something other than violations")
        except Exception as exc:  # fail closed: a crashing rule is a mandatory finding
            out.rule_error(rule, resource.ref, exc, resource)
            continue
        if violations:
            ref = resource.ref
            for v in violations:
                out.add(rule_id, level, ref, v, resource)


def _run_stack_rules(
    rules: Iterable[tuple[Rule, Enforcement]],
    resources: Sequence[Resource],
    ctx: Context,
    out: _Collector,
    preview: bool,
) -> None:
    by_ref: dict[ResourceRef, Resource] = {}
    for r in resources:
        by_ref.setdefault(r.ref, r)
    for rule, level in rules:
        if rule.check_stack is None:
            continue
        watches = [Watch.start(r) for r in resources if reads_of(r) is not None]
        try:
            results = list(rule.check_stack(resources, ctx))
            if not all(isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], Violation)
                       for item in results):
                raise TypeError("the rule returned something other than (resource, violation) pairs")
        except Exception as exc:
            for w in watches:
                w.stop()
            out.rule_error(rule, _stack_ref(ctx.stack), exc, None)
            continue
        read = {id(w.resource): (w, w.stop()) for w in watches}
        grouped: dict[ResourceRef, list[Violation]] = {}
        for ref, v in results:
            grouped.setdefault(ref if ref is not None else _stack_ref(ctx.stack), []).append(v)
        for target, violations in grouped.items():
            resource = by_ref.get(target)
            watch, paths = read.pop(id(resource), (None, set())) if resource is not None else (None, set())
            unknown = watch.unknown if watch is not None else []
            for found_level, v in settle(violations, level, unknown, paths, preview):
                out.add(rule.id, found_level, target, v, resource)
        for watch, paths in read.values():
            for found_level, v in settle((), level, watch.unknown, paths, preview):
                out.add(rule.id, found_level, watch.resource.ref, v, watch.resource)


def evaluate(
    resources: Sequence[Resource],
    config: PolicyConfig,
    stack: StackFacts | None = None,
    rules: Sequence[Rule] | None = None,
    refused: Sequence[Refused] = (),
    preview: bool = False,
    today: dt.date | None = None,
    advance: Callable[[int], None] | None = None,
) -> Report:
    """Every rule over every resource; each refused document is a mandatory finding (fail closed).

    `preview`: values unknown until update may be present (see `policies.engine.unknowns`).
    `advance(n)` is called as each n resources have been judged, for a progress display.
    Exemptions expire by the clock, or by `today` where a test or a replay fixes the date (never a
    configuration key: an exemption's expiry must not be movable by whoever writes the policy file).
    """
    # The rules allocate little that could form a cycle, while a large estate keeps millions of
    # objects alive that the cycle collector would rescan on every pass: pause it for the evaluation.
    paused = gc.isenabled()
    gc.disable()
    try:
        return _evaluate(resources, config, stack, rules, refused, preview, today or dt.date.today(), advance)
    finally:
        if paused:
            gc.enable()


def _evaluate(
    resources: Sequence[Resource],
    config: PolicyConfig,
    stack: StackFacts | None,
    rules: Sequence[Rule] | None,
    refused: Sequence[Refused],
    preview: bool,
    today: dt.date,
    advance: Callable[[int], None] | None,
) -> Report:
    if rules is None:
        from policies.rules import ALL_RULES

        rules = ALL_RULES
    forget_containers()
    ctx = Context(config=config, stack=stack)
    exemptions = Exemptions(config.exemptions, today)
    out = _Collector(exemptions)
    for item in refused:
        out.refused(item)

    active: list[tuple[Rule, Enforcement]] = []
    for rule in rules:
        try:
            level = enforcement_of(rule, ctx)
        except Exception as exc:
            out.rule_error(rule, _stack_ref(stack), exc, None)
            continue
        if level is not None:
            active.append((rule, level))

    for rule, _level in active:
        if rule.prepare is not None:
            try:
                rule.prepare(resources, ctx)
            except Exception as exc:  # fail closed, as a crashing check does
                out.rule_error(rule, _stack_ref(stack), exc, None)
    _resource_rules(active, resources, ctx, out, preview, advance)
    _run_stack_rules(active, resources, ctx, out, preview)

    for index, e in exemptions.expired:
        sel = e.resource
        target = "/".join(p for p in (sel.kind, sel.namespace, sel.name) if p) or "*"
        message = (
            f"exemption from {e.rule} for {target} expired on {e.expiry.isoformat()} "
            f"(approved by {e.approver}); it no longer applies"
        )
        evidence = {"rule": e.rule, "approver": e.approver, "expiry": e.expiry.isoformat()}
        ref = ResourceRef("Exemption", f"{e.rule}:{target}")
        out.add(EXEMPTION_EXPIRED, "mandatory", ref, Violation(f"exemptions[{index}]", message, evidence))

    forget_containers()
    out.findings.sort(key=Finding.sort_key)
    out.exempted.sort(key=Finding.sort_key)
    return Report(out.findings, out.exempted, list(exemptions.in_force))
