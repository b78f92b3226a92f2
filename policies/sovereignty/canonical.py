"""Reduce an endpoint string to the one host a client would really connect to.

Judging the raw text invites the classic bypasses: `https://ok.gouv.fr@evil.com/` (userinfo),
`https://evil.com\\@ok.gouv.fr` (browsers read `\\` as `/` in special schemes), `EVIL.com.`, Unicode dots
and lookalike labels, IPv4 spelled `3232235777`, `0x7f.1` or `0177.0.0.1`, and IPv6 forms that carry an
IPv4 address (`::ffff:1.2.3.4`, NAT64 `64:ff9b::/96`, 6to4). Anything that cannot be reduced
unambiguously raises `EndpointSyntaxError`: the caller reports it (fail closed).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import unquote, urlsplit

import idna

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# WHATWG "special" schemes, where a backslash ends the authority like a slash.
SPECIAL_SCHEMES = frozenset({"http", "https", "ws", "wss", "ftp", "file"})
# Schemes written without `//` whose body still starts with a host (RFC 7064/7065).
OPAQUE_SCHEMES = frozenset({"turn", "turns", "stun", "stuns"})
UNICODE_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")

_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")
_ASCII_HOST = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)*$")
_DNS_LABEL = re.compile(r"^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$")
_PATH = re.compile(r"[/?#]")
_NUMBER = re.compile(r"^(0[xX][0-9a-fA-F]*|[0-9]+)$")


class EndpointSyntaxError(ValueError):
    """The text cannot be reduced to one host without guessing."""


@dataclass(frozen=True)
class Endpoint:
    # ASCII hostname (punycode, lower case, no trailing dot) or the IP address text.
    host: str
    ip: IPAddress | None = None
    port: int | None = None
    scheme: str | None = None
    # The Unicode form for messages when the host is an IDN.
    display: str = ""
    # How the raw text differed from the canonical host, for evidence.
    notes: tuple[str, ...] = ()

    def __str__(self) -> str:
        return self.host


def _port(text: str, raw: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise EndpointSyntaxError(f"{raw!r}: invalid port {text!r}")
    return int(text)


def _ipv4_part(text: str) -> int | None:
    """One part of an inet_aton address: decimal, 0x hex or leading-zero octal."""
    if not _NUMBER.match(text):
        return None
    if text[:2] in ("0x", "0X"):
        return int(text[2:] or "0", 16)
    if len(text) > 1 and text[0] == "0":
        return int(text, 8) if all(c in "01234567" for c in text) else None
    return int(text)


def parse_ipv4_loose(host: str) -> ipaddress.IPv4Address | None:
    """IPv4 in every spelling inet_aton accepts (`127.1`, `0x7f.1`, `0177.0.0.1`, `2130706433`)."""
    parts = host.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    values = [_ipv4_part(p) for p in parts]
    if any(v is None for v in values):
        return None
    nums = [v for v in values if v is not None]
    last_bytes = 5 - len(nums)
    if any(v > 255 for v in nums[:-1]) or nums[-1] >= 256**last_bytes:
        return None
    value = nums[-1]
    for i, part in enumerate(nums[:-1]):
        value += part << (8 * (3 - i))
    return ipaddress.IPv4Address(value)


def unwrap_ipv6(addr: ipaddress.IPv6Address) -> tuple[IPAddress, str | None]:
    """The IPv4 address an IPv6 form carries, and how it was carried."""
    if addr.ipv4_mapped is not None:
        return addr.ipv4_mapped, "IPv4-mapped IPv6"
    if addr in NAT64:
        return ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF), "NAT64 IPv6"
    if addr.sixtofour is not None:
        return addr.sixtofour, "6to4 IPv6"
    if int(addr) >> 32 == 0 and int(addr) > 1:
        return ipaddress.IPv4Address(int(addr)), "IPv4-compatible IPv6"
    return addr, None


def _ip_endpoint(addr: IPAddress, port: int | None, scheme: str | None, notes: list[str]) -> Endpoint:
    if isinstance(addr, ipaddress.IPv6Address):
        inner, how = unwrap_ipv6(addr)
        if how:
            notes.append(f"{how} {addr} carries {inner}")
            addr = inner
    return Endpoint(str(addr), addr, port, scheme, str(addr), tuple(notes))


@lru_cache(maxsize=4096)
def _idna_host(host: str) -> tuple[str, str]:
    """(ASCII form, display form) of a hostname, through UTS #46 mapping."""
    try:
        ascii_host = idna.encode(host, uts46=True, transitional=False).decode("ascii")
        return ascii_host, idna.decode(ascii_host)
    except (idna.IDNAError, UnicodeError) as exc:
        # Underscore labels (`_sip._tcp.example.fr`) are valid DNS but not IDNA.
        labels = host.split(".")
        if host.isascii() and all(_DNS_LABEL.match(lb) and not lb.startswith("xn--") for lb in labels):
            return host, host
        raise EndpointSyntaxError(f"{host!r}: not a valid hostname ({exc})") from None


def canonical_host(
    text: str, raw: str, port: int | None = None, scheme: str | None = None, notes: list[str] | None = None
) -> Endpoint:
    notes = notes if notes is not None else []
    if text.startswith("["):
        if not text.endswith("]"):
            raise EndpointSyntaxError(f"{raw!r}: unterminated IPv6 literal")
        try:
            addr6 = ipaddress.IPv6Address(text[1:-1].split("%", 1)[0])
        except ValueError:
            raise EndpointSyntaxError(f"{raw!r}: invalid IPv6 literal {text}") from None
        return _ip_endpoint(addr6, port, scheme, notes)
    host = unquote(text).translate(UNICODE_DOTS).lower()
    if host.endswith("."):
        host = host[:-1]
        notes.append("trailing dot removed")
    if not host or ".." in host or host.startswith(".") or any(c in host for c in " /\\@?#%[]<>"):
        raise EndpointSyntaxError(f"{raw!r}: invalid host {text!r}")
    if ":" in host:
        try:
            return _ip_endpoint(ipaddress.IPv6Address(host.split("%", 1)[0]), port, scheme, notes)
        except ValueError:
            raise EndpointSyntaxError(f"{raw!r}: invalid host {text!r}") from None
    last = host.rsplit(".", 1)[-1]
    if _NUMBER.match(last):
        # WHATWG: a numeric last label makes the whole host an IPv4 address, or an error.
        addr4 = parse_ipv4_loose(host)
        if addr4 is None:
            raise EndpointSyntaxError(f"{raw!r}: {host!r} is neither an IPv4 address nor a hostname")
        if str(addr4) != host:
            notes.append(f"IPv4 written as {host}")
        return _ip_endpoint(addr4, port, scheme, notes)
    if _ASCII_HOST.match(host) and "xn--" not in host:
        ascii_host, display = host, host
    else:
        ascii_host, display = _idna_host(host)
        if ascii_host != host:
            notes.append(f"IDN {display} is {ascii_host}")
    if len(ascii_host) > 253 or any(len(label) > 63 for label in ascii_host.split(".")):
        raise EndpointSyntaxError(f"{raw!r}: hostname too long")
    return Endpoint(ascii_host, None, port, scheme, display, tuple(notes))


def _split_authority(authority: str, raw: str) -> tuple[str, int | None, list[str]]:
    notes: list[str] = []
    if "@" in authority:
        # The last `@` ends the userinfo (WHATWG and RFC 3986 agree for a well-formed authority).
        _userinfo, authority = authority.rsplit("@", 1)
        notes.append("userinfo (credentials, not shown) is not the host")
    if authority.startswith("["):
        end = authority.find("]")
        if end < 0:
            raise EndpointSyntaxError(f"{raw!r}: unterminated IPv6 literal")
        host, rest = authority[: end + 1], authority[end + 1 :]
        if rest and not rest.startswith(":"):
            raise EndpointSyntaxError(f"{raw!r}: junk after IPv6 literal")
        return host, _port(rest[1:], raw) if rest[1:] else None, notes
    host, sep, port = authority.rpartition(":")
    if not sep:
        return authority, None, notes
    return host, _port(port, raw) if port else None, notes


@lru_cache(maxsize=65536)
def canonicalize(raw: str) -> Endpoint:
    """URL, `host[:port]`, `[v6]:port`, bare IPv4/IPv6 → Endpoint; raises EndpointSyntaxError."""
    text = raw.strip()
    if not text or any(ord(c) < 0x20 or c == "\x7f" for c in text):
        raise EndpointSyntaxError(f"{raw!r}: empty or contains control characters")
    match = _SCHEME.match(text)
    scheme = match.group(1).lower() if match else None
    rest = text[match.end() :] if match else text
    if scheme in SPECIAL_SCHEMES:
        # WHATWG: any run of `/` and `\\` after a special scheme introduces the authority.
        endpoint = _from_authority(rest.replace("\\", "/").lstrip("/"), raw, scheme)
        if scheme != "file":
            _same_for_rfc3986_clients(endpoint, text, raw)
        return endpoint
    if scheme and (rest.startswith("//") or scheme in OPAQUE_SCHEMES):
        return _from_authority(rest[2:] if rest.startswith("//") else rest, raw, scheme)
    text = _PATH.split(text, maxsplit=1)[0]
    if text.count(":") >= 2 and not text.startswith("["):
        return canonical_host(text, raw)  # bare IPv6
    host, port, notes = _split_authority(text, raw)
    return canonical_host(host, raw, port, None, notes)


def _same_for_rfc3986_clients(endpoint: Endpoint, text: str, raw: str) -> None:
    """Refuse a URL an RFC 3986 client (Python's urllib, curl) would send to another host.

    Browsers, Node and urllib3 follow WHATWG; urllib, requests' callers of urlsplit and many others follow
    RFC 3986. Both kinds run in the platform, so a host they disagree on is no host at all.
    """
    try:
        host = urlsplit(text).hostname
    except ValueError:
        host = None
    if host is None:
        raise EndpointSyntaxError(f"{raw!r}: RFC 3986 parsers find no host where WHATWG parsers find "
                                  f"{endpoint.host!r}")
    if ":" in host:
        host = host.split("%", 1)[0]  # an IPv6 zone (`%25eth0`) is no part of the address
    if "%" in host:
        raise EndpointSyntaxError(f"{raw!r}: percent-encoded host: WHATWG parsers decode it, RFC 3986 ones do not")
    try:
        other = canonical_host(f"[{host}]" if ":" in host else host, raw).host
    except EndpointSyntaxError:
        other = host
    if other != endpoint.host:
        raise EndpointSyntaxError(f"{raw!r}: WHATWG parsers connect to {endpoint.host!r}, RFC 3986 ones to {other!r}")


def _from_authority(rest: str, raw: str, scheme: str) -> Endpoint:
    authority = _PATH.split(rest, maxsplit=1)[0]
    if "\\" in authority:
        # Non-special schemes: clients disagree on backslashes, so refuse to guess.
        raise EndpointSyntaxError(f"{raw!r}: backslash in the authority of a {scheme}: URL")
    if not authority:
        raise EndpointSyntaxError(f"{raw!r}: URL without a host")
    host, port, notes = _split_authority(authority, raw)
    return canonical_host(host, raw, port, scheme, notes)
