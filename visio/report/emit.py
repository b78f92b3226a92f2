"""Writing a report in the format asked for, to stdout or a file, for any front end.

Files are written whole (temporary file then rename) so a failed run never leaves half a report.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from enum import StrEnum
from pathlib import Path

from visio.errors import InputError
from visio.report import html, junit, sarif
from visio.report.target import Target


class Format(StrEnum):
    text = "text"
    json = "json"
    sarif = "sarif"
    junit = "junit"
    html = "html"


def write_atomically(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # as a plain open() would: reports are CI artifacts
        os.replace(tmp, path)
    except OSError as exc:
        raise InputError(f"{path}: cannot write ({exc.strerror})") from None


def render(targets: Sequence[Target], fmt: Format, as_json: Callable[[], str]) -> str:
    if fmt is Format.sarif:
        return sarif.render(targets)
    if fmt is Format.junit:
        return junit.render(targets)
    if fmt is Format.html:
        return html.render(targets)
    if fmt is Format.json:
        return as_json()
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


def emit(
    targets: Sequence[Target],
    fmt: Format,
    output: Path | None,
    as_json: Callable[[], str],
    as_text: Callable[[], None],
    reports: Sequence[tuple[Format, Path]] = (),
) -> None:
    """Text goes to the terminal unless a file is named; the other formats go where asked.

    Every extra report is rendered before any file is written, so a failure writes none of them.
    """
    rendered = [(path, render(targets, report_fmt, as_json)) for report_fmt, path in reports]
    for path, text in rendered:
        write_atomically(path, text)
    if fmt is Format.text and output is None:
        as_text()
        return
    if fmt is Format.text:
        raise InputError(f"{output}: --output takes json, sarif, junit or html (text is for the terminal)")
    text = render(targets, fmt, as_json)
    if output is None:
        print(text)
    else:
        write_atomically(output, text)
