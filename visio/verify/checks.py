"""Checks shared by local and cluster mode: a coturn configuration, a process's user, a listening
socket, Redis authentication, and effective configuration judged by the endpoint rules."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from policies.engine.config import PolicyConfig
from visio.report.checkresult import CheckResult, Outcome, run_check
from visio.verify import coturn, probes, sovereignty
from visio.verify.probes import Host


def coturn_config(conf: str, target: str, relay: tuple[int, int]) -> list[CheckResult]:
    """The deny list, the hardening options and the relay ports of an effective turnserver.conf."""

    def denied() -> Outcome:
        gaps = coturn.uncovered(conf)
        ranges = str(len(coturn.denied_ranges(conf)))
        if gaps:
            return False, f"denied-peer-ip leaves relays open to {', '.join(gaps)}", {
                "not denied": ", ".join(gaps), "denied-peer-ip ranges": ranges}
        return True, f"denied-peer-ip covers {len(coturn.REQUIRED_DENIED)} internal networks", {
            "denied-peer-ip ranges": ranges, "covers": ", ".join(coturn.REQUIRED_DENIED)}

    def hardening() -> Outcome:
        missing, reopening = coturn.missing_flags(conf), coturn.forbidden_present(conf)
        problems = [f"missing {', '.join(missing)}"] if missing else []
        problems += [f"re-opened by {', '.join(reopening)}"] if reopening else []
        if problems:
            return False, "coturn hardening: " + "; ".join(problems), {"required": ", ".join(coturn.REQUIRED_FLAGS)}
        return True, "coturn sets " + ", ".join(coturn.REQUIRED_FLAGS), {}

    def relay_range() -> Outcome:
        found = coturn.relay_range(conf)
        evidence = {"declared": f"{relay[0]}-{relay[1]}", "effective": f"{found[0]}-{found[1]}" if found else "(none)"}
        if found != relay:
            return False, "relay port range differs from the stack's declaration", evidence
        return True, f"relay ports {relay[0]}-{relay[1]} as declared", evidence

    return [
        run_check("coturn-denied-peers", target, denied),
        run_check("coturn-hardening", target, hardening),
        run_check("coturn-relay-range", target, relay_range),
    ]


def process_user(check: str, target: str, host: Host, pid: int | str, *, privileged_port: bool = False) -> CheckResult:
    return run_check(check, target, lambda: probes.identity(host, pid, privileged_port=privileged_port))


def listening(check: str, target: str, host: Host, sockets: list[tuple[str, int]], address: str | None) -> CheckResult:
    def probe() -> Outcome:
        seen: dict[str, str] = {}
        for proto, port in sockets:
            ok, source = probes.listening(host, proto, port, address)
            seen[f"{proto}/{port}"] = f"listening ({source})" if ok else f"NOT listening ({source})"
        missing = [k for k, v in seen.items() if v.startswith("NOT")]
        if missing:
            return False, f"not listening on {', '.join(missing)}", seen
        return True, f"listening on {', '.join(seen)}", seen

    return run_check(check, target, probe)


def redis_requires_auth(target: str, host: Host, port: int) -> CheckResult:
    def probe() -> Outcome:
        # Without the password the same client the probes use must be turned away.
        out = host.run("env -u REDISCLI_AUTH redis-cli -h 127.0.0.1 -p %s ping", str(port))
        answer = (out.stdout + out.stderr).strip().splitlines()
        first = answer[0] if answer else f"(no answer, exit {out.rc})"
        if "NOAUTH" in first or "Authentication required" in first:
            return True, "Redis refuses an unauthenticated client", {"answer": first}
        return False, "Redis did not demand a password", {"answer": first}

    return run_check("redis-auth-required", target, probe)


def endpoints(check: str, target: str, owner: str, namespace: str | None, host: Host, pid: int | str,
              files: Callable[[], Mapping[str, str]], container: Mapping[str, Any],
              policy: PolicyConfig) -> CheckResult:
    """The files the process reads and its environment, judged by the engine's endpoint rules."""

    def probe() -> Outcome:
        env = probes.environ(host, pid)
        outcome, _ = sovereignty.judge(owner, namespace, files(), env, container.get("image"), policy,
                                       sovereignty.secret_env(container))
        return outcome

    return run_check(check, target, probe)
