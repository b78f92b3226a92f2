"""`visio drift`: what in a live cluster no longer matches a stack's desired objects."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from common.errors import InputError
from policies.engine.catalog import DRIFT, NOT_AUDITED
from policies.engine.model import ResourceRef
from policies.engine.report import Finding, Report
from visio.cluster.connect import api_client
from visio.console import out
from visio.drift.compare import ABSENT, DriftReport, ObjectDrift, detect
from visio.report.emit import REPORT_HELP, Format, check_output, emit, parse_reports
from visio.report.target import Target

MARKS = {"missing": "-", "unexpected": "+", "changed": "~", "unreadable": "?"}


def _value(value: Any) -> Any:
    return None if value is ABSENT else value


def _show(value: Any) -> str:
    if value is ABSENT:
        return "(absent)"
    return json.dumps(value, sort_keys=True) if not isinstance(value, str) else json.dumps(value)


def _label(d: ObjectDrift) -> str:
    if d.status == "unexpected":
        return "unexpected: labelled as part of visio, not in the stack"
    if d.status == "unreadable":
        return f"not checked: {d.reason}"
    if d.status == "changed":
        return f"{len(d.changes)} field(s) changed"
    return "missing"


def _finding(d: ObjectDrift, source: str) -> Finding:
    # Every drift fails the check; an object that could not be read is one that was not audited.
    message = _label(d) + "".join(f"; {c.path}: {_show(c.desired)} -> {_show(c.live)}" for c in d.changes)
    return Finding(rule=NOT_AUDITED if d.status == "unreadable" else DRIFT, enforcement="mandatory",
                   resource=ResourceRef(d.kind, d.name, d.namespace), path=d.changes[0].path if d.changes else "",
                   message=message, evidence={"status": d.status, "apiVersion": d.api_version}, source=source)


def as_target(report: DriftReport) -> Target:
    objects = [
        {"status": d.status, "apiVersion": d.api_version, "kind": d.kind, "namespace": d.namespace, "name": d.name,
         "changes": [{"path": c.path, "desired": _value(c.desired), "live": _value(c.live),
                      "liveAbsent": c.live is ABSENT} for c in d.changes],
         **({"reason": d.reason} if d.reason else {})}
        for d in report.drifts
    ]
    findings = [_finding(d, f"cluster {report.cluster}") for d in report.drifts]
    return Target(name=report.stack, report=Report(findings, [], []), resources=report.checked, details={
        "cluster": report.cluster, "checked": report.checked, "drift": bool(report.drifted),
        "complete": not report.unreadable, "objects": objects})


def text(report: DriftReport) -> list[str]:
    lines = [f"stack {report.stack} against cluster {report.cluster}: {report.checked} desired objects"]
    for d in report.drifts:
        lines.append(f"{MARKS[d.status]} {d.ref} ({_label(d)})")
        for c in d.changes:
            lines.append(f"    {c.path}: {_show(c.desired)} -> {_show(c.live)}")
    drifted, unreadable = len(report.drifted), len(report.unreadable)
    if unreadable:
        lines.append(f"incomplete: {unreadable} object(s) or kind(s) could not be read; {drifted} drifted")
    else:
        lines.append(f"{drifted} object(s) drifted" if drifted else "no drift")
    return lines


def _print(report: DriftReport) -> None:
    for line in text(report):
        out.print(line, markup=False, highlight=False)


def drift(
    stack: Annotated[str, typer.Argument(help="Stack name (stacks/Pulumi.<stack>.yaml).")],
    kubeconfig: Annotated[Path | None, typer.Option("--kubeconfig", help="Kubeconfig file (default: KUBECONFIG, "
                                                     "~/.kube/config, or the in-cluster service account).")] = None,
    context: Annotated[str | None, typer.Option("--context", help="Kubeconfig context (default: current).")] = None,
    fmt: Annotated[Format, typer.Option("--format", help="Report format.")] = Format.text,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the report to this file.")] = None,
    report_files: Annotated[list[str] | None, typer.Option("--report", help=REPORT_HELP)] = None,
) -> None:
    """Compare a stack's desired objects with the live cluster; exit 0 no drift, 1 drift, 2 error."""
    from visio.plan.stackplan import plan_stack  # the Pulumi runtime loads only when a stack is planned

    reports = parse_reports(report_files or [])
    check_output(fmt, output)
    desired = plan_stack(stack).objects
    api, cluster = api_client(kubeconfig, context)
    with api:
        try:
            report = detect(api, stack, cluster, desired)
        except ConnectionError as exc:
            raise InputError(f"cluster {cluster}: cannot reach the API server ({exc})") from None
    emit("drift", [as_target(report)], fmt, output, lambda: _print(report), reports,
         inputs=[kubeconfig] if kubeconfig else [])
    if report.unreadable:
        raise typer.Exit(2)
    if report.drifted:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("drift")(drift)
