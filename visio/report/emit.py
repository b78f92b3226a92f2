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


def emit(
    targets: Sequence[Target],
    fmt: Format,
    output: Path | None,
    as_json: Callable[[], str],
    as_text: Callable[[], None],
) -> None:
    """Text goes to the terminal unless a file is named; the other formats go where asked."""
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
