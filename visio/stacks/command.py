"""`visio stacks`: the example and ministry stacks in stacks/, one line each."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from common.config import load_stack, stack_names
from common.errors import InputError
from visio.console import out


def stacks(
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list instead of a table."),
) -> None:
    """List stacks with their provider, region and policy profile."""
    rows: list[dict[str, str]] = []
    problems: list[str] = []
    for name in stack_names():
        try:
            config = load_stack(name).config
        except InputError as exc:
            problems.extend(exc.problems)
            continue
        rows.append(
            {
                "stack": name,
                "ministry": config.ministry,
                "environment": config.environment,
                "provider": config.cluster.provider,
                "region": config.cluster.region,
                "country": config.cluster.country_code,
                "kubernetes": config.cluster.kubernetesVersion,
                "profile": config.policy.profile,
            }
        )
    if as_json:
        print(json.dumps(rows, indent=2))
    else:
        table = Table("stack", "ministry", "env", "provider", "region", "country", "k8s", "profile")
        for row in rows:
            table.add_row(*row.values())
        out.print(table)
    if problems:
        raise InputError(*problems)


def register(app: typer.Typer) -> None:
    app.command("stacks")(stacks)
