"""`visio drift`: what in a live cluster no longer matches a stack's desired objects."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from common.errors import InputError
from visio.cluster.connect import api_client
from visio.console import out
from visio.drift.compare import ABSENT, DriftReport, ObjectDrift, detect
from visio.report.files import write_atomically


class Format(StrEnum):
    text = "text"
    json = "json"


def _value(value: Any) -> Any:
    return None if value is ABSENT else value


def as_json(report: DriftReport) -> dict[str, Any]:
    return {
        "stack": report.stack,
        "cluster": report.cluster,
        "checked": report.checked,
        "drift": bool(report.drifted),
        "complete": not report.unreadable,
        "objects": [
            {
                "status": d.status, "apiVersion": d.api_version, "kind": d.kind, "namespace": d.namespace,
                "name": d.name,
                "changes": [{"path": c.path, "desired": _value(c.desired), "live": _value(c.live),
                             "liveAbsent": c.live is ABSENT} for c in d.changes],
                **({"reason": d.reason} if d.reason else {}),
            }
            for d in report.drifts
        ],
    }


def _show(value: Any) -> str:
    if value is ABSENT:
        return "(absent)"
    return json.dumps(value, sort_keys=True) if not isinstance(value, str) else json.dumps(value)


def text(report: DriftReport) -> list[str]:
    lines = [f"stack {report.stack} against cluster {report.cluster}: {report.checked} desired objects"]
    marks = {"missing": "-", "unexpected": "+", "changed": "~", "unreadable": "?"}
    for d in report.drifts:
        lines.append(f"{marks[d.status]} {d.ref} ({_label(d)})")
        for c in d.changes:
            lines.append(f"    {c.path}: {_show(c.desired)} -> {_show(c.live)}")
    drifted, unreadable = len(report.drifted), len(report.unreadable)
    if unreadable:
        lines.append(f"incomplete: {unreadable} object(s) or kind(s) could not be read; {drifted} drifted")
    else:
        lines.append(f"{drifted} object(s) drifted" if drifted else "no drift")
    return lines


def _label(d: ObjectDrift) -> str:
    if d.status == "unexpected":
        return "unexpected: labelled as part of visio, not in the stack"
    if d.status == "unreadable":
        return f"not checked: {d.reason}"
    if d.status == "changed":
        return f"{len(d.changes)} field(s) changed"
    return "missing"


def drift(
    stack: Annotated[str, typer.Argument(help="Stack name (stacks/Pulumi.<stack>.yaml).")],
    kubeconfig: Annotated[Path | None, typer.Option("--kubeconfig", help="Kubeconfig file (default: KUBECONFIG, "
                                                     "~/.kube/config, or the in-cluster service account).")] = None,
    context: Annotated[str | None, typer.Option("--context", help="Kubeconfig context (default: current).")] = None,
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.text,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file.")] = None,
) -> None:
    """Compare a stack's desired objects with the live cluster; exit 0 no drift, 1 drift, 2 error."""
    from visio.plan.stackplan import plan_stack  # the Pulumi runtime loads only when a stack is planned

    desired = plan_stack(stack).objects
    api, cluster = api_client(kubeconfig, context)
    with api:
        try:
            report = detect(api, stack, cluster, desired)
        except ConnectionError as exc:
            raise InputError(f"cluster {cluster}: cannot reach the API server ({exc})") from None
    rendered = json.dumps(as_json(report), indent=2) if fmt is Format.json else "\n".join(text(report))
    if output is not None:
        write_atomically(output, rendered + "\n", inputs=[kubeconfig] if kubeconfig else [])
    elif fmt is Format.json:
        print(rendered)
    else:
        for line in text(report):
            out.print(line, markup=False, highlight=False)
    if report.unreadable:
        raise typer.Exit(2)
    if report.drifted:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("drift")(drift)
