"""values.schema.json of the media and captioning charts refuses bad values before anything renders."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from common.config import load_stack
from common.errors import InputError
from common.paths import chart_path
from components import naming
from components.values import captioning, media
from visio.kube.charts import render

Values = dict[str, Any]


def _good(chart: str) -> Values:
    cfg = load_stack("interieur-prod").config
    return media.values(cfg) if chart == "media" else captioning.values(cfg)


def _set(path: str, value: Any) -> Callable[[Values], None]:
    def apply(values: Values) -> None:
        *parents, last = path.split(".")
        node = values
        for key in parents:
            node = node[key]
        node[last] = value
    return apply


BAD: list[tuple[str, str, Callable[[Values], None]]] = [
    ("media", "udp port above 65535", _set("livekit.udpPortRange.end", 70000)),
    ("media", "udp range in privileged ports", _set("livekit.udpPortRange.start", 53)),
    ("media", "tls port not 443/5349", _set("turn.tlsPort", 8443)),
    ("media", "port as a string", _set("livekit.port", "7880")),
    ("media", "image without tag", _set("images.livekit", "registry.interieur.gouv.fr/livekit/livekit-server")),
    ("media", "image with bad digest",
     _set("images.coturn", "registry.interieur.gouv.fr/coturn/coturn:4.6.3@sha256:abc")),
    ("media", "bare docker hub image", _set("images.livekit", "livekit/livekit-server:v1.9.0")),
    ("media", "turn domain with userinfo", _set("turn.domain", "evil@turn.interieur.gouv.fr")),
    ("media", "upper-case hostname", _set("ingress.host", "LiveKit.interieur.gouv.fr")),
    ("media", "webhook over plain http", _set(
        "livekit.webhookUrls", ["http://signalling-backend.visio-signalling.svc.cluster.local:8000/api/"])),
    ("media", "webhook with credentials", _set("livekit.webhookUrls", ["https://u:p@visio.interieur.gouv.fr/api/"])),
    ("media", "webhook to an IP address", _set("livekit.webhookUrls", ["https://10.0.0.12/api/v1.0/"])),
    ("media", "redis outside the cluster", _set("livekit.redis.address", "redis.example.com:6379")),
    ("media", "unknown key", _set("livekit.useExternalIp", True)),
    ("media", "zero replicas", _set("turn.replicas", 0)),
    ("media", "log level not an enum", _set("livekit.logLevel", "verbose")),
    ("media", "bad cpu quantity", _set("livekit.resources.requests.cpu", "lots")),
    ("captioning", "engine not an enum", _set("engine", "deepgram")),
    ("captioning", "language not ISO 639-1", _set("languages", ["french"])),
    ("captioning", "no language", _set("languages", [])),
    ("captioning", "livekit url outside the cluster", _set("agent.livekitUrl", "wss://livekit.example.com")),
    ("captioning", "stt port privileged", _set("stt.port", 80)),
    ("captioning", "image given as a URL", _set("images.model", "https://registry.interieur.gouv.fr/models/stt:v1")),
    ("captioning", "unknown key", _set("stt.gpus", 2)),
    ("captioning", "bad node pool label key", _set("gpuNodePool.labelKey", "not a label")),
]


def test_good_values_render() -> None:
    for chart, namespace in (("media", naming.namespace("media")), ("captioning", naming.namespace("captioning"))):
        assert render(chart_path(chart), _good(chart), chart, namespace)


@pytest.mark.parametrize(("chart", "why", "change"), BAD, ids=[f"{c}: {w}" for c, w, _ in BAD])
def test_schema_rejects(chart: str, why: str, change: Callable[[Values], None]) -> None:
    values = copy.deepcopy(_good(chart))
    change(values)
    namespace = naming.namespace("media") if chart == "media" else naming.namespace("captioning")
    with pytest.raises(InputError) as err:
        render(chart_path(chart), values, chart, namespace)
    assert str(err.value).startswith(f"{chart_path(chart)}: "), str(err.value)
    assert "\n" not in str(err.value)


TEMPLATE_CHECKS: list[tuple[str, Callable[[Values], None], str]] = [
    ("reversed udp range", _set("livekit.udpPortRange", {"start": 60000, "end": 50000}),
     "livekit.udpPortRange: end"),
    ("relay range overlaps the SFU range", _set("turn.relayPortRange", {"start": 55000, "end": 56000}),
     "overlaps livekit.udpPortRange"),
    ("same host port twice", _set("livekit.tcpPort", 3478), "four different host ports"),
    ("fixed port inside a range", _set("livekit.tcpPort", 45000), "port 45000"),
    ("cert-manager without issuer", _set("turn.certManager", {"enabled": True}), "issuerName"),
]


@pytest.mark.parametrize(("why", "change", "message"), TEMPLATE_CHECKS, ids=[w for w, _, _ in TEMPLATE_CHECKS])
def test_media_template_checks(why: str, change: Callable[[Values], None], message: str) -> None:
    values = copy.deepcopy(_good("media"))
    change(values)
    with pytest.raises(InputError, match=message):
        render(chart_path("media"), values, "media", naming.namespace("media"))
