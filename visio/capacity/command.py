"""`visio capacity STACK|--all`: SFU nodes, TURN replicas and GPUs from the traffic model, with the cost."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from common.config import load_stack
from common.errors import InputError
from common.paths import display
from components.sizing import size
from visio.capacity.report import HEADER, StackCapacity, as_json, capacity, markdown, national, row
from visio.console import out
from visio.options import selected_stacks


class Format(StrEnum):
    text = "text"
    json = "json"
    markdown = "markdown"


def _load(names: list[str]) -> list[StackCapacity]:
    # Every stack is sized before anything is printed: one refused stack prints nothing half-done.
    caps: list[StackCapacity] = []
    problems: list[str] = []
    for name in names:
        try:
            stack = load_stack(name)
            caps.append(capacity(stack, size(stack.config, display(stack.path))))
        except InputError as exc:
            problems.extend(exc.problems)
    if problems:
        raise InputError(*problems)
    return caps


def _details(c: StackCapacity) -> None:
    data = as_json(c)
    out.print(f"\n[bold]{escape(c.stack.name)}[/bold] ({c.stack.config.environment}): "
              f"{data['peakConcurrentParticipants']:,} participants at peak")
    rooms = Table("room size", "rooms", "published tracks", "forwarded tracks", "layer", "in Mb/s", "out Mb/s",
                  "rooms per node", "limit", "SFU nodes", title="SFU work per room size", title_justify="left")
    for r in data["rooms"]:
        rooms.add_row(*(str(r[k]) for k in ("participants", "rooms", "publishedTracks", "forwardedTracks",
                                               "layerReceived", "ingressMbps", "egressMbps", "roomsPerNode",
                                               "limit", "sfuNodes")))
    out.print(rooms)
    out.print(f"SFU nodes: {data['sfuNodes']} ({data['sfuDemand']} for the load + headroom), "
              f"{data['sfuCores']} cores each")
    out.print(f"TURN replicas: {data['turnReplicas']} ({data['relayedParticipants']:,} relayed participants, "
              f"{data['turnAllocations']:,} allocations, {data['relayedGbps']} Gb/s relayed)")
    out.print(f"Speech-to-text GPUs: {data['sttGpus']} ({data['sttStreams']:,} captioned streams)")
    pools = ", ".join(f"{escape(k)}: {v} nodes" for k, v in data["nodePools"].items())
    out.print(f"Node pools: {pools}")
    cost = data["monthlyCost"]
    if cost is None:
        out.print("Monthly cost: not priced (set visio:capacity.prices from the provider's price list)")
    else:
        parts = ", ".join(f"{escape(k)} {v:,.2f}" for k, v in cost["perPool"].items())
        total = "incomplete" if cost["total"] is None else f"{cost['total']:,.2f} {cost['currency']}"
        missing = f"; no price for {', '.join(cost['unpriced'])}" if cost["unpriced"] else ""
        out.print(f"Monthly cost: {total} ({parts}{missing}; {escape(cost['source'])})")
    figures = Table("figure", "value", "source", title="Assumptions", title_justify="left")
    for f in data["assumptions"]:
        figures.add_row(escape(f["key"]), escape(str(f["value"])), escape(f["source"]))
    out.print(figures)


def _text(caps: list[StackCapacity]) -> None:
    for c in caps:
        _details(c)
    if len(caps) > 1:
        table = Table(*HEADER, title="All stacks", title_justify="left")
        for c in caps:
            table.add_row(*(escape(cell) for cell in row(c)))
        out.print(table)
        total = national(caps)
        cost = total["monthlyCost"]
        priced = f"{cost['total']:,.2f} {cost['currency']} a month" if cost else \
            f"cost not complete (unpriced: {', '.join(total['unpricedStacks'])})"
        out.print(f"National: {total['peakConcurrentParticipants']:,} participants, {total['sfuNodes']} SFU nodes, "
                  f"{total['turnReplicas']} TURN replicas, {total['sttGpus']} GPUs, {total['nodes']} nodes; {priced}")


def capacity_command(
    stack: Annotated[str | None, typer.Argument(help="Stack name (stacks/Pulumi.<stack>.yaml).")] = None,
    all_stacks: Annotated[bool, typer.Option("--all", help="Every stack in stacks/, with a national total.")] = False,
    fmt: Annotated[Format, typer.Option("--format", help="text, json, or markdown (the README's table).")] =
    Format.text,
) -> None:
    """Size a stack from its traffic: forwarded streams and bitrate per SFU node, TURN, GPUs, monthly cost."""
    caps = _load(selected_stacks(stack, all_stacks))
    if fmt is Format.json:
        doc = {"stacks": [as_json(c) for c in caps], "national": national(caps)} if all_stacks else as_json(caps[0])
        print(json.dumps(doc, indent=2))
    elif fmt is Format.markdown:
        print(markdown(caps), end="")
    else:
        _text(caps)


def register(app: typer.Typer) -> None:
    app.command("capacity")(capacity_command)
