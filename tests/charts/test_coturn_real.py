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
import shutil
import socket
import ssl
import subprocess
import sys
import warnings
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
import yaml

from common.config import load_stack
from visio.verify import local
from visio.verify.coturn import denied_by_conf
from visio.verify.local import FORBIDDEN, MediaRender, TurnServer, rest_credentials
from visio.verify.local import allocated as _allocated

STACK = "interieur-prod"  # TLS on 443 in the chart: the test moves it to a free high port
SECRET = "loopback-test-shared-secret-0123456789"


def _need(binary: str) -> str:
    path = shutil.which(binary)
    if path is None:
        if os.environ.get("VISIO_REQUIRE_SERVERS"):
            pytest.fail(f"{binary} is required (VISIO_REQUIRE_SERVERS is set)")
        pytest.skip(f"{binary} not installed (apt-get install coturn)")
    return path


@pytest.fixture(scope="module")
def chart() -> MediaRender:
    return local.render_media(load_stack(STACK).config)


@contextmanager
def turnserver(chart: MediaRender, tmp: Path, extra: tuple[str, ...] = ()) -> Iterator[TurnServer]:
    _need("turnserver")
    _need("openssl")
    with ExitStack() as stack:
        try:
            started = stack.enter_context(
                local.turnserver(chart, tmp, SECRET, domain="turn.visio.interieur.gouv.fr", extra=extra))
        except local.StartError as exc:
            pytest.fail(str(exc))
        yield started


@pytest.fixture(scope="module")
def server(chart: MediaRender, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TurnServer]:
    with turnserver(chart, tmp_path_factory.mktemp("coturn")) as s:
        yield s


def uclient(server: TurnServer, username: str, password: str, peer: str, *flags: str,
            peer_port: int = 9, messages: int = 3, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    _need("turnutils_uclient")
    if not ipaddress.ip_address(peer).is_loopback:
        # Guard: never let a regression of the chart turn this test into traffic off the host.
        assert denied_by_conf(server.conf, peer), f"{peer} is not denied by the rendered configuration"
    return local.uclient(server, username, password, peer, *flags, peer_port=peer_port, messages=messages,
                         timeout=timeout)


@pytest.mark.parametrize(("peer", "range_"), [
    ("127.0.0.1", None),  # refused before the ranges: coturn's own loopback rule, and 127.0.0.0/8 below
    ("10.0.0.1", "10.0.0.0-10.255.255.255"),
    ("169.254.169.254", "169.254.0.0-169.254.255.255"),
    ("172.16.0.1", "172.16.0.0-172.31.255.255"),
    ("100.64.0.1", "100.64.0.0-100.127.255.255"),
])
def test_rest_credentials_allocate_but_internal_peers_are_refused(server: TurnServer, peer: str,
                                                                   range_: str | None) -> None:
    username, password = rest_credentials(SECRET, "alice")
    result = uclient(server, username, password, peer)
    assert _allocated(result), result.stdout + result.stderr
    assert FORBIDDEN in result.stdout
    assert result.returncode != 0
    if range_ is not None:
        # The refusal names the range meant for it, not an over-broad one denying every peer.
        assert f"A peer IP {peer} denied in the range: {range_}" in server.log_text()


# turnutils_uclient picks one of four TLS methods at random per connection (any version, 1.2, 1.1,
# 1.0); coturn never answers a 1.0 or 1.1 ClientHello when they are disabled, so the client would
# hang on those. A TLS 1.2-only cipher list leaves the client only the methods the chart allows.
TLS12_CIPHER = "ECDHE-ECDSA-AES256-GCM-SHA384"  # the self-signed certificate is an EC key


def test_allocation_over_tls_on_the_turns_port(chart: MediaRender, tmp_path: Path) -> None:
    username, password = rest_credentials(SECRET, "bob")
    with turnserver(chart, tmp_path) as server:
        result = uclient(server, username, password, "10.0.0.1", "-t", "-S", "-F", TLS12_CIPHER, messages=1,
                         timeout=30)
    assert _allocated(result), result.stdout + result.stderr
    assert "tls_connect: client session connected" in result.stdout
    assert "method=TLSv1.2" in result.stdout or "method=TLSv1.3" in result.stdout
    assert FORBIDDEN in result.stdout


def _handshake(port: int, version: ssl.TLSVersion) -> str | None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the version is under test here, not the certificate
    context.set_ciphers("DEFAULT:@SECLEVEL=0")  # else OpenSSL itself refuses to offer 1.0 and 1.1
    context.minimum_version = context.maximum_version = version
    with socket.create_connection((local.LOOPBACK, port), timeout=3) as raw:
        try:
            with context.wrap_socket(raw) as tls:
                return tls.version()
        except (ssl.SSLError, OSError):
            return None  # an alert, a reset or no answer at all: no session in that version


def test_turns_port_speaks_tls12_and_never_tls10_or_11(chart: MediaRender, tmp_path: Path) -> None:
    # Debian's OpenSSL already refuses 1.0 and 1.1 at its default security level; lowering it on the
    # server leaves the chart's no-tlsv1 and no-tlsv1_1 as the only thing refusing them.
    with turnserver(chart, tmp_path, extra=('cipher-list="DEFAULT:@SECLEVEL=0"',)) as server:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # naming the old versions is the point
            old = {v.name: _handshake(server.tls_port, v) for v in (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1)}
        current = _handshake(server.tls_port, ssl.TLSVersion.TLSv1_2)
    assert current == "TLSv1.2"
    assert old == {"TLSv1": None, "TLSv1_1": None}


@pytest.mark.parametrize("case", ["wrong secret", "tampered password", "expired", "not a REST username"])
def test_bad_credentials_are_refused(server: TurnServer, case: str) -> None:
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


def test_the_credential_livekit_hands_out_is_accepted(server: TurnServer, chart: MediaRender, tmp_path: Path) -> None:
    """The init container's script, run from the rendered ConfigMap with the same shared secret."""
    (tmp_path / "config.yaml").write_text(chart.livekit_data["config.yaml"])
    (tmp_path / "mint.py").write_text(chart.livekit_data["mint-turn-credential.py"])
    subprocess.run([sys.executable, str(tmp_path / "mint.py"), str(tmp_path / "config.yaml"),
                    str(tmp_path / "out.yaml")], env={"TURN_SECRET": SECRET, "TTL_SECONDS": "3600"},
                   check=True, timeout=30)
    minted = yaml.safe_load((tmp_path / "out.yaml").read_text())["rtc"]["turn_servers"][0]
    result = uclient(server, minted["username"], minted["credential"], "10.0.0.1")
    assert _allocated(result), result.stdout + result.stderr


def test_the_secret_never_reaches_the_log(server: TurnServer) -> None:
    assert SECRET not in server.log_text()


def test_relay_works_to_an_explicitly_allowed_loopback_peer(chart: MediaRender, tmp_path: Path) -> None:
    """Positive control: with only 127.0.0.1 allowed (test-only lines), data does flow through the
    relay while 10.0.0.1 stays refused, so the refusals above are the deny list at work and not a
    server that relays nothing."""
    peer_binary = _need("turnutils_peer")
    peer_port = local.free_port()
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
