"""`visio verify STACK`: the checks run inside the stack's pods through testinfra's kubectl backend.

Pods are found by the selectors of the workloads the charts render for the stack, in the namespaces
the components deploy them to. Every command runs through `kubectl exec` with the given kubeconfig
and context; nothing is changed in the cluster. The captioning check opens one TCP connection from
inside each captioning pod to a public EU address (a SYN sent from the cluster, never from here),
which must fail.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import testinfra
import yaml

from common.config.loader import Stack
from common.errors import InputError
from components import catalogue
from policies.engine.config import PolicyConfig
from policies.engine.stackconfig import from_stack
from visio.kube.charts import render_service
from visio.report.checkresult import CheckResult, Outcome, run_check
from visio.verify import checks, probes, tls
from visio.verify.probes import Host

# k.root-servers.net, anycast, run by RIPE NCC (Amsterdam): stable, EU-operated, answers on TCP/53.
EGRESS_PROBE = ("193.0.14.129", 53)
KUBECTL_TIMEOUT = 60


@dataclass(frozen=True)
class Workload:
    chart: str
    namespace: str
    name: str
    selector: Mapping[str, str]
    pod: Mapping[str, Any]
    config_maps: Mapping[str, Mapping[str, str]]  # name -> data, from the same chart


def workloads(stack: Stack) -> list[Workload]:
    out: list[Workload] = []
    for service in catalogue.enabled(stack.config):
        objects = render_service(service, stack.config)
        maps = {o["metadata"]["name"]: o.get("data") or {} for o in objects if o["kind"] == "ConfigMap"}
        for obj in objects:
            if obj["kind"] not in ("Deployment", "StatefulSet", "DaemonSet"):
                continue
            out.append(Workload(service.chart, obj["metadata"].get("namespace") or service.namespace,
                                obj["metadata"]["name"], obj["spec"]["selector"]["matchLabels"],
                                obj["spec"]["template"]["spec"], maps))
    return out


def label_selector(labels: Mapping[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


@dataclass(frozen=True)
class Kube:
    kubeconfig: str | None = None
    context: str | None = None

    def kubectl(self, *args: str) -> list[str]:
        found = shutil.which("kubectl")
        if found is None:
            raise InputError("kubectl: not found on PATH (needed to verify a cluster)")
        flags = [*(["--kubeconfig", self.kubeconfig] if self.kubeconfig else []),
                 *(["--context", self.context] if self.context else [])]
        return [found, *flags, *args]

    def host_url(self, pod: str, container: str, namespace: str) -> str:
        query = {"container": container, "namespace": namespace}
        if self.kubeconfig:
            query["kubeconfig"] = self.kubeconfig
        if self.context:
            query["context"] = self.context
        return f"kubectl://{pod}?{urllib.parse.urlencode(query)}"

    def host(self, pod: str, container: str, namespace: str) -> Host:
        return testinfra.get_host(self.host_url(pod, container, namespace))

    def running_pods(self, workload: Workload) -> list[str]:
        argv = self.kubectl("get", "pods", "-n", workload.namespace, "-l", label_selector(workload.selector),
                            "-o", "json")
        run = subprocess.run(argv, capture_output=True, text=True, timeout=KUBECTL_TIMEOUT, check=False)
        if run.returncode != 0:
            last = (run.stderr.strip().splitlines() or [f"exit {run.returncode}"])[-1]
            raise InputError(f"kubectl get pods -n {workload.namespace}: {last}")
        items = json.loads(run.stdout).get("items", [])
        return sorted(i["metadata"]["name"] for i in items if (i.get("status") or {}).get("phase") == "Running")


def egress_command(address: str, port: int) -> str:
    """Exit 0 if a TCP connection opens, 3 if it does not, 127 if the image has no client to try."""
    python = ("import socket,sys; s=socket.socket(); s.settimeout(5); "
              "sys.exit(0 if s.connect_ex((sys.argv[1], int(sys.argv[2]))) == 0 else 3)")
    return (f"if command -v python3 >/dev/null 2>&1; then python3 -c '{python}' {address} {port}; "
            f"elif command -v bash >/dev/null 2>&1 && command -v timeout >/dev/null 2>&1; then "
            f"timeout 5 bash -c 'exec 3<>/dev/tcp/$0/$1' {address} {port} && exit 0 || exit 3; "
            "else exit 127; fi")


def _no_egress(host: Host, probe: tuple[str, int]) -> Outcome:
    result = host.run(egress_command(*probe))
    evidence = {"destination": f"{probe[0]}:{probe[1]} (TCP, 5 s timeout, sent from the pod)", "exit": str(result.rc)}
    if result.rc == 0:
        return False, f"the pod opened a connection to {probe[0]}:{probe[1]}: it has a route to the internet", evidence
    if result.rc == 3:
        return True, f"no connection from the pod to {probe[0]}:{probe[1]}", evidence
    evidence["stderr"] = str(result.stderr).strip()[:300]
    return False, "could not probe egress (no python3, or bash and timeout, in the image)", evidence


def _mounted_files(workload: Workload, container: Mapping[str, Any]) -> dict[str, str]:
    """Path in the container -> rendered content, for every ConfigMap the container mounts."""
    volumes = {v["name"]: v["configMap"]["name"] for v in workload.pod.get("volumes", []) if "configMap" in v}
    files: dict[str, str] = {}
    for mount in container.get("volumeMounts", []):
        data = workload.config_maps.get(volumes.get(mount["name"], ""))
        if data is None:
            continue
        if mount.get("subPath"):
            files[mount["mountPath"]] = data[mount["subPath"]]
        else:
            files.update({f"{mount['mountPath'].rstrip('/')}/{key}": text for key, text in data.items()})
    return files


def _matches(host: Host, files: Mapping[str, str]) -> Outcome:
    differing = [path for path, text in files.items() if probes.read(host, path) != text]
    evidence = {"files": ", ".join(sorted(files))}
    if differing:
        evidence["differing"] = ", ".join(differing)
        return False, f"{len(differing)} configuration file(s) differ from what the stack renders", evidence
    return True, f"{len(files)} configuration file(s) as rendered", evidence


def _certificate(host: Host, domain: str) -> Outcome:
    return tls.certificate(probes.read(host, "/etc/coturn/tls/tls.crt"), domain)


def _read_all(host: Host, paths: Sequence[str]) -> dict[str, str]:
    return {path: probes.read(host, path) for path in paths}


def _livekit(host: Host, turn_domain: str) -> Outcome:
    config = yaml.safe_load(probes.read(host, "/run/livekit/config.yaml")) or {}
    rtc = config.get("rtc") or {}
    problems = []
    if not rtc.get("stun_servers"):
        problems.append("no rtc.stun_servers (LiveKit would fall back to Google's STUN servers)")
    turn = rtc.get("turn_servers") or []
    if not turn or any(t.get("host") != turn_domain for t in turn):
        problems.append(f"rtc.turn_servers do not all point at {turn_domain}")
    if any(str(t.get("credential", "")).startswith("__") for t in turn):
        problems.append("the TURN credential placeholder was never replaced")
    evidence = {"stun_servers": ", ".join(map(str, rtc.get("stun_servers") or [])) or "(none)",
                "turn_servers": ", ".join(f"{t.get('host')}:{t.get('port')}/{t.get('protocol')}" for t in turn)}
    if problems:
        return False, "LiveKit rtc: " + "; ".join(problems), evidence
    return True, f"LiveKit uses its own STUN/TURN ({turn_domain}) with a minted credential", evidence


def _realm(host: Host, files: Mapping[str, str], stack: Stack) -> Outcome:
    (path,) = [p for p in files if p.endswith("-realm.json")]
    realm = json.loads(probes.read(host, path))
    brokers = {p.get("alias"): p for p in realm.get("identityProviders") or []}
    evidence = {"realm": str(realm.get("realm")), "brokers": ", ".join(map(str, brokers)) or "(none)",
                "sslRequired": str(realm.get("sslRequired"))}
    wanted = stack.config.identity.proconnect
    problems = [] if realm.get("sslRequired") == "all" else ["sslRequired is not 'all'"]
    if wanted is not None:
        pc = brokers.get("proconnect") or {}
        issuer = (pc.get("config") or {}).get("issuer", "")
        if not pc.get("enabled") or issuer != wanted.issuer.rstrip("/"):
            problems.append(f"no enabled ProConnect broker with issuer {wanted.issuer}")
        elif "acr_values=" not in (pc.get("config") or {}).get("authorizationUrl", ""):
            problems.append("the ProConnect broker does not ask for acr_values")
    if problems:
        return False, "Keycloak realm: " + "; ".join(problems), evidence
    return True, "Keycloak realm as declared" + (" (ProConnect broker)" if wanted else ""), evidence


def _pod_checks(kube: Kube, stack: Stack, policy: PolicyConfig, w: Workload, pod: str,
                egress: tuple[str, int]) -> list[CheckResult]:
    results: list[CheckResult] = []
    turn = stack.config.media.turn
    for container in w.pod["containers"]:
        host = kube.host(pod, container["name"], w.namespace)
        target = f"{w.namespace}/{pod}/{container['name']}"
        files = _mounted_files(w, container)
        ports = [(p.get("protocol", "TCP").lower(), int(p["containerPort"])) for p in container.get("ports", [])]
        privileged = any(port < 1024 for _, port in ports)
        extra: dict[str, Callable[[], Outcome]] = {}
        results.append(checks.process_user(f"{w.name}-user", target, host, 1, privileged_port=privileged))
        if ports:
            results.append(checks.listening(f"{w.name}-listening", target, host, ports, None))
        if files:
            results.append(run_check(f"{w.name}-config-as-rendered", target, partial(_matches, host, files)))
        effective = list(files)
        if container["name"] == "coturn":
            try:
                conf = probes.read(host, "/etc/coturn/turnserver.conf")
            except OSError as exc:
                results.append(CheckResult("coturn-config", target, False, f"could not check: {exc}"))
            else:
                relay = (turn.relayPortRange.start, turn.relayPortRange.end)
                results.extend(checks.coturn_config(conf, target, relay))
            extra["coturn-certificate"] = partial(_certificate, host, turn.domain)
        if container["name"] == "livekit":
            extra["livekit-rtc"] = partial(_livekit, host, turn.domain)
            effective.append("/run/livekit/config.yaml")  # written by the init container
        if container["name"] == "keycloak":
            extra["keycloak-realm"] = partial(_realm, host, files, stack)
        if container["name"] == "redis":
            results.append(checks.redis_requires_auth(target, host, 6379))
        if w.chart == catalogue.service("captioning").chart:
            extra["captioning-no-egress"] = partial(_no_egress, host, egress)
        results.extend(run_check(check, target, probe) for check, probe in extra.items())
        results.append(checks.endpoints(f"{w.name}-endpoints", target, w.name, w.namespace, host, 1,
                                        partial(_read_all, host, effective),
                                        container, policy))
    return results


def verify_cluster(stack: Stack, kube: Kube, egress: tuple[str, int] = EGRESS_PROBE,
                   only: Sequence[str] = ()) -> list[CheckResult]:
    policy = from_stack(stack)
    results: list[CheckResult] = []
    for w in workloads(stack):
        if only and w.chart not in only:
            continue
        pods = kube.running_pods(w)
        selector = f"{w.namespace} -l {label_selector(w.selector)}"
        results.append(CheckResult(f"{w.name}-running", f"{w.namespace}/{w.name}", bool(pods),
                                   f"{len(pods)} running pod(s)" if pods else "no running pod",
                                   {"selector": selector, "pods": ", ".join(pods) or "(none)"}))
        for pod in pods:
            results.extend(_pod_checks(kube, stack, policy, w, pod, egress))
    return results
