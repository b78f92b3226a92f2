"""The coturn configuration the media chart renders, run by the real Debian `turnserver` on loopback.

Only what loopback demands is changed: listening/relay address 127.0.0.1, free high ports, a
self-signed certificate and a pid file in a temporary directory. The shared secret is given the way
the pod gives it (`--static-auth-secret=$(TURN_SECRET)` from the environment). A real TURN client
(`turnutils_uclient`) allocates with TURN REST API credentials and asks to relay to internal peers.
No packet leaves the host: the relay is bound to 127.0.0.1 (the kernel does not route loopback-sourced
packets elsewhere), and a non-loopback peer is only used after checking that the rendered
configuration denies it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.values import media
from tests.charts.rendering import by_kind, rendered
from visio.config import load_stack

STACK = "interieur-prod"  # TLS on 443 in the chart: the test moves it to a free high port
SECRET = "loopback-test-shared-secret-0123456789"


def _need(binary: str) -> str:
    path = shutil.which(binary)
    if path is None:
        if os.environ.get("VISIO_REQUIRE_SERVERS"):
            pytest.fail(f"{binary} is required (VISIO_REQUIRE_SERVERS is set)")
        pytest.skip(f"{binary} not installed (apt-get install coturn)")
    return path


def _free_port() -> int:
    # Free for both TCP and UDP on 127.0.0.1 (TURN listens on both).
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind(("127.0.0.1", 0))
            port = int(tcp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
        return port


def rest_credentials(secret: str, user: str, lifetime: int = 600) -> tuple[str, str]:
    username = f"{int(time.time()) + lifetime}:{user}"
    password = base64.b64encode(hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()).decode()
    return username, password


@dataclass
class Chart:
    conf: str
    container: dict[str, Any]
    livekit_data: dict[str, str]


@pytest.fixture(scope="module")
def chart() -> Chart:
    objs = rendered("media", media.values(load_stack(STACK).config), media.NAMESPACE)
    cms = by_kind(objs, "ConfigMap")
    pod = by_kind(objs, "Deployment")["media-coturn"]["spec"]["template"]["spec"]
    return Chart(cms["media-coturn-config"]["data"]["turnserver.conf"], pod["containers"][0],
                 cms["media-livekit-config"]["data"])


@dataclass
class Server:
    port: int
    tls_port: int
    log: Path
    relay_range: tuple[int, int]
    conf: str

    def log_text(self) -> str:
        return self.log.read_bytes().decode("utf-8", "replace")


def _loopback_conf(conf: str, port: int, tls_port: int, tmp: Path) -> str:
    replacements = {
        "listening-port": str(port),
        "tls-listening-port": str(tls_port),
        "cert": str(tmp / "cert.pem"),
        "pkey": str(tmp / "key.pem"),
        "pidfile": str(tmp / "turnserver.pid"),
    }
    lines = []
    for line in conf.splitlines():
        key = line.split("=", 1)[0]
        if key in replacements and "=" in line:
            lines.append(f"{key}={replacements.pop(key)}")
        else:
            lines.append(line)
    assert not replacements, f"chart conf lacks {sorted(replacements)}"
    return "\n".join([*lines, "listening-ip=127.0.0.1", "relay-ip=127.0.0.1", ""])


def _self_signed(tmp: Path) -> None:
    openssl = _need("openssl")
    subprocess.run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", str(tmp / "key.pem"), "-out", str(tmp / "cert.pem"), "-days", "1",
                    "-subj", "/CN=turn.visio.interieur.gouv.fr"], check=True, capture_output=True, timeout=30)


@contextmanager
def turnserver(chart: Chart, tmp: Path, extra: tuple[str, ...] = ()) -> Iterator[Server]:
    binary = _need("turnserver")
    tmp.mkdir(parents=True, exist_ok=True)
    _self_signed(tmp)
    port, tls_port = _free_port(), _free_port()
    conf = _loopback_conf(chart.conf, port, tls_port, tmp) + "".join(f"{line}\n" for line in extra)
    (tmp / "turnserver.conf").write_text(conf)
    relay = tuple(int(re.search(rf"^{k}=(\d+)$", conf, re.M).group(1))  # type: ignore[union-attr]
                  for k in ("min-port", "max-port"))
    # The pod's command line, with $(TURN_SECRET) expanded as the kubelet does.
    env = {"TURN_SECRET": SECRET}
    args = [re.sub(r"\$\((\w+)\)", lambda m: env[m.group(1)], a) for a in chart.container["args"]]
    args = [str(tmp / "turnserver.conf") if a == "/etc/coturn/turnserver.conf" else a for a in args]
    assert chart.container["command"] == ["turnserver"]
    log = tmp / "turnserver.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([binary, *args], stdout=out, stderr=subprocess.STDOUT, cwd=tmp)
    try:
        deadline = time.monotonic() + 15
        while True:
            if proc.poll() is not None:
                pytest.fail(f"turnserver exited with {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
            try:
                with socket.create_connection(("127.0.0.1", tls_port), timeout=0.5):
                    pass
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("turnserver did not listen within 15 s")
                time.sleep(0.1)
        yield Server(port, tls_port, log, (relay[0], relay[1]), conf)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="module")
def server(chart: Chart, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with turnserver(chart, tmp_path_factory.mktemp("coturn")) as s:
        yield s


def _denied_by_conf(conf: str, peer: str) -> bool:
    ip = ipaddress.ip_address(peer)
    for value in re.findall(r"^denied-peer-ip=(.+)$", conf, re.M):
        low, _, high = value.partition("-")
        first, last = ipaddress.ip_address(low), ipaddress.ip_address(high or low)
        if first.version == ip.version and int(first) <= int(ip) <= int(last):
            return True
    return False


def uclient(server: Server, username: str, password: str, peer: str, *flags: str,
            peer_port: int = 9, messages: int = 3, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    binary = _need("turnutils_uclient")
    if not ipaddress.ip_address(peer).is_loopback:
        # Guard: never let a regression of the chart turn this test into traffic off the host.
        assert _denied_by_conf(server.conf, peer), f"{peer} is not denied by the rendered configuration"
    port = server.tls_port if "-S" in flags else server.port
    return subprocess.run(
        [binary, *flags, "-p", str(port), "-u", username, "-w", password, "-e", peer, "-r", str(peer_port),
         "-n", str(messages), "-m", "1", "-c", "127.0.0.1"],
        capture_output=True, text=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL)


def _allocated(result: subprocess.CompletedProcess[str]) -> bool:
    # The client only asks for a channel (and so gets "403 Forbidden IP") once the allocation succeeded.
    return "Cannot complete Allocation" not in result.stdout and "channel bind" in result.stdout


FORBIDDEN = "channel bind: error 403 (Forbidden IP)"


@pytest.mark.parametrize(("peer", "range_"), [
    ("127.0.0.1", None),  # refused before the ranges: coturn's own loopback rule, and 127.0.0.0/8 below
    ("10.0.0.1", "10.0.0.0-10.255.255.255"),
    ("169.254.169.254", "169.254.0.0-169.254.255.255"),
    ("172.16.0.1", "172.16.0.0-172.31.255.255"),
    ("100.64.0.1", "100.64.0.0-100.127.255.255"),
])
def test_rest_credentials_allocate_but_internal_peers_are_refused(server: Server, peer: str,
                                                                   range_: str | None) -> None:
    username, password = rest_credentials(SECRET, "alice")
    result = uclient(server, username, password, peer)
    assert _allocated(result), result.stdout + result.stderr
    assert FORBIDDEN in result.stdout
    assert result.returncode != 0
    if range_ is not None:
        # The refusal names the range meant for it, not an over-broad one denying every peer.
        assert f"A peer IP {peer} denied in the range: {range_}" in server.log_text()


def test_allocation_over_tls_on_the_turns_port(chart: Chart, tmp_path: Path) -> None:
    username, password = rest_credentials(SECRET, "bob")
    outputs: list[str] = []
    # turnutils_uclient over TLS sometimes stalls before its first request; retry the client.
    with turnserver(chart, tmp_path) as server:
        for _ in range(12):
            result = _tls_attempt(server, username, password, outputs)
            if result is not None:
                assert "tls_connect: client session connected" in result.stdout
                assert "method=TLSv1.2" in result.stdout or "method=TLSv1.3" in result.stdout
                assert FORBIDDEN in result.stdout
                return
    pytest.fail("no TLS allocation in 12 attempts:\n" + "\n".join(outputs))


def _tls_attempt(server: Server, username: str, password: str,
                 outputs: list[str]) -> subprocess.CompletedProcess[str] | None:
    try:
        result = uclient(server, username, password, "10.0.0.1", "-t", "-S", messages=1, timeout=6)
    except subprocess.TimeoutExpired as stalled:
        outputs.append(f"(stalled) {stalled.stdout!r}")
        return None
    outputs.append(result.stdout)
    return result if _allocated(result) else None


@pytest.mark.parametrize("case", ["wrong secret", "tampered password", "expired", "not a REST username"])
def test_bad_credentials_are_refused(server: Server, case: str) -> None:
    username, password = rest_credentials(SECRET, "mallory")
    if case == "wrong secret":
        username, password = rest_credentials("another-secret-of-the-same-length-000000", "mallory")
    elif case == "tampered password":
        password = password[:-4] + ("AAA=" if not password.endswith("AAA=") else "BBB=")
    elif case == "expired":
        username, password = rest_credentials(SECRET, "mallory", lifetime=-60)
    else:
        username = "mallory"
        password = base64.b64encode(hmac.new(SECRET.encode(), b"mallory", hashlib.sha1).digest()).decode()
    result = uclient(server, username, password, "10.0.0.1", messages=1)
    assert "Cannot complete Allocation" in result.stdout, result.stdout
    assert "channel bind" not in result.stdout
    assert result.returncode != 0


def test_the_credential_livekit_hands_out_is_accepted(server: Server, chart: Chart, tmp_path: Path) -> None:
    """The init container's script, run from the rendered ConfigMap with the same shared secret."""
    (tmp_path / "config.yaml").write_text(chart.livekit_data["config.yaml"])
    (tmp_path / "mint.py").write_text(chart.livekit_data["mint-turn-credential.py"])
    subprocess.run([sys.executable, str(tmp_path / "mint.py"), str(tmp_path / "config.yaml"),
                    str(tmp_path / "out.yaml")], env={"TURN_SECRET": SECRET, "TTL_SECONDS": "3600"},
                   check=True, timeout=30)
    minted = yaml.safe_load((tmp_path / "out.yaml").read_text())["rtc"]["turn_servers"][0]
    result = uclient(server, minted["username"], minted["credential"], "10.0.0.1")
    assert _allocated(result), result.stdout + result.stderr


def test_the_secret_never_reaches_the_log(server: Server) -> None:
    assert SECRET not in server.log_text()


def test_relay_works_to_an_explicitly_allowed_loopback_peer(chart: Chart, tmp_path: Path) -> None:
    """Positive control: with only 127.0.0.1 allowed (test-only lines), data does flow through the
    relay while 10.0.0.1 stays refused, so the refusals above are the deny list at work and not a
    server that relays nothing."""
    peer_binary = _need("turnutils_peer")
    peer_port = _free_port()
    peer = subprocess.Popen([peer_binary, "-L", "127.0.0.1", "-p", str(peer_port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with turnserver(chart, tmp_path, extra=("allowed-peer-ip=127.0.0.1", "allow-loopback-peers")) as s:
            username, password = rest_credentials(SECRET, "carol")
            result = uclient(s, username, password, "127.0.0.1", peer_port=peer_port, messages=5)
            assert result.returncode == 0, result.stdout + result.stderr
            assert "tot_send_msgs=5, tot_recv_msgs=5" in result.stdout
            assert "Total lost packets 0 (" in result.stdout
            refused = uclient(s, username, password, "10.0.0.1")
            assert FORBIDDEN in refused.stdout
    finally:
        peer.terminate()
        peer.wait(timeout=10)
