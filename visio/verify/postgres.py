"""The identity chart's PostgreSQL on loopback: the Debian server, initialised as the image does it.

As the image's entrypoint does from the StatefulSet's environment: `initdb` with the user and
password of `POSTGRES_USER`/`POSTGRES_PASSWORD`, then the `POSTGRES_DB` database owned by that user.
Only what loopback demands changes: the data directory and the socket directory are private
temporary ones, the server listens on 127.0.0.1 at a free port, and every TCP connection
authenticates with scram-sha-256 (the image trusts its own loopback, which here would be every
client; only the Unix socket, which the pod alone reaches, stays trusted). The server is Debian's
release, not the image's: its version is reported beside the image the chart deploys.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common.config import StackConfig
from components import catalogue
from visio.kube.charts import render_service
from visio.verify import local
from visio.verify.local import LOOPBACK, StartError

START_TIMEOUT = 60.0
# Debian installs the server programs here, off PATH (only the client wrappers are on it).
DEBIAN_BIN = Path("/usr/lib/postgresql")


@dataclass(frozen=True)
class IdentityRender:
    keycloak_pod: dict[str, Any]
    keycloak: dict[str, Any]  # the Keycloak container
    postgres_pod: dict[str, Any]
    postgres: dict[str, Any]  # the PostgreSQL container
    realms: dict[str, str]  # the realm ConfigMap: file name -> JSON
    postgres_service: tuple[str, str]  # the Service in front of PostgreSQL: name, port
    objects: list[dict[str, Any]]


def render_identity(config: StackConfig) -> IdentityRender:
    identity = catalogue.service("identity")
    objects = render_service(identity, config)

    def one(kind: str, name: str) -> dict[str, Any]:
        found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
        if len(found) != 1:
            raise StartError(f"the identity chart no longer renders {kind} {name}")
        return found[0]

    pg_name = f"{identity.name}-postgres"
    kc_pod = one("Deployment", f"{identity.name}-keycloak")["spec"]["template"]["spec"]
    pg_pod = one("StatefulSet", pg_name)["spec"]["template"]["spec"]
    realm_map = next((v["configMap"]["name"] for v in kc_pod.get("volumes") or [] if v["name"] == "realm"), None)
    if realm_map is None:
        raise StartError("the Keycloak pod no longer mounts a realm ConfigMap")
    return IdentityRender(
        keycloak_pod=kc_pod, keycloak=_container(kc_pod, "keycloak"),
        postgres_pod=pg_pod, postgres=_container(pg_pod, "postgres"),
        realms=dict(one("ConfigMap", realm_map)["data"]),
        postgres_service=(pg_name, str(one("Service", pg_name)["spec"]["ports"][0]["port"])), objects=objects,
    )


def _container(pod: Mapping[str, Any], name: str) -> dict[str, Any]:
    for container in pod.get("containers") or []:
        if container["name"] == name:
            return dict(container)
    raise StartError(f"the rendered pod has no {name} container")


def pg_binary(name: str) -> str:
    """A PostgreSQL program: Debian's newest server release first, then PATH."""
    releases = sorted((p for p in DEBIAN_BIN.glob("*/bin") if p.is_dir()),
                      key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0, reverse=True)
    found = shutil.which(name, path=os.pathsep.join(map(str, releases))) if releases else None
    return found or local.binary(name)


# --- the server -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PostgresServer:
    pid: int
    port: int
    database: str
    user: str
    password: str
    version: str  # the server's `postgres --version`
    image: str  # what the chart deploys
    directory: Path
    log: Path

    def psql(self, sql: str, *, user: str | None = None, password: str | None = None,
             database: str | None = None) -> subprocess.CompletedProcess[str]:
        """One query over TCP with password authentication, as a remote client (Keycloak) connects."""
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PGPASSWORD": self.password if password is None
               else password, "PGCONNECT_TIMEOUT": "10"}
        return subprocess.run(
            [pg_binary("psql"), "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", LOOPBACK, "-p", str(self.port),
             "-U", user or self.user, "-d", database or self.database, "-c", sql],
            env=env, capture_output=True, text=True, timeout=30, check=False, stdin=subprocess.DEVNULL,
        )


def _literal_env(container: Mapping[str, Any]) -> dict[str, str]:
    return {e["name"]: str(e["value"]) for e in container.get("env") or [] if "value" in e}


def _secret_ref(container: Mapping[str, Any], name: str) -> tuple[str, str]:
    for item in container.get("env") or []:
        ref = (item.get("valueFrom") or {}).get("secretKeyRef")
        if item["name"] == name and ref:
            return str(ref["name"]), str(ref["key"])
    raise StartError(f"the {container['name']} container no longer reads {name} from a Secret")


def password_of(container: Mapping[str, Any], values: Mapping[tuple[str, str], str]) -> str:
    ref = _secret_ref(container, "POSTGRES_PASSWORD")
    if ref not in values:
        raise StartError(f"POSTGRES_PASSWORD refers to {ref[0]}/{ref[1]}, which the identity service does not declare")
    return values[ref]


def _run(argv: list[str], env: Mapping[str, str], what: str) -> None:
    done = subprocess.run(argv, env=dict(env), capture_output=True, text=True, timeout=120, check=False,
                          stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise StartError(f"{what} failed: {(done.stderr or done.stdout).strip()[-500:]}")


def _ready(proc: subprocess.Popen[bytes], port: int, sockets: Path, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if proc.poll() is not None:
            raise StartError(f"postgres exited with {proc.returncode}: {_why(log)}")
        done = subprocess.run([pg_binary("pg_isready"), "-q", "-h", str(sockets), "-p", str(port)],
                              capture_output=True, timeout=10, check=False, stdin=subprocess.DEVNULL)
        if done.returncode == 0:
            return
        if time.monotonic() > deadline:
            raise StartError(f"postgres did not accept connections within {START_TIMEOUT:.0f} s: {_why(log)}")
        time.sleep(0.2)


def _why(log: Path) -> str:
    text = log.read_text(errors="replace") if log.exists() else ""
    errors = [line for line in text.splitlines() if re.search(r"\b(FATAL|ERROR|PANIC):", line)]
    return (errors[-1] if errors else text.strip()[-500:] or "no output")[:500]


@contextmanager
def postgres_server(chart: IdentityRender, tmp: Path, values: Mapping[tuple[str, str], str], *,
                    uid: int | None = None) -> Iterator[PostgresServer]:
    """Initialise and run the chart's PostgreSQL on loopback; stopped on every path."""
    env_in = _literal_env(chart.postgres)
    user, database = env_in.get("POSTGRES_USER"), env_in.get("POSTGRES_DB")
    if not user or not database:
        raise StartError("the PostgreSQL container no longer sets POSTGRES_USER and POSTGRES_DB")
    password = password_of(chart.postgres, values)
    postgres = pg_binary("postgres")
    tmp.mkdir(parents=True, exist_ok=True)
    data, sockets, pwfile, log = tmp / "data", tmp / "run", tmp / "pwfile", tmp / "postgres.log"
    sockets.mkdir()
    pwfile.write_text(password + "\n")
    pwfile.chmod(0o600)
    log.touch()
    local._hand_over(tmp, uid)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8"}
    # The image's initdb: superuser POSTGRES_USER with POSTGRES_PASSWORD, UTF-8.
    _run(local._as_user(uid, [pg_binary("initdb"), "-D", str(data), "-U", user, f"--pwfile={pwfile}", "-E", "UTF8",
                              "--auth-local=trust", "--auth-host=scram-sha-256"]), env, "initdb")
    pwfile.unlink()
    port = local.free_port()
    with log.open("ab") as out:
        proc = subprocess.Popen(
            local._as_user(uid, [postgres, "-D", str(data), "-p", str(port), "-c", f"listen_addresses={LOOPBACK}",
                                 "-c", f"unix_socket_directories={sockets}", "-c", "unix_socket_permissions=0700"]),
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, cwd=tmp)
    try:
        _ready(proc, port, sockets, log)
        # The image's entrypoint creates POSTGRES_DB (unless it is `postgres`) as POSTGRES_USER.
        if database != "postgres":
            _run(local._as_user(uid, [pg_binary("psql"), "-X", "-v", "ON_ERROR_STOP=1", "-h", str(sockets),
                                      "-p", str(port), "-U", user, "-d", "postgres",
                                      "-c", f'CREATE DATABASE "{database}"']), env, "CREATE DATABASE")
        version = subprocess.run([postgres, "--version"], capture_output=True, text=True, timeout=30,
                                 check=False, stdin=subprocess.DEVNULL).stdout.strip()
        yield PostgresServer(proc.pid, port, database, user, password, version, str(chart.postgres.get("image", "")),
                             tmp, log)
    finally:
        local.stop(proc)
