"""The signalling chart's Redis command and probes, run against a real redis-server on loopback."""

from __future__ import annotations

import os
import shutil
import socket
import stat
import subprocess
import time
from pathlib import Path

import pytest

from common.config import load_stack
from common.paths import chart_path
from components.values import signalling
from visio.kube.charts import render

PASSWORD = "Sig4nallingRedisTestPassw0rd0123"
SERVERS_REQUIRED = bool(os.environ.get("VISIO_REQUIRE_SERVERS"))

pytestmark = pytest.mark.skipif(
    shutil.which("redis-server") is None and not SERVERS_REQUIRED,
    reason="redis-server not installed (apt-get install redis-server); VISIO_REQUIRE_SERVERS unset",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _redis_container() -> dict:  # type: ignore[type-arg]
    values = signalling.values(load_stack("dev").config)
    objs = [o for _, o in render(chart_path("signalling"), values, "signalling", "visio-signalling")]
    (deployment,) = [o for o in objs if o["kind"] == "Deployment" and o["metadata"]["name"] == "signalling-redis"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container  # type: ignore[no-any-return]


def _local(command: str, tmp: Path, port: int) -> str:
    # Same command, confined to loopback, a free port and a private directory instead of the pod's /tmp.
    assert "--bind 0.0.0.0" in command or "-h 127.0.0.1" in command
    return (
        command.replace("--bind 0.0.0.0", "--bind 127.0.0.1")
        .replace("--port 6379", f"--port {port}")
        .replace("-h 127.0.0.1", f"-h 127.0.0.1 -p {port}")
        .replace("/tmp", str(tmp))
    )


def _probe(container: dict, kind: str, tmp: Path, port: int, env: dict[str, str]) -> int:  # type: ignore[type-arg]
    sh, flag, script = container[kind]["exec"]["command"]
    assert (sh, flag) == ("sh", "-c")
    return subprocess.run([sh, flag, _local(script, tmp, port)], env=env, timeout=10, check=False).returncode


def test_rendered_redis_command_requires_the_password_and_hides_it(tmp_path: Path) -> None:
    container = _redis_container()
    assert container["command"] == ["sh", "-c"]
    (script,) = container["args"]
    assert container["env"][0]["name"] == "REDISCLI_AUTH"
    assert container["env"][0]["valueFrom"]["secretKeyRef"] == {"name": "redis-auth", "key": "password"}
    port = _free_port()
    base_env = {"PATH": os.environ["PATH"]}
    auth_env = {**base_env, "REDISCLI_AUTH": PASSWORD}
    server = subprocess.Popen(
        ["sh", "-c", _local(script, tmp_path, port)],
        env=auth_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            if _probe(container, "readinessProbe", tmp_path, port, auth_env) == 0:
                break
            time.sleep(0.05)
        else:
            pytest.fail("redis-server never answered the readiness probe")
        assert _probe(container, "livenessProbe", tmp_path, port, auth_env) == 0
        # Without the password, or with a wrong one, the same probe fails: auth is enforced.
        assert _probe(container, "readinessProbe", tmp_path, port, base_env) != 0
        assert _probe(container, "readinessProbe", tmp_path, port, {**base_env, "REDISCLI_AUTH": "wrong"}) != 0
        # `exec` left redis-server as the container's main process; its arguments carry no password.
        cmdline = Path(f"/proc/{server.pid}/cmdline").read_bytes().decode()
        assert "redis-server" in cmdline and PASSWORD not in cmdline
        conf = tmp_path / "redis.conf"
        assert stat.S_IMODE(conf.stat().st_mode) == 0o600
        assert PASSWORD in conf.read_text()
        # Nothing persisted: no RDB or AOF file appears after a write.
        out = subprocess.run(
            ["redis-cli", "-h", "127.0.0.1", "-p", str(port), "set", "k", "v"],
            env=auth_env,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        assert out.stdout.strip() == "OK"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["redis.conf"]
    finally:
        server.terminate()
        server.wait(timeout=10)
