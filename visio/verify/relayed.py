"""A call relayed through coturn, in a network namespace of its own.

The rendered deny list refuses every loopback, private and link-local peer, so an SFU reached on
127.0.0.1 can never be relayed to: in production the relay reaches the SFU on its node's public
address. This run gives the SFU such an address (`NODE_ADDRESS`, status.hostIP of its pod) in a
fresh network namespace holding nothing but its loopback interface and a veth pair whose both ends
stay inside: the address is only a label, no link or route leads out, so nothing relayed can leave
the host whatever the servers do.

coturn, Redis and LiveKit start there from the same rendered configuration as the other checks, the
deny list intact; both participants force ICE to relay with the TURN credentials LiveKit hands them
(minted by the chart's init container), and coturn's own log (its `verbose` lines, the one option
added) shows the allocations and the permissions to the SFU's address. The run is a child process
(`python -m visio.verify.relayed`, started under `unshare --net`): the parent's sockets stay in the
host's namespace. Secrets reach it on stdin, never on its command line.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

from common.config import load_stack
from visio.report.checkresult import Outcome
from visio.verify import livekit, local

# Any public unicast address would do: in the namespace it routes nowhere. It must not be in the
# deny list, as the SFU's public address is not.
NODE_ADDRESS = "193.51.24.2"
TIMEOUT = 300


def relayed_call(stack_path: Path, values: Mapping[tuple[str, str], str], *, node_address: str = NODE_ADDRESS,
                 coturn_secret: str | None = None) -> Outcome:
    """Run the relayed call in a new network namespace; the child reports the outcome as JSON.
    `coturn_secret` (tests) starts coturn with another secret than the one LiveKit mints from."""
    if os.geteuid() != 0:
        return False, "a relayed call needs root (a network namespace of its own, servers dropped to their uid)", {}
    request = {"stack": str(stack_path), "node": node_address, "coturn_secret": coturn_secret,
               "values": [[n, k, v] for (n, k), v in values.items()]}
    try:
        done = subprocess.run([local.binary("unshare"), "--net", "--", sys.executable, "-m", __name__],
                              input=json.dumps(request), capture_output=True, text=True, timeout=TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        return False, f"the relayed call did not end within {TIMEOUT} s", {}
    lines = done.stdout.strip().splitlines()
    try:
        passed, message, evidence = json.loads(lines[-1])
        return bool(passed), str(message), {str(k): str(v) for k, v in evidence.items()}
    except (IndexError, ValueError, TypeError, AttributeError):
        why = done.stderr.strip()[-400:] or "no output"
        return False, f"the relayed run failed (exit {done.returncode}): {why}", {}


def _relay_lines(log: str, node: str) -> dict[str, str]:
    """What coturn's log says of the relay: successful allocations and permissions, refused peers."""
    allocations = len(re.findall(r"ALLOCATE processed, success", log))
    granted = len(re.findall(r"(?:CREATE_PERMISSION|CHANNEL_BIND) processed, success", log))
    denied = sorted(set(re.findall(r"A peer IP (\S+) denied", log)))
    peers = sorted(set(re.findall(r"peer (\d+\.\d+\.\d+\.\d+) lifetime updated", log)))
    return {"allocations": str(allocations), "permissions": str(granted), "peers": ", ".join(peers) or "-",
            "denied peers": ", ".join(denied) or "-", "node": node}


def _in_namespace(stack_path: str, node: str, values: dict[tuple[str, str], str], coturn_secret: str | None = None
                  ) -> Outcome:
    ip = local.binary("ip")
    # libwebrtc gathers on no loopback interface: the node address sits on one end of a veth pair
    # whose both ends stay in this namespace (a /32, so no route leads past it).
    for argv in (["link", "set", "lo", "up"], ["link", "add", "node0", "type", "veth", "peer", "name", "node1"],
                 ["addr", "add", f"{node}/32", "dev", "node0"], ["link", "set", "node0", "up"],
                 ["link", "set", "node1", "up"]):
        subprocess.run([ip, *argv], check=True, capture_output=True, timeout=30)
    config = load_stack(stack_path).config
    media, redis_chart = local.render_media(config), local.render_redis(config)
    base = Path(tempfile.mkdtemp(prefix="visio-relayed-"))
    os.chmod(base, 0o711)
    try:
        # `verbose` only adds log lines: without it coturn does not log allocations and permissions.
        with local.turnserver(media, base / "coturn", coturn_secret or values[("turn-auth", "static-auth-secret")],
                              domain=config.media.turn.domain, extra=("verbose",),
                              uid=local.run_as(media.pod, media.container)) as turn, \
                local.redis_server(redis_chart, base / "redis", values[("redis-auth", "password")],
                                   uid=local.run_as(redis_chart.pod, redis_chart.container)) as redis, \
                livekit.livekit_server(media, base / "livekit", values, redis.port, turn, host_ip=node) as sfu:
            if sfu.failure is not None:
                return False, f"LiveKit did not start: {sfu.failure}", {}
            from livekit import rtc

            from visio.verify.call import TONE_HZ, tone_call

            relay_only = rtc.RoomOptions(
                rtc_config=rtc.RtcConfiguration(ice_transport_type=rtc.IceTransportType.TRANSPORT_RELAY))
            passed, message, evidence = tone_call(f"ws://{local.LOOPBACK}:{sfu.port}", sfu.api_key, sfu.api_secret,
                                                  relay_only)
            relay = _relay_lines(turn.log_text(), node)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    evidence = {**evidence, **relay}
    if not passed:
        return False, f"relayed: {message}", evidence
    if relay["allocations"] == "0" or node not in relay["peers"].split(", "):
        return False, f"the tone arrived, but coturn's log shows no relay to the SFU at {node}", evidence
    return True, (f"the listener received the {TONE_HZ:.0f} Hz tone with ICE forced to relay: coturn made "
                  f"{relay['allocations']} allocations and relayed to the SFU at {node}"), evidence


def main() -> None:
    request = json.loads(sys.stdin.read())
    values = {(str(n), str(k)): str(v) for n, k, v in request["values"]}
    try:
        outcome = _in_namespace(request["stack"], request["node"], values, request.get("coturn_secret"))
    except Exception as exc:  # the parent reports whatever stopped the run as the check's failure
        outcome = (False, f"the relayed run failed: {type(exc).__name__}: {exc}"[:500], {})
    print(json.dumps(list(outcome)))


if __name__ == "__main__":
    main()
