"""The program reads the engine's configuration, and refuses a bad one before registering anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from common.config import load_stack, stack_path
from common.errors import InputError
from components.sizing import size
from visio.plan.mockrun import ProgramMocks, Secret, run_program
from visio.plan.pulumiconfig import PLACEHOLDER

CHART = "kubernetes:helm.sh/v4:Chart"


def media_values(**overrides: object) -> dict:  # type: ignore[type-arg]
    plan = run_program("dev", overrides)
    return plan.get(CHART, "media").inputs["values"]  # type: ignore[no-any-return]


def test_a_config_change_reaches_the_chart_values() -> None:
    base = media_values()
    assert base["livekit"]["udpPortRange"] == {"start": 50000, "end": 50199}
    changed = media_values(**{"visio:media.udpPortRange": {"start": 52000, "end": 52999}})
    assert changed["livekit"]["udpPortRange"] == {"start": 52000, "end": 52999}


def test_peak_participants_drive_the_sfu_node_count() -> None:
    config = load_stack("dev").config
    peak = 5000
    capacity = config.capacity.model_copy(update={"peakConcurrentParticipants": peak})
    grown = config.model_copy(update={"capacity": capacity})
    values = media_values(**{"visio:capacity.peakConcurrentParticipants": peak})
    assert values["livekit"]["replicas"] == size(grown).sfu_nodes
    assert values["livekit"]["replicas"] > media_values()["livekit"]["replicas"]


@pytest.mark.parametrize(
    ("override", "problem"),
    [
        ({"visio:media.udpPortRange.start": 70000}, "visio:media.udpPortRange.start"),
        ({"visio:media.turn.relayPortRange": {"start": 50100, "end": 50300}}, "visio:media.turn.relayPortRange"),
        ({"visio:cluster.country": "US"}, "visio:cluster.country"),
        ({"visio:environment": "production"}, "visio:environment"),
        ({"visio:surprise": "1"}, "visio:surprise: unknown key"),
    ],
)
def test_bad_config_stops_the_program_before_any_registration(override: dict, problem: str) -> None:  # type: ignore[type-arg]
    mocks = ProgramMocks()
    with pytest.raises(InputError) as caught:
        run_program("dev", override, mocks=mocks)
    assert mocks.registrations == []
    assert any(line.startswith("stacks/Pulumi.dev.yaml: ") and problem in line for line in caught.value.problems), (
        caught.value.problems
    )


def _copy_stack(tmp_path: Path, stack: str, name: str, replace: tuple[str, str] | None = None) -> Path:
    text = stack_path(stack).read_text()
    if replace:
        assert replace[0] in text
        text = text.replace(*replace)
    path = tmp_path / f"Pulumi.{name}.yaml"
    path.write_text(text)
    return path


def test_without_a_stack_file_secret_keys_mark_the_secret_fields(tmp_path: Path) -> None:
    # The program finds no stacks/Pulumi.<name>.yaml: it trusts the engine's list of secret keys.
    path = _copy_stack(tmp_path, "culture-staging", "elsewhere-staging")
    plan = run_program("elsewhere-staging", stack_file=path)
    data = plan.get("kubernetes:core/v1:Secret", "visio-identity/identity-proconnect").inputs["stringData"]
    assert isinstance(data, Secret)
    assert data.value["client-secret"] == PLACEHOLDER.format(key="visio:identity.proconnect.clientSecret")


def test_a_plain_client_secret_is_refused_before_any_registration(tmp_path: Path) -> None:
    stack = load_stack("culture-staging")
    assert stack.config.identity.proconnect is not None
    path = _copy_stack(
        tmp_path, "culture-staging", "plain-staging",
        replace=("clientSecret:\n        secure: ", "clientSecret: "),
    )
    mocks = ProgramMocks()
    with pytest.raises(InputError) as caught:
        run_program("plain-staging", stack_file=path, mocks=mocks)
    assert mocks.registrations == []
    assert any("visio:identity.proconnect.clientSecret: must be a secret" in p for p in caught.value.problems)


def test_captioning_switched_off_removes_its_component() -> None:
    plan = run_program("culture-staging", {"visio:captioning.enabled": False})
    assert not plan.of_type("visio:captioning:Captioning")
    assert "captioning" not in plan.outputs["namespaces"]
