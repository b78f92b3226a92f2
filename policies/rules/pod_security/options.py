"""Security-context options a pod and its containers both set: SELinux, AppArmor, seccomp, HostProcess."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from policies.engine.model import Violation
from policies.rules.pod_security import controls as c
from policies.rules.pod_security.fields import found, mapping


def options(ctx_path: str, ctx: Mapping[str, Any], version: c.Version, windows: bool) -> Iterator[Violation]:
    """Violations of the options one security context sets itself (what it inherits is judged apart)."""
    yield from _selinux(ctx_path, ctx, version)
    apparmor = mapping(ctx, "appArmorProfile", ctx_path).get("type")
    if c.APPARMOR.applies(version) and apparmor is not None and apparmor not in c.APPARMOR_TYPES:
        yield found(c.APPARMOR, f"{ctx_path}.appArmorProfile.type",
                    f"AppArmor profile type {apparmor!r} is not RuntimeDefault or Localhost")
    seccomp = mapping(ctx, "seccompProfile", ctx_path).get("type")
    if seccomp == "Unconfined" and c.SECCOMP_BASELINE.applies(version):
        yield found(c.SECCOMP_BASELINE, f"{ctx_path}.seccompProfile.type", "seccomp profile Unconfined is not allowed")
    elif seccomp is not None and seccomp not in c.SECCOMP_ALLOWED and restricted_applies(
            c.SECCOMP_RESTRICTED, version, windows):
        yield found(c.SECCOMP_RESTRICTED, f"{ctx_path}.seccompProfile.type",
                    f"seccomp profile {seccomp!r} is not RuntimeDefault or Localhost")
    if c.HOST_PROCESS.applies(version) and mapping(ctx, "windowsOptions", ctx_path).get("hostProcess") is True:
        yield found(c.HOST_PROCESS, f"{ctx_path}.windowsOptions.hostProcess", "Windows HostProcess is not allowed")


def _selinux(ctx_path: str, ctx: Mapping[str, Any], version: c.Version) -> Iterator[Violation]:
    if not c.SELINUX.applies(version):
        return
    options = mapping(ctx, "seLinuxOptions", ctx_path)
    path = f"{ctx_path}.seLinuxOptions"
    kind = options.get("type", "")
    if kind not in c.selinux_types(version):
        yield found(c.SELINUX, f"{path}.type", f"SELinux type {kind!r} is not a container type")
    for field in ("user", "role"):
        if options.get(field, "") != "":
            yield found(c.SELINUX, f"{path}.{field}", f"SELinux {field} may not be set")


def restricted_applies(control: c.Control, version: c.Version, windows: bool) -> bool:
    """Some restricted controls do not apply to Windows pods from 1.25."""
    return control.applies(version) and not (windows and version >= c.WINDOWS_EXEMPT_SINCE)
