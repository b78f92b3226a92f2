"""The Pod Security Standards controls, as the upstream pod-security-admission checks define them.

Each control has the profile level that requires it and the Kubernetes version it applies from; the
allowed values of some controls grow with the version (sysctls, SELinux types). A finding names its
control and level, so a reviewer sees whether a workload falls short of baseline or only of restricted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Level = Literal["baseline", "restricted"]
Version = tuple[int, int]
LATEST: Version = (1, 999)


@dataclass(frozen=True)
class Control:
    id: str
    title: str
    level: Level
    since: Version = (1, 0)

    def applies(self, version: Version) -> bool:
        return version >= self.since

    def message(self, detail: str) -> str:
        return f"{self.level} / {self.title}: {detail}"

    def evidence(self) -> dict[str, str]:
        return {"control": self.id, "level": self.level, "since": f"{self.since[0]}.{self.since[1]}"}


HOST_NAMESPACES = Control("hostNamespaces", "Host Namespaces", "baseline")
PRIVILEGED = Control("privileged", "Privileged Containers", "baseline")
CAPABILITIES_BASELINE = Control("capabilities_baseline", "Capabilities", "baseline")
HOST_PATH = Control("hostPathVolumes", "HostPath Volumes", "baseline")
HOST_PORTS = Control("hostPorts", "Host Ports", "baseline")
HOST_PROBES = Control("hostProbesAndLifecycleHooks", "Host Probes / Lifecycle Hooks", "baseline", (1, 34))
APPARMOR = Control("appArmorProfile", "AppArmor", "baseline")
SELINUX = Control("seLinuxOptions", "SELinux", "baseline")
PROC_MOUNT = Control("procMount", "/proc Mount Type", "baseline")
SECCOMP_BASELINE = Control("seccompProfile_baseline", "Seccomp", "baseline", (1, 19))
SYSCTLS = Control("sysctls", "Sysctls", "baseline")
HOST_PROCESS = Control("windowsHostProcess", "HostProcess", "baseline")
VOLUMES = Control("restrictedVolumes", "Volume Types", "restricted")
PRIVILEGE_ESCALATION = Control("allowPrivilegeEscalation", "Privilege Escalation", "restricted", (1, 8))
RUN_AS_NON_ROOT = Control("runAsNonRoot", "Running as Non-root", "restricted")
RUN_AS_USER = Control("runAsUser", "Running as Non-root user", "restricted", (1, 23))
SECCOMP_RESTRICTED = Control("seccompProfile_restricted", "Seccomp", "restricted", (1, 19))
CAPABILITIES_RESTRICTED = Control("capabilities_restricted", "Capabilities", "restricted", (1, 22))

ALL: tuple[Control, ...] = (
    HOST_NAMESPACES, PRIVILEGED, CAPABILITIES_BASELINE, HOST_PATH, HOST_PORTS, HOST_PROBES, APPARMOR, SELINUX,
    PROC_MOUNT, SECCOMP_BASELINE, SYSCTLS, HOST_PROCESS, VOLUMES, PRIVILEGE_ESCALATION, RUN_AS_NON_ROOT,
    RUN_AS_USER, SECCOMP_RESTRICTED, CAPABILITIES_RESTRICTED,
)

# Capabilities a container runtime grants by default: baseline lets a container add these back.
BASELINE_CAPABILITIES = frozenset({
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE", "SETFCAP",
    "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
})
RESTRICTED_CAPABILITIES = frozenset({"NET_BIND_SERVICE"})
RESTRICTED_VOLUMES = frozenset({
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret",
})
SECCOMP_ALLOWED = frozenset({"RuntimeDefault", "Localhost"})
APPARMOR_TYPES = frozenset({"RuntimeDefault", "Localhost"})
APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"
# Restricted controls that do not apply to Windows pods (spec.os.name: windows) from 1.25.
WINDOWS_EXEMPT_SINCE: Version = (1, 25)

_SYSCTLS: tuple[tuple[Version, frozenset[str]], ...] = (
    ((1, 0), frozenset({"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies",
                        "net.ipv4.ping_group_range", "net.ipv4.ip_unprivileged_port_start"})),
    ((1, 27), frozenset({"net.ipv4.ip_local_reserved_ports"})),
    ((1, 29), frozenset({"net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
                         "net.ipv4.tcp_keepalive_probes"})),
    ((1, 32), frozenset({"net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"})),
)
_SELINUX_TYPES: tuple[tuple[Version, frozenset[str]], ...] = (
    ((1, 0), frozenset({"", "container_t", "container_init_t", "container_kvm_t"})),
    ((1, 31), frozenset({"container_engine_t"})),
)


def _grown(table: tuple[tuple[Version, frozenset[str]], ...], version: Version) -> frozenset[str]:
    return frozenset().union(*(names for since, names in table if version >= since))


def safe_sysctls(version: Version) -> frozenset[str]:
    return _grown(_SYSCTLS, version)


def selinux_types(version: Version) -> frozenset[str]:
    return _grown(_SELINUX_TYPES, version)


def parse_version(text: str | None) -> Version:
    """`1.31` (or `v1.31.2`) as (1, 31); None is the latest version, where every control applies."""
    if text is None:
        return LATEST
    major, minor = text.lstrip("v").split(".")[:2]
    return int(major), int(minor)
