"""`visio scan`: audit a live cluster, read-only, with the same rules and reports as `visio audit`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from common.errors import InputError
from policies.engine.config import PolicyConfig
from policies.engine.stackconfig import load_policy_config
from visio.cluster.kinds import PAGE_SIZE, Kind, by_kind
from visio.console import out
from visio.progress import meter
from visio.report import text as text_report
from visio.report.emit import REPORT_HELP, Format, check_output, emit, parse_reports
from visio.report.target import Target
from visio.report.wellformed import visible
from visio.scan.live import ScanResult, judge


def _policy(stack: str | None, policy_config: Path | None, resolve: bool) -> PolicyConfig:
    if stack is not None and policy_config is not None:
        raise InputError("--stack and --policy-config: give one policy source, not both")
    if stack is not None:
        from common.config import load_stack
        from policies.engine.stackconfig import from_stack

        config = from_stack(load_stack(stack))
    elif policy_config is not None:
        config = load_policy_config(policy_config)
    else:
        config = PolicyConfig()
    return config.with_overrides(resolve=True) if resolve else config


def _excluded(names: list[str]) -> list[Kind]:
    kinds: list[Kind] = []
    for name in names:
        kind = by_kind(name)
        if kind is None:
            raise InputError(f"--exclude-kind: {name!r} is not a kind the scan reads")
        kinds.append(kind)
    return kinds


def details(result: ScanResult) -> dict[str, Any]:
    snap = result.snapshot
    return {
        "cluster": snap.cluster,
        "serverVersion": snap.server_version,
        "namespaces": list(snap.namespaces) or "all",
        "kinds": {
            "read": [k.label for k in snap.read],
            "notAudited": [
                {"kind": u.kind.kind, "apiVersion": u.kind.api_version, "scope": u.scope, "reason": u.reason,
                 "status": u.status, "excluded": u.excluded}
                for u in snap.unaudited
            ],
            "groupsNotServed": snap.absent,
        },
    }


def _as_text(result: ScanResult) -> None:
    snap = result.snapshot
    scope = ", ".join(snap.namespaces) if snap.namespaces else "all namespaces"
    out.rule(f"[bold]cluster {escape(visible(snap.cluster))}[/bold]")
    out.print(f"Kubernetes {snap.server_version or '(version unknown)'}; {scope}; {result.resources} objects read; "
              f"{len(snap.read)} kinds read completely")
    if snap.absent:
        out.print(f"API groups not served (nothing to read): {', '.join(snap.absent)}")
    if snap.unaudited:
        table = Table("Kind", "Scope", "Why", title="NOT AUDITED", title_justify="left", title_style="bold red")
        for u in snap.unaudited:
            table.add_row(u.kind.label, u.scope, Text(visible(u.reason)))
        out.print(table)
    text_report.render(result.report, out, resources=result.resources)


def scan(
    kubeconfig: Annotated[Path | None, typer.Option("--kubeconfig", help="Kubeconfig file (default: KUBECONFIG, "
                                                     "~/.kube/config, or the in-cluster service account).")] = None,
    context: Annotated[str | None, typer.Option("--context", help="Kubeconfig context (default: current).")] = None,
    namespaces: Annotated[list[str] | None, typer.Option("--namespace", "-n", help="Only these namespaces; "
                                                          "repeat for several. Cluster-scoped kinds are always read.")
                          ] = None,
    stack: Annotated[str | None, typer.Option("--stack", help="Judge with this stack's policy (registry, regions, "
                                               "domains, profile, exemptions).")] = None,
    policy_config: Annotated[Path | None, typer.Option("--policy-config", help="Policy settings (YAML).")] = None,
    exclude_kind: Annotated[list[str] | None, typer.Option("--exclude-kind", help="Do not read this kind (reported "
                                                            "as not audited, advisory); repeatable.")] = None,
    fail_on_unaudited: Annotated[bool | None, typer.Option(
        "--fail-on-unaudited/--no-fail-on-unaudited",
        help="A kind that could not be read fails the scan (default: on under the secnumcloud profile).")] = None,
    fmt: Annotated[Format, typer.Option("--format", help="Report format.")] = Format.text,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the report to this file.")] = None,
    report_files: Annotated[list[str] | None, typer.Option("--report", help=REPORT_HELP)] = None,
    resolve: Annotated[bool, typer.Option("--resolve", help="Follow DNS for hostnames.")] = False,
    page_size: Annotated[int, typer.Option("--page-size", min=1, max=5000, help="Objects per list request.")
                         ] = PAGE_SIZE,
) -> None:
    """Audit a live cluster read-only; exit 1 on mandatory findings (or kinds not audited), 2 on unusable input."""
    reports = parse_reports(report_files or [])
    check_output(fmt, output)
    config = _policy(stack, policy_config, resolve)
    excluded = _excluded(exclude_kind or [])
    # The Kubernetes client loads only when a cluster is read.
    from visio.cluster.connect import api_client
    from visio.cluster.reader import read_cluster

    api, cluster = api_client(kubeconfig, context)
    strict = config.profile == "secnumcloud" if fail_on_unaudited is None else fail_on_unaudited
    with meter() as m:
        with api:
            snapshot = read_cluster(api, cluster, namespaces or [], excluded, page_size,
                                    progress=lambda total: m.step("reading kinds", total, minimum=1))
        result = judge(snapshot, config, fail_on_unaudited=strict,
                       progress=lambda total: m.step("judging objects", total))
    target = Target(name=f"cluster {cluster}", report=result.report, resources=result.resources,
                    details=details(result))
    emit("scan", [target], fmt, output, lambda: _as_text(result),
         reports, inputs=[p for p in (policy_config, kubeconfig) if p is not None])
    if result.report.mandatory:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("scan")(scan)
