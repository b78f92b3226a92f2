"""`visio summarize`: a real `pulumi preview` as a merge-request comment (Markdown) or JSON."""

from __future__ import annotations

import json
from collections import Counter
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from visio.report.files import write_atomically
from visio.summarize.events import OP_ORDER, Summary, summarize, urn_parts

MAX_ROWS = 200  # a comment stays readable; the rest is counted


class Format(StrEnum):
    markdown = "markdown"
    json = "json"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\r", "").replace("\n", "<br>")


def _resource(urn: str | None) -> str:
    if not urn:
        return "(stack)"
    _, type_, name = urn_parts(urn)
    return f"`{type_}` {name}"


def _op_rank(op: str) -> int:
    return OP_ORDER.index(op) if op in OP_ORDER else len(OP_ORDER)


def markdown(s: Summary) -> str:
    lines: list[str] = []
    what = "preview" if s.is_preview is not False else "update"
    lines.append(f"### Pulumi {what}: stack `{s.stack or 'unknown'}`")
    counts = s.change_summary or dict(Counter(step.op for step in s.steps))
    ordered = sorted(counts.items(), key=lambda kv: _op_rank(kv[0]))
    lines.append("")
    lines.append("**Changes:** " + (", ".join(f"{n} {op}" for op, n in ordered if n) or "none"))
    if s.state_resources is not None:
        lines.append(f"Resources in the current state: {s.state_resources}.")
    changes = sorted(s.changes, key=lambda st: (_op_rank(st.op), st.type, st.name))
    if changes:
        lines += ["", "| Operation | Type | Name | Properties |", "|---|---|---|---|"]
        for st in changes[:MAX_ROWS]:
            props = ", ".join(st.changed)
            if st.replace_keys and st.op in ("replace", "create-replacement", "delete-replaced"):
                props = f"replaced because of {', '.join(st.replace_keys)}" + (f"; {props}" if props else "")
            op = f"{st.op} (failed)" if st.failed else st.op
            lines.append(f"| {op} | `{_cell(st.type)}` | {_cell(st.name)} | {_cell(props) or '-'} |")
        if len(changes) > MAX_ROWS:
            lines.append(f"\n…and {len(changes) - MAX_ROWS} more changes.")
    lines.append("")
    if not s.has_policy_results:
        lines.append("**Policy:** not in this file: `pulumi preview --json` leaves policy results out; "
                     "pass the `--event-log` file with `--events`.")
    else:
        packs = ", ".join(f"{k} {v}" for k, v in sorted(s.policy_packs.items())) or "no policy pack reported"
        levels = Counter(v.level for v in s.violations)
        verdict = "**blocked**" if s.mandatory else "passed"
        lines.append(f"**Policy ({packs}):** {verdict}: {levels.get('mandatory', 0)} mandatory, "
                     f"{levels.get('advisory', 0)} advisory violation(s)")
        if s.violations:
            lines += ["", "| Level | Policy | Resource | Message |", "|---|---|---|---|"]
            order = {"mandatory": 0, "remediate": 1, "advisory": 2}
            for v in sorted(s.violations, key=lambda v: (order.get(v.level, 3), v.policy, v.urn or ""))[:MAX_ROWS]:
                lines.append(f"| {v.level} | {_cell(v.policy)} | {_cell(_resource(v.urn))} | {_cell(v.message)} |")
    notable = [d for d in s.diagnostics if d.severity in ("error", "warning")]
    if notable or s.error:
        lines += ["", "**Diagnostics:**", ""]
        lines += [f"- {d.severity}: {_resource(d.urn)}: {_cell(d.message)}" for d in notable[:MAX_ROWS]]
        if s.error:
            lines.append(f"- engine error: {_cell(s.error)}")
    return "\n".join(lines) + "\n"


def as_json(s: Summary) -> dict[str, Any]:
    return {
        "stack": s.stack,
        "isPreview": s.is_preview,
        "changeSummary": s.change_summary,
        "changes": [{"op": st.op, "urn": st.urn, "type": st.type, "name": st.name, "properties": list(st.changed),
                     "replaceKeys": list(st.replace_keys), "failed": st.failed} for st in s.changes],
        "policyResults": s.has_policy_results,
        "policyPacks": s.policy_packs,
        "violations": [{"level": v.level, "policy": v.policy, "pack": v.pack, "packVersion": v.pack_version,
                        "urn": v.urn, "message": v.message} for v in s.violations],
        "diagnostics": [{"severity": d.severity, "urn": d.urn, "message": d.message} for d in s.diagnostics],
        "failed": s.failed,
        "error": s.error,
        "stateResources": s.state_resources,
    }


def summarize_command(
    preview: Annotated[Path | None, typer.Argument(metavar="PREVIEW.json", help="`pulumi preview --json` output.")
                       ] = None,
    events: Annotated[Path | None, typer.Option("--events", help="Engine event log (`pulumi preview --event-log`); "
                                                "carries the policy results.")] = None,
    state: Annotated[Path | None, typer.Option("--state", help="`pulumi stack export` output, for context.")] = None,
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.markdown,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file.")] = None,
) -> None:
    """Summarise a real preview (changes, policy violations, diagnostics); exit 1 on a mandatory violation,
    an error diagnostic or a failed run."""
    s = summarize(preview, events, state)
    text = markdown(s) if fmt is Format.markdown else json.dumps(as_json(s), indent=2) + "\n"
    if output is None:
        print(text, end="")
    else:
        write_atomically(output, text, inputs=[p for p in (preview, events, state) if p is not None])
    if s.mandatory or s.errors or s.failed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("summarize")(summarize_command)
