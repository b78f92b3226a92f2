"""`visio verify --local` against real coturn and Redis started on loopback from the rendered charts.

The weakened run strips every `denied-peer-ip` line before coturn starts: the deny-list check and the
real TURN client must both report it, naming the relays coturn no longer refuses. Peers are never
public, the relay is bound to 127.0.0.1 and the client sends no data (-n 0), so nothing leaves the host.
"""

from __future__ import annotations

import re
from functools import partial
from pathlib import Path
from typing import Any

import junitparser
import pytest
from typer.testing import CliRunner

from common.config import load_stack, stack_names
from components import catalogue
from tests.conftest import one_target, run_visio
from visio.cli import load_commands
from visio.report.checkresult import CheckResult
from visio.verify import identityrun, livekit, localrun
from visio.verify.local import free_port
from visio.verify.relayed import NODE_ADDRESS, relayed_call

pytestmark = pytest.mark.usefixtures("servers", "identity_servers")

EXPECTED = {
    "coturn-user", "coturn-listening", "coturn-denied-peers", "coturn-hardening", "coturn-relay-range",
    "coturn-endpoints", "coturn-tls", "coturn-certificate", "turn-rest-allocation", "turn-refuses-127.0.0.1",
    "turn-refuses-10.0.0.1", "turn-refuses-169.254.169.254", "redis-user", "redis-listening",
    "redis-auth-required", "redis-conf-private", "livekit-config-accepted", "livekit-call-direct",
    "livekit-webhook-signed", "livekit-call-relayed", "keycloak-realm-imported", "keycloak-database",
}


def _strip_denied(conf: str) -> str:
    weakened = re.sub(r"(?m)^denied-peer-ip=.*\n", "", conf)
    assert weakened != conf
    return weakened


def _cases(path: Path) -> dict[str, junitparser.TestCase]:
    xml = junitparser.JUnitXml.fromfile(str(path))
    return {case.name.split(" [")[0]: case for suite in xml for case in suite}


# Beyond the development stack's: captioning, an admin console kept private, the ProConnect broker.
STAGING = {"captioning-audio-in-cluster", "keycloak-admin-console-closed", "keycloak-broker-login"}


@pytest.mark.parametrize(("stack", "expected"), [("dev", EXPECTED), ("culture-staging", EXPECTED | STAGING)])
def test_cli_local_passes_on_real_servers(stack: str, expected: set[str], tmp_path: Path) -> None:
    report = tmp_path / "verify.xml"
    result = run_visio("verify", "--local", stack, "--format", "junit", "--output", str(report), timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    cases = _cases(report)
    assert set(cases) == expected
    assert all(case.is_passed for case in cases.values())


@pytest.mark.parametrize("stack", stack_names())
def test_every_stack_verifies_locally(stack: str) -> None:
    results = localrun.verify_local(load_stack(stack))
    failed = [f"{r.check}: {r.message} {dict(r.evidence)}" for r in results if not r.passed]
    assert not failed
    by_id = {r.check: r for r in results}
    # Observed, not assumed: the servers really dropped root, TLS really negotiated a modern version.
    assert by_id["coturn-user"].evidence["uid"].split()[1] != "0"
    assert by_id["redis-user"].evidence["uid"].split()[1] != "0"
    assert by_id["coturn-tls"].evidence["negotiated"] in ("TLSv1.2", "TLSv1.3")
    assert "denied in the range: 169.254.0.0-169.254.255.255" in by_id["turn-refuses-169.254.169.254"].evidence[
        "server log"]
    assert by_id["livekit-config-accepted"].evidence["server"] == "livekit-server version 1.9.12"
    # The tone was heard, not just a connected state: its frequency is found in the received samples.
    call = by_id["livekit-call-direct"].evidence
    assert abs(float(call["received peak"].removesuffix(" Hz")) - 697) <= 10 and int(call["samples"]) >= 96_000
    # The call ran on a loop of its own: the thread keeps its loop for the Pulumi runtime (plan).
    import asyncio

    assert not asyncio.get_event_loop().is_closed()
    # Captioning's servers need model weights; where its audio goes is checked on what it renders.
    assert ("captioning-audio-in-cluster" in by_id) is load_stack(stack).config.captioning.enabled
    # Relayed for real: coturn's own log shows allocations and the relay to the SFU's node address.
    relayed = by_id["livekit-call-relayed"].evidence
    assert int(relayed["allocations"]) > 0 and relayed["peers"] == NODE_ADDRESS
    assert abs(float(relayed["received peak"].removesuffix(" Hz")) - 697) <= 10
    # Room events reached the local stand-in receiver, on the webhook path the chart configures,
    # signed with the stack's secret: another secret and a changed body were refused.
    hooks = by_id["livekit-webhook-signed"].evidence
    assert hooks["paths"] == "/api/v1.0/rooms/webhooks-livekit/"
    assert {"room_started", "participant_joined", "track_published"} <= set(hooks["events"].split(", "))
    assert "Signature verification failed" in hooks["another secret"] and hooks["a changed body"] == "hash mismatch"


def test_livekit_refuses_a_configuration_key_it_does_not_know() -> None:
    # The real server parses its configuration strictly: a misspelt key (what a chart edit could
    # write) stops it, and the check says why in LiveKit's own words.
    def misspelt(config: dict[str, Any]) -> dict[str, Any]:
        config["rtc"]["tcp_prot"] = config["rtc"].pop("tcp_port")
        return config

    results = localrun.verify_local(load_stack("dev"), livekit_transform=misspelt)
    accepted = _check(results, "livekit-config-accepted")
    assert not accepted.passed
    assert "field tcp_prot not found" in accepted.message
    assert {r.check for r in results if not r.passed} == {"livekit-config-accepted", "livekit-call-direct",
                                                         "livekit-webhook-signed", "livekit-call-relayed"}
    assert "without a running SFU" in _check(results, "livekit-call-direct").message
    assert "without a running SFU" in _check(results, "livekit-webhook-signed").message


def test_livekit_needs_the_signalling_redis_it_is_configured_with() -> None:
    def elsewhere(config: dict[str, Any]) -> dict[str, Any]:
        config["redis"]["address"] = f"127.0.0.1:{free_port()}"  # nothing listens there
        return config

    results = localrun.verify_local(load_stack("dev"), livekit_transform=elsewhere)
    accepted = _check(results, "livekit-config-accepted")
    assert not accepted.passed and "redis" in accepted.message


def _check(results: list[CheckResult], check: str) -> CheckResult:
    (found,) = [r for r in results if r.check == check]
    return found


def test_removing_denied_peer_ip_fails_with_the_relays_not_refused(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[CheckResult]] = []
    original = localrun.verify_local

    def weakened(stack):  # type: ignore[no-untyped-def]
        seen.append(original(stack, transform=_strip_denied))
        return seen[-1]

    monkeypatch.setattr(localrun, "verify_local", weakened)
    monkeypatch.setattr(identityrun, "keycloak_checks", lambda stack: [])  # tests/infra/test_verify_identity.py
    report = tmp_path / "verify.xml"
    result = CliRunner().invoke(load_commands(), ["verify", "--local", "--format", "junit", "--output", str(report)])
    assert result.exit_code == 1, result.output
    (results,) = seen

    denied = _check(results, "coturn-denied-peers")
    assert not denied.passed
    for network in ("169.254.0.0/16", "10.0.0.0/8", "127.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
                    "100.64.0.0/10"):
        assert network in denied.evidence["not denied"]
    for peer in ("10.0.0.1", "169.254.169.254"):
        relay = _check(results, f"turn-refuses-{peer}")
        assert not relay.passed
        assert f"did NOT refuse a relay to {peer}" in relay.message
    # coturn refuses loopback peers on its own (no allow-loopback-peers), deny list or not.
    assert _check(results, "turn-refuses-127.0.0.1").passed
    # Everything else still holds: the failure is pinned on the deny list.
    assert {r.check for r in results if not r.passed} == {
        "coturn-denied-peers", "turn-refuses-10.0.0.1", "turn-refuses-169.254.169.254"}

    cases = _cases(report)
    failing = {name: case for name, case in cases.items() if not case.is_passed}
    assert set(failing) == {"coturn-denied-peers", "turn-refuses-10.0.0.1", "turn-refuses-169.254.169.254"}
    (failure,) = failing["turn-refuses-169.254.169.254"].result
    assert "did NOT refuse a relay to 169.254.169.254" in failure.message


def test_weakened_json_and_sarif_reports_carry_the_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    monkeypatch.setattr(localrun, "verify_local", partial(localrun.verify_local, transform=_strip_denied))
    monkeypatch.setattr(identityrun, "keycloak_checks", lambda stack: [])
    for fmt in ("json", "sarif"):
        out = tmp_path / f"verify.{fmt}"
        result = CliRunner().invoke(load_commands(), ["verify", "--local", "--format", fmt, "--output", str(out)])
        assert result.exit_code == 1, result.output
        if fmt == "json":
            doc = one_target(out.read_text(), "verify")
            failed = {c["check"] for c in doc["checks"] if not c["passed"]}
            assert {f["rule"] for f in doc["findings"]} == failed
        else:
            doc = json.loads(out.read_text())
            failed = {r["ruleId"] for r in doc["runs"][0]["results"]}
        assert "turn-refuses-10.0.0.1" in failed and "coturn-denied-peers" in failed


def test_an_sfu_that_offers_no_reachable_address_fails_the_call_not_its_start() -> None:
    # An interface filter matching none of the node's networks: LiveKit starts and answers, yet no
    # participant can exchange media with it.
    def nowhere(config: dict[str, Any]) -> dict[str, Any]:
        config["rtc"]["ips"] = {"includes": ["203.0.113.0/24"]}
        return config

    results = localrun.verify_local(load_stack("dev"), livekit_transform=nowhere)
    assert _check(results, "livekit-config-accepted").passed
    call = _check(results, "livekit-call-direct")
    assert not call.passed and "no audio reached the listener" in call.message


def test_an_sfu_on_a_denied_node_address_cannot_be_relayed_to() -> None:
    # What a chart advertising the node's private address would meet in production: coturn's deny
    # list refuses the SFU as a peer, so a participant forced to relay never hears anything.
    stack = load_stack("dev")
    values = livekit.generated(catalogue.service("media").values.secrets(stack.config))
    passed, message, evidence = relayed_call(stack.path, values, node_address="10.42.0.2")
    assert not passed and "no audio reached the listener" in message
    assert evidence["denied peers"] == "10.42.0.2" and evidence["peers"] == "-"


def test_a_turn_secret_the_sfu_does_not_mint_from_fails_the_relayed_call() -> None:
    # coturn and LiveKit's init container must share the stack's secret: with another one, coturn
    # refuses every allocation the participants make with the credentials LiveKit hands them.
    stack = load_stack("culture-staging")
    values = livekit.generated(catalogue.service("media").values.secrets(stack.config))
    passed, message, evidence = relayed_call(stack.path, values, coturn_secret="another-secret-than-the-stacks")
    assert not passed and "no audio reached the listener" in message
    assert evidence["allocations"] == "0"


def test_the_tone_detector_finds_the_tone_and_nothing_else() -> None:
    import numpy as np

    from visio.verify.call import RATE, dominant_frequency

    t = np.arange(RATE * 2) / RATE
    assert abs(dominant_frequency(np.sin(2 * np.pi * 697 * t)) - 697) < 1
    assert abs(dominant_frequency(np.sin(2 * np.pi * 440 * t)) - 697) > 200


def test_a_missing_livekit_server_is_one_line_naming_where_it_comes_from() -> None:
    system = ":".join(d for d in ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"))
    result = run_visio("verify", "--local", env={"PATH": system}, timeout=120)
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert "livekit-server is not installed" in result.stderr and "scripts/build-tools.sh livekit" in result.stderr

