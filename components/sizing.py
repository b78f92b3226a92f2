"""How many SFU nodes, TURN replicas and speech-to-text GPUs a stack needs at its peak.

Pure arithmetic over `capacity` and `media` of the stack configuration. SFU nodes follow the work
each room size does (components/traffic.py); every default figure says where it comes from and a
stack overrides any of them under `visio:capacity`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from common.config.loader import NAMESPACE
from common.config.model import StackConfig
from common.errors import InputError
from components.traffic import PLANNING, Figure, Profile, RoomLoad, figure, profile, room_load

# Stock coturn binds one relay port per allocation, so a replica (one per node, host network)
# holds at most as many allocations as its relay port range has ports. CPU is not the limit first:
# coturn relays "thousands of simultaneous calls per CPU".
# LiveKit clients open two peer connections (publisher and subscriber), each with its own relay
# allocation when ICE has to go through TURN.
TURN_ALLOCATIONS_PER_RELAYED_PARTICIPANT = 2

# moshi-server batches at most `batch_size` streams per GPU; 64 is the batch size of Kyutai's
# published stt-1b-en_fr server configuration, so it is a hard ceiling, not a measured throughput.
KYUTAI_STREAMS_PER_GPU = 64
# No published figure for streaming faster-whisper behind an OpenAI-compatible API: planning
# assumption to override with a load test on the stack's GPU model.
WHISPER_STREAMS_PER_GPU = 8
# Planning assumption: a GPU node of the providers' catalogues carries four GPUs.
GPUS_PER_NODE = 4


@dataclass(frozen=True)
class RoomSizing:
    key: str  # the configuration key of this room size
    load: RoomLoad
    rooms: int
    rooms_per_node: int
    limit: str  # what fills a node first: "cpu" or "bandwidth"
    nodes: int


@dataclass(frozen=True)
class Sizing:
    sfu_nodes: int
    turn_replicas: int
    stt_replicas: int
    rooms: tuple[RoomSizing, ...]
    allocations_per_turn_replica: int
    streams_per_gpu: int
    # Demand the replica counts cover (before headroom).
    sfu_demand: int
    turn_demand: int
    peak_participants: int
    relayed_participants: int
    turn_allocations: int
    relayed_bps: Fraction
    stt_streams: int
    sfu_cores: int
    node_pools: dict[str, int]
    figures: tuple[Figure, ...]


def _with_headroom(needed: int, production: bool) -> int:
    # N+1 so that one node can drain or fail at peak; production keeps two for availability.
    return max(needed + 1, 2 if production else 1)


def _rooms(stack: StackConfig, prof: Profile) -> tuple[RoomSizing, ...]:
    cap = stack.capacity
    sized = []
    for key, n, share in cap.room_mix:
        load = room_load(n, prof)
        cpu = load.work / prof.node_work
        bandwidth = max(load.ingress_bps, load.egress_bps) / prof.node_bps
        if max(cpu, bandwidth) > 1:
            raise InputError(
                f"{key}: a room of {n} needs {float(cpu):.0%} of an SFU node's CPU target and "
                f"{float(bandwidth):.0%} of its NIC target; a room must fit on one node "
                "(raise capacity.sfuNode.cores or nicGbps, or lower the traffic)"
            )
        rooms = math.ceil(cap.peakConcurrentParticipants * Fraction(str(share)) / n)
        per_node = math.floor(1 / max(cpu, bandwidth))
        sized.append(RoomSizing(key, load, rooms, per_node, "cpu" if cpu >= bandwidth else "bandwidth",
                                math.ceil(rooms / per_node)))
    return tuple(sized)


def _share(stack: StackConfig, name: str) -> tuple[Fraction, Figure]:
    value, fig = figure(stack.capacity, f"traffic.{name}")
    return Fraction(str(value)), fig


def size(stack: StackConfig, source: str | None = None) -> Sizing:
    """The sizing of `stack`; a refusal names `source` (the stack file) when given."""
    try:
        return _size(stack)
    except InputError as exc:
        if source is None:
            raise
        raise InputError(*(f"{source}: {NAMESPACE}:{line}" for line in exc.problems)) from None


def _size(stack: StackConfig) -> Sizing:
    cap = stack.capacity
    prod = stack.production
    prof = profile(cap)
    figures = list(prof.figures)

    rooms = _rooms(stack, prof)
    sfu_demand = sum(r.nodes for r in rooms)

    relay_ports = stack.media.turn.relayPortRange.size
    per_replica = cap.allocationsPerTurnReplica or relay_ports
    if per_replica > relay_ports:
        raise InputError(
            f"capacity.allocationsPerTurnReplica: {per_replica} exceeds the {relay_ports} ports of "
            "media.turn.relayPortRange (one relay port per allocation)"
        )
    figures.append(Figure("capacity.allocationsPerTurnReplica", per_replica,
                          "stack" if cap.allocationsPerTurnReplica else
                          "stock coturn: one relay port per allocation (media.turn.relayPortRange)"))
    relayed_share, fig = _share(stack, "relayedShare")
    figures.append(fig)
    figures.append(Figure("TURN allocations per relayed participant", TURN_ALLOCATIONS_PER_RELAYED_PARTICIPANT,
                          "LiveKit clients: a publisher and a subscriber peer connection"))
    relayed = math.ceil(cap.peakConcurrentParticipants * relayed_share)
    allocations = relayed * TURN_ALLOCATIONS_PER_RELAYED_PARTICIPANT
    # A relayed participant's media crosses coturn's NIC both ways: what it sends and what it receives.
    seated = sum(r.rooms * r.load.participants for r in rooms)
    per_participant = sum((r.rooms * (r.load.ingress_bps + r.load.egress_bps) for r in rooms), Fraction(0)) / seated
    relayed_bps = relayed * per_participant
    turn_demand = max(math.ceil(Fraction(allocations, per_replica)), math.ceil(relayed_bps / prof.node_bps))

    default_streams = KYUTAI_STREAMS_PER_GPU if stack.captioning.engine == "kyutai" else WHISPER_STREAMS_PER_GPU
    streams_per_gpu = cap.streamsPerGpu or default_streams
    if stack.captioning.enabled:
        captioned, fig = _share(stack, "captionedShare")
        figures += [fig, Figure("capacity.streamsPerGpu", streams_per_gpu, "stack" if cap.streamsPerGpu else
                                "Kyutai stt-1b-en_fr server batch size" if stack.captioning.engine == "kyutai"
                                else PLANNING)]
        stt_streams = math.ceil(cap.peakConcurrentParticipants * captioned)
        stt_replicas = _with_headroom(math.ceil(stt_streams / streams_per_gpu), prod)
    else:
        stt_streams, stt_replicas = 0, 0

    sfu_nodes, turn_replicas = _with_headroom(sfu_demand, prod), _with_headroom(turn_demand, prod)
    # One SFU and one coturn pod per node of the media pool (host network): it holds the larger count.
    pools = {stack.media.nodePool: max(sfu_nodes, turn_replicas)}
    gpu_pool = stack.captioning.gpuNodePool
    if stack.captioning.enabled and gpu_pool:
        per_node = cap.gpusPerNode or GPUS_PER_NODE
        figures.append(Figure("capacity.gpusPerNode", per_node, "stack" if cap.gpusPerNode else PLANNING))
        pools[gpu_pool] = pools.get(gpu_pool, 0) + math.ceil(stt_replicas / per_node)

    return Sizing(
        sfu_nodes=sfu_nodes,
        turn_replicas=turn_replicas,
        stt_replicas=stt_replicas,
        rooms=rooms,
        allocations_per_turn_replica=per_replica,
        streams_per_gpu=streams_per_gpu,
        sfu_demand=sfu_demand,
        turn_demand=turn_demand,
        peak_participants=cap.peakConcurrentParticipants,
        relayed_participants=relayed,
        turn_allocations=allocations,
        relayed_bps=relayed_bps,
        stt_streams=stt_streams,
        sfu_cores=prof.cores,
        node_pools=pools,
        figures=tuple(figures),
    )
