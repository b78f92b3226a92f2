"""`visio plan`: what a stack will create and whether it is compliant, offline."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
import yaml
from rich.table import Table

from common.errors import InputError, redact
from visio.console import out
from visio.options import selected_stacks
from visio.progress import meter
from visio.report import text as text_report
from visio.report.emit import REPORT_HELP, Format, check_output, emit, parse_reports
from visio.report.files import write_atomically
from visio.report.target import Target

if TYPE_CHECKING:
    # The plan machinery loads the Pulumi SDK and the Helm library: only when planning.
    from visio.plan.stackplan import StackPlan


class StackCrashed(RuntimeError):
    """A stack's plan failed for a reason that is not its input; the other stacks were still planned."""


def _go_loaded() -> bool:
    """True once this process has loaded the Helm library (a second plan in the same process)."""
    return "helm_python._native" in sys.modules


def _plans(names: Sequence[str]) -> list[StackPlan]:
    """Every stack's plan, in the order given, over every core (one process per stack at a time).

    Every stack is planned even when one fails: the problems of all of them are reported together.
    """
    from common.workers import fork_map, jobs

    def one(i: int) -> tuple[StackPlan | None, list[str], str]:
        # Imported here, after the fork: the Helm library is Go, and a Go runtime does not survive
        # fork (a child would wait forever for threads that only the parent has).
        from visio.plan.stackplan import plan_stack

        try:
            return plan_stack(names[i]), [], ""
        except InputError as exc:
            return None, list(exc.problems), ""
        except Exception as exc:  # reported with the others' problems, never instead of them
            detail = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
            return None, [], f"{names[i]}: {type(exc).__name__}" + (f": {detail}" if detail else "")

    processes = 1 if _go_loaded() else jobs()
    with meter(minimum=2) as m:
        advance = m.step(f"planning {len(names)} stacks", len(names))
        results = fork_map(one, len(names), processes, done=lambda _: advance(1))
    problems = [line for _, found, _ in results for line in found]
    crashes = [crash for _, _, crash in results if crash]
    if crashes:
        for line in problems:
            print(f"error: {redact(line)}", file=sys.stderr)
        raise StackCrashed("; ".join(crashes))
    if problems:
        raise InputError(*problems)
    return [plan for plan, _, _ in results if plan is not None]


def _target(p: StackPlan) -> Target:
    from visio.report.endpoints import placements

    return Target(
        name=p.stack.name,
        report=p.report,
        uri=f"stacks/{p.stack.path.name}",
        resources=len(p.resources),
        counts=p.counts(),
        endpoints=placements(p.judged, p.policy),
        details={"resources": _resource_json(p), "unchecked": p.unchecked},
    )


def _resource_json(p: StackPlan) -> list[dict[str, Any]]:
    from visio.plan.stackplan import redact_object

    return [
        {
            "type": r.type,
            "name": r.name,
            "urn": r.urn,
            "parent": r.parent or r.chart,
            "inputs": redact_object(r.inputs),
            **({"chart": r.chart, "template": r.template} if r.chart else {}),
        }
        for r in p.resources
    ]


def _as_text(plans: Sequence[StackPlan]) -> None:
    for p in plans:
        cfg = p.stack.config
        out.rule(f"[bold]{p.stack.name}[/bold]")
        out.print(
            f"{cfg.ministry} {cfg.environment} on {cfg.cluster.provider} {cfg.cluster.region} "
            f"({cfg.cluster.country_code}), Kubernetes {cfg.cluster.kubernetesVersion}, "
            f"profile {cfg.policy.profile}"
        )
        table = Table("component", "kind", "to create", title="Resources", title_justify="left")
        for key, count in sorted(p.counts().items()):
            component, kind = key.split(" · ", 1)
            table.add_row(component, kind, str(count))
        out.print(table)
        if p.unchecked:
            out.print(f"[yellow]not schema-checked (no schema):[/yellow] {', '.join(p.unchecked)}")
        text_report.render(p.report, out, resources=len(p.resources))
    failed = [p.stack.name for p in plans if not p.report.passed]
    out.print(
        f"\n{len(plans)} stack(s) planned; "
        + (f"[red]non-compliant: {', '.join(failed)}[/red]" if failed else "[green]all compliant[/green]")
    )


def _write_manifests(plans: Sequence[StackPlan], directory: Path) -> None:
    for p in plans:
        by_namespace: dict[str, list[dict[str, Any]]] = {}
        for obj in p.objects:
            ns = (obj.get("metadata") or {}).get("namespace") or "cluster"
            by_namespace.setdefault(ns, []).append(obj)
        for ns, objects in sorted(by_namespace.items()):
            write_atomically(directory / p.stack.name / f"{ns}.yaml", yaml.safe_dump_all(objects, sort_keys=False))


def plan(
    stack: Annotated[str | None, typer.Argument(help="Stack name (stacks/Pulumi.<stack>.yaml).")] = None,
    all_stacks: Annotated[bool, typer.Option("--all", help="Every stack in stacks/.")] = False,
    fmt: Annotated[Format, typer.Option("--format", help="Report format.")] = Format.text,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the report to this file.")] = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Write each stack's rendered manifests here (Secrets redacted).")
    ] = None,
    report_files: Annotated[list[str] | None, typer.Option("--report", help=REPORT_HELP)] = None,
) -> None:
    """Preview stacks offline: resources, schema checks, and the sovereignty rules. Exit 1 if non-compliant."""
    reports = parse_reports(report_files or [])
    check_output(fmt, output)
    plans = _plans(selected_stacks(stack, all_stacks))
    targets = [_target(p) for p in plans]
    if out_dir is not None:
        _write_manifests(plans, out_dir)
    emit("plan", targets, fmt, output, lambda: _as_text(plans), reports,
         inputs=[p.stack.path for p in plans])
    if not all(p.report.passed for p in plans):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("plan")(plan)
