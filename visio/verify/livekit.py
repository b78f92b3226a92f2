"""The LiveKit SFU on loopback, from exactly what the media chart renders for a stack.

As in the pod: the init container's own script (`mint-turn-credential.py` of the ConfigMap) writes
the final `config.yaml` with the stack's TURN secret, then the server starts with the container's
arguments and environment, each secret reference given a value generated for this run. Only what
loopback demands changes in the written configuration: the HTTP, ICE/TCP and ICE/UDP ports become
free ones, the Redis address is the signalling chart's Redis started beside it, the STUN and
TURN servers handed to clients are the local coturn, and webhooks go to a local receiver: nothing
leaves the host.
"""

from __future__ import annotations

import http.server
import json
import os
import secrets
import socket
import string
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from components.values.secrets import SecretSet
from policies.engine.images import ImageRefError, parse_image
from visio.report.checkresult import Outcome
from visio.verify.local import LOOPBACK, MediaRender, StartError, TurnServer, binary, expand, free_port, stop

# Where the pod mounts the ConfigMap and the memory volume the init container writes to.
TEMPLATE_DIR, CONFIG_DIR = "/etc/livekit", "/run/livekit"
HEALTH_TIMEOUT = 30.0
UDP_PORTS = 20  # ICE/UDP ports of the loopback range: plenty for a few participants

SecretValues = Mapping[tuple[str, str], str]


@dataclass(frozen=True)
class LiveKitRun:
    """A started server, or the reason it is not running (the check reports it)."""

    port: int
    config: dict[str, Any]
    log: Path
    api_key: str
    api_secret: str
    image: str = ""  # the image the chart deploys
    failure: str | None = None
    webhooks: Webhooks | None = None
    pid: int = 0  # the server's process, for bench/ to read its CPU time


def generated(declared: SecretSet) -> dict[tuple[str, str], str]:
    """A value per declared secret key, of the declared length (what pulumi-random makes)."""
    alphabet = string.ascii_letters + string.digits
    return {(name, key): "".join(secrets.choice(alphabet) for _ in range(spec.length or 32))
            for name, keys in declared.items() for key, spec in keys.items()}


def _env(container: Mapping[str, Any], values: SecretValues, host_ip: str = LOOPBACK) -> dict[str, str]:
    """The container's environment as the kubelet builds it: literal values with $(VAR) expanded,
    secret references, the host's IP."""
    env: dict[str, str] = {}
    for item in container.get("env") or []:
        source = item.get("valueFrom") or {}
        if "value" in item:
            [env[item["name"]]] = expand([str(item["value"])], env)
        elif "secretKeyRef" in source:
            ref = source["secretKeyRef"]
            if (ref["name"], ref["key"]) not in values:
                raise StartError(f"{container['name']}: env {item['name']}: no secret {ref['name']}/{ref['key']}")
            env[item["name"]] = values[(ref["name"], ref["key"])]
        elif source.get("fieldRef", {}).get("fieldPath") == "status.hostIP":
            env[item["name"]] = host_ip
        else:
            raise StartError(f"{container['name']}: env {item['name']}: a source loopback cannot give")
    return env


def _paths(argv: list[str], tmp: Path) -> list[str]:
    return [a.replace(TEMPLATE_DIR, str(tmp / "etc")).replace(CONFIG_DIR, str(tmp / "run")) for a in argv]


def _udp_range(count: int) -> tuple[int, int]:
    """`count` consecutive UDP ports free on loopback."""
    while True:
        start = free_port()
        if start + count > 65535:
            continue
        sockets = []
        try:
            for port in range(start, start + count):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                sockets.append(s)
                s.bind((LOOPBACK, port))
            return start, start + count - 1
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()


def loopback_config(text: str, port: int, tcp_port: int, udp: tuple[int, int], redis_port: int,
                    turn: TurnServer, webhooks: str) -> dict[str, Any]:
    """The written configuration with its ports, Redis, TURN servers and webhooks on loopback.

    The STUN and TURN servers LiveKit hands to clients become the local coturn (its TLS port for the
    `tls` entry), so no client resolves or reaches the stack's public TURN name; webhooks go to the
    local receiver (`webhooks`, scheme and authority), on the path the chart configures.
    """
    config = yaml.safe_load(text)
    if not isinstance(config, dict) or not isinstance(config.get("rtc"), dict):
        raise StartError("the rendered LiveKit config.yaml has no rtc section")
    rtc = config["rtc"]
    config["port"] = port
    rtc.update({"tcp_port": tcp_port, "port_range_start": udp[0], "port_range_end": udp[1]})
    if isinstance(config.get("redis"), dict):
        config["redis"]["address"] = f"{LOOPBACK}:{redis_port}"
    if rtc.get("stun_servers"):
        rtc["stun_servers"] = [f"{LOOPBACK}:{turn.port}"]
    for server in rtc.get("turn_servers") or []:
        server.update({"host": LOOPBACK, "port": turn.tls_port if server.get("protocol") == "tls" else turn.port})
    hooks = config.get("webhook")
    if isinstance(hooks, dict) and hooks.get("urls"):
        hooks["urls"] = [webhooks + urllib.parse.urlsplit(url).path for url in hooks["urls"]]
    return config


class Webhooks:
    """The stand-in receiver of LiveKit's webhooks: it records each request and answers 200."""

    def __init__(self) -> None:
        received: list[tuple[str, dict[str, str], bytes]] = []
        self.received = received

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                received.append((self.path, dict(self.headers.items()), body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = http.server.ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self.url = f"http://{LOOPBACK}:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _pods(chart: MediaRender) -> tuple[dict[str, Any], dict[str, Any]]:
    """The init container that writes the configuration and the server's container."""
    pod = chart.livekit_pod
    init = next((c for c in pod.get("initContainers") or [] if c["name"] == "turn-credential"), None)
    server = next((c for c in pod.get("containers") or [] if c["name"] == "livekit"), None)
    if init is None or server is None:
        raise StartError("the rendered LiveKit pod no longer has its turn-credential and livekit containers")
    return init, server


def _mint(chart: MediaRender, init: Mapping[str, Any], tmp: Path, values: SecretValues) -> Path:
    (tmp / "etc").mkdir(parents=True)
    (tmp / "run").mkdir()
    for name, text in chart.livekit_data.items():
        (tmp / "etc" / name).write_text(text)
    command = list(init.get("command") or [])
    if command[:1] != ["python3"]:
        raise StartError(f"the turn-credential container runs {command[:1]}, not python3")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **_env(init, values)}
    done = subprocess.run([binary("python3"), *_paths(command[1:], tmp)], env=env, capture_output=True, text=True,
                          timeout=30, check=False, stdin=subprocess.DEVNULL)
    written = tmp / "run" / "config.yaml"
    if done.returncode != 0 or not written.is_file():
        raise StartError(f"mint-turn-credential.py failed: {(done.stderr or done.stdout).strip()[-500:]}")
    return written


def _why(log: Path) -> str:
    """The server's own last error from its JSON log lines, else the log's tail."""
    text = log.read_text(errors="replace") if log.exists() else ""
    for line in reversed(text.splitlines()):
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("level") in ("error", "fatal", "panic"):
            return " ".join(str(entry[k]) for k in ("msg", "error") if k in entry)[:500]
    return text.strip()[-500:] or "no output"


def _healthy(proc: subprocess.Popen[bytes], port: int, log: Path) -> str | None:
    """None once the health endpoint answers, else why not."""
    deadline = time.monotonic() + HEALTH_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return f"livekit-server exited with {proc.returncode}: {_why(log)}"
        try:
            with urllib.request.urlopen(f"http://{LOOPBACK}:{port}/", timeout=2) as answer:
                if answer.status == 200:
                    return None
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    return f"no answer on http://{LOOPBACK}:{port}/ within {HEALTH_TIMEOUT:.0f} s: {_why(log)}"


@contextmanager
def livekit_server(
    chart: MediaRender,
    tmp: Path,
    values: SecretValues,
    redis_port: int,
    turn: TurnServer,
    *,
    host_ip: str = LOOPBACK,
    transform: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> Iterator[LiveKitRun]:
    """Run the rendered LiveKit; `host_ip` is the node address the pod is given (status.hostIP),
    `transform` edits the final configuration (tests use it to weaken it)."""
    executable = binary("livekit-server")
    init, server = _pods(chart)
    written = _mint(chart, init, tmp, values)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp), **_env(server, values, host_ip)}
    argv = [executable, *_paths(list(server.get("args") or []), tmp)]
    log = tmp / "livekit-server.log"
    key, secret = values[("livekit-api", "key")], values[("livekit-api", "secret")]
    webhooks = Webhooks()
    try:
        config = loopback_config(written.read_text(), free_port(), free_port(), _udp_range(UDP_PORTS), redis_port,
                                 turn, webhooks.url)
        if transform is not None:
            config = transform(config)
        written.write_text(yaml.safe_dump(config, sort_keys=False))
        written.chmod(0o600)
        with log.open("wb") as out:
            proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=tmp,
                                    env=env)
        try:
            failure = _healthy(proc, int(config["port"]), log)
            yield LiveKitRun(int(config["port"]), config, log, key, secret, str(server.get("image", "")), failure,
                             webhooks, proc.pid)
        finally:
            stop(proc)
    finally:
        webhooks.close()


def deployed_version(image: str) -> str:
    """The release an image reference names: its tag without the leading v ("" when untagged or
    unparsable), read by the rule engine's parser, the runtime's own reading of a reference."""
    try:
        tag = parse_image(image).tag
    except ImageRefError:
        return ""
    return (tag or "").removeprefix("v")


def config_accepted(run: LiveKitRun, version: str) -> Outcome:
    evidence = {"server": version, "chart deploys": run.image, "log": str(run.log.name)}
    if run.failure is not None:
        return False, f"LiveKit refused the rendered configuration: {run.failure}", evidence
    # What was checked must be what is deployed: another release may read the same file otherwise.
    wanted = deployed_version(run.image)
    if not wanted or version.split()[-1:] != [wanted]:
        return False, f"the local server is {version!r}, the chart deploys {run.image!r}: not the same release", \
            evidence
    evidence["rtc"] = ", ".join(sorted(run.config.get("rtc", {})))
    return True, f"livekit-server started from the rendered config.yaml and answers on :{run.port}", evidence


WEBHOOK_WAIT = 10.0  # LiveKit posts room events from a queue of its own, after the call


def _events(received: list[tuple[str, dict[str, str], bytes]], key: str, secret: str) -> tuple[list[str], list[str]]:
    """The events each request carries once verified with `secret`, and the reasons of those refused."""
    from livekit import api  # about a second of imports, paid only when webhooks are checked

    receiver = api.WebhookReceiver(api.TokenVerifier(key, secret))
    events, refusals = [], []
    for path, headers, body in received:
        auth = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
        try:
            events.append(receiver.receive(body.decode(), auth).event)
        except Exception as exc:  # the SDK raises bare Exception for a hash mismatch
            refusals.append(f"{path}: {exc}"[:200])
    return events, refusals


def webhooks_signed(run: LiveKitRun) -> Outcome:
    """Room events reached the chart's webhook path, each signed with the stack's API secret: a
    receiver holding the secret accepts every one; one holding another secret, or given a body
    changed by one byte, refuses every one."""
    if run.failure is not None or run.webhooks is None:
        return False, "no webhooks without a running SFU (see livekit-config-accepted)", {}
    wanted = sorted({urllib.parse.urlsplit(u).path for u in (run.config.get("webhook") or {}).get("urls") or []})
    deadline = time.monotonic() + WEBHOOK_WAIT
    received = run.webhooks.received
    while not any(b'"participant_joined"' in body for _, _, body in received) and time.monotonic() < deadline:
        time.sleep(0.2)
    received = list(received)
    paths = sorted({path for path, _, _ in received})
    events, refusals = _events(received, run.api_key, run.api_secret)
    other = secrets.token_urlsafe(32)
    forged, refused_other = _events(received, run.api_key, other)
    changed = [(p, h, b.replace(b"}", b" }", 1)) for p, h, b in received]
    altered, refused_altered = _events(changed, run.api_key, run.api_secret)
    evidence = {"received": str(len(received)), "paths": ", ".join(paths) or "-",
                "events": ", ".join(sorted(set(events))) or "-"}
    if not received:
        return False, f"no webhook reached the receiver within {WEBHOOK_WAIT:.0f} s of the call", evidence
    if paths != wanted:
        return False, f"webhooks arrived on {', '.join(paths)}, the chart configures {', '.join(wanted) or '-'}", \
            evidence
    if refusals:
        return False, f"{len(refusals)} webhook(s) fail verification with the stack's API secret: {refusals[0]}", \
            evidence
    if forged or altered:
        return False, (f"{len(forged)} webhook(s) verify with another secret and {len(altered)} with a changed body: "
                       "the signature does not protect them"), evidence
    evidence["another secret"] = refused_other[0].split(": ", 1)[1]  # after the path
    evidence["a changed body"] = refused_altered[0].split(": ", 1)[1]
    return True, (f"{len(received)} room events reached {', '.join(paths)}, each signed with the stack's API secret "
                  "(another secret and a changed body are refused)"), evidence


def server_version() -> str:
    done = subprocess.run([binary("livekit-server"), "--version"], capture_output=True, text=True, timeout=30,
                          check=False, stdin=subprocess.DEVNULL)
    return done.stdout.strip() or done.stderr.strip()
