"""Capacity sizing: SFU nodes follow the streams each room forwards, hand-computed from the benchmarks."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import pytest

from common.config import StackConfig, load_stack
from common.config.model import Capacity
from common.errors import InputError
from components.sizing import KYUTAI_STREAMS_PER_GPU, WHISPER_STREAMS_PER_GPU, size

# The two published 16-core benchmarks, per core at 100% CPU, written out independently of the code.
VIDEO_PER_CORE = Fraction(150 * 3 + 150 * 149, 16) / Fraction(85, 100)  # 450 layers in, 22,350 out, ~85%
AUDIO_PER_CORE = Fraction(10 + 10 * 3000, 16) / Fraction(80, 100)  # 10 in, 30,000 out, ~80%
W = VIDEO_PER_CORE / AUDIO_PER_CORE  # an audio stream in video streams
NODE_WORK = 16 * Fraction(85, 100) * VIDEO_PER_CORE  # = 22,800
NODE_BPS = 10_000_000_000 * Fraction(7, 10)
LAYERS_IN = 160_000 + 450_000 + 1_700_000  # a camera's three simulcast layers
BENCHMARK = {"cameraShare": 1.0, "openMicrophonesPerRoom": 0, "screenShareShare": 0.0, "layout": "grid"}


def _with(config: StackConfig, traffic: dict[str, Any] | None = None, sfu: dict[str, Any] | None = None,
          **capacity: Any) -> StackConfig:
    raw = config.capacity.model_dump(exclude_none=True)
    raw.update(capacity)
    raw = {k: v for k, v in raw.items() if v is not None}
    raw["traffic"] = {**raw.get("traffic", {}), **(traffic or {})}
    raw["sfuNode"] = {**raw.get("sfuNode", {}), **(sfu or {})}
    return config.model_copy(update={"capacity": Capacity.model_validate(raw)})


def _justice(**kw: Any) -> StackConfig:
    return _with(load_stack("justice-prod").config, **kw)


def test_the_benchmark_room_takes_exactly_the_benchmark_node() -> None:
    # 150 publishers and 150 subscribers, video only, as the benchmark ran it: one node, full.
    s = size(_justice(traffic=BENCHMARK, peakConcurrentParticipants=150, participantsPerRoom=150))
    (room,) = s.rooms
    assert room.load.work == NODE_WORK == 22_800
    assert room.load.layer == "h180"  # 150 tiles
    assert (room.rooms, room.rooms_per_node, room.limit, room.nodes) == (1, 1, "cpu", 1)
    assert s.sfu_demand == 1 and s.sfu_nodes == 2  # production's N+1
    two = size(_justice(traffic=BENCHMARK, peakConcurrentParticipants=300, participantsPerRoom=150))
    assert two.sfu_demand == 2


def test_a_room_of_two() -> None:
    s = size(_justice(peakConcurrentParticipants=2000, participantsPerRoom=2))
    (room,) = s.rooms
    load = room.load
    # 2 cameras (3 layers each) in, each sent to the other at h720; half the rooms share a screen;
    # both microphones open (the default 3, capped at the room).
    assert load.layer == "h720"
    assert load.work == 6 + 2 + Fraction(1, 2) + Fraction(1, 2) + W * (2 + 2)
    assert load.ingress_bps == 2 * LAYERS_IN + Fraction(1, 2) * 2_500_000 + 2 * 48_000
    assert load.egress_bps == 2 * 1_700_000 + Fraction(1, 2) * 2_500_000 + 2 * 48_000
    # Simulcast sends three layers up and one down: ingress fills the NIC first.
    assert room.limit == "bandwidth"
    assert room.rooms_per_node == math.floor(NODE_BPS / load.ingress_bps) == 1173
    assert room.rooms == 1000 and s.sfu_demand == 1


def test_a_room_of_twelve_is_interieur_prod() -> None:
    s = size(load_stack("interieur-prod").config)  # 20,000 participants in rooms of 12
    (room,) = s.rooms
    load = room.load
    assert load.layer == "h360"  # 12 tiles
    assert load.forwarded == 12 * 11 + Fraction(1, 2) * 11 + 3 * 11
    assert load.work == 36 + 132 + Fraction(1, 2) + Fraction(11, 2) + W * (3 + 33)
    assert load.egress_bps == 132 * 450_000 + Fraction(11, 2) * 2_500_000 + 33 * 48_000
    cpu_rooms = math.floor(NODE_WORK / load.work)
    bw_rooms = math.floor(NODE_BPS / load.egress_bps)
    assert (cpu_rooms, bw_rooms) == (114, 93)
    assert (room.rooms, room.rooms_per_node, room.limit) == (1667, 93, "bandwidth")
    assert s.sfu_demand == math.ceil(1667 / 93) == 18
    assert s.sfu_nodes == 19  # a seventh of the 135 the flat 150-per-node figure gave


def test_a_room_of_150_with_open_microphones_does_not_fit_a_16_core_node() -> None:
    cfg = _justice(peakConcurrentParticipants=1500, participantsPerRoom=150)
    with pytest.raises(InputError, match=r"^capacity\.participantsPerRoom: a room of 150 needs 102% of an SFU "
                                         r"node's CPU target .*a room must fit on one node"):
        size(cfg)
    # Twice the cores fit it, one room per node.
    s = size(_justice(peakConcurrentParticipants=1500, participantsPerRoom=150, sfu={"cores": 32}))
    assert (s.rooms[0].rooms_per_node, s.sfu_demand) == (1, 10)


def _demand(n: int, **traffic: Any) -> int:
    return size(_justice(peakConcurrentParticipants=6000, participantsPerRoom=n, traffic=traffic)).sfu_demand


def test_bigger_rooms_need_more_nodes_for_the_same_participants() -> None:
    # In a grid everyone receives every camera: the work per participant grows with the room. A smaller
    # room shows bigger tiles, so a higher layer: the order holds within a layer, and across the range.
    grid = [_demand(n) for n in (5, 8, 12, 16)]
    assert grid == sorted(grid) and grid[-1] > grid[0] and grid == [3, 4, 6, 7]
    assert _demand(50) >= 5 * _demand(2)
    # In speaker view each participant receives one camera whatever the room: the same nodes.
    assert {_demand(n, layout="speaker") for n in (2, 4, 8, 12, 25, 50)} == {3}


def test_a_mix_of_rooms_sums_its_sizes() -> None:
    mix = [{"participants": 4, "share": 0.5}, {"participants": 12, "share": 0.3}, {"participants": 50, "share": 0.2}]
    s = size(_justice(participantsPerRoom=None, rooms=mix))
    assert [r.key for r in s.rooms] == [f"capacity.rooms.{i}.participants" for i in range(3)]
    assert [r.rooms for r in s.rooms] == [750, 150, 24]  # 6,000 x share / size, rounded up
    assert s.sfu_demand == sum(math.ceil(r.rooms / r.rooms_per_node) for r in s.rooms)


def test_speaker_view_and_audio_only_forward_less() -> None:
    grid = size(load_stack("interieur-prod").config).rooms[0].load
    speaker = size(_with(load_stack("interieur-prod").config, traffic={"layout": "speaker"})).rooms[0].load
    assert speaker.layer == "h720" and speaker.video_out == 11 + Fraction(11, 2)  # one camera to 11 viewers
    phones = size(_with(load_stack("interieur-prod").config, traffic={"audioOnlyShare": 0.5})).rooms[0].load
    assert phones.cameras == 6 and phones.video_out == 6 * 5 + Fraction(1, 2) * 5
    assert speaker.work < grid.work and phones.work < grid.work


def test_calibrated_figures_and_a_bigger_nic_move_the_limit() -> None:
    cfg = load_stack("interieur-prod").config
    fast = size(_with(cfg, sfu={"nicGbps": 25.0})).rooms[0]
    assert fast.limit == "cpu" and fast.rooms_per_node == 114
    slow = size(_with(cfg, sfu={"nicGbps": 25.0, "videoStreamsPerCore": 800.0})).rooms[0]
    assert slow.rooms_per_node < fast.rooms_per_node
    assert any(f.key == "capacity.sfuNode.videoStreamsPerCore" and f.source.startswith("stack") for f in
               size(_with(cfg, sfu={"videoStreamsPerCore": 800.0})).figures)


def test_every_figure_names_its_source() -> None:
    s = size(load_stack("interieur-prod").config)
    keys = {f.key for f in s.figures}
    assert {"capacity.traffic.cameraShare", "capacity.sfuNode.nicGbps", "capacity.traffic.relayedShare",
            "capacity.streamsPerGpu"} <= keys
    assert all(f.source for f in s.figures)
    benchmark = [f for f in s.figures if "benchmark" in f.source.lower()]
    assert {f.key for f in benchmark} >= {"capacity.sfuNode.videoStreamsPerCore",
                                          "capacity.sfuNode.audioStreamsPerCore"}


def test_turn_follows_relayed_participants_and_their_bandwidth() -> None:
    cfg = load_stack("interieur-prod").config  # relay range 40000-49999
    s = size(cfg)
    assert s.relayed_participants == 5000 and s.turn_allocations == 10_000  # 25%, two peer connections each
    room = s.rooms[0].load
    per_participant = (room.ingress_bps + room.egress_bps) / 12
    assert s.relayed_bps == 5000 * per_participant
    assert s.turn_demand == max(1, math.ceil(s.relayed_bps / NODE_BPS)) == 7
    assert s.turn_replicas == 8
    few = size(_with(cfg, traffic={"relayedShare": 0.01}, allocationsPerTurnReplica=100))
    assert few.turn_demand == math.ceil(200 * 2 / 100)  # ports bind first


def test_captioning_gpus() -> None:
    s = size(load_stack("interieur-prod").config)  # kyutai, 10% captioned
    assert s.streams_per_gpu == KYUTAI_STREAMS_PER_GPU and s.stt_streams == 2000
    assert s.stt_replicas == 32 + 1
    assert s.node_pools == {"media": 19, "gpu-l4": math.ceil(33 / 4)}
    assert size(load_stack("justice-prod").config).stt_replicas == 0
    culture = size(load_stack("culture-staging").config)
    assert culture.streams_per_gpu == WHISPER_STREAMS_PER_GPU and culture.stt_replicas == 40 // 8 + 1


def test_production_keeps_two_of_everything_even_when_tiny() -> None:
    s = size(_justice(peakConcurrentParticipants=10, participantsPerRoom=5))
    assert (s.sfu_nodes, s.turn_replicas) == (2, 2)


def test_more_allocations_than_relay_ports_is_refused() -> None:
    cfg = _with(load_stack("interieur-prod").config, allocationsPerTurnReplica=10_001)
    with pytest.raises(InputError, match=r"capacity\.allocationsPerTurnReplica: 10001 exceeds the 10000 ports"):
        size(cfg)


def test_a_refusal_names_the_stack_file() -> None:
    cfg = _justice(participantsPerRoom=400)
    with pytest.raises(InputError) as err:
        size(cfg, "stacks/Pulumi.justice-prod.yaml")
    assert err.value.problems[0].startswith(
        "stacks/Pulumi.justice-prod.yaml: visio:capacity.participantsPerRoom: a room of 400 needs")


@pytest.mark.parametrize(("capacity", "message"), [
    ({"participantsPerRoom": 8, "rooms": [{"participants": 8, "share": 1.0}]}, "not both or neither"),
    ({"participantsPerRoom": None}, "not both or neither"),
    ({"participantsPerRoom": None, "rooms": [{"participants": 8, "share": 0.5}, {"participants": 4, "share": 0.4}]},
     "the shares add up to 0.9, not 1"),
    ({"participantsPerRoom": None, "rooms": [{"participants": 8, "share": 0.5}, {"participants": 8, "share": 0.5}]},
     "each room size appears once"),
])
def test_inconsistent_inputs_are_refused(capacity: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _justice(**capacity)
