"""What can be checked of captioning without its model: the audio's only destinations are in-cluster.

The speech-to-text servers need model weights that no registry reachable here ships, so they are
not started. What decides where the audio goes is the agent's configuration, and that is checked
on what the captioning chart renders: every URL the agent is given names a Service that the stack's
own charts render, in the namespace named, on a port the Service exposes, and selecting the pods of
a workload the stack deploys; the agent and the STT server run offline (no model download, no error
reporting to a third party).
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from visio.report.checkresult import Outcome

CLUSTER_SUFFIX = ".svc.cluster.local"
URL_SCHEMES = ("ws", "wss", "http", "https", "grpc", "grpcs")
OFFLINE = {"HF_HUB_OFFLINE": "1"}
NO_THIRD_PARTY = {"SENTRY_DSN": ""}


def _containers(objects: Iterable[Mapping[str, Any]], name: str) -> list[Mapping[str, Any]]:
    return [c for o in objects if o.get("kind") == "Deployment"
            for c in o["spec"]["template"]["spec"].get("containers") or [] if c.get("name") == name]


def _pods(objects: Iterable[Mapping[str, Any]]) -> list[tuple[str, Mapping[str, str]]]:
    """(namespace, pod labels) of every workload rendered."""
    return [(str(o["metadata"].get("namespace")), o["spec"]["template"]["metadata"].get("labels") or {})
            for o in objects if o.get("kind") in ("Deployment", "StatefulSet", "DaemonSet")]


def _service_problem(url: str, objects: Sequence[Mapping[str, Any]]) -> str | None:
    """Why `url` is not an in-cluster Service of the stack, or None."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if not host.endswith(CLUSTER_SUFFIX) or host.count(".") != 4:
        return f"{host or url!r} is not an in-cluster Service name (<service>.<namespace>{CLUSTER_SUFFIX})"
    name, namespace = host.split(".")[:2]
    service = next((o for o in objects if o.get("kind") == "Service" and o["metadata"]["name"] == name
                    and o["metadata"].get("namespace") == namespace), None)
    if service is None:
        return f"no Service {namespace}/{name} among what the stack renders"
    port = parts.port or {"ws": 80, "http": 80, "wss": 443, "https": 443}.get(parts.scheme)
    if port not in {p.get("port") for p in service["spec"].get("ports") or []}:
        return f"Service {namespace}/{name} exposes no port {port}"
    selector = service["spec"].get("selector") or {}
    if not selector or not any(ns == namespace and selector.items() <= labels.items() for ns, labels in _pods(objects)):
        return f"Service {namespace}/{name} selects no pod the stack deploys"
    return None


def audio_in_cluster(captioning: Sequence[Mapping[str, Any]], others: Sequence[Mapping[str, Any]]) -> Outcome:
    """`captioning`: what the captioning chart renders; `others`: the other charts' objects (LiveKit)."""
    objects = [*captioning, *others]
    agents, stts = _containers(captioning, "agent"), _containers(captioning, "stt")
    if not agents or not stts:
        return False, "the rendered captioning chart no longer has its agent and stt containers", {}
    evidence: dict[str, str] = {}
    problems: list[str] = []
    for container in agents:
        for item in container.get("env") or []:
            value = str(item.get("value", ""))
            if urllib.parse.urlsplit(value).scheme not in URL_SCHEMES:
                continue
            evidence[item["name"]] = value
            problem = _service_problem(value, objects)
            if problem is not None:
                problems.append(f"{item['name']}: {problem}")
    for container, wanted in [*((c, {**OFFLINE, **NO_THIRD_PARTY}) for c in agents), *((c, OFFLINE) for c in stts)]:
        env = {e["name"]: str(e.get("value")) for e in container.get("env") or [] if "value" in e}
        problems += [f"{container['name']}: {k} is {env.get(k)!r}, not {v!r}" for k, v in wanted.items()
                     if env.get(k) != v]
    if not evidence:
        problems.append("the agent is given no URL at all: where its audio goes is not said")
    if problems:
        return False, "; ".join(problems), evidence
    return True, (f"the agent's {len(evidence)} URLs name in-cluster Services of the stack; agent and STT run "
                  "offline"), evidence
