"""A real dnsmasq on loopback serving the records the DNS tests need, and a server that never answers."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import dns.exception
import dns.message
import dns.query
import pytest

# Names end in delegated TLDs: a name under a TLD that does not exist never leaves the cluster and is
# not looked up at all.
RECORDS = [
    # a trusted-looking name that CNAMEs to a US CDN whose address is Amazon's
    "--cname=cdn.ministere.gouv.fr,d1.cloudfront.net",
    "--host-record=d1.cloudfront.net,13.32.1.1",
    # a French-looking name on a CDN edge in Paris: located in France, under US law
    "--cname=static.visio-paris.fr,d2.cloudfront.net",
    "--host-record=d2.cloudfront.net,13.36.0.1",
    # a two-step chain ending at an American CDN
    "--cname=a.chain-visio.fr,b.chain-visio.fr",
    "--cname=b.chain-visio.fr,d3.cloudfront.net",
    "--host-record=d3.cloudfront.net,151.101.1.1",
    # OVHcloud, IPv4 and IPv6
    "--host-record=meet.ministere.gouv.fr,51.210.0.1,2001:41d0::1",
    "--host-record=plain.visio-ovh.fr,51.210.0.1",
    # one good address and one American one: every answer counts
    "--host-record=mixed.visio-ovh.fr,51.210.0.1,2a05:d012::1",
    # AAAA only
    "--host-record=v6only.visio-ovh.fr,2001:41d0::1",
    # a public name with a private address
    "--host-record=vpn.visio-ovh.fr,10.20.30.40",
    # NXDOMAIN for a whole domain
    "--address=/nx-visio.fr/",
]


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _dnsmasq_binary() -> str | None:
    return shutil.which("dnsmasq") or next((p for p in ("/usr/sbin/dnsmasq",) if os.path.exists(p)), None)


@pytest.fixture(scope="session")
def dnsmasq() -> Iterator[tuple[str, int]]:
    binary = _dnsmasq_binary()
    if binary is None:
        if os.environ.get("VISIO_REQUIRE_SERVERS"):
            pytest.fail("dnsmasq is required (VISIO_REQUIRE_SERVERS is set) but not installed")
        pytest.skip("dnsmasq not installed")
    port = _free_udp_port()
    cmd = [
        binary, "--keep-in-foreground", "--no-resolv", "--no-hosts", "--conf-file=/dev/null",
        "--listen-address=127.0.0.1", "--bind-interfaces", f"--port={port}", "--pid-file=",
        "--log-facility=-", "--user=root", *RECORDS,
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                dns.query.udp(dns.message.make_query("plain.visio-ovh.fr", "A"), "127.0.0.1", timeout=0.2, port=port)
                break
            except (dns.exception.Timeout, OSError):
                if proc.poll() is not None or time.monotonic() > deadline:
                    output = proc.stdout.read() if proc.stdout else ""
                    pytest.fail(f"dnsmasq did not start: {output}")
        yield "127.0.0.1", port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def silent_server() -> Iterator[tuple[str, int]]:
    """A loopback UDP socket that receives queries and never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield "127.0.0.1", int(sock.getsockname()[1])
