"""Terminal output: colours only on a terminal, NO_COLOR respected (rich does both)."""

from __future__ import annotations

from rich.console import Console


def _console(stderr: bool) -> Console:
    console = Console(stderr=stderr, highlight=False, soft_wrap=True)
    if not console.is_terminal:
        # Logs and CI artifacts: do not squeeze tables into 80 columns.
        console = Console(stderr=stderr, highlight=False, soft_wrap=True, width=200)
    return console


out = _console(stderr=False)
err = _console(stderr=True)
