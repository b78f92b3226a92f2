"""The `visio` command-line tool: one Typer app, one module per command under `visio.commands`."""

from __future__ import annotations

import importlib
import sys

import typer

from visio.errors import InputError

app = typer.Typer(
    name="visio",
    help="Sovereign Visio platform: stacks, offline plans and sovereignty audits.\n\n"
    "Exit codes: 0 clean, 1 mandatory findings (or drift), 2 unusable input.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Each module defines `register(app)`; the order is the order of `visio --help`.
COMMANDS = ("stacks", "validate", "plan", "audit", "scan", "drift", "summarize", "verify")


def _load_commands() -> None:
    for name in COMMANDS:
        importlib.import_module(f"visio.commands.{name}").register(app)


_load_commands()


def main() -> None:
    try:
        app(standalone_mode=True)
    except InputError as exc:
        for line in exc.problems:
            print(f"error: {line}", file=sys.stderr)
        sys.exit(2)
