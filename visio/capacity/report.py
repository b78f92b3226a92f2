"""The capacity of stacks as JSON, a terminal table or the README's Markdown table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from common.config.loader import Stack
from components.sizing import RoomSizing, Sizing
from visio.capacity.cost import Cost, monthly


@dataclass(frozen=True)
class StackCapacity:
    stack: Stack
    sizing: Sizing
    cost: Cost | None


def capacity(stack: Stack, sizing: Sizing) -> StackCapacity:
    return StackCapacity(stack, sizing, monthly(sizing.node_pools, stack.config.capacity.prices))


def _num(value: Any, digits: int = 1) -> float | int:
    number = round(float(value), digits)
    return int(number) if number.is_integer() else number


def _room(r: RoomSizing) -> dict[str, Any]:
    load = r.load
    return {
        "participants": load.participants,
        "rooms": r.rooms,
        "publishedTracks": _num(load.published),
        "receivedStreams": _num(load.streams_in),
        "forwardedTracks": _num(load.forwarded),
        "layerReceived": load.layer,
        "ingressMbps": _num(load.ingress_bps / 1_000_000),
        "egressMbps": _num(load.egress_bps / 1_000_000),
        "roomsPerNode": r.rooms_per_node,
        "limit": r.limit,
        "sfuNodes": r.nodes,
    }


def as_json(c: StackCapacity) -> dict[str, Any]:
    s, cfg = c.sizing, c.stack.config
    cost: dict[str, Any] | None = None
    if c.cost is not None:
        cost = {"currency": c.cost.currency, "source": c.cost.source,
                "perPool": {k: _num(v, 2) for k, v in c.cost.per_pool.items()},
                "unpriced": list(c.cost.unpriced),
                "total": None if c.cost.total is None else _num(c.cost.total, 2)}
    return {
        "stack": c.stack.name,
        "environment": cfg.environment,
        "peakConcurrentParticipants": s.peak_participants,
        "rooms": [_room(r) for r in s.rooms],
        "sfuDemand": s.sfu_demand,
        "sfuNodes": s.sfu_nodes,
        "sfuCores": s.sfu_cores,
        "relayedParticipants": s.relayed_participants,
        "turnAllocations": s.turn_allocations,
        "relayedGbps": _num(s.relayed_bps / 1_000_000_000, 2),
        "turnDemand": s.turn_demand,
        "turnReplicas": s.turn_replicas,
        "sttStreams": s.stt_streams,
        "sttGpus": s.stt_replicas,
        "nodePools": s.node_pools,
        "monthlyCost": cost,
        "assumptions": [{"key": f.key, "value": f.value, "source": f.source} for f in s.figures],
    }


def national(caps: list[StackCapacity]) -> dict[str, Any]:
    """The sum over stacks; the cost only in a currency every stack prices completely."""
    costs = [c.cost for c in caps]
    currencies = {c.currency for c in costs if c is not None}
    complete = all(c is not None and c.total is not None for c in costs) and len(currencies) == 1
    unpriced = [c.stack.name for c in caps if c.cost is None or c.cost.total is None]
    return {
        "stacks": len(caps),
        "peakConcurrentParticipants": sum(c.sizing.peak_participants for c in caps),
        "sfuNodes": sum(c.sizing.sfu_nodes for c in caps),
        "turnReplicas": sum(c.sizing.turn_replicas for c in caps),
        "sttGpus": sum(c.sizing.stt_replicas for c in caps),
        "nodes": sum(sum(c.sizing.node_pools.values()) for c in caps),
        "monthlyCost": ({"currency": currencies.pop(), "total": _num(sum(c.total or 0 for c in costs if c), 2)}
                        if complete else None),
        "unpricedStacks": unpriced,
    }


def _rooms_cell(s: Sizing) -> str:
    return ", ".join(f"{r.rooms:,} of {r.load.participants}" for r in s.rooms)


def _forwarded_cell(s: Sizing) -> str:
    return ", ".join(f"{_num(r.load.forwarded):,}" for r in s.rooms)


def _limit_cell(s: Sizing) -> str:
    return ", ".join(f"{r.rooms_per_node:,} ({r.limit})" for r in s.rooms)


def _cost_cell(c: StackCapacity) -> str:
    if c.cost is None:
        return "not priced"
    if c.cost.total is None:
        return f"incomplete (no price for {', '.join(c.cost.unpriced)})"
    return f"{c.cost.total:,.0f} {c.cost.currency}"


HEADER = ("stack", "peak participants", "rooms", "forwarded tracks per room", "rooms per SFU node (limit)",
          "SFU nodes", "TURN replicas", "STT GPUs", "node pools", "monthly cost")


def row(c: StackCapacity) -> tuple[str, ...]:
    s = c.sizing
    pools = ", ".join(f"{pool} {n}" for pool, n in s.node_pools.items())
    return (f"{c.stack.name} ({c.stack.config.environment})", f"{s.peak_participants:,}", _rooms_cell(s),
            _forwarded_cell(s), _limit_cell(s), str(s.sfu_nodes), str(s.turn_replicas), str(s.stt_replicas),
            pools, _cost_cell(c))


def markdown(caps: list[StackCapacity]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "| " + " | ".join("---" for _ in HEADER) + " |"]
    lines += ["| " + " | ".join(row(c)) + " |" for c in caps]
    return "\n".join(lines) + "\n"
