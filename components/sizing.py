"""How many SFU nodes, TURN replicas and speech-to-text GPUs a stack needs at its peak.

Pure arithmetic over `capacity` and `media` of the stack configuration; every default figure below
says where it comes from. A stack overrides a figure with its own measurements
(`capacity.participantsPerSfuNode`, `capacity.allocationsPerTurnReplica`, `capacity.streamsPerGpu`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from common.config.model import StackConfig
from common.errors import InputError

# LiveKit's published benchmark on a 16-core node: a 720p video room of 150 publishers and
# 150 subscribers runs at ~85% CPU (audio-only: 10 publishers / 3,000 subscribers at ~80%).
# We take 150 video participants per node. Rooms of our size (a dozen people) forward fewer streams
# per participant than that 150-person room, so the figure leaves margin rather than eating it.
LIVEKIT_VIDEO_PARTICIPANTS_PER_16_CORE_NODE = 150

# Stock coturn binds one relay port per allocation, so a replica (one per node, host network)
# holds at most as many allocations as its relay port range has ports. CPU is not the limit first:
# coturn relays "thousands of simultaneous calls per CPU".
# Planning assumption: every participant may need one relayed allocation (restrictive networks).
TURN_ALLOCATIONS_PER_PARTICIPANT = 1

# moshi-server batches at most `batch_size` streams per GPU; 64 is the batch size of Kyutai's
# published stt-1b-en_fr server configuration, so it is a hard ceiling, not a measured throughput.
KYUTAI_STREAMS_PER_GPU = 64
# No published figure for streaming faster-whisper behind an OpenAI-compatible API: planning
# assumption to override with a load test on the stack's GPU model.
WHISPER_STREAMS_PER_GPU = 8
# Planning assumption: at peak, one participant in ten is in a room with live subtitles on
# (the agent opens one STT stream per participant of a captioned room).
CAPTIONED_SHARE = 0.10


@dataclass(frozen=True)
class Sizing:
    sfu_nodes: int
    turn_replicas: int
    stt_replicas: int
    participants_per_sfu_node: int
    allocations_per_turn_replica: int
    streams_per_gpu: int
    # Demand the replica counts cover (before headroom).
    peak_participants: int
    turn_allocations: int
    stt_streams: int


def _with_headroom(needed: int, production: bool) -> int:
    # N+1 so that one node can drain or fail at peak; production keeps two for availability.
    return max(needed + 1, 2 if production else 1)


def size(stack: StackConfig) -> Sizing:
    cap = stack.capacity
    prod = stack.production

    per_node = cap.participantsPerSfuNode or LIVEKIT_VIDEO_PARTICIPANTS_PER_16_CORE_NODE
    if cap.participantsPerRoom > per_node:
        raise InputError(
            f"capacity.participantsPerRoom: {cap.participantsPerRoom} exceeds participantsPerSfuNode "
            f"{per_node} (a room must fit on one SFU node)"
        )
    sfu_nodes = _with_headroom(math.ceil(cap.peakConcurrentParticipants / per_node), prod)

    relay_ports = stack.media.turn.relayPortRange.size
    per_replica = cap.allocationsPerTurnReplica or relay_ports
    if per_replica > relay_ports:
        raise InputError(
            f"capacity.allocationsPerTurnReplica: {per_replica} exceeds the {relay_ports} ports of "
            "media.turn.relayPortRange (one relay port per allocation)"
        )
    allocations = cap.peakConcurrentParticipants * TURN_ALLOCATIONS_PER_PARTICIPANT
    turn_replicas = _with_headroom(math.ceil(allocations / per_replica), prod)

    default_streams = KYUTAI_STREAMS_PER_GPU if stack.captioning.engine == "kyutai" else WHISPER_STREAMS_PER_GPU
    streams_per_gpu = cap.streamsPerGpu or default_streams
    if stack.captioning.enabled:
        stt_streams = math.ceil(cap.peakConcurrentParticipants * CAPTIONED_SHARE)
        stt_replicas = _with_headroom(math.ceil(stt_streams / streams_per_gpu), prod)
    else:
        stt_streams, stt_replicas = 0, 0

    return Sizing(
        sfu_nodes=sfu_nodes,
        turn_replicas=turn_replicas,
        stt_replicas=stt_replicas,
        participants_per_sfu_node=per_node,
        allocations_per_turn_replica=per_replica,
        streams_per_gpu=streams_per_gpu,
        peak_participants=cap.peakConcurrentParticipants,
        turn_allocations=allocations,
        stt_streams=stt_streams,
    )
