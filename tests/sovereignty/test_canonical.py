"""The evasion suite: every spelling of a host reduces to the host a client really reaches."""

from __future__ import annotations

import pytest

from policies.sovereignty.canonical import EndpointSyntaxError, canonicalize, parse_ipv4_loose

EVASIONS = [
    # userinfo: the host is after the last `@`
    ("https://ok.gouv.fr@evil.com/", "evil.com"),
    ("https://ok.gouv.fr:443@evil.com/x", "evil.com"),
    ("https://a@b@evil.com/", "evil.com"),
    ("postgres://user:p%40ss@db.evil.com:5432/x", "db.evil.com"),
    # case, trailing dot
    ("HTTPS://EVIL.COM./", "evil.com"),
    # Unicode dots and IDNA
    ("https://evil\u3002com/", "evil.com"),
    ("https://evil\uff0ecom/", "evil.com"),
    ("https://evil\uff61com/", "evil.com"),
    ("https://\uff25\uff36\uff29\uff2c.com/", "evil.com"),  # full-width letters map to ASCII under UTS #46
    ("https://b\u00fccher.de/", "xn--bcher-kva.de"),
    ("https://XN--BCHER-KVA.de/", "xn--bcher-kva.de"),
    ("https://g\u043euv.fr/", "xn--guv-sed.fr"),  # Cyrillic o: not gouv.fr
    # IPv4 in inet_aton spellings
    ("http://3232235777/", "192.168.1.1"),
    ("http://220463105/", "13.36.0.1"),
    ("http://0x7f.1/", "127.0.0.1"),
    ("http://0x7f000001/", "127.0.0.1"),
    ("0177.0.0.1", "127.0.0.1"),
    ("127.1", "127.0.0.1"),
    ("http://13.2359297/", "13.36.0.1"),
    ("http://015.044.0.01:8080/", "13.36.0.1"),
    ("http://0x0d.0x24.0.1/", "13.36.0.1"),
    # IPv6 and IPv6 forms carrying IPv4
    ("http://[2001:db8::1]:8080/", "2001:db8::1"),
    ("http://[::ffff:13.36.0.1]/", "13.36.0.1"),
    ("http://[::ffff:d24:1]/", "13.36.0.1"),
    ("[64:ff9b::d24:1]:443", "13.36.0.1"),
    ("64:ff9b::13.36.0.1", "13.36.0.1"),
    ("http://[2002:d24:1::1]/", "13.36.0.1"),  # 6to4
    ("http://[fe80::1%25eth0]/", "fe80::1"),
    ("::1", "::1"),
    # schemes without `//`, ports, paths, CIDRs
    ("turn:turn.evil.com:3478?transport=udp", "turn.evil.com"),
    ("turns:user@turn.evil.com:5349", "turn.evil.com"),
    ("stun:stun.l.google.com:19302", "stun.l.google.com"),
    ("wss://lk.evil.com/rtc", "lk.evil.com"),
    ("redis://:secret@cache.evil.com:6379/0", "cache.evil.com"),
    ("amqp://guest:guest@mq.evil.com", "mq.evil.com"),
    ("api.evil.com:443", "api.evil.com"),
    ("ghcr.io/org/image:1.0", "ghcr.io"),
    ("13.36.0.0/14", "13.36.0.0"),
    ("_sip._udp.evil.com", "_sip._udp.evil.com"),
]


@pytest.mark.parametrize(("raw", "host"), EVASIONS)
def test_evasion_reduces_to_real_host(raw: str, host: str) -> None:
    assert canonicalize(raw).host == host


UNREADABLE = [
    "",
    "   ",
    "http://",
    "http://1.2.3.256/",  # numeric last label that is no IPv4 address: WHATWG failure
    "http://09.1.2.3/",  # 09 is not octal
    "http://a..b/",
    "http://exa mple.com/",
    "http://host:99999/",
    "http://host:8o/",
    "http://[::1/",
    "http://[::zz]/",
    "http://xn--zz.com/",  # invalid punycode
    "redis://evil.com\\@ok.gouv.fr",  # non-special scheme: clients disagree, refuse to guess
    "http://ok.gouv.fr%40evil.com/",
    "http://evil\x00.com/",
    "http://" + "a" * 64 + ".com/",
]


@pytest.mark.parametrize("raw", UNREADABLE)
def test_unreadable_endpoint_raises(raw: str) -> None:
    with pytest.raises(EndpointSyntaxError):
        canonicalize(raw)


# URLs WHATWG parsers (browsers, Node, urllib3) and RFC 3986 parsers (Python's urllib, curl) send to
# different hosts, or one of them to none: no host can be judged, so none is accepted.
DIFFERENTIALS = [
    # backslashes: WHATWG reads `\` as `/` in special schemes, RFC 3986 keeps it in the authority
    "https://evil.com\\@ok.gouv.fr",
    "https://ok.gouv.fr\\@evil.com/",
    "wss://ok.gouv.fr\\@evil.com/rtc",
    "https:\\\\evil.com\\path",
    # missing or extra slashes: WHATWG finds a host, RFC 3986 none
    "http:evil.com",
    "https:///evil.com",
    # percent-encoded host: WHATWG decodes it, RFC 3986 does not
    "http://evil.com%2e/",
    "http://%65vil.com/",
]


@pytest.mark.parametrize("raw", DIFFERENTIALS)
def test_parser_differentials_fail_closed(raw: str) -> None:
    with pytest.raises(EndpointSyntaxError, match="RFC 3986"):
        canonicalize(raw)


def test_notes_record_how_the_text_hid_the_host() -> None:
    notes = " ".join(canonicalize("https://ok.gouv.fr@3232235777./").notes)
    assert "userinfo" in notes and "3232235777" in notes and "trailing dot" in notes
    assert "IPv4-mapped" in " ".join(canonicalize("http://[::ffff:1.2.3.4]/").notes)
    idn = canonicalize("https://b\u00fccher.de/")
    assert idn.display == "b\u00fccher.de" and any("IDN" in n for n in idn.notes)


def test_port_and_scheme_kept() -> None:
    endpoint = canonicalize("HTTPS://evil.com:8443/x")
    assert (endpoint.scheme, endpoint.port) == ("https", 8443)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", "0.0.0.1"), ("1.2", "1.0.0.2"), ("1.2.3", "1.2.0.3"), ("0x1.0x2.0x3.0x4", "1.2.3.4"),
        ("4294967295", "255.255.255.255"),
    ],
)
def test_inet_aton_forms(text: str, expected: str) -> None:
    assert str(parse_ipv4_loose(text)) == expected


@pytest.mark.parametrize("text", ["4294967296", "1.256.3", "256.1.1.1", "1.2.3.4.5", "08", "1.x"])
def test_inet_aton_rejects(text: str) -> None:
    assert parse_ipv4_loose(text) is None
