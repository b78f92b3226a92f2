"""Keycloak on loopback, from exactly what the identity chart renders for a stack.

The distribution of tools/keycloak (Maven Central's `keycloak-quarkus-dist`, the release of the
image the chart deploys) runs in a private copy of its home, with the container's arguments
(`start --import-realm`: Keycloak re-augments itself for the chart's build options at start-up, as
in the pod) and the container's environment, each secret reference given the value generated for
this run. The realm ConfigMap is written where the pod mounts it (`data/import`). Only what
loopback demands changes:

- `KC_DB_URL_HOST`/`KC_DB_URL_PORT`: the chart's PostgreSQL Service becomes the local PostgreSQL;
- `KC_HTTP_PORT` becomes a free port, and two settings are added: `KC_HTTP_HOST=127.0.0.1` and
  `KC_HTTP_MANAGEMENT_PORT` (a free port instead of the default 9000);
- `POD_IP` (the pod's address, where JGroups binds) is 127.0.0.1, and JGroups' port 7800 a free
  port whose failure-detection port (the chart's offset) is free too;
- the JVM heap is the distribution's default (the image sizes it from the container's limit).

`KC_HOSTNAME` is left as rendered: the stack's public URL. Requests reach Keycloak as the ingress
controller forwards them (`Ingress`): only the rendered Ingress paths are routed, with the
`X-Forwarded-*` headers ingress-nginx sets for TLS it terminated; anything else gets the
controller's 404 without reaching Keycloak.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from visio.verify import livekit, local
from visio.verify.local import LOOPBACK, StartError
from visio.verify.postgres import IdentityRender, PostgresServer

# The chart's startupProbe gives Keycloak 60 periods of 5 s: the same budget here.
START_TIMEOUT = 300.0
IMPORT_DIR = "/opt/keycloak/data/import"  # where the pod mounts the realm ConfigMap

Env = dict[str, str]


@dataclass(frozen=True)
class KeycloakRun:
    """A started Keycloak, or the reason it is not running (the checks report it)."""

    port: int
    management_port: int
    home: Path
    log: Path
    env: Env
    args: list[str]
    realms: dict[str, dict[str, Any]]  # the imported realm files, parsed
    image: str
    started_in: float
    failure: str | None = None
    changes: dict[str, str] = field(default_factory=dict)  # what loopback changed: setting -> new value

    @property
    def hostname(self) -> str:
        return self.env.get("KC_HOSTNAME", "")

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


# --- the private home -----------------------------------------------------------------------------


def distribution() -> Path:
    """The unpacked distribution behind the `kc.sh` found on PATH."""
    return Path(local.binary("kc.sh")).resolve().parent.parent


def _link_tree(source: Path, target: Path) -> None:
    """The read-only jars: hard links where the file system allows, copies elsewhere."""
    def link(src: str, dst: str) -> object:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)
        return dst

    shutil.copytree(source, target, symlinks=True, copy_function=link)


def private_home(dist: Path, home: Path) -> None:
    """A home of its own per run: re-augmentation rewrites lib/quarkus, the server writes data/."""
    home.mkdir(parents=True)
    for name in ("bin", "conf", "providers", "themes"):
        if (dist / name).is_dir():
            shutil.copytree(dist / name, home / name, symlinks=True)
    (home / "lib").mkdir()
    shutil.copytree(dist / "lib" / "quarkus", home / "lib" / "quarkus")
    shutil.copy2(dist / "lib" / "quarkus-run.jar", home / "lib" / "quarkus-run.jar")
    for name in ("lib", "app"):
        _link_tree(dist / "lib" / name, home / "lib" / name)
    (home / "data" / "import").mkdir(parents=True)


def _own(home: Path, uid: int | None) -> None:
    """What the server writes belongs to the user it runs as (the image's /opt/keycloak is its own).
    The linked jars are left alone: a hard link's owner is the cache's file."""
    if uid is None:
        return
    for path in (home, home / "lib"):
        os.chown(path, uid, uid)
    for top in (home / "lib" / "quarkus", home / "data", home / "conf"):
        for path in [top, *top.rglob("*")]:
            os.chown(path, uid, uid, follow_symlinks=False)


# --- the container's environment, on loopback -------------------------------------------------------


def _pair_ports(offset: int) -> int:
    """A TCP port free on loopback whose `port + offset` is free too (JGroups' data and FD_SOCK2 ports)."""
    low = 10000 if 10000 + offset < 65536 else 1024
    candidates = list(range(low, 65536 - offset))
    random.shuffle(candidates)  # runs side by side do not race for the same pair
    for port in candidates:
        try:
            with socket.socket() as a, socket.socket() as b:
                a.bind((LOOPBACK, port))
                b.bind((LOOPBACK, port + offset))
            return port
        except OSError:
            continue
    raise StartError(f"no pair of free ports {offset} apart on loopback")


def _jgroups(opts: str) -> tuple[str, dict[str, str]]:
    """JAVA_OPTS_APPEND with JGroups' bind port moved to a free one (its failure-detection offset kept)."""
    port = re.search(r"-Djgroups\.bind\.port=(\d+)", opts)
    if port is None:
        return opts, {}
    offset = re.search(r"-Djgroups\.fd\.port-offset=(\d+)", opts)
    free = _pair_ports(int(offset.group(1)) if offset else 50000)
    return opts.replace(port.group(0), f"-Djgroups.bind.port={free}"), {"jgroups.bind.port": str(free)}


def container_env(chart: IdentityRender, values: livekit.SecretValues, pg: PostgresServer,
                  port: int, management_port: int) -> tuple[Env, dict[str, str]]:
    """The Keycloak container's environment as the kubelet builds it, then moved to loopback."""
    items = []
    for item in chart.keycloak.get("env") or []:
        if (item.get("valueFrom") or {}).get("fieldRef", {}).get("fieldPath") == "status.podIP":
            items.append({"name": item["name"], "value": LOOPBACK})
        else:
            items.append(item)
    env = livekit._env({**chart.keycloak, "env": items}, values)
    service = chart.postgres_service
    if (env.get("KC_DB_URL_HOST"), env.get("KC_DB_URL_PORT")) != service:
        raise StartError(f"Keycloak's database is {env.get('KC_DB_URL_HOST')}:{env.get('KC_DB_URL_PORT')}, "
                         f"not the chart's PostgreSQL Service {service[0]}:{service[1]}")
    changes = {"KC_DB_URL_HOST": LOOPBACK, "KC_DB_URL_PORT": str(pg.port), "KC_HTTP_PORT": str(port),
               "KC_HTTP_HOST": LOOPBACK, "KC_HTTP_MANAGEMENT_PORT": str(management_port)}
    if "POD_IP" in env:
        changes["POD_IP"] = LOOPBACK
    if "JAVA_OPTS_APPEND" in env:
        env["JAVA_OPTS_APPEND"], moved = _jgroups(env["JAVA_OPTS_APPEND"])
        changes.update(moved)
    env.update({k: v for k, v in changes.items() if k.startswith("KC_")})
    return env, changes


# --- start, wait, stop ----------------------------------------------------------------------------


def last_error(log: Path) -> str:
    """Keycloak's own last ERROR line (without its timestamp), else the log's tail."""
    text = log.read_text(errors="replace") if log.exists() else ""
    errors = [line for line in text.splitlines() if re.search(r"\bERROR\b", line)]
    if errors:
        return re.sub(r"^\S+ \S+ +", "", errors[-1]).strip()[:500]
    return text.strip()[-500:] or "no output"


def _ready(proc: subprocess.Popen[bytes], management_port: int, log: Path, env: Env) -> str | None:
    """None once the chart's readiness probe (/health/ready) answers 200, else why not."""
    deadline = time.monotonic() + START_TIMEOUT
    # With an HTTPS listener (the broker check adds one), the management interface serves TLS too.
    certificate = env.get("KC_HTTPS_CERTIFICATE_FILE")
    url = f"{'https' if certificate else 'http'}://{LOOPBACK}:{management_port}/health/ready"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return f"Keycloak exited with {proc.returncode}: {last_error(log)}"
        try:
            if requests.get(url, timeout=5, verify=certificate or True).status_code == 200:
                return None
        except requests.RequestException:
            pass
        time.sleep(1)
    return f"{url} did not answer 200 within {START_TIMEOUT:.0f} s: {last_error(log)}"


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    """kc.sh runs the re-augmentation as a child before exec'ing the server: stop the whole group."""
    for sig, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            # The group may outlive its leader for a moment (the build JVM).
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue
        return


@contextmanager
def keycloak_server(
    chart: IdentityRender,
    tmp: Path,
    values: livekit.SecretValues,
    pg: PostgresServer,
    *,
    uid: int | None = None,
    realms: Callable[[dict[str, dict[str, Any]]], dict[str, dict[str, Any]]] | None = None,
    env_transform: Callable[[Env], Env] | None = None,
) -> Iterator[KeycloakRun]:
    """Run the rendered Keycloak against `pg`. `realms` edits the imported realm files (the broker
    check adds its stand-in there), `env_transform` the final environment (tests weaken it)."""
    dist = distribution()
    args = [str(a) for a in chart.keycloak.get("args") or []]
    if chart.keycloak.get("command"):
        raise StartError(f"the Keycloak container overrides its command: {chart.keycloak['command']}")
    mounts = {m["mountPath"]: m["name"] for m in chart.keycloak.get("volumeMounts") or []}
    if mounts.get(IMPORT_DIR) != "realm":
        raise StartError(f"the Keycloak container no longer mounts its realm on {IMPORT_DIR}")
    home = tmp / "home"
    private_home(dist, home)
    imported = {name: json.loads(text) for name, text in chart.realms.items()}
    if realms is not None:
        imported = realms(imported)
    for name, realm in imported.items():
        (home / "data" / "import" / name).write_text(json.dumps(realm, indent=2))
    port, management_port = local.free_port(), local.free_port()
    env, changes = container_env(chart, values, pg, port, management_port)
    if env_transform is not None:
        env = env_transform(env)
    _own(home, uid)
    local._hand_over(tmp, uid)
    log = tmp / "keycloak.log"
    full_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp), **env}
    start = time.monotonic()
    with log.open("wb") as out:
        proc = subprocess.Popen(local._as_user(uid, [str(home / "bin" / "kc.sh"), *args]), stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=tmp, env=full_env,
                                start_new_session=True)
    try:
        failure = _ready(proc, management_port, log, env)
        yield KeycloakRun(port, management_port, home, log, env, args, imported, str(chart.keycloak.get("image", "")),
                          time.monotonic() - start, failure, changes)
    finally:
        _stop_group(proc)


# --- requests as the ingress controller forwards them ------------------------------------------------


def routed_paths(chart: IdentityRender) -> dict[str, list[str]]:
    """Host -> the Prefix paths the rendered Ingresses route to Keycloak."""
    hosts: dict[str, list[str]] = {}
    for ingress in (o for o in chart.objects if o["kind"] == "Ingress"):
        for rule in ingress["spec"].get("rules") or []:
            for path in (rule.get("http") or {}).get("paths") or []:
                hosts.setdefault(rule["host"], []).append(path["path"])
    return hosts


class Ingress(HTTPAdapter):
    """Sends https://<host>/<routed path> to Keycloak on loopback as ingress-nginx forwards it;
    a path no Ingress routes gets the controller's 404 and never reaches Keycloak."""

    def __init__(self, run: KeycloakRun, host: str, paths: list[str]) -> None:
        super().__init__()
        self.run, self.host, self.paths = run, host, paths
        self.refused: list[str] = []

    def routes(self, path: str) -> bool:
        # nginx matches the normalised path: dot segments and %2F decoded before the prefix match.
        clean = _normalised(path)
        return any(clean.startswith(p) or clean == p.rstrip("/") for p in self.paths)

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        url = urllib.parse.urlsplit(str(request.url))
        if not self.routes(url.path):
            self.refused.append(url.path)
            response = requests.Response()
            response.status_code, response.url, response.request = 404, str(request.url), request
            response._content = b"404 Not Found (no Ingress path)"
            return response
        request.url = urllib.parse.urlunsplit(("http", f"{LOOPBACK}:{self.run.port}", url.path, url.query, ""))
        request.headers.update({"Host": self.host, "X-Forwarded-Proto": "https", "X-Forwarded-Host": self.host,
                                "X-Forwarded-Port": "443", "X-Forwarded-For": "192.0.2.10", "X-Real-IP": "192.0.2.10"})
        return super().send(request, *args, **kwargs)


def _normalised(path: str) -> str:
    parts: list[str] = []
    for part in urllib.parse.unquote(path).split("/"):
        if part == "..":
            if parts:
                parts.pop()
        elif part != ".":
            parts.append(part)
    return "/".join(parts) or "/"


class Offline(HTTPAdapter):
    """Every address but the public names the Ingress serves: refused, nothing leaves the host."""

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        raise requests.ConnectionError(f"refused: {request.url} is not served on loopback")


def public_session(run: KeycloakRun, chart: IdentityRender) -> tuple[requests.Session, dict[str, Ingress]]:
    """A client reaching Keycloak by its public names only, through the rendered Ingress."""
    session = requests.Session()
    session.trust_env = False
    for scheme in ("http://", "https://"):
        session.mount(scheme, Offline())
    ingresses = {host: Ingress(run, host, paths) for host, paths in routed_paths(chart).items()}
    for host, ingress in ingresses.items():
        session.mount(f"https://{host}/", ingress)
    return session, ingresses


@dataclass(frozen=True)
class Answer:
    status: int
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


def direct(run: KeycloakRun, path: str, headers: Mapping[str, str] | None = None) -> Answer:
    """A request straight to Keycloak's HTTP port, bypassing the ingress (what the server itself
    serves); the path is sent byte for byte, dot segments and escapes included."""
    connection = http.client.HTTPConnection(LOOPBACK, run.port, timeout=30)
    try:
        connection.request("GET", path, headers=dict(headers or {}))
        response = connection.getresponse()
        return Answer(response.status, response.read().decode("utf-8", "replace"))
    finally:
        connection.close()
