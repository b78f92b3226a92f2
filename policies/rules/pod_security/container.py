"""The controls judged for each container, init container and ephemeral container."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from policies.engine.model import Violation
from policies.engine.podspec import list_at
from policies.rules.pod_security import controls as c
from policies.rules.pod_security.fields import found, mapping
from policies.rules.pod_security.options import options, restricted_applies

PROBES = ("livenessProbe", "readinessProbe", "startupProbe")
HOOKS = ("postStart", "preStop")


def check(path: str, container: Mapping[str, Any], pod_ctx: Mapping[str, Any], version: c.Version,
          windows: bool) -> Iterator[Violation]:
    base = f"{path}.securityContext"
    sc = mapping(container, "securityContext", path)
    if c.PRIVILEGED.applies(version) and sc.get("privileged") is True:
        yield found(c.PRIVILEGED, f"{base}.privileged", "container is privileged")
    yield from _capabilities(base, sc, version, windows)
    if c.PROC_MOUNT.applies(version) and sc.get("procMount") not in (None, "Default"):
        yield found(c.PROC_MOUNT, f"{base}.procMount", "procMount must be Default")
    yield from options(base, sc, version, windows)
    escalation = sc.get("allowPrivilegeEscalation")
    if restricted_applies(c.PRIVILEGE_ESCALATION, version, windows) and escalation is not False:
        yield found(c.PRIVILEGE_ESCALATION, f"{base}.allowPrivilegeEscalation",
                    "allowPrivilegeEscalation must be false")
    non_root = sc.get("runAsNonRoot", pod_ctx.get("runAsNonRoot"))
    if c.RUN_AS_NON_ROOT.applies(version) and non_root is not True:
        yield found(c.RUN_AS_NON_ROOT, f"{base}.runAsNonRoot", "runAsNonRoot must be true (container or pod)")
    if c.RUN_AS_USER.applies(version) and sc.get("runAsUser") == 0:
        yield found(c.RUN_AS_USER, f"{base}.runAsUser", "container runs as user 0 (root)")
    seccomp = sc.get("seccompProfile", pod_ctx.get("seccompProfile"))
    effective = seccomp.get("type") if isinstance(seccomp, Mapping) else None
    if restricted_applies(c.SECCOMP_RESTRICTED, version, windows) and effective not in c.SECCOMP_ALLOWED:
        yield found(c.SECCOMP_RESTRICTED, f"{base}.seccompProfile",
                    "seccomp profile must be RuntimeDefault or Localhost")
    if c.HOST_PORTS.applies(version):
        for i, port in enumerate(list_at(container, "ports", path)):
            if isinstance(port, Mapping) and port.get("hostPort"):
                yield found(c.HOST_PORTS, f"{path}.ports[{i}].hostPort",
                            f"container binds host port {port['hostPort']}")
    if c.HOST_PROBES.applies(version):
        yield from _handlers(path, container)


def _capabilities(base: str, sc: Mapping[str, Any], version: c.Version, windows: bool) -> Iterator[Violation]:
    caps = mapping(sc, "capabilities", base)
    restricted = restricted_applies(c.CAPABILITIES_RESTRICTED, version, windows)
    drop = caps.get("drop")
    if restricted and (not isinstance(drop, list) or "ALL" not in drop):
        yield found(c.CAPABILITIES_RESTRICTED, f"{base}.capabilities.drop", "capabilities must drop ALL")
    added = caps.get("add")
    for i, cap in enumerate(added if isinstance(added, list) else []):
        at = f"{base}.capabilities.add[{i}]"
        if cap not in c.BASELINE_CAPABILITIES and c.CAPABILITIES_BASELINE.applies(version):
            yield found(c.CAPABILITIES_BASELINE, at, f"capability {cap} may not be added")
        elif cap not in c.RESTRICTED_CAPABILITIES and restricted:
            yield found(c.CAPABILITIES_RESTRICTED, at, f"capability {cap} may not be added (only NET_BIND_SERVICE)")


def _handlers(path: str, container: Mapping[str, Any]) -> Iterator[Violation]:
    """Probes and lifecycle hooks that name a host reach past the pod (another host, the node)."""
    handlers = [(f"{path}.{probe}", mapping(container, probe, path)) for probe in PROBES]
    lifecycle = mapping(container, "lifecycle", path)
    handlers += [(f"{path}.lifecycle.{hook}", mapping(lifecycle, hook, f"{path}.lifecycle")) for hook in HOOKS]
    for at, handler in handlers:
        for action in ("httpGet", "tcpSocket"):
            host = mapping(handler, action, at).get("host")
            if host not in (None, ""):
                yield found(c.HOST_PROBES, f"{at}.{action}.host",
                            f"{at.rsplit('.', 1)[-1]} handler sets host {host!r}")
