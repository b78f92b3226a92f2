"""The report for people: a findings table, the exemptions in force, one summary line."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from policies.engine.report import Finding, Report
from visio.report.wellformed import visible


def _cell(text: str) -> Text:
    return Text(visible(text))


def _evidence(finding: Finding) -> str:
    return ", ".join(f"{k}={v}" for k, v in finding.evidence.items())


def _findings_table(title: str, findings: list[Finding]) -> Table:
    table = Table(title=title, title_justify="left", show_lines=False, expand=False)
    for column in ("Rule", "Level", "Resource", "Path", "Message"):
        table.add_column(column, overflow="fold")
    for f in findings:
        level = Text(f.enforcement, style="bold red" if f.enforcement == "mandatory" else "yellow")
        message = f.message + (f"\n[{_evidence(f)}]" if f.evidence else "")
        # Names, paths and values come from the input: plain text, never markup or terminal controls.
        table.add_row(_cell(f.rule), level, _cell(str(f.resource)), _cell(f.path or "-"), _cell(message))
    return table


def render(report: Report, console: Console, resources: int | None = None) -> None:
    if report.findings:
        console.print(_findings_table("Findings", report.findings))
    if report.exempted:
        console.print(_findings_table("Exempted findings", report.exempted))
    if report.exemptions_in_force:
        table = Table(title="Exemptions in force", title_justify="left")
        for column in ("Rule", "Resource", "Approver", "Expiry", "Justification"):
            table.add_column(column, overflow="fold")
        for e in report.exemptions_in_force:
            sel = e.resource
            target = "/".join(p for p in (sel.kind, sel.namespace, sel.name) if p) or "*"
            table.add_row(_cell(e.rule), _cell(target), _cell(e.approver), e.expiry.isoformat(), _cell(e.justification))
        console.print(table)
    counted = f"{resources} resources, " if resources is not None else ""
    verdict = "[green]passed[/green]" if report.passed else "[red]failed[/red]"
    console.print(
        f"{verdict}: {counted}{len(report.mandatory)} mandatory, {len(report.advisory)} advisory, "
        f"{len(report.exempted)} exempted, {len(report.exemptions_in_force)} exemptions in force"
    )
