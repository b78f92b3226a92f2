"""pod-security: every pod spec meets the Kubernetes Pod Security Standards "restricted" profile.

No workload is special-cased: the SFU and TURN server need host networking, and that is recorded as an
exemption (with its justification, approver and expiry) in the stack's exemptions file.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from policies.engine.model import Resource, Violation
from policies.engine.podspec import containers_of, list_at, pod_specs
from policies.engine.rule import Context, Rule

ALLOWED_VOLUMES = frozenset({
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected",
    "secret",
})
ALLOWED_SECCOMP = frozenset({"RuntimeDefault", "Localhost"})
HOST_NAMESPACES = ("hostNetwork", "hostPID", "hostIPC")


def _ctx(node: Mapping[str, Any], path: str) -> Mapping[str, Any]:
    value = node.get("securityContext")
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise TypeError(f"{path}.securityContext: expected an object")
    return value


def _pod(prefix: str, spec: Mapping[str, Any]) -> Iterator[Violation]:
    for field in HOST_NAMESPACES:
        if spec.get(field) is True:
            yield Violation(f"{prefix}.{field}", f"pod shares the node's {field[4:].lower()} namespace")
    for i, volume in enumerate(list_at(spec, "volumes", prefix)):
        if not isinstance(volume, Mapping):
            continue
        for kind in sorted(set(volume) - ALLOWED_VOLUMES - {"name"}):
            yield Violation(f"{prefix}.volumes[{i}].{kind}", f"volume type {kind} is not allowed")
    pod_ctx = _ctx(spec, prefix)
    if pod_ctx.get("runAsUser") == 0:
        yield Violation(f"{prefix}.securityContext.runAsUser", "pod runs as user 0 (root)")
    seccomp = pod_ctx.get("seccompProfile")
    if isinstance(seccomp, Mapping) and seccomp.get("type") not in ALLOWED_SECCOMP:
        yield Violation(f"{prefix}.securityContext.seccompProfile.type",
                        f"seccomp profile {seccomp.get('type')!r} is not RuntimeDefault or Localhost")


def _container(path: str, c: Mapping[str, Any], pod_ctx: Mapping[str, Any]) -> Iterator[Violation]:
    sc = _ctx(c, path)
    base = f"{path}.securityContext"
    if sc.get("privileged") is True:
        yield Violation(f"{base}.privileged", "container is privileged")
    if sc.get("allowPrivilegeEscalation") is not False:
        yield Violation(f"{base}.allowPrivilegeEscalation", "allowPrivilegeEscalation must be false")
    non_root = sc.get("runAsNonRoot", pod_ctx.get("runAsNonRoot"))
    if non_root is not True:
        yield Violation(f"{base}.runAsNonRoot", "runAsNonRoot must be true (container or pod)")
    if sc.get("runAsUser") == 0:
        yield Violation(f"{base}.runAsUser", "container runs as user 0 (root)")
    seccomp = sc.get("seccompProfile", pod_ctx.get("seccompProfile"))
    if not isinstance(seccomp, Mapping) or seccomp.get("type") not in ALLOWED_SECCOMP:
        yield Violation(f"{base}.seccompProfile", "seccomp profile must be RuntimeDefault or Localhost")
    caps = sc.get("capabilities")
    caps = caps if isinstance(caps, Mapping) else {}
    drop = caps.get("drop")
    if not isinstance(drop, list) or "ALL" not in drop:
        yield Violation(f"{base}.capabilities.drop", "capabilities must drop ALL")
    added = caps.get("add")
    for i, cap in enumerate(added if isinstance(added, list) else []):
        if cap != "NET_BIND_SERVICE":
            yield Violation(f"{base}.capabilities.add[{i}]", f"capability {cap} may not be added")
    if sc.get("procMount") not in (None, "Default"):
        yield Violation(f"{base}.procMount", "procMount must be Default")
    for i, port in enumerate(list_at(c, "ports", path)):
        if isinstance(port, Mapping) and port.get("hostPort"):
            yield Violation(f"{path}.ports[{i}].hostPort", f"container binds host port {port['hostPort']}")


def check(resource: Resource, ctx: Context) -> Iterator[Violation]:
    for prefix, spec in pod_specs(resource):
        yield from _pod(prefix, spec)
        pod_ctx = _ctx(spec, prefix)
        for path, container in containers_of(prefix, spec):
            yield from _container(path, container, pod_ctx)


RULE = Rule(
    id="pod-security",
    description="Pod specs meet the Pod Security Standards restricted profile",
    check=check,
)
