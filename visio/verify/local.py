"""coturn and Redis started on loopback from the configuration the charts render for a stack.

Only what loopback demands is changed: listening and relay address 127.0.0.1, free high ports, a
self-signed certificate and private files in a temporary directory. Secrets reach the servers the
way the pods give them (coturn's `--static-auth-secret=$(TURN_SECRET)`, Redis's `REDISCLI_AUTH`).
When started by root, the servers drop to the user id their chart declares (nobody otherwise), so
"runs as non-root" is observed, not assumed. Relays are bound to 127.0.0.1: the kernel refuses to
route loopback-sourced packets anywhere else, so even a weakened server cannot send off the host.
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
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common.config import StackConfig
from components import catalogue
from visio.kube.charts import render_service

LOOPBACK = "127.0.0.1"
UNPRIVILEGED = 65534  # nobody, when the chart runs a server as root
FORBIDDEN = "channel bind: error 403 (Forbidden IP)"


class StartError(Exception):
    """A server could not be started: missing binary, bad configuration, no listening socket."""


# Where each server comes from when it is missing.
_SOURCES = {"livekit-server": 'built by scripts/build-tools.sh livekit: PATH="$(scripts/build-tools.sh livekit):$PATH"',
            "kc.sh": 'fetched by scripts/build-tools.sh keycloak: PATH="$(scripts/build-tools.sh keycloak):$PATH"',
            **dict.fromkeys(("initdb", "postgres", "pg_isready", "psql"), "Debian package postgresql")}


def binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        source = _SOURCES.get(name, "Debian packages coturn, redis-server, redis-tools, openssl")
        raise StartError(f"{name} is not installed ({source})")
    return path


def free_port() -> int:
    """A port free for both TCP and UDP on 127.0.0.1 (TURN listens on both)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind((LOOPBACK, 0))
            port = int(tcp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind((LOOPBACK, port))
                except OSError:
                    continue
        return port


def rest_credentials(secret: str, user: str, lifetime: int = 600) -> tuple[str, str]:
    """TURN REST API credentials: "<expiry>:<user>" and base64(HMAC-SHA1(secret, username))."""
    username = f"{int(time.time()) + lifetime}:{user}"
    password = base64.b64encode(hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()).decode()
    return username, password


# --- what the charts render -------------------------------------------------------------------


@dataclass(frozen=True)
class MediaRender:
    conf: str  # coturn's turnserver.conf
    container: dict[str, Any]  # the coturn container
    pod: dict[str, Any]  # the coturn pod spec
    livekit_data: dict[str, str]
    livekit_pod: dict[str, Any]
    objects: list[dict[str, Any]]


def _by_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def render_media(config: StackConfig) -> MediaRender:
    media = catalogue.service("media")
    objects = render_service(media, config)
    maps = _by_kind(objects, "ConfigMap")
    pod = _by_kind(objects, "Deployment")[f"{media.name}-coturn"]["spec"]["template"]["spec"]
    return MediaRender(
        conf=maps[f"{media.name}-coturn-config"]["data"]["turnserver.conf"],
        container=pod["containers"][0],
        pod=pod,
        livekit_data=maps[f"{media.name}-livekit-config"]["data"],
        livekit_pod=_by_kind(objects, "Deployment")[f"{media.name}-livekit"]["spec"]["template"]["spec"],
        objects=objects,
    )


@dataclass(frozen=True)
class RedisRender:
    container: dict[str, Any]
    pod: dict[str, Any]
    objects: list[dict[str, Any]]


def render_redis(config: StackConfig) -> RedisRender:
    signalling = catalogue.service("signalling")
    objects = render_service(signalling, config)
    pod = _by_kind(objects, "Deployment")[f"{signalling.name}-redis"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    return RedisRender(container, pod, objects)


def declared_user(pod: Mapping[str, Any], container: Mapping[str, Any]) -> int | None:
    for context in (container.get("securityContext") or {}, pod.get("securityContext") or {}):
        if isinstance(context.get("runAsUser"), int):
            return int(context["runAsUser"])
    return None


def run_as(pod: Mapping[str, Any], container: Mapping[str, Any]) -> int | None:
    """The uid a local server drops to: the chart's, or nobody when the chart says root; None if not root."""
    if os.geteuid() != 0:
        return None
    uid = declared_user(pod, container)
    return uid if uid else UNPRIVILEGED


def _as_user(uid: int | None, argv: list[str]) -> list[str]:
    if uid is None:
        return argv
    return [binary("setpriv"), f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--", *argv]


def _hand_over(tmp: Path, uid: int | None) -> None:
    if uid is None:
        return
    for path in [tmp, *tmp.iterdir()]:
        os.chown(path, uid, uid)


# --- coturn ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TurnServer:
    pid: int
    port: int
    tls_port: int
    log: Path
    relay_range: tuple[int, int]
    conf: str
    conf_path: Path
    cert_path: Path

    def log_text(self) -> str:
        return self.log.read_bytes().decode("utf-8", "replace")


def loopback_conf(conf: str, port: int, tls_port: int, tmp: Path) -> str:
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
    if replacements:
        raise StartError(f"the rendered turnserver.conf lacks {', '.join(sorted(replacements))}")
    return "\n".join([*lines, f"listening-ip={LOOPBACK}", f"relay-ip={LOOPBACK}", ""])


def self_signed(tmp: Path, common_name: str, san: str | None = None) -> None:
    subprocess.run(
        [binary("openssl"), "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(tmp / "key.pem"), "-out", str(tmp / "cert.pem"), "-days", "1",
         "-subj", f"/CN={common_name}", "-addext", f"subjectAltName={san or f'DNS:{common_name}'}"],
        check=True, capture_output=True, timeout=30,
    )


def expand(args: list[str], env: Mapping[str, str]) -> list[str]:
    """$(VAR) references in container args, expanded as the kubelet does."""
    return [re.sub(r"\$\((\w+)\)", lambda m: env.get(m.group(1), m.group(0)), a) for a in args]


def _wait_listening(proc: subprocess.Popen[bytes], ports: tuple[int, ...], log: Path, what: str) -> None:
    deadline = time.monotonic() + 15
    pending = list(ports)
    while pending:
        if proc.poll() is not None:
            tail = log.read_bytes().decode("utf-8", "replace")[-2000:] if log.exists() else ""
            raise StartError(f"{what} exited with {proc.returncode}: {tail.strip()}")
        try:
            with socket.create_connection((LOOPBACK, pending[0]), timeout=0.5):
                pending.pop(0)
        except OSError:
            if time.monotonic() > deadline:
                raise StartError(f"{what} did not listen on 127.0.0.1:{pending[0]} within 15 s") from None
            time.sleep(0.1)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


@contextmanager
def turnserver(
    chart: MediaRender,
    tmp: Path,
    secret: str,
    *,
    domain: str = "turn.localhost",
    extra: tuple[str, ...] = (),
    transform: Callable[[str], str] | None = None,
    uid: int | None = None,
) -> Iterator[TurnServer]:
    """Run the rendered coturn on loopback; `transform` edits the final configuration (tests only)."""
    executable = binary("turnserver")
    tmp.mkdir(parents=True, exist_ok=True)
    self_signed(tmp, domain)
    port, tls_port = free_port(), free_port()
    conf = loopback_conf(chart.conf, port, tls_port, tmp) + "".join(f"{line}\n" for line in extra)
    if transform is not None:
        conf = transform(conf)
    conf_path = tmp / "turnserver.conf"
    conf_path.write_text(conf)
    for path in (conf_path, tmp / "key.pem"):
        path.chmod(0o600)
    from visio.verify.coturn import relay_range

    relay = relay_range(conf)
    if relay is None:
        raise StartError("the rendered turnserver.conf has no single min-port/max-port")
    if chart.container.get("command") != ["turnserver"]:
        raise StartError(f"the coturn container runs {chart.container.get('command')}, not turnserver")
    args = expand(list(chart.container.get("args", [])), {"TURN_SECRET": secret})
    args = [str(conf_path) if a == "/etc/coturn/turnserver.conf" else a for a in args]
    _hand_over(tmp, uid)
    log = tmp / "turnserver.log"
    # The pod's environment, not the caller's: only what the chart gives the container.
    env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"), "TURN_SECRET": secret}
    with log.open("wb") as out:
        proc = subprocess.Popen(_as_user(uid, [executable, *args]), stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, cwd=tmp, env=env)
    try:
        _wait_listening(proc, (tls_port, port), log, "turnserver")
        yield TurnServer(proc.pid, port, tls_port, log, relay, conf, conf_path, tmp / "cert.pem")
    finally:
        stop(proc)


def uclient(server: TurnServer, username: str, password: str, peer: str, *flags: str,
            peer_port: int = 9, messages: int = 3, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """The real TURN client: allocate with the credentials, then ask to relay to `peer`.

    Only non-public peers: loopback, private and link-local addresses, the server's refusal targets.
    """
    if ipaddress.ip_address(peer).is_global:
        raise ValueError(f"{peer}: relay checks never use a public peer")
    port = server.tls_port if "-S" in flags else server.port
    return subprocess.run(
        [binary("turnutils_uclient"), *flags, "-p", str(port), "-u", username, "-w", password, "-e", peer,
         "-r", str(peer_port), "-n", str(messages), "-m", "1", "-c", LOOPBACK],
        capture_output=True, text=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL,
    )


def allocated(result: subprocess.CompletedProcess[str]) -> bool:
    # The client asks for a channel (and so meets "403 Forbidden IP"), or goes on to its send loop
    # (start_mclient) when the channel is granted, only once the allocation succeeded.
    out = result.stdout
    return "Cannot complete Allocation" not in out and ("channel bind" in out or "start_mclient" in out)


def refused(result: subprocess.CompletedProcess[str]) -> bool:
    return FORBIDDEN in result.stdout


# --- Redis ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RedisServer:
    pid: int
    port: int
    directory: Path


def redis_script(command: str, tmp: Path, port: int) -> str:
    """The chart's shell command, confined to loopback, a free port and a private directory."""
    if "--bind 0.0.0.0" not in command or "--port 6379" not in command:
        raise StartError("the rendered Redis command no longer binds 0.0.0.0:6379; cannot confine it")
    return (command.replace("--bind 0.0.0.0", f"--bind {LOOPBACK}")
            .replace("--port 6379", f"--port {port}").replace("/tmp", str(tmp)))


@contextmanager
def redis_server(chart: RedisRender, tmp: Path, password: str, *, uid: int | None = None) -> Iterator[RedisServer]:
    binary("redis-server")
    container = chart.container
    if container.get("command") != ["sh", "-c"] or len(container.get("args", [])) != 1:
        raise StartError("the rendered Redis container is no longer `sh -c <script>`")
    tmp.mkdir(parents=True, exist_ok=True)
    port = free_port()
    script = redis_script(container["args"][0], tmp, port)
    _hand_over(tmp, uid)
    env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"), "REDISCLI_AUTH": password}
    log = tmp / "redis-server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(_as_user(uid, ["sh", "-c", script]), env=env, stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        _wait_listening(proc, (port,), log, "redis-server")
        yield RedisServer(proc.pid, port, tmp)
    finally:
        stop(proc)
