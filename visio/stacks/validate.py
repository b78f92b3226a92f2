"""`visio validate`: check stack files against the typed configuration, touching nothing else."""

from __future__ import annotations

from typing import Annotated

import typer

from common.config import load_stack
from common.errors import InputError
from visio.console import out
from visio.options import selected_stacks


def validate(
    stack: Annotated[str | None, typer.Argument(help="Stack name (stacks/Pulumi.<stack>.yaml) or file.")] = None,
    all_stacks: Annotated[bool, typer.Option("--all", help="Every stack in stacks/.")] = False,
) -> None:
    """Validate stack configuration; exit 2 with one line per problem."""
    problems: list[str] = []
    for name in selected_stacks(stack, all_stacks):
        try:
            loaded = load_stack(name)
        except InputError as exc:
            problems.extend(exc.problems)
            continue
        out.print(f"[green]ok[/green] {loaded.name}")
    if problems:
        raise InputError(*problems)


def register(app: typer.Typer) -> None:
    app.command("validate")(validate)
