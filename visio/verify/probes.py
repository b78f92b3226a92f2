"""Observations on a testinfra host, local or a pod: files, process identity, sockets, environment.

Containers often lack `ps`, `ss` and `netstat`, so process and socket facts come from `/proc`
when the tools are missing; on a host with `ss` the testinfra socket module is used.
"""

from __future__ import annotations

from typing import Any

import testinfra

Host = Any  # testinfra ships no type information

CAP_NET_BIND_SERVICE = 1 << 10


def local_host() -> Host:
    return testinfra.get_host("local://")


def read(host: Host, path: str) -> str:
    result = host.run("cat -- %s", path)
    if result.rc != 0:
        raise OSError(f"cannot read {path}: {result.stderr.strip() or f'exit {result.rc}'}")
    return str(result.stdout)


def status(host: Host, pid: int | str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in read(host, f"/proc/{pid}/status").splitlines():
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    return fields


def environ(host: Host, pid: int | str) -> dict[str, str]:
    result = host.run("cat -- %s", f"/proc/{pid}/environ")
    if result.rc != 0:
        raise OSError(f"cannot read /proc/{pid}/environ: {result.stderr.strip() or f'exit {result.rc}'}")
    raw: bytes = result.stdout_bytes
    env: dict[str, str] = {}
    for item in raw.split(b"\0"):
        name, sep, value = item.decode("utf-8", "replace").partition("=")
        if sep and name:
            env[name] = value
    return env


def identity(host: Host, pid: int | str, *, privileged_port: bool = False) -> tuple[bool, str, dict[str, str]]:
    """Whether a process runs as non-root. With `privileged_port` (the stack declares a port below
    1024), uid 0 holding NET_BIND_SERVICE and nothing else is accepted: that is how the chart binds it."""
    fields = status(host, pid)
    uids = fields.get("Uid", "").split()
    gids = fields.get("Gid", "").split()
    if len(uids) < 2:
        raise ValueError(f"/proc/{pid}/status has no Uid line")
    effective = int(uids[1])
    capabilities = int(fields.get("CapEff", "0"), 16)
    evidence = {"pid": str(pid), "name": fields.get("Name", "?"), "uid": " ".join(uids),
                "gid": " ".join(gids), "CapEff": f"{capabilities:016x}"}
    if effective != 0 and int(uids[0]) != 0:
        return True, f"{evidence['name']} runs as uid {effective}", evidence
    if privileged_port and capabilities & ~CAP_NET_BIND_SERVICE == 0:
        return True, f"{evidence['name']} runs as uid 0 holding at most NET_BIND_SERVICE", evidence
    return False, f"{evidence['name']} runs as root (capabilities {capabilities:#x})", evidence


def _proc_net_listening(host: Host, proto: str, port: int) -> bool:
    files = [f"/proc/net/{proto}", f"/proc/net/{proto}6"]
    # TCP LISTEN is state 0A; a bound UDP socket shows as 07 (unconnected).
    state = "0A" if proto == "tcp" else "07"
    text = host.run("cat %s %s 2>/dev/null", *files).stdout
    for line in str(text).splitlines()[1:]:
        parts = line.split()
        if len(parts) > 3 and parts[3] == state and int(parts[1].rsplit(":", 1)[1], 16) == port:
            return True
    return False


def listening(host: Host, proto: str, port: int, address: str | None = None) -> tuple[bool, str]:
    """Whether something listens on proto/port (and address); returns the observation's source."""
    if host.exists("ss"):
        spec = f"{proto}://{address}:{port}" if address else f"{proto}://{port}"
        return bool(host.socket(spec).is_listening), f"ss ({spec})"
    return _proc_net_listening(host, proto, port), f"/proc/net/{proto}"
