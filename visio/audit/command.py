"""`visio audit`: judge Kubernetes manifests and Helm charts with the sovereignty rules, offline."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from common.errors import InputError
from policies.engine.config import PolicyConfig
from policies.engine.evaluate import evaluate
from policies.engine.stackconfig import load_policy_config
from visio.audit.isolated import DEFAULT_MEMORY_MIB, DEFAULT_SECONDS, Limits
from visio.audit.manifests import collect
from visio.console import out
from visio.progress import meter
from visio.report import text as text_report
from visio.report.emit import REPORT_HELP, Format, check_output, emit, parse_reports
from visio.report.target import Target


def audit(
    paths: Annotated[
        list[Path],
        typer.Argument(metavar="PATH...", help="Manifest files (YAML/JSON), directories, or Helm chart directories."),
    ],
    policy_config: Annotated[
        Path | None, typer.Option("--policy-config", help="Policy settings (YAML, camelCase keys).")
    ] = None,
    values: Annotated[
        list[Path] | None, typer.Option("--values", "-f", help="Helm values file for charts; repeat to merge in order.")
    ] = None,
    fmt: Annotated[Format, typer.Option("--format", help="Report format.")] = Format.text,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the report to this file (not for text).")
    ] = None,
    report_files: Annotated[list[str] | None, typer.Option("--report", help=REPORT_HELP)] = None,
    resolve: Annotated[
        bool, typer.Option("--resolve", help="Follow DNS for hostnames (otherwise offline tables only).")
    ] = False,
    render_timeout: Annotated[
        float, typer.Option("--render-timeout", min=1, help="Seconds a chart may take to render.")
    ] = DEFAULT_SECONDS,
    render_memory: Annotated[
        int, typer.Option("--render-memory", min=2560, help="Address space (MiB) a chart's renderer may use.")
    ] = DEFAULT_MEMORY_MIB,
) -> None:
    """Audit manifests and charts; exit 1 on mandatory findings (an unusable document is one), 2 when
    nothing can be audited."""
    reports = parse_reports(report_files or [])
    check_output(fmt, output)
    config = load_policy_config(policy_config) if policy_config is not None else PolicyConfig()
    # Offline unless asked on the command line, whatever a shared policy file says.
    config = config.with_overrides(resolve=resolve)
    with meter() as m:
        collected = collect(paths, values or [], Limits(render_timeout, render_memory),
                            progress=lambda total: m.step("reading files", total))
        resources = collected.resources
        if not resources:
            raise InputError(f"{', '.join(map(str, paths))}: no Kubernetes objects found")
        report = evaluate(resources, config, refused=collected.refused,
                          advance=m.step("judging objects", len(resources)))
    count = len(resources) + len(collected.refused)
    target = Target(name=", ".join(map(str, paths)), report=report, uri=str(paths[0]), resources=count)
    emit(
        "audit",
        [target],
        fmt,
        output,
        as_text=lambda: text_report.render(report, out, resources=count),
        reports=reports,
        inputs=[*paths, *(values or []), *([policy_config] if policy_config else [])],
    )
    if report.mandatory:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("audit")(audit)
