"""Capacity sizing: replica counts follow the published per-unit figures, with N+1 headroom."""

from __future__ import annotations

import pytest

from common.config import StackConfig, load_stack
from common.errors import InputError
from components.sizing import (
    KYUTAI_STREAMS_PER_GPU,
    LIVEKIT_VIDEO_PARTICIPANTS_PER_16_CORE_NODE,
    WHISPER_STREAMS_PER_GPU,
    size,
)


def _with(config: StackConfig, **capacity: object) -> StackConfig:
    return config.model_copy(update={"capacity": config.capacity.model_copy(update=capacity)})


def test_interieur_prod_figures() -> None:
    cfg = load_stack("interieur-prod").config  # 20,000 participants, relay range 40000-49999, kyutai
    s = size(cfg)
    assert s.participants_per_sfu_node == LIVEKIT_VIDEO_PARTICIPANTS_PER_16_CORE_NODE == 150
    assert s.sfu_nodes == 134 + 1  # ceil(20000 / 150) + 1
    assert s.allocations_per_turn_replica == 10_000  # one relay port per allocation
    assert s.turn_replicas == 2 + 1
    assert s.streams_per_gpu == KYUTAI_STREAMS_PER_GPU
    assert s.stt_streams == 2000
    assert s.stt_replicas == 32 + 1  # ceil(2000 / 64) + 1


def test_captioning_off_needs_no_gpu() -> None:
    s = size(load_stack("justice-prod").config)
    assert s.stt_replicas == 0 and s.stt_streams == 0


def test_whisper_uses_its_own_planning_figure() -> None:
    s = size(load_stack("culture-staging").config)  # 400 participants, whisper
    assert s.streams_per_gpu == WHISPER_STREAMS_PER_GPU
    assert s.stt_replicas == 40 // WHISPER_STREAMS_PER_GPU + 1


def test_production_keeps_two_of_everything_even_when_tiny() -> None:
    cfg = _with(load_stack("justice-prod").config, peakConcurrentParticipants=10, participantsPerRoom=5)
    s = size(cfg)
    assert (s.sfu_nodes, s.turn_replicas) == (2, 2)


def test_dev_headroom_is_n_plus_one() -> None:
    cfg = load_stack("dev").config  # 50 participants
    assert size(cfg).sfu_nodes == 2
    small = _with(cfg, participantsPerSfuNode=1000)
    assert size(small).sfu_nodes == 2  # ceil(50/1000) + 1


def test_overrides_win() -> None:
    cfg = _with(load_stack("interieur-prod").config, participantsPerSfuNode=400,
                allocationsPerTurnReplica=4000, streamsPerGpu=100)
    s = size(cfg)
    assert s.sfu_nodes == 50 + 1
    assert s.turn_replicas == 5 + 1
    assert s.stt_replicas == 20 + 1


def test_more_participants_never_fewer_nodes() -> None:
    base = load_stack("justice-prod").config
    counts = [size(_with(base, peakConcurrentParticipants=n)).sfu_nodes for n in range(100, 20000, 737)]
    assert counts == sorted(counts)


def test_room_larger_than_a_node_is_refused() -> None:
    cfg = _with(load_stack("interieur-prod").config, participantsPerSfuNode=10)
    with pytest.raises(InputError, match=r"capacity\.participantsPerRoom"):
        size(cfg)


def test_more_allocations_than_relay_ports_is_refused() -> None:
    cfg = _with(load_stack("interieur-prod").config, allocationsPerTurnReplica=10_001)
    with pytest.raises(InputError, match=r"capacity\.allocationsPerTurnReplica: 10001 exceeds the 10000 ports"):
        size(cfg)


def sizing_table() -> list[str]:
    """The README's table of what each example stack gets, computed from the code."""
    from common.config import stack_names
    from components.values.identity import values as identity_values

    rows = [
        "| stack | peak participants (room size) | SFU nodes | TURN replicas (allocations each) "
        "| captioning: STT streams, GPUs (streams per GPU) | Keycloak replicas |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name in stack_names():
        cfg = load_stack(name).config
        s = size(cfg)
        captions = (f"{cfg.captioning.engine}: {s.stt_streams:,} streams, {s.stt_replicas} GPUs ({s.streams_per_gpu})"
                    if cfg.captioning.enabled else "off")
        rows.append(
            f"| {name} ({cfg.environment}) | {s.peak_participants:,} ({cfg.capacity.participantsPerRoom}) "
            f"| {s.sfu_nodes} | {s.turn_replicas} ({s.allocations_per_turn_replica:,}) | {captions} "
            f"| {identity_values(cfg)['keycloak']['replicas']} |"
        )
    return rows


def test_readme_sizing_table_is_what_the_code_computes() -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("\n## Sizing\n", 1)[1].split("\n## ", 1)[0]
    table = [line for line in section.splitlines() if line.startswith("|")]
    assert table == sizing_table()
