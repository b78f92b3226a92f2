"""Writing a report in the format asked for, to stdout or a file: every command goes through here.

Every command takes the same options: `--format`, `--output/-o` and `--report FORMAT=FILE`. Files
are written all or nothing (`visio.report.files`), before anything goes to the terminal.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import StrEnum
from pathlib import Path

from common.errors import InputError
from visio.report import json as json_report
from visio.report.files import write_all
from visio.report.target import Target
from visio.report.wellformed import json_document, xml_document


class Format(StrEnum):
    text = "text"
    json = "json"
    sarif = "sarif"
    junit = "junit"
    html = "html"


def render(command: str, targets: Sequence[Target], fmt: Format, as_junit: Callable[[], str] | None = None) -> str:
    # Each renderer is imported when asked for: the HTML one loads Jinja and its templates.
    if fmt is Format.sarif:
        from visio.report import sarif

        return json_document(sarif.render(targets))
    if fmt is Format.junit:
        from visio.report import junit

        return xml_document(as_junit() if as_junit is not None else junit.render(targets))
    if fmt is Format.html:
        from visio.report import html

        return xml_document(html.render(targets))
    if fmt is Format.json:
        return json_document(json_report.render(command, targets))
    raise ValueError(f"{fmt} is rendered by the front end")


REPORT_HELP = "Also write a report file, as FORMAT=FILE (json, sarif, junit, html); repeatable."


def parse_reports(specs: Sequence[str]) -> list[tuple[Format, Path]]:
    """`--report sarif=out/plan.sarif` specs, checked before any work is done."""
    parsed: list[tuple[Format, Path]] = []
    for spec in specs:
        name, sep, file = spec.partition("=")
        if not sep or not file or name not in {f.value for f in Format} or name == Format.text:
            raise InputError(f"--report {spec}: expected FORMAT=FILE with FORMAT json, sarif, junit or html")
        parsed.append((Format(name), Path(file)))
    return parsed


def check_output(fmt: Format, output: Path | None) -> None:
    """Refuse `--output` with text before any work is done."""
    if fmt is Format.text and output is not None:
        raise InputError(f"{output}: --output takes json, sarif, junit or html (text is for the terminal)")


def emit(
    command: str,
    targets: Sequence[Target],
    fmt: Format,
    output: Path | None,
    as_text: Callable[[], None],
    reports: Sequence[tuple[Format, Path]] = (),
    inputs: Sequence[Path] = (),
    as_junit: Callable[[], str] | None = None,
) -> None:
    """Text goes to the terminal unless a file is named; the other formats go where asked.

    Every report is rendered before any file is written, and the files are written all or none;
    none replaces one of the run's `inputs`. `as_junit` replaces the one-case-per-rule JUnit report
    where a command's cases are not rules (verify's checks).
    """
    check_output(fmt, output)
    files = [(path, render(command, targets, report_fmt, as_junit)) for report_fmt, path in reports]
    text = None if fmt is Format.text else render(command, targets, fmt, as_junit)
    if output is not None and text is not None:
        files.append((output, text))
    write_all(files, inputs)
    if fmt is Format.text:
        as_text()
    elif output is None:
        print(text)
