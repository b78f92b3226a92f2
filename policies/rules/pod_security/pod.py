"""The controls judged once per pod: namespaces, volumes, sysctls and the pod security context."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from policies.engine.model import Violation
from policies.engine.podspec import key_path, list_at
from policies.rules.pod_security import controls as c
from policies.rules.pod_security.fields import found, mapping
from policies.rules.pod_security.options import options

HOST_NAMESPACES = ("hostNetwork", "hostPID", "hostIPC")


def check(prefix: str, spec: Mapping[str, Any], metadata: tuple[str, Mapping[str, Any]] | None,
          version: c.Version, windows: bool) -> Iterator[Violation]:
    if c.HOST_NAMESPACES.applies(version):
        for field in HOST_NAMESPACES:
            if spec.get(field) is True:
                yield found(c.HOST_NAMESPACES, f"{prefix}.{field}",
                            f"pod shares the node's {field[4:].lower()} namespace")
    yield from _volumes(prefix, spec, version)
    ctx_path = f"{prefix}.securityContext"
    ctx = mapping(spec, "securityContext", prefix)
    yield from _sysctls(ctx_path, ctx, version)
    yield from options(ctx_path, ctx, version, windows)
    if c.RUN_AS_NON_ROOT.applies(version) and ctx.get("runAsNonRoot") is False:
        yield found(c.RUN_AS_NON_ROOT, f"{ctx_path}.runAsNonRoot", "pod sets runAsNonRoot to false")
    if c.RUN_AS_USER.applies(version) and ctx.get("runAsUser") == 0:
        yield found(c.RUN_AS_USER, f"{ctx_path}.runAsUser", "pod runs as user 0 (root)")
    if metadata is not None:
        yield from _apparmor_annotations(*metadata, version)


def _volumes(prefix: str, spec: Mapping[str, Any], version: c.Version) -> Iterator[Violation]:
    for i, volume in enumerate(list_at(spec, "volumes", prefix)):
        if not isinstance(volume, Mapping):
            continue
        for kind in sorted(set(volume) - {"name"}):
            path = f"{prefix}.volumes[{i}].{kind}"
            if kind == "hostPath":
                if c.HOST_PATH.applies(version):
                    yield found(c.HOST_PATH, path, "volume type hostPath is not allowed")
            elif kind not in c.RESTRICTED_VOLUMES and c.VOLUMES.applies(version):
                yield found(c.VOLUMES, path, f"volume type {kind} is not allowed")


def _sysctls(ctx_path: str, ctx: Mapping[str, Any], version: c.Version) -> Iterator[Violation]:
    if not c.SYSCTLS.applies(version):
        return
    safe = c.safe_sysctls(version)
    for i, sysctl in enumerate(list_at(ctx, "sysctls", ctx_path)):
        name = sysctl.get("name") if isinstance(sysctl, Mapping) else None
        if name not in safe:
            yield found(c.SYSCTLS, f"{ctx_path}.sysctls[{i}].name", f"sysctl {name!r} is outside the safe set")


def _apparmor_annotations(path: str, metadata: Mapping[str, Any], version: c.Version) -> Iterator[Violation]:
    if not c.APPARMOR.applies(version):
        return
    for key, value in mapping(metadata, "annotations", path).items():
        if not key.startswith(c.APPARMOR_ANNOTATION):
            continue
        if not (value in ("", "runtime/default") or (isinstance(value, str) and value.startswith("localhost/"))):
            yield found(c.APPARMOR, key_path(f"{path}.annotations", key),
                        f"AppArmor profile {value!r} is not runtime/default or localhost/*")
