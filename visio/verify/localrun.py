"""`visio verify --local`: the host-level checks against coturn and Redis started on loopback.

The servers run from the configuration the charts render for the stack (see `visio.verify.local`);
testinfra's local backend observes them; a real TURN client (`turnutils_uclient`) allocates with
TURN REST credentials and asks for relays to internal peers, which coturn must refuse (403) before
relaying anything. Every peer used is non-public and the relay is bound to 127.0.0.1.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from common.config.loader import Stack
from common.errors import InputError
from components import catalogue
from policies.engine.config import PolicyConfig
from policies.engine.stackconfig import from_stack
from visio.kube.charts import render_service
from visio.report.checkresult import CheckResult, Outcome, run_check
from visio.verify import checks, livekit, local, probes, tls
from visio.verify.captioning import audio_in_cluster
from visio.verify.probes import Host
from visio.verify.relayed import relayed_call

REFUSED_PEERS = ("127.0.0.1", "10.0.0.1", "169.254.169.254")
TURN_USER = "visio-verify"


def _tail(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line.strip() for line in result.stdout.splitlines() if line.strip()]
    keep = [line for line in lines if "error" in line or "Allocation" in line or "channel bind" in line]
    return " | ".join((keep or lines)[-3:])[:500]


def _allocation(turn: local.TurnServer, secret: str) -> Outcome:
    username, password = local.rest_credentials(secret, TURN_USER)
    good = local.uclient(turn, username, password, "10.0.0.1", messages=0, timeout=30)
    wrong = local.rest_credentials(secrets.token_urlsafe(36), TURN_USER)
    bad = local.uclient(turn, *wrong, "10.0.0.1", messages=0, timeout=30)
    evidence = {"with the stack's secret": _tail(good), "with another secret": _tail(bad)}
    if not local.allocated(good):
        return False, "an allocation with valid TURN REST credentials failed", evidence
    if local.allocated(bad):
        return False, "an allocation with credentials from another secret succeeded", evidence
    return True, "TURN REST credentials allocate; credentials from another secret are refused", evidence


def _refusal(turn: local.TurnServer, secret: str, peer: str) -> Outcome:
    username, password = local.rest_credentials(secret, TURN_USER)
    # No message is sent (-n 0): the question is only whether coturn grants the channel/permission.
    result = local.uclient(turn, username, password, peer, messages=0, timeout=30)
    evidence = {"peer": peer, "client": _tail(result)}
    denial = [line.strip() for line in turn.log_text().splitlines() if f"A peer IP {peer} denied" in line]
    if denial:
        evidence["server log"] = denial[-1][:300]
    if not local.allocated(result):
        return False, f"no allocation, so the refusal of a relay to {peer} was not observed", evidence
    if not local.refused(result):
        return False, (f"coturn did NOT refuse a relay to {peer}: it granted the channel/permission "
                       "(no 403 Forbidden IP)"), evidence
    return True, f"coturn refuses a relay to {peer} (403 Forbidden IP)", evidence


def _turn_checks(turn: local.TurnServer, secret: str, domain: str) -> list[CheckResult]:
    target = "coturn (local)"
    cert = turn.cert_path.read_text()
    results = [
        run_check("coturn-tls", target, lambda: tls.handshake(local.LOOPBACK, turn.tls_port, domain, cert)),
        run_check("coturn-certificate", target, lambda: tls.certificate(cert, domain)),
        run_check("turn-rest-allocation", target, lambda: _allocation(turn, secret)),
    ]
    for peer in REFUSED_PEERS:
        results.append(run_check(f"turn-refuses-{peer}", target, partial(_refusal, turn, secret, peer)))
    return results


def _coturn(host: Host, turn: local.TurnServer, chart: local.MediaRender, stack: Stack,
            policy: PolicyConfig) -> list[CheckResult]:
    target = "coturn (local)"
    declared = stack.config.media.turn.relayPortRange
    effective = probes.read(host, str(turn.conf_path))
    return [
        checks.process_user("coturn-user", target, host, turn.pid),
        checks.listening("coturn-listening", target, host,
                         [("udp", turn.port), ("tcp", turn.port), ("tcp", turn.tls_port)], local.LOOPBACK),
        *checks.coturn_config(effective, target, (declared.start, declared.end)),
        checks.endpoints("coturn-endpoints", target, "coturn", None, host, turn.pid,
                         lambda: {str(turn.conf_path): effective}, chart.container, policy),
    ]


def _redis(host: Host, redis: local.RedisServer) -> list[CheckResult]:
    # No endpoint check here: redis.conf holds only the password, and redis-server rewrites its own
    # environment block (process title), so there is nothing endpoint-bearing to read.
    target = "redis (local)"
    conf = redis.directory / "redis.conf"
    return [
        checks.process_user("redis-user", target, host, redis.pid),
        checks.listening("redis-listening", target, host, [("tcp", redis.port)], local.LOOPBACK),
        checks.redis_requires_auth(target, host, redis.port),
        run_check("redis-conf-private", target, lambda: _private(conf)),
    ]


def _direct_call(sfu: livekit.LiveKitRun) -> Outcome:
    if sfu.failure is not None:
        return False, "no call without a running SFU (see livekit-config-accepted)", {}
    from visio.verify.call import tone_call  # libwebrtc loads only when a call is made

    return tone_call(f"ws://{local.LOOPBACK}:{sfu.port}", sfu.api_key, sfu.api_secret)


def _relayed_call(sfu: livekit.LiveKitRun, stack: Stack, values: livekit.SecretValues) -> Outcome:
    # Its own servers, in a namespace of their own, from the rendered configuration: a test's
    # `livekit_transform` does not reach them, so a refused configuration stops this check too.
    if sfu.failure is not None:
        return False, "no call without a running SFU (see livekit-config-accepted)", {}
    return relayed_call(stack.path, values)


def _private(path: Path) -> Outcome:
    mode = path.stat().st_mode & 0o777
    evidence = {"path": str(path), "mode": f"{mode:04o}"}
    if mode & 0o077:
        return False, "the file holding the Redis password is readable by others", evidence
    return True, "the file holding the Redis password is private to its owner", evidence


def verify_local(stack: Stack, *, transform: Callable[[str], str] | None = None,
                 livekit_transform: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> list[CheckResult]:
    """Start, check, stop. `transform` edits coturn's final configuration and `livekit_transform`
    LiveKit's: tests use them to weaken what the charts render."""
    config = stack.config
    media_chart, redis_chart = local.render_media(config), local.render_redis(config)
    policy = from_stack(stack)
    # Every secret the media chart refers to, generated per run at its declared length.
    values = livekit.generated(catalogue.service("media").values.secrets(config))
    turn_secret, redis_password = values[("turn-auth", "static-auth-secret")], values[("redis-auth", "password")]
    base = Path(tempfile.mkdtemp(prefix="visio-verify-"))
    os.chmod(base, 0o711)  # servers dropped to another user must reach their own subdirectory
    try:
        with local.turnserver(media_chart, base / "coturn", turn_secret, domain=config.media.turn.domain,
                              transform=transform, uid=local.run_as(media_chart.pod, media_chart.container)) as turn, \
                local.redis_server(redis_chart, base / "redis", redis_password,
                                   uid=local.run_as(redis_chart.pod, redis_chart.container)) as redis:
            host = probes.local_host()
            results = [
                *_coturn(host, turn, media_chart, stack, policy),
                *_turn_checks(turn, turn_secret, config.media.turn.domain),
                *_redis(host, redis),
            ]
            if config.captioning.enabled:  # its servers need model weights: its configuration is checked
                results.append(run_check("captioning-audio-in-cluster", "captioning (rendered)", lambda: (
                    audio_in_cluster(render_service(catalogue.service("captioning"), config), media_chart.objects))))
            with livekit.livekit_server(media_chart, base / "livekit", values, redis.port, turn,
                                        transform=livekit_transform) as sfu:
                version = livekit.server_version()
                results.append(run_check("livekit-config-accepted", "livekit (local)",
                                         lambda: livekit.config_accepted(sfu, version)))
                results.append(run_check("livekit-call-direct", "livekit (local)", lambda: _direct_call(sfu)))
                results.append(run_check("livekit-webhook-signed", "livekit (local)",
                                         lambda: livekit.webhooks_signed(sfu)))
                results.append(run_check("livekit-call-relayed", "livekit (local)",
                                         lambda: _relayed_call(sfu, stack, values)))
            return results
    except local.StartError as exc:
        raise InputError(f"stacks/{stack.path.name}: verify --local: {exc}") from None
    finally:
        shutil.rmtree(base, ignore_errors=True)
