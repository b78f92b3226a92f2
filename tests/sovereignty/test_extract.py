"""Finding endpoints in values and embedded documents, without inventing them."""

from __future__ import annotations

import base64

import pytest

from policies.sovereignty.extract import find_endpoints, scan_base64, scan_value

FOUND = [
    ("https://api.openai.com/v1", "", ["https://api.openai.com/v1"]),
    ("url=https://ok.gouv.fr@evil.com/ then http:evil2.com", "", ["https://ok.gouv.fr@evil.com/", "http:evil2.com"]),
    ("turn:turn.evil.com:3478?transport=udp", "", ["turn:turn.evil.com:3478?transport=udp"]),
    ("turns:turn.evil.com:5349 stun:stun.evil.com", "", ["turns:turn.evil.com:5349", "stun:stun.evil.com"]),
    ("wss://lk.evil.com/rtc ws://lk2.evil.com", "", ["wss://lk.evil.com/rtc", "ws://lk2.evil.com"]),
    ("redis://cache.evil.com:6379/0", "", ["redis://cache.evil.com:6379/0"]),
    ("jdbc:postgresql://db.evil.com:5432/x", "", ["postgresql://db.evil.com:5432/x"]),
    ("amqp://u:p@mq.evil.com s3://bucket.evil.com/k", "", ["amqp://u:p@mq.evil.com", "s3://bucket.evil.com/k"]),
    ("https://a.evil.com,https://b.evil.com", "", ["https://a.evil.com", "https://b.evil.com"]),
    ("(see https://docs.evil.com/x).", "", ["https://docs.evil.com/x"]),
    ("api.openai.com:443", "", ["api.openai.com:443"]),
    ("sentry.io", "", ["sentry.io"]),
    ("EVIL.COM", "", ["EVIL.COM"]),
    ("evil\u3002com", "", ["evil\u3002com"]),
    ("b\u00fccher.de", "", ["b\u00fccher.de"]),
    ("1.2.3.4", "HOST", ["1.2.3.4"]),
    ("192.168.1.1:6379 10.0.0.0/8", "", ["192.168.1.1:6379", "10.0.0.0/8"]),
    ("[::ffff:1.2.3.4]:80 2001:db8::1", "", ["[::ffff:1.2.3.4]:80", "2001:db8::1"]),
    ("evil.run:8080", "", ["evil.run:8080"]),  # a long-tail TLD counts with a port
    ("git@1.2.3.4", "", ["1.2.3.4"]),
]


@pytest.mark.parametrize(("text", "key", "expected"), FOUND)
def test_endpoints_found(text: str, key: str, expected: list[str]) -> None:
    assert list(find_endpoints(text, key)) == expected


NOT_ENDPOINTS = [
    ("1.2.3.4", "APP_VERSION"),
    ("1.2.3.4", "image.tag"),
    ("1.2.3.4", "RELEASE"),
    ("nginx:1.2.3.4", ""),
    ("v1.25.3", ""),
    ("1.2.3.4-beta", ""),
    ("config.yaml", ""),
    ("app.py", ""),
    ("README.md", ""),
    ("run.sh", ""),
    ("Main.java", ""),
    ("redis", ""),
    ("redis:6379", ""),
    ("x.svc", ""),
    ("x.ns.svc.cluster.local", ""),
    ("redis.visio:6379", ""),
    ("app.kubernetes.io/name", ""),
    ("networking.k8s.io", ""),
    ("cert-manager.io/cluster-issuer", ""),
    ("application/json", ""),
    ("application/vnd.api+json", ""),
    ("text/html; charset=utf-8", ""),
    ("com.example.app", ""),
    ("org.apache.kafka.common.serialization.StringSerializer", ""),
    ("jean.dupont@interieur.gouv.fr", ""),
    ("contact: jean.fr@example.com", ""),
    ("metadata.name", ""),
    ("spring.application.name", ""),
    ("user.id", ""),
    ("12:30:45", ""),
    ("aa:bb:cc:dd:ee:ff", ""),
    ("std::string", ""),
    ("http://$(BACKEND_HOST):8000/", ""),
    ("https://${HOST}/x", ""),
    ("https://{{ .Values.host }}/", ""),
    ("file:///etc/visio/config.yaml", ""),
    ("mailto:ops@evil.com", ""),
    ("/etc/ssl/certs/ca.pem", ""),
    ("obj.method(arg)", ""),
    ("3.14", ""),
    ("true", ""),
]


@pytest.mark.parametrize(("text", "key"), NOT_ENDPOINTS)
def test_not_an_endpoint(text: str, key: str) -> None:
    assert find_endpoints(text, key) == ()


LIVEKIT = """\
port: 7880
rtc:
  node_ip: 51.210.0.1
  stun_servers: ["stun.l.google.com:19302"]
redis:
  address: redis:6379
webhook:
  urls: ["https://hooks.evil.com/x"]
version: 1.2.3.4
"""


def test_yaml_document_is_walked_with_key_paths() -> None:
    hits = scan_value(LIVEKIT, "config.yaml")
    assert [(h.raw, h.where) for h in hits] == [
        ("51.210.0.1", "rtc.node_ip"),
        ("stun.l.google.com:19302", "rtc.stun_servers[0]"),
        ("https://hooks.evil.com/x", "webhook.urls[0]"),
    ]


def test_json_document() -> None:
    hits = scan_value('{"sentry": {"dsn": "https://k@o1.ingest.sentry.io/1"}, "version": "1.2.3.4"}')
    assert [(h.raw, h.where) for h in hits] == [("https://k@o1.ingest.sentry.io/1", "sentry.dsn")]


def test_json_inside_yaml_inside_value() -> None:
    doc = 'name: visio\nsettings: \'{"llm": {"url": "https://api.openai.com/v1"}}\'\n'
    assert [(h.raw, h.where) for h in scan_value(doc)] == [("https://api.openai.com/v1", "settings.llm.url")]


LINES = """\
# see https://docs.evil.com/ (a comment)
; also a comment
! properties comment
[server]
API_URL=https://api.openai.com/v1
export REDIS=redis://cache.evil.com:6379
APP_VERSION=1.2.3.4
server.address:5.6.7.8
spring.application.name=visio
host = db.evil.com
api.deepgram.com:443
"""


def test_line_documents_skip_comments_and_use_key_context() -> None:
    hits = [(h.raw, h.where) for h in scan_value(LINES, "app.env")]
    assert hits == [
        ("https://api.openai.com/v1", "line 5"),
        ("redis://cache.evil.com:6379", "line 6"),
        ("5.6.7.8", "line 8"),
        ("db.evil.com", "line 10"),
        ("api.deepgram.com:443", "line 11"),
    ]


def test_yaml_alias_bomb_is_not_expanded() -> None:
    bomb = "a: &a [x, y]\nb: [*a, *a]\nc: https://evil.com\n"
    assert [h.raw for h in scan_value(bomb)] == ["https://evil.com"]


def test_base64_secret_data_is_decoded() -> None:
    encoded = base64.b64encode(b"DSN=https://k@o1.ingest.sentry.io/1\n").decode()
    assert [h.raw for h in scan_base64(encoded, "env")] == ["https://k@o1.ingest.sentry.io/1"]
    # A binary payload is read as `strings` would show it: its endpoints are found, never skipped.
    assert [(h.raw, h.where) for h in scan_base64(base64.b64encode(b"\x00\x01binary evil.com").decode())] == [
        ("evil.com", "byte 2")]
    assert scan_base64("not base64!") == ()  # reported by the opaque-data rule


def test_oversized_document_fails_closed() -> None:
    (hit,) = scan_value("x" * 1_000_001 + ".evil.com")
    assert hit.problem and "inspection limit" in hit.problem


def test_deny_lists_are_not_endpoints() -> None:
    conf = "listening-port=3478\ndenied-peer-ip=13.36.0.0-13.36.255.255\nallowed-peer-ip=13.37.0.1\n"
    assert [h.raw for h in scan_value(conf, "turnserver.conf")] == ["13.37.0.1"]


@pytest.mark.parametrize("key", ["BLOCK_STORAGE_URL", "EXCEPTIONS_HOST"])
def test_deny_list_words_only_as_whole_key_parts(key: str) -> None:
    assert find_endpoints("13.37.0.1", key) == ("13.37.0.1",)
