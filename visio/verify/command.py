"""`visio verify`: prove that running services behave as their stack declares."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from common.config import load_stack
from common.errors import InputError
from visio.console import out
from visio.report import checks as report
from visio.report.checkresult import CheckResult, all_passed
from visio.report.emit import REPORT_HELP, Format, check_output, emit, parse_reports

LOCAL_DEFAULT_STACK = "dev"


def _egress(value: str) -> tuple[str, int]:
    address, _, port = value.rpartition(":")
    try:
        ip = ipaddress.ip_address(address)
        number = int(port)
    except ValueError:
        raise InputError(f"--egress-probe: {value!r}: give ADDRESS:PORT, e.g. 193.0.14.129:53") from None
    if not ip.is_global or not 0 < number < 65536:
        raise InputError(f"--egress-probe: {value!r}: must be a public address and a port in 1-65535")
    return str(ip), number


def _text(suite: str, results: Sequence[CheckResult]) -> None:
    out.rule(f"[bold]{escape(suite)}[/bold]")
    for r in results:
        mark = "[green]pass[/green]" if r.passed else "[red]FAIL[/red]"
        out.print(f"{mark} {escape(r.check)}  [dim]{escape(r.target)}[/dim]\n     {escape(r.message)}")
        if not r.passed:
            for key, value in r.evidence.items():
                out.print(f"       {escape(key)}: {escape(value)}")
    failed = [r for r in results if not r.passed]
    verdict = f"[red]{len(failed)} failed[/red]" if failed else "[green]all passed[/green]"
    out.print(f"\n{len(results)} check(s); {verdict}")


def verify(
    stack: Annotated[
        str | None,
        typer.Argument(help=f"Stack name (stacks/Pulumi.<stack>.yaml); --local defaults to {LOCAL_DEFAULT_STACK}."),
    ] = None,
    local_mode: Annotated[
        bool, typer.Option("--local", help="Start coturn and Redis on 127.0.0.1 from the rendered configuration.")
    ] = False,
    kubeconfig: Annotated[Path | None, typer.Option("--kubeconfig", help="Kubeconfig of the stack's cluster.")] = None,
    context: Annotated[str | None, typer.Option("--context", help="Kubeconfig context.")] = None,
    egress_probe: Annotated[
        str, typer.Option("--egress-probe", help="ADDRESS:PORT the captioning pods must NOT reach (from the cluster).")
    ] = "193.0.14.129:53",
    fmt: Annotated[Format, typer.Option("--format", help="Report format.")] = Format.text,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the report to this file.")] = None,
    report_files: Annotated[list[str] | None, typer.Option("--report", help=REPORT_HELP)] = None,
) -> None:
    """Check running services: sockets, effective configuration, process users, TURN refusals,
    endpoints judged by the sovereignty rules. Exit 1 if a check fails, 2 if it cannot start."""
    reports = parse_reports(report_files or [])
    check_output(fmt, output)
    if local_mode and (kubeconfig is not None or context is not None):
        raise InputError("--local: runs on this host; --kubeconfig and --context are for a cluster")
    if not local_mode and stack is None:
        raise InputError("give a STACK (its pods are checked through kubectl), or --local")
    if kubeconfig is not None and not kubeconfig.is_file():
        raise InputError(f"{kubeconfig}: --kubeconfig: no such file")
    loaded = load_stack(stack or LOCAL_DEFAULT_STACK)
    if local_mode:
        from visio.verify.identityrun import keycloak_checks
        from visio.verify.localrun import verify_local

        suite = f"{loaded.name} (local)"
        results = [*verify_local(loaded), *keycloak_checks(loaded)]
    else:
        from visio.verify.cluster import Kube, verify_cluster

        suite = f"{loaded.name} (cluster{f' {context}' if context else ''})"
        kube = Kube(str(kubeconfig) if kubeconfig else None, context)
        results = verify_cluster(loaded, kube, _egress(egress_probe))
    emit("verify", [report.as_target(suite, results)], fmt, output, lambda: _text(suite, results), reports,
         inputs=[kubeconfig] if kubeconfig else [], as_junit=lambda: report.junit(suite, results))
    if not all_passed(results):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("verify")(verify)
