"""What a coturn configuration must hold, read from its text: deny ranges, hardening flags, relay ports.

Pure functions over `turnserver.conf` content, so the rendered file, the file on a local server and
the file inside a pod are judged alike.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Networks a relay must never reach: loopback, RFC 1918, link-local (cloud metadata 169.254.169.254),
# shared address space (CGNAT), multicast, and their IPv6 counterparts.
REQUIRED_DENIED: tuple[str, ...] = (
    "127.0.0.0/8",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "169.254.0.0/16",
    "100.64.0.0/10",
    "0.0.0.0/8",
    "224.0.0.0/4",
    "::1/128",
    "fc00::/7",
    "fe80::/10",
    "::ffff:0:0/96",
)

# Options the media chart declares and verification insists on.
REQUIRED_FLAGS: tuple[str, ...] = (
    "use-auth-secret",
    "fingerprint",
    "no-cli",
    "no-multicast-peers",
    "no-tcp-relay",
    "no-tlsv1",
    "no-tlsv1_1",
)

# Options that re-open what the deny list closes.
FORBIDDEN_OPTIONS: tuple[str, ...] = ("allowed-peer-ip", "allow-loopback-peers")


def options(conf: str) -> list[tuple[str, str]]:
    """(key, value) per line, in order; flags have an empty value. Comments and blanks are skipped."""
    out: list[tuple[str, str]] = []
    for raw in conf.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition("=")
        out.append((key.strip().removeprefix("--"), value.strip()))
    return out


def values_of(conf: str, key: str) -> list[str]:
    return [v for k, v in options(conf) if k == key]


def denied_ranges(conf: str) -> list[tuple[IPAddress, IPAddress]]:
    ranges: list[tuple[IPAddress, IPAddress]] = []
    for value in values_of(conf, "denied-peer-ip"):
        low, _, high = value.partition("-")
        try:
            first, last = ipaddress.ip_address(low.strip()), ipaddress.ip_address((high or low).strip())
        except ValueError:
            continue  # an unreadable range denies nothing
        if first.version == last.version and int(first) <= int(last):
            ranges.append((first, last))
    return ranges


def denied_by_conf(conf: str, peer: str) -> bool:
    ip = ipaddress.ip_address(peer)
    return any(f.version == ip.version and int(f) <= int(ip) <= int(la) for f, la in denied_ranges(conf))


def _covered(network: ipaddress.IPv4Network | ipaddress.IPv6Network,
             ranges: Sequence[tuple[IPAddress, IPAddress]]) -> bool:
    start, end = int(network.network_address), int(network.broadcast_address)
    for first, last in sorted((int(f), int(la)) for f, la in ranges if f.version == network.version):
        if first > start:
            return False
        if last >= start:
            start = last + 1
            if start > end:
                return True
    return start > end


def uncovered(conf: str, required: Sequence[str] = REQUIRED_DENIED) -> list[str]:
    """Required networks that the denied-peer-ip ranges, together, do not cover entirely."""
    ranges = denied_ranges(conf)
    return [n for n in required if not _covered(ipaddress.ip_network(n), ranges)]


def missing_flags(conf: str) -> list[str]:
    present = {k for k, _ in options(conf)}
    return [f for f in REQUIRED_FLAGS if f not in present]


def forbidden_present(conf: str) -> list[str]:
    return [f"{k}={v}" if v else k for k, v in options(conf) if k in FORBIDDEN_OPTIONS]


def relay_range(conf: str) -> tuple[int, int] | None:
    low, high = values_of(conf, "min-port"), values_of(conf, "max-port")
    if len(low) != 1 or len(high) != 1 or not low[0].isdigit() or not high[0].isdigit():
        return None
    return int(low[0]), int(high[0])
