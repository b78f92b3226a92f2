"""The CrossGuard front end: one Pulumi policy per engine rule, each calling the shared engine.

Configuration. Every policy takes the same pack-wide settings (`CONFIG_SCHEMA`, derived from the
policy-config model); Pulumi hands each policy its own copy through `Configure`, read here with
`args.get_config()`. With no configuration
(a pack run outside `pulumi`), the initial configuration applies: derived from the stack file
`stacks/Pulumi.<stack>.yaml` when PULUMI_STACK names one, else the engine's defaults.

Enforcement. The pack is mandatory; Pulumi's per-policy level can lower a policy to advisory or
disable it. Within a mandatory policy a finding keeps the engine's own level (image-digest is
advisory outside production), so an advisory finding is reported as advisory. A value unknown at
preview (see `policies.engine.adapters`) that a rule flagged or read is reported as advisory during
preview and as mandatory at update.

Stack facts for `iac-state`: decided by `policies.engine.stackfacts`, as for `visio plan` (the backend from
PULUMI_BACKEND_URL, else Pulumi.yaml's `backend.url`; the stack file's `secretsprovider`; production
from its `visio:environment`).

Fail closed: a configuration that does not validate, or an evaluation that raises, is a mandatory
violation of the policy concerned.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from fnmatch import fnmatchcase
from functools import lru_cache
from typing import Any

import pulumi
from pulumi.runtime import proto
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pydantic import ValidationError

from policies.engine.adapters import from_pulumi
from policies.engine.catalog import EXEMPTION_EXPIRED
from policies.engine.config import PolicyConfig
from policies.engine.config_schema import pack_properties
from policies.engine.evaluate import evaluate
from policies.engine.model import Enforcement, Resource, StackFacts
from policies.engine.report import Finding
from policies.engine.rule import Rule

CONFIG_SCHEMA = PolicyConfigSchema(properties=pack_properties(PolicyConfig))
SETTINGS = tuple(CONFIG_SCHEMA.properties)


# --- configuration ------------------------------------------------------------------------------


class ConfigError(Exception):
    pass


def policy_config(raw: Mapping[str, Any], fallback: Mapping[str, Any]) -> PolicyConfig:
    data = dict(raw) if raw else dict(fallback)
    try:
        return PolicyConfig.model_validate({k: v for k, v in data.items() if k != "enforcementLevel"})
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise ConfigError(f"invalid policy configuration: {where}: {first['msg']}") from None


def stack_name() -> str | None:
    """The stack Pulumi runs the pack for. Pulumi passes it as PULUMI_STACK (the same variable the policy
    runtime configures `pulumi.get_stack()` from; unconfigured, that returns a placeholder)."""
    name = os.environ.get("PULUMI_STACK", "").strip()
    # Fully qualified names (org/project/stack) keep their stack part.
    return name.rsplit("/", 1)[-1] if name else None


@lru_cache(maxsize=1)
def _stack_file() -> tuple[str | None, dict[str, Any] | None, str | None]:
    """(stack name, raw stack file, problem) for the stack Pulumi runs the pack for."""
    from common.config.loader import stack_path
    from common.errors import InputError
    from common.paths import display
    from common.yamlsafe import load_one, read_text

    name = stack_name()
    if name is None:
        return None, None, "no stack named (PULUMI_STACK is unset)"
    path = stack_path(name)
    try:
        doc = load_one(read_text(path, max_bytes=1024 * 1024), display(path))
    except InputError as exc:
        return name, None, exc.problems[0]
    if not isinstance(doc, dict):
        return name, None, f"{display(path)}: a stack file is a YAML mapping"
    return name, doc, None


def stack_facts(config: PolicyConfig) -> StackFacts:
    from policies.engine.stackfacts import stack_facts as decide

    name, doc, _problem = _stack_file()
    return decide(name, doc, config.production)


def initial_settings() -> dict[str, Any]:
    """The pack-wide settings derived from the stack being deployed, if its file loads."""
    from common.config.loader import load_stack
    from common.errors import InputError
    from policies.engine.stackconfig import from_stack, to_json

    name = stack_name()
    if name is None:
        return {}
    try:
        return to_json(from_stack(load_stack(name)))
    except InputError:
        # Nothing trusted from a broken stack file: engine defaults (strict profile, nothing allowed).
        return {}


def initial_config(policies: Sequence[Policy]) -> dict[str, EnforcementLevel | dict[str, Any]]:
    settings = initial_settings()
    # The level is spelled out: an initial config without one would reach Pulumi as "advisory".
    return {
        p.name: {"enforcementLevel": p.enforcement_level or EnforcementLevel.MANDATORY, **settings}
        for p in policies
    }


# --- reporting ----------------------------------------------------------------------------------


class Reporter:
    """Reports findings through CrossGuard, keeping the engine's advisory level where it is lower.

    `report_violation` stamps the policy's configured level; lowering one diagnostic to advisory has
    no public API, so the response it appended to is taken from its closure. If that ever changes,
    diagnostics keep the configured level, which is the stricter one.
    """

    def __init__(self, report_violation: ReportViolation) -> None:
        self._report = report_violation
        self._response: Any = None
        cells = getattr(report_violation, "__closure__", None) or ()
        names = getattr(getattr(report_violation, "__code__", None), "co_freevars", ())
        for name, cell in zip(names, cells, strict=False):
            if name == "response":
                self._response = cell.cell_contents

    def __call__(self, message: str, urn: str | None, level: Enforcement) -> None:
        self._report(message, urn)
        if level == "advisory" and self._response is not None:
            diagnostics = getattr(self._response, "diagnostics", None)
            if diagnostics:
                diagnostics[-1].enforcementLevel = proto.ADVISORY


def describe(finding: Finding) -> str:
    where = f"{finding.path}: " if finding.path else ""
    evidence = ", ".join(f"{k}={v}" for k, v in finding.evidence.items())
    return f"{finding.resource}: {where}{finding.message}" + (f" [{evidence}]" if evidence else "")


def _preview() -> bool:
    try:
        return bool(pulumi.runtime.is_dry_run())
    except Exception:
        return False  # not known to be a preview: values must be known, unknowns fail closed


def report_findings(findings: Sequence[Finding], report: Reporter, urn_of: Callable[[Finding], str | None]) -> None:
    """Each finding at the level the engine gave it (unknown values: see `policies.engine.unknowns`)."""
    for f in findings:
        report(describe(f), urn_of(f), f.enforcement)


def _selected(resource: Resource, config: PolicyConfig, path: str) -> bool:
    """Whether the expired exemption at `exemptions[i]` used to cover this resource (if unsure: yes)."""
    try:
        sel = config.exemptions[int(path.removeprefix("exemptions[").removesuffix("]"))].resource
    except (ValueError, IndexError):
        return True
    pairs = ((sel.kind, resource.kind), (sel.name, resource.name), (sel.namespace, resource.namespace))
    return all(pattern is None or fnmatchcase(value or "", pattern) for pattern, value in pairs)


def _own_exemptions(config: PolicyConfig, rule: Rule) -> PolicyConfig:
    return config.with_overrides(exemptions=[e for e in config.exemptions if e.rule == rule.id])


# --- policies -----------------------------------------------------------------------------------


def _failed(rule: Rule, exc: Exception) -> str:
    return f"{rule.id} could not be evaluated ({type(exc).__name__}: {exc}); failing closed"


def _resource_validation(
    rule: Rule, fallback: Mapping[str, Any]
) -> Callable[[ResourceValidationArgs, ReportViolation], None]:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        report = Reporter(report_violation)
        try:
            config = _own_exemptions(policy_config(args.get_config(), fallback), rule)
            resource = from_pulumi(args.resource_type, args.name, args.props, args.urn)
            result = evaluate([resource], config, rules=[rule], preview=_preview())
        except Exception as exc:
            report(_failed(rule, exc), args.urn, "mandatory")
            return
        # An expired exemption is reported on the resources it used to cover, not on every resource.
        findings = [
            f
            for f in result.findings
            if f.rule != EXEMPTION_EXPIRED or _selected(resource, config, f.path)
        ]
        report_findings(findings, report, lambda _f: args.urn)

    return validate


def _stack_validation(
    rule: Rule, fallback: Mapping[str, Any]
) -> Callable[[StackValidationArgs, ReportViolation], None]:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        report = Reporter(report_violation)
        try:
            config = _own_exemptions(policy_config(args.get_config(), fallback), rule)
            resources = [from_pulumi(r.resource_type, r.name, r.props, r.urn) for r in args.resources]
            result = evaluate(resources, config, stack=stack_facts(config), rules=[rule], preview=_preview())
        except Exception as exc:
            report(_failed(rule, exc), None, "mandatory")
            return
        report_findings(result.findings, report, lambda f: f.urn)

    return validate


def build_policies(rules: Sequence[Rule] | None = None) -> list[Policy]:
    """One CrossGuard policy per rule: stack rules see the whole stack, the others one resource."""
    if rules is None:
        from policies.rules import ALL_RULES

        rules = ALL_RULES
    fallback = initial_settings()
    policies: list[Policy] = []
    for rule in rules:
        if rule.check_stack is not None:
            policies.append(
                StackValidationPolicy(
                    name=rule.id,
                    description=rule.description,
                    validate=_stack_validation(rule, fallback),
                    config_schema=CONFIG_SCHEMA,
                )
            )
        else:
            policies.append(
                ResourceValidationPolicy(
                    name=rule.id,
                    description=rule.description,
                    validate=_resource_validation(rule, fallback),
                    config_schema=CONFIG_SCHEMA,
                )
            )
    return policies
