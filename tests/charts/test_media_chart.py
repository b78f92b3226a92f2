"""The media chart (LiveKit SFU + coturn), rendered by the real Helm library for every example stack."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import os
import stat
import subprocess
import sys
import time
from functools import cache
from pathlib import Path
from typing import Any

import helm_python
import pytest
import yaml

from common.config import StackConfig, load_stack
from common.paths import chart_path
from components import naming
from components.sizing import size
from components.values import media
from tests.charts.rendering import STACKS, by_kind, containers, env_of, rendered, validate_all

Obj = dict[str, Any]


@cache
def config(name: str) -> StackConfig:
    return load_stack(name).config


@cache
def objects(name: str) -> tuple[Obj, ...]:
    return tuple(rendered("media", media.values(config(name)), naming.namespace("media")))


def livekit_config(name: str) -> Obj:
    cm = by_kind(list(objects(name)), "ConfigMap")["media-livekit-config"]
    loaded: Obj = yaml.safe_load(cm["data"]["config.yaml"])
    return loaded


def turnserver_conf(name: str) -> str:
    text: str = by_kind(list(objects(name)), "ConfigMap")["media-coturn-config"]["data"]["turnserver.conf"]
    return text


def conf_values(text: str, key: str) -> list[str]:
    return [line.split("=", 1)[1] for line in text.splitlines() if line.startswith(f"{key}=")]


def deployment(name: str, which: str) -> Obj:
    return by_kind(list(objects(name)), "Deployment")[f"media-{which}"]


@pytest.mark.parametrize("name", STACKS)
def test_every_object_is_valid_for_the_cluster_version(name: str) -> None:
    objs = list(objects(name))
    validate_all(objs, config(name).cluster.kubernetesVersion)
    kinds = sorted(o["kind"] for o in objs)
    # NetworkPolicies and Secrets belong to the component, never to the chart.
    assert "Secret" not in kinds and "NetworkPolicy" not in kinds
    assert kinds.count("PodDisruptionBudget") == 2
    assert {"media-livekit", "media-coturn"} <= set(by_kind(objs, "Service"))


@pytest.mark.parametrize("name", STACKS)
def test_helm_lint_strict_is_clean(name: str) -> None:
    version = f"v{config(name).cluster.kubernetesVersion}.0"
    report = helm_python.lint(chart_path("media"), media.values(config(name)), strict=True, kube_version=version)
    problems = [m for m in report["messages"] if m["severity"] >= 2]
    assert not problems and not report["errors"], report


@pytest.mark.parametrize("name", STACKS)
def test_livekit_uses_only_the_platform_turn_and_stun(name: str) -> None:
    cfg, lk = config(name), livekit_config(name)
    turn = cfg.media.turn
    rtc = lk["rtc"]
    assert rtc["stun_servers"] == [f"{turn.domain}:3478"]
    servers = {(s["host"], s["port"], s["protocol"]) for s in rtc["turn_servers"]}
    assert servers == {(turn.domain, turn.tlsPort, "tls"), (turn.domain, 3478, "udp")}
    cm_text = yaml.safe_dump(lk)
    assert "google" not in cm_text.lower()
    assert rtc["use_external_ip"] is False
    assert lk["turn"] == {"enabled": False}


@pytest.mark.parametrize("name", STACKS)
def test_livekit_ports_redis_and_webhook(name: str) -> None:
    cfg, lk = config(name), livekit_config(name)
    assert lk["port"] == 7880 and lk["rtc"]["tcp_port"] == 7881
    assert (lk["rtc"]["port_range_start"], lk["rtc"]["port_range_end"]) == (
        cfg.media.udpPortRange.start, cfg.media.udpPortRange.end)
    assert lk["redis"] == {"address": "signalling-redis.visio-signalling.svc.cluster.local:6379"}
    # By the public web name: the backend's production settings redirect plain HTTP and refuse any
    # Host but domains.web, so an in-cluster http:// URL would never be served.
    assert lk["webhook"]["urls"] == [f"https://{cfg.domains.web}/api/v1.0/rooms/webhooks-livekit/"]
    assert "keys" not in lk and "password" not in yaml.safe_dump(lk)


@pytest.mark.parametrize("name", STACKS)
def test_livekit_pod_takes_node_ip_and_secrets_from_the_environment(name: str) -> None:
    pod = deployment(name, "livekit")["spec"]["template"]["spec"]
    env = env_of(pod["containers"][0])
    assert env["NODE_IP"]["valueFrom"]["fieldRef"]["fieldPath"] == "status.hostIP"
    assert env["LIVEKIT_KEYS"]["value"] == "$(LIVEKIT_API_KEY): $(LIVEKIT_API_SECRET)"
    refs = {k: e["valueFrom"]["secretKeyRef"] for k, e in env.items() if "secretKeyRef" in e.get("valueFrom", {})}
    assert refs["LIVEKIT_API_KEY"] == {"name": "livekit-api", "key": "key"}
    assert refs["LIVEKIT_API_SECRET"] == {"name": "livekit-api", "key": "secret"}
    assert refs["REDIS_PASSWORD"] == {"name": "redis-auth", "key": "password"}
    init_env = env_of(pod["initContainers"][0])
    assert init_env["TURN_SECRET"]["valueFrom"]["secretKeyRef"] == {"name": "turn-auth", "key": "static-auth-secret"}
    # Names of env vars LiveKit's generated flags read (webhook.api_key -> LIVEKIT_WEBHOOK_API_KEY).
    assert env["LIVEKIT_WEBHOOK_API_KEY"]["value"] == "$(LIVEKIT_API_KEY)"


@pytest.mark.parametrize("name", STACKS)
def test_livekit_liveness_does_not_depend_on_redis(name: str) -> None:
    # LiveKit's HTTP endpoint answers from the routing bus: an HTTP liveness check would restart every
    # SFU at once, mid-call, when the single Redis fails. Liveness is the TCP listener; readiness may
    # follow Redis (an unready SFU takes no new rooms but keeps its calls).
    sfu = deployment(name, "livekit")["spec"]["template"]["spec"]["containers"][0]
    assert sfu["livenessProbe"]["tcpSocket"] == {"port": "http"}
    assert not sfu["livenessProbe"].keys() & {"httpGet", "exec", "grpc"}
    assert "httpGet" in sfu["readinessProbe"]


@pytest.mark.parametrize("name", STACKS)
def test_host_network_only_on_sfu_and_turn_with_drain_time(name: str) -> None:
    objs = list(objects(name))
    host = {o["metadata"]["name"] for o in objs
            if o["kind"] == "Deployment" and o["spec"]["template"]["spec"].get("hostNetwork")}
    assert host == {"media-livekit", "media-coturn"}
    for which in ("livekit", "coturn"):
        spec = deployment(name, which)["spec"]
        assert spec["template"]["spec"]["dnsPolicy"] == "ClusterFirstWithHostNet"
        assert spec["strategy"]["rollingUpdate"]["maxSurge"] == 0
    assert deployment(name, "livekit")["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] >= 3 * 3600


@pytest.mark.parametrize("name", STACKS)
def test_placement_one_per_media_node(name: str) -> None:
    pool = config(name).media.nodePool
    for which in ("livekit", "coturn"):
        pod = deployment(name, which)["spec"]["template"]["spec"]
        term = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
        assert term[0]["matchExpressions"][0]["values"] == [pool]
        anti = pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
        assert anti[0]["topologyKey"] == "kubernetes.io/hostname"
        assert any(t["value"] == pool and t["effect"] == "NoSchedule" for t in pod["tolerations"])
        assert pod["topologySpreadConstraints"][0]["topologyKey"] == "topology.kubernetes.io/zone"


@pytest.mark.parametrize("name", STACKS)
def test_replicas_follow_sizing(name: str) -> None:
    s = size(config(name))
    assert deployment(name, "livekit")["spec"]["replicas"] == s.sfu_nodes
    assert deployment(name, "coturn")["spec"]["replicas"] == s.turn_replicas


@pytest.mark.parametrize("name", STACKS)
def test_images_come_from_the_stack_registry_pinned_in_production(name: str) -> None:
    cfg = config(name)
    for which in ("livekit", "coturn"):
        for c in containers(deployment(name, which)["spec"]["template"]["spec"]):
            assert c["image"].startswith(cfg.registry.host + "/"), c["image"]
            if cfg.production:
                digest = c["image"].rpartition("@")[2]
                assert digest in cfg.registry.digests.values(), c["image"]
            else:
                assert "@" not in c["image"] or cfg.registry.digests


@pytest.mark.parametrize("name", STACKS)
def test_containers_keep_the_restricted_profile_except_host_network(name: str) -> None:
    cfg = config(name)
    for which in ("livekit", "coturn"):
        pod = deployment(name, which)["spec"]["template"]["spec"]
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
        assert pod["automountServiceAccountToken"] is False
        for c in containers(pod):
            sc = c["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False and sc["readOnlyRootFilesystem"] is True
            assert sc["capabilities"]["drop"] == ["ALL"]
            assert set(sc["capabilities"].get("add", [])) <= {"NET_BIND_SERVICE"}
            assert "requests" in c["resources"] and "limits" in c["resources"]
    assert deployment(name, "livekit")["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
    coturn = deployment(name, "coturn")["spec"]["template"]["spec"]
    added = coturn["containers"][0]["securityContext"]["capabilities"].get("add", [])
    # Only a privileged TLS port (443) justifies NET_BIND_SERVICE.
    assert (added == ["NET_BIND_SERVICE"]) == (cfg.media.turn.tlsPort < 1024)
    assert coturn["securityContext"]["runAsNonRoot"] is (cfg.media.turn.tlsPort >= 1024)


@pytest.mark.parametrize("name", STACKS)
def test_turnserver_conf_is_hardened(name: str) -> None:
    cfg, text = config(name), turnserver_conf(name)
    relay = cfg.media.turn.relayPortRange
    assert conf_values(text, "min-port") == [str(relay.start)] and conf_values(text, "max-port") == [str(relay.end)]
    assert conf_values(text, "listening-port") == ["3478"]
    assert conf_values(text, "tls-listening-port") == [str(cfg.media.turn.tlsPort)]
    assert conf_values(text, "realm") == [cfg.media.turn.domain]
    flags = {line.strip() for line in text.splitlines()}
    for flag in ("use-auth-secret", "fingerprint", "no-cli", "no-multicast-peers", "no-tlsv1", "no-tlsv1_1"):
        assert flag in flags
    assert "static-auth-secret" not in text.replace("--static-auth-secret", "")
    pod = deployment(name, "coturn")["spec"]["template"]["spec"]
    assert "--static-auth-secret=$(TURN_SECRET)" in pod["containers"][0]["args"]


def _ranges(text: str) -> list[tuple[int, int, int]]:
    """(IP version, first, last) of every denied-peer-ip entry."""
    out: list[tuple[int, int, int]] = []
    for value in conf_values(text, "denied-peer-ip"):
        low, _, high = value.partition("-")
        first, last = ipaddress.ip_address(low), ipaddress.ip_address(high or low)
        assert first.version == last.version, value
        # coturn lets a range starting at the any-address match peers of the other family too.
        assert not (first.is_unspecified and first.version == 6), value
        out.append((first.version, int(first), int(last)))
    return out


@pytest.mark.parametrize("name", STACKS)
def test_denied_peers_cover_internal_space_and_nothing_public(name: str) -> None:
    ranges = _ranges(turnserver_conf(name))

    def denied(address: str) -> bool:
        ip = ipaddress.ip_address(address)
        return any(version == ip.version and lo <= int(ip) <= hi for version, lo, hi in ranges)

    for internal in ("0.1.2.3", "127.0.0.1", "10.0.0.1", "10.255.0.9", "172.16.0.1", "172.31.255.254",
                     "192.168.1.1", "169.254.169.254", "100.64.0.1", "224.0.0.1", "239.255.255.250",
                     "240.0.0.1", "255.255.255.255", "::1", "fc00::1", "fd12::1", "fe80::1", "ff02::1",
                     "::ffff:127.0.0.1", "::ffff:169.254.169.254", "64:ff9b::a00:1"):
        assert denied(internal), internal
    for public in ("51.15.0.1", "193.252.10.10", "9.9.9.9", "2001:41d0::1", "2a01:e0a::1"):
        assert not denied(public), public
    assert all(lo <= hi for _, lo, hi in ranges)


@pytest.mark.parametrize("name", STACKS)
def test_minted_turn_credential_follows_the_rest_api(name: str, tmp_path: Path) -> None:
    """Run the credential script of the rendered ConfigMap the way the init container does."""
    cm = by_kind(list(objects(name)), "ConfigMap")["media-livekit-config"]["data"]
    (tmp_path / "config.yaml").write_text(cm["config.yaml"])
    (tmp_path / "mint.py").write_text(cm["mint-turn-credential.py"])
    target = tmp_path / "out.yaml"
    env = {"TURN_SECRET": "a-shared-secret-for-tests", "TTL_SECONDS": "7200", "PATH": os.environ["PATH"]}
    before = int(time.time())
    subprocess.run([sys.executable, str(tmp_path / "mint.py"), str(tmp_path / "config.yaml"), str(target)],
                   env=env, check=True, timeout=30)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    minted = yaml.safe_load(target.read_text())
    servers = minted["rtc"]["turn_servers"]
    for server in servers:
        expiry, _, user = server["username"].partition(":")
        assert user == "livekit" and before + 7200 <= int(expiry) <= int(time.time()) + 7200
        expected = base64.b64encode(hmac.new(b"a-shared-secret-for-tests", server["username"].encode(),
                                             hashlib.sha1).digest()).decode()
        assert server["credential"] == expected
    assert "__TURN" not in target.read_text()


@pytest.mark.parametrize("name", STACKS)
def test_public_websocket_ingress_on_the_media_domain(name: str) -> None:
    cfg = config(name)
    ingress = by_kind(list(objects(name)), "Ingress")["media-livekit"]
    rule = ingress["spec"]["rules"][0]
    assert rule["host"] == cfg.domains.media
    assert rule["http"]["paths"][0]["backend"]["service"] == {"name": "media-livekit", "port": {"name": "http"}}
    assert ingress["spec"]["ingressClassName"] == cfg.cluster.ingressClass


def test_labels_on_every_object() -> None:
    for obj in objects(STACKS[0]):
        labels = obj["metadata"]["labels"]
        assert labels["app.kubernetes.io/part-of"] == "visio"
        assert labels["app.kubernetes.io/instance"] == "media"
        assert labels["app.kubernetes.io/name"] in {"livekit", "coturn"}
