"""The pieces of `visio verify` that need no server: deny-list coverage, engine judgement of effective
configuration, and how cluster mode finds pods and builds its testinfra hosts and commands."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from testinfra.backend import parse_hostspec

from common.config import load_stack
from policies.engine.config import PolicyConfig
from tests.conftest import run_visio
from visio.report.checkresult import Outcome
from visio.verify import coturn, livekit, probes, sovereignty
from visio.verify.cluster import Kube, _mounted_files, egress_command, label_selector, workloads
from visio.verify.local import render_media

CONF = render_media(load_stack("dev").config).conf


def test_the_rendered_deny_list_covers_every_required_network() -> None:
    assert coturn.uncovered(CONF) == []
    assert coturn.missing_flags(CONF) == []
    assert coturn.forbidden_present(CONF) == []


@pytest.mark.parametrize(("line", "gap"), [
    ("denied-peer-ip=169.254.0.0-169.254.255.255", "169.254.0.0/16"),
    ("denied-peer-ip=100.64.0.0-100.127.255.255", "100.64.0.0/10"),
    ("denied-peer-ip=172.16.0.0-172.31.255.255", "172.16.0.0/12"),
])
def test_a_missing_range_is_named(line: str, gap: str) -> None:
    assert coturn.uncovered(CONF.replace(line + "\n", "")) == [gap]


def test_split_ranges_cover_and_a_one_address_hole_does_not() -> None:
    split = "denied-peer-ip=10.0.0.0-10.127.255.255\ndenied-peer-ip=10.128.0.0-10.255.255.255\n"
    assert "10.0.0.0/8" not in coturn.uncovered(split)
    holed = "denied-peer-ip=10.0.0.0-10.127.255.254\ndenied-peer-ip=10.128.0.0-10.255.255.255\n"
    assert "10.0.0.0/8" in coturn.uncovered(holed)
    assert "10.0.0.0/8" in coturn.uncovered("denied-peer-ip=not-an-address\n")


def test_reopening_options_are_reported() -> None:
    assert coturn.forbidden_present(CONF + "allowed-peer-ip=10.0.0.5\nallow-loopback-peers\n") == [
        "allowed-peer-ip=10.0.0.5", "allow-loopback-peers"]
    assert coturn.missing_flags(CONF.replace("no-tlsv1_1\n", "")) == ["no-tlsv1_1"]


POLICY = PolicyConfig(profile="eu-residency", trustedDomains=["visio.dev.numerique.gouv.fr"])


def test_a_non_eu_endpoint_in_an_effective_file_fails() -> None:
    files = {"/etc/livekit/config.yaml": "rtc:\n  stun_servers:\n  - stun.l.google.com:19302\n"}
    (passed, message, _), report = sovereignty.judge("livekit", "visio-media", files, {}, None, POLICY, set())
    assert not passed
    assert "stun.l.google.com" in message
    assert report.mandatory[0].rule == "endpoint-sovereignty"


def test_secret_sourced_variables_are_left_out_and_others_judged() -> None:
    container = {"env": [
        {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
        {"name": "DERIVED", "value": "Bearer $(TOKEN)"},
        {"name": "ENDPOINT", "value": "https://api.openai.com/v1"},
    ]}
    hidden = sovereignty.secret_env(container)
    assert hidden == {"TOKEN", "DERIVED"}
    env = {"TOKEN": "https://api.openai.com/secret-looking", "DERIVED": "x", "ENDPOINT": "https://api.openai.com/v1"}
    (passed, _, _), report = sovereignty.judge("app", None, {}, env, None, POLICY, hidden)
    assert not passed
    assert all("secret-looking" not in f.message and "secret-looking" not in str(f.evidence)
               for f in report.findings)
    clean = {"TOKEN": env["TOKEN"], "DERIVED": "x"}
    (passed, _, _), _ = sovereignty.judge("app", None, {}, clean, None, POLICY, hidden)
    assert passed


def test_credentials_in_effective_files_are_redacted_before_judging() -> None:
    text = "rtc:\n  turn_servers:\n  - credential: c2VjcmV0\n    host: turn.visio.dev.numerique.gouv.fr\n"
    (resource, _) = sovereignty.resources("livekit", None, {"/run/livekit/config.yaml": text}, {}, None)
    data = resource.body["data"]["run_livekit_config.yaml"]
    assert "c2VjcmV0" not in data and "turn.visio.dev.numerique.gouv.fr" in data


def test_identity_of_this_process_is_read_from_proc() -> None:
    passed, _, evidence = probes.identity(probes.local_host(), os.getpid())
    assert passed == (os.geteuid() != 0)
    assert evidence["uid"].split()[1] == str(os.geteuid())


def test_workloads_are_found_by_the_charts_selectors() -> None:
    assert not any(w.namespace == "visio-captioning" for w in workloads(load_stack("justice-prod")))
    found = {(w.namespace, w.name): w for w in workloads(load_stack("interieur-prod"))}
    coturn_w = found[("visio-media", "media-coturn")]
    assert label_selector(coturn_w.selector) == "app.kubernetes.io/component=turn,app.kubernetes.io/instance=media"
    assert ("visio-signalling", "signalling-redis") in found
    assert any(ns == "visio-captioning" for ns, _ in found)
    assert any(ns == "visio-identity" and "keycloak" in name for ns, name in found)
    (container,) = coturn_w.pod["containers"]
    files = _mounted_files(coturn_w, container)
    assert files["/etc/coturn/turnserver.conf"].startswith("listening-port=3478")


def test_host_urls_carry_container_namespace_kubeconfig_and_context() -> None:
    kube = Kube("/home/ops/kube config", "ovh-gra")
    url = kube.host_url("media-coturn-7d9f", "coturn", "visio-media")
    name, kw = parse_hostspec(url)
    assert name == "media-coturn-7d9f"
    assert kw == {"connection": "kubectl", "container": "coturn", "namespace": "visio-media",
                  "kubeconfig": "/home/ops/kube config", "context": "ovh-gra"}
    assert kube.kubectl("get", "pods")[1:] == ["--kubeconfig", "/home/ops/kube config", "--context", "ovh-gra",
                                               "get", "pods"]


def _sh(command: str) -> int:
    return subprocess.run(["sh", "-c", command], timeout=30, check=False,
                          env={"PATH": os.path.dirname(sys.executable) + ":" + os.environ["PATH"]}).returncode


def test_the_egress_command_tells_open_from_closed_on_loopback() -> None:
    # Exercised on loopback only: the real probe address is used from inside pods, never from here.
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        assert _sh(egress_command("127.0.0.1", server.getsockname()[1])) == 0
        port = server.getsockname()[1]
    assert _sh(egress_command("127.0.0.1", port)) == 3


@pytest.mark.parametrize(("args", "says"), [
    (["verify"], "give a STACK"),
    (["verify", "--local", "--kubeconfig", "/etc/hostname"], "--local"),
    (["verify", "dev", "--kubeconfig", "/nonexistent/kubeconfig"], "/nonexistent/kubeconfig"),
    (["verify", "dev", "--egress-probe", "10.0.0.1:53"], "--egress-probe"),
    (["verify", "no-such-stack"], "no-such-stack"),
])
def test_unusable_input_exits_2_with_one_line(args: list[str], says: str) -> None:
    result = run_visio(*args)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and says in lines[0]


def test_proc_net_fallback_sees_tcp_and_udp_listeners() -> None:
    # The path used in containers without ss/netstat, checked against sockets of this process.
    host = probes.local_host()
    with socket.socket() as tcp, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        tcp.bind(("127.0.0.1", 0))
        tcp.listen(1)
        udp.bind(("127.0.0.1", 0))
        assert probes._proc_net_listening(host, "tcp", tcp.getsockname()[1])
        assert probes._proc_net_listening(host, "udp", udp.getsockname()[1])
        port = tcp.getsockname()[1]
    assert not probes._proc_net_listening(host, "tcp", port)


STACK_SECRET = "the-stack-secret-of-thirty-two-bytes"


def _signed(secret: str, body: bytes, path: str = "/api/v1.0/rooms/webhooks-livekit/") -> tuple[
        str, dict[str, str], bytes]:
    import base64
    import hashlib

    from livekit import api

    digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
    token = api.AccessToken("APIkey", secret).with_sha256(digest).to_jwt()
    return path, {"Content-Type": "application/webhook+json", "Authorization": token}, body


def _webhook_run(*received: tuple[str, dict[str, str], bytes]) -> tuple[livekit.LiveKitRun, livekit.Webhooks]:
    hooks = livekit.Webhooks()
    hooks.received.extend(received)
    config = {"webhook": {"urls": ["http://127.0.0.1:1/api/v1.0/rooms/webhooks-livekit/"]}}
    return livekit.LiveKitRun(1, config, Path("log"), "APIkey", STACK_SECRET, webhooks=hooks), hooks


JOINED = b'{"event":"participant_joined","room":{"name":"r"},"participant":{"identity":"a"}}'


@pytest.mark.parametrize(("received", "says"), [
    ([_signed(STACK_SECRET, JOINED)], None),
    ([_signed(STACK_SECRET, JOINED), _signed("another-secret-of-the-same-length-", JOINED)],
     "1 webhook(s) fail verification with the stack's API secret"),
    ([_signed(STACK_SECRET, JOINED, "/elsewhere/")], "webhooks arrived on /elsewhere/"),
    ([], "no webhook reached the receiver"),
])
def test_webhooks_pass_only_signed_with_the_stack_secret_on_the_chart_path(
        received: list[tuple[str, dict[str, str], bytes]], says: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(livekit, "WEBHOOK_WAIT", 0.0)
    run, hooks = _webhook_run(*received)
    try:
        passed, message, evidence = livekit.webhooks_signed(run)
    finally:
        hooks.close()
    assert passed is (says is None), message
    if says is None:
        assert evidence["events"] == "participant_joined" and evidence["a changed body"] == "hash mismatch"
    else:
        assert says in message


def test_the_version_checked_is_the_one_the_chart_deploys() -> None:
    assert livekit.deployed_version("reg.example/livekit/livekit-server:v1.9.12@sha256:" + "a" * 64) == "1.9.12"
    assert livekit.deployed_version("reg.example:5000/livekit/livekit-server") == ""
    run = livekit.LiveKitRun(1, {}, Path("log"), "k", "s", image="reg.example/livekit/livekit-server:v1.9.11")
    passed, message, _ = livekit.config_accepted(run, "livekit-server version 1.9.12")
    assert not passed and "not the same release" in message


def _captioning(edit: Any = None) -> Outcome:
    import copy

    from components import catalogue
    from visio.kube.charts import render_service
    from visio.verify.captioning import audio_in_cluster

    config = load_stack("culture-staging").config
    objects = copy.deepcopy(render_service(catalogue.service("captioning"), config))
    if edit is not None:
        edit(objects)
    return audio_in_cluster(objects, render_media(config).objects)


def _agent_env(objects: list[dict[str, Any]], name: str, value: str) -> None:
    (agent,) = [c for o in objects if o["kind"] == "Deployment"
                for c in o["spec"]["template"]["spec"]["containers"] if c["name"] == "agent"]
    (item,) = [e for e in agent["env"] if e["name"] == name]
    item["value"] = value


def test_the_captioning_agent_reaches_in_cluster_services_only() -> None:
    passed, message, evidence = _captioning()
    assert passed, message
    assert evidence["VOXTRAL_VLLM_BASE_URL"].startswith("ws://captioning-stt.visio-captioning.svc.cluster.local:")
    assert evidence["LIVEKIT_URL"].startswith("ws://media-livekit.visio-media.svc.cluster.local:")


@pytest.mark.parametrize(("name", "value", "says"), [
    ("VOXTRAL_VLLM_BASE_URL", "wss://api.openai.com/v1/realtime", "'api.openai.com' is not an in-cluster Service"),
    ("VOXTRAL_VLLM_BASE_URL", "ws://captioning-stt.visio-captioning.svc.cluster.local:9000/v1/realtime",
     "exposes no port 9000"),
    ("LIVEKIT_URL", "ws://livekit.visio-media.svc.cluster.local:7880", "no Service visio-media/livekit"),
    ("SENTRY_DSN", "https://key@o1.ingest.sentry.io/1", "SENTRY_DSN is"),
    ("HF_HUB_OFFLINE", "0", "HF_HUB_OFFLINE is '0'"),
])
def test_captioning_audio_sent_elsewhere_fails_naming_the_variable(name: str, value: str, says: str) -> None:
    passed, message, _ = _captioning(lambda objects: _agent_env(objects, name, value))
    assert not passed and says in message and (name in message)
