"""Reading what a real `pulumi` run wrote: `preview --json`, the engine event log (`--event-log`)
and `stack export`, into one summary of changes, policy violations and diagnostics.

`preview --json` is one PreviewDigest object (steps, diagnostics, changeSummary) and carries no policy
results; the event log is JSON lines, one engine event per line (`sequence`, `timestamp` and exactly
one payload such as `resourcePreEvent`, `policyEvent`, `diagnosticEvent`, `summaryEvent`), and has
them. Payloads this module does not use are skipped, so newer engines stay readable. Secret values
appear only as "[secret]" (preview) or ciphertext (export) and are never shown.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common.errors import InputError
from common.paths import display

MAX_BYTES = 200 * 1024 * 1024
_COLOR = re.compile(r"<\{%[^%]*%\}>")
# Ops that change nothing in the cluster or the cloud.
QUIET_OPS = frozenset({"same", "read", "refresh", "discard", "discard-replaced", "remove-pending-replace"})
# The order a reader wants to see changes in.
OP_ORDER = ("create", "update", "replace", "create-replacement", "delete-replaced", "delete", "import",
            "import-replacement", "read", "read-replacement", "refresh", "same")


@dataclass(frozen=True)
class Step:
    op: str
    urn: str
    type: str
    name: str
    changed: tuple[str, ...] = ()  # property paths from the detailed diff (or the diff keys)
    replace_keys: tuple[str, ...] = ()
    failed: bool = False


@dataclass(frozen=True)
class Diagnostic:
    severity: str
    message: str
    urn: str | None = None


@dataclass(frozen=True)
class Violation:
    policy: str
    pack: str
    pack_version: str
    level: str  # advisory, mandatory, remediate, disabled
    message: str
    urn: str | None = None


@dataclass
class Summary:
    stack: str | None = None
    steps: list[Step] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    change_summary: dict[str, int] = field(default_factory=dict)
    policy_packs: dict[str, str] = field(default_factory=dict)
    is_preview: bool | None = None
    failed: bool = False
    error: str | None = None
    has_policy_results: bool = False  # only the event log carries them
    state_resources: int | None = None

    @property
    def changes(self) -> list[Step]:
        return [s for s in self.steps if s.op not in QUIET_OPS]

    @property
    def mandatory(self) -> list[Violation]:
        return [v for v in self.violations if v.level == "mandatory"]

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]


def plain(text: str) -> str:
    """A CLI message without the engine's colour markup (`<{%reset%}>`)."""
    return _COLOR.sub("", text).strip()


def urn_parts(urn: str) -> tuple[str | None, str, str]:
    """(stack, type, name) of `urn:pulumi:<stack>::<project>::<parent$...$type>::<name>`."""
    parts = urn.split("::")
    if len(parts) < 4 or not parts[0].startswith("urn:pulumi:"):
        return None, "", urn
    stack = parts[0][len("urn:pulumi:"):]
    qualified = parts[2]
    name = "::".join(parts[3:])
    return stack or None, qualified.rsplit("$", 1)[-1], name


def _read(path: Path) -> str:
    source = display(path)
    try:
        if path.stat().st_size > MAX_BYTES:
            raise InputError(f"{source}: larger than {MAX_BYTES // (1024 * 1024)} MiB")
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{source}: no such file") from None
    except UnicodeDecodeError:
        raise InputError(f"{source}: not UTF-8 text") from None
    except OSError as exc:
        raise InputError(f"{source}: cannot read ({exc.strerror})") from None


def _json(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{where}: invalid JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise InputError(f"{where}: nesting too deep") from None


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InputError(f"{where}: expected an object")
    return value


def _text(value: Any, where: str, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise InputError(f"{where}: expected a string")
    return value


def _paths(detailed: Any, fallback: Any) -> tuple[str, ...]:
    if isinstance(detailed, Mapping) and detailed:
        return tuple(sorted(str(k) for k in detailed))
    if isinstance(fallback, list):
        return tuple(str(k) for k in fallback)
    return ()


def _step(meta: Mapping[str, Any], where: str, states: tuple[str, str]) -> Step:
    op = _text(meta.get("op"), f"{where}.op")
    urn = _text(meta.get("urn"), f"{where}.urn")
    type_ = meta.get("type")
    if not isinstance(type_, str) or not type_:
        for key in states:
            state = meta.get(key)
            if isinstance(state, Mapping) and isinstance(state.get("type"), str):
                type_ = state["type"]
                break
        else:
            type_ = urn_parts(urn)[1]
    replace = meta.get("replaceReasons", meta.get("keys"))
    return Step(
        op=op, urn=urn, type=type_, name=urn_parts(urn)[2],
        changed=_paths(meta.get("detailedDiff"), meta.get("diffReasons", meta.get("diffs"))),
        replace_keys=tuple(str(k) for k in replace) if isinstance(replace, list) else (),
    )


def _counts(value: Any, where: str) -> dict[str, int]:
    counts = _mapping(value, where) if value is not None else {}
    out: dict[str, int] = {}
    for op, n in counts.items():
        if not isinstance(n, int) or isinstance(n, bool):
            raise InputError(f"{where}.{op}: expected a number")
        out[str(op)] = n
    return out


def read_preview(path: Path, into: Summary | None = None) -> Summary:
    """`pulumi preview --json` output."""
    source = display(path)
    doc = _mapping(_json(_read(path), source), source)
    summary = into or Summary()
    steps = doc.get("steps") or []
    if not isinstance(steps, list):
        raise InputError(f"{source}: steps: expected a list")
    summary.steps = [_step(_mapping(s, f"{source}: steps[{i}]"), f"{source}: steps[{i}]", ("newState", "oldState"))
                     for i, s in enumerate(steps)]
    diagnostics = doc.get("diagnostics") or []
    if not isinstance(diagnostics, list):
        raise InputError(f"{source}: diagnostics: expected a list")
    for i, d in enumerate(diagnostics):
        d = _mapping(d, f"{source}: diagnostics[{i}]")
        summary.diagnostics.append(Diagnostic(
            severity=_text(d.get("severity"), f"{source}: diagnostics[{i}].severity", required=False) or "info",
            message=plain(_text(d.get("message"), f"{source}: diagnostics[{i}].message", required=False)),
            urn=d.get("urn") if isinstance(d.get("urn"), str) else None,
        ))
    summary.change_summary = _counts(doc.get("changeSummary"), f"{source}: changeSummary")
    summary.is_preview = True
    summary.stack = summary.stack or next((urn_parts(s.urn)[0] for s in summary.steps), None)
    return summary


def events(path: Path) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(where, event) for each line of an event log."""
    source = display(path)
    for number, line in enumerate(_read(path).splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{source}: line {number}"
        event = _mapping(_json(line, where), where)
        if not isinstance(event.get("sequence"), int) or not isinstance(event.get("timestamp"), int):
            raise InputError(f"{where}: not an engine event (sequence and timestamp are required)")
        yield where, event


def read_events(path: Path, into: Summary | None = None, with_steps: bool = True) -> Summary:
    """The engine event log written by `--event-log`."""
    summary = into or Summary()
    summary.has_policy_results = True
    steps: dict[str, Step] = {}
    failed: set[str] = set()
    for where, event in events(path):
        if "resourcePreEvent" in event or "resOutputsEvent" in event:
            key = "resOutputsEvent" if "resOutputsEvent" in event else "resourcePreEvent"
            payload = _mapping(event[key], f"{where}: {key}")
            meta = _mapping(payload.get("metadata"), f"{where}: {key}.metadata")
            step = _step(meta, f"{where}: {key}.metadata", ("new", "old"))
            if key == "resourcePreEvent" or step.urn not in steps:
                steps[step.urn] = step
        elif "resOpFailedEvent" in event:
            meta = _mapping(_mapping(event["resOpFailedEvent"], where).get("metadata"), f"{where}: metadata")
            failed.add(_text(meta.get("urn"), f"{where}: resOpFailedEvent.metadata.urn"))
            summary.failed = True
        elif "diagnosticEvent" in event:
            d = _mapping(event["diagnosticEvent"], f"{where}: diagnosticEvent")
            severity = _text(d.get("severity"), f"{where}: diagnosticEvent.severity")
            if d.get("ephemeral") is True or severity == "debug":
                continue
            summary.diagnostics.append(Diagnostic(
                severity=severity, message=plain(_text(d.get("message"), f"{where}: diagnosticEvent.message")),
                urn=d.get("urn") if isinstance(d.get("urn"), str) and d.get("urn") else None))
        elif "policyEvent" in event:
            p = _mapping(event["policyEvent"], f"{where}: policyEvent")
            summary.violations.append(Violation(
                policy=_text(p.get("policyName"), f"{where}: policyEvent.policyName"),
                pack=_text(p.get("policyPackName"), f"{where}: policyEvent.policyPackName"),
                pack_version=_text(p.get("policyPackVersion"), f"{where}: policyEvent.policyPackVersion",
                                   required=False),
                level=_text(p.get("enforcementLevel"), f"{where}: policyEvent.enforcementLevel"),
                message=plain(_text(p.get("message"), f"{where}: policyEvent.message")),
                urn=p.get("resourceUrn") if isinstance(p.get("resourceUrn"), str) and p.get("resourceUrn") else None,
            ))
        elif "summaryEvent" in event:
            s = _mapping(event["summaryEvent"], f"{where}: summaryEvent")
            summary.change_summary = summary.change_summary or _counts(s.get("resourceChanges"),
                                                                       f"{where}: summaryEvent.resourceChanges")
            packs = s.get("PolicyPacks")
            if isinstance(packs, Mapping):
                summary.policy_packs = {str(k): str(v) for k, v in packs.items()}
            if isinstance(s.get("isPreview"), bool):
                summary.is_preview = s["isPreview"]
            if s.get("maybeCorrupt") is True:
                summary.failed = True
        elif "errorEvent" in event:
            summary.error = _text(_mapping(event["errorEvent"], where).get("error"), f"{where}: errorEvent.error")
            summary.failed = True
    if with_steps:
        summary.steps = [dataclasses.replace(s, failed=s.urn in failed) for s in steps.values()]
    summary.stack = summary.stack or next((urn_parts(u)[0] for u in steps), None)
    return summary


def read_stack_export(path: Path) -> list[Mapping[str, Any]]:
    """The resources of `pulumi stack export` (version 3 deployments)."""
    source = display(path)
    doc = _mapping(_json(_read(path), source), source)
    version = doc.get("version")
    if version != 3:
        raise InputError(f"{source}: version: expected 3 (pulumi stack export), got {version!r}")
    deployment = _mapping(doc.get("deployment"), f"{source}: deployment")
    resources = deployment.get("resources") or []
    if not isinstance(resources, list):
        raise InputError(f"{source}: deployment.resources: expected a list")
    out = []
    for i, r in enumerate(resources):
        r = _mapping(r, f"{source}: deployment.resources[{i}]")
        _text(r.get("urn"), f"{source}: deployment.resources[{i}].urn")
        _text(r.get("type"), f"{source}: deployment.resources[{i}].type")
        out.append(r)
    return out


def summarize(preview: Path | None, event_log: Path | None, state: Path | None = None) -> Summary:
    if preview is None and event_log is None:
        raise InputError("summarize: give a preview (--json output) or an event log (--events)")
    summary = Summary()
    if preview is not None:
        read_preview(preview, summary)
    if event_log is not None:
        # The preview JSON has the richer diff; the event log adds policy results and diagnostics.
        diagnostics = list(summary.diagnostics)
        read_events(event_log, summary, with_steps=preview is None)
        if preview is not None:
            seen = {(d.severity, d.message, d.urn) for d in diagnostics}
            summary.diagnostics = diagnostics + [d for d in summary.diagnostics[len(diagnostics):]
                                                 if (d.severity, d.message, d.urn) not in seen]
    if state is not None:
        summary.state_resources = len(read_stack_export(state))
    return summary
