"""Effective configuration and process environment judged by the rule engine's endpoint rules.

What a running process actually reads (its config files, its environment) is wrapped as a ConfigMap
and a Pod and handed to `endpoint-sovereignty` and `implicit-endpoint`, the same rules `visio plan`
runs. Values that come from Secrets are left out: they are credentials, never endpoints, and must
not reach a report.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from policies.engine.config import PolicyConfig
from policies.engine.evaluate import evaluate
from policies.engine.model import Resource
from policies.engine.report import Report
from policies.rules.endpoint_sovereignty import RULE as ENDPOINT_SOVEREIGNTY
from policies.rules.implicit_endpoint import RULE as IMPLICIT_ENDPOINT
from visio.report.checkresult import Outcome

_REFERENCE = re.compile(r"\$\((\w+)\)")
# Keys of configuration documents whose values are credentials (LiveKit's minted TURN credential).
SECRET_KEYS = ("credential", "password", "secret", "username", "keys")


def secret_env(container: Mapping[str, Any]) -> set[str]:
    """Environment variable names whose values come from Secrets, directly or through $(VAR)."""
    secret: set[str] = set()
    for item in container.get("env") or []:
        from_secret = bool((item.get("valueFrom") or {}).get("secretKeyRef"))
        refs = _REFERENCE.findall(str(item.get("value", "")))
        if from_secret or any(ref in secret for ref in refs):
            secret.add(item.get("name"))
    return secret


def _redact_lines(text: str) -> str:
    keys = "|".join(SECRET_KEYS)
    return re.sub(rf"(?im)^(\s*-?\s*(?:{keys})\s*[:=]\s*).*$", r"\1(redacted)", text)


def resources(owner: str, namespace: str | None, files: Mapping[str, str], env: Mapping[str, str],
              image: str | None) -> list[Resource]:
    meta = {"name": owner, **({"namespace": namespace} if namespace else {})}
    data = {path.strip("/").replace("/", "_"): _redact_lines(text) for path, text in files.items()}
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {**meta, "name": f"{owner}-effective"},
                  "data": data}
    container: dict[str, Any] = {"name": owner, "env": [{"name": k, "value": v} for k, v in sorted(env.items())]}
    if image:
        container["image"] = image
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": {"containers": [container]}}
    return [
        Resource("ConfigMap", "v1", f"{owner}-effective", namespace, config_map, source=f"effective files of {owner}"),
        Resource("Pod", "v1", owner, namespace, pod, source=f"process environment of {owner}"),
    ]


def judge(owner: str, namespace: str | None, files: Mapping[str, str], env: Mapping[str, str],
          image: str | None, policy: PolicyConfig, hidden: set[str]) -> tuple[Outcome, Report]:
    """`hidden` names environment variables left out (Secret-sourced)."""
    visible = {k: v for k, v in env.items() if k not in hidden}
    report = evaluate(resources(owner, namespace, files, visible, image), policy,
                      rules=(ENDPOINT_SOVEREIGNTY, IMPLICIT_ENDPOINT))
    evidence = {"files": ", ".join(sorted(files)) or "(none)", "variables": str(len(visible)),
                "left out (from Secrets)": ", ".join(sorted(hidden & set(env))) or "(none)"}
    if report.passed:
        return (True, f"no non-EU endpoint in {len(files)} file(s) and {len(visible)} variable(s)", evidence), report
    for i, finding in enumerate(report.mandatory):
        evidence[f"finding {i + 1}"] = f"{finding.rule}: {finding.path}: {finding.message}"
    return (False, f"{len(report.mandatory)} endpoint finding(s): {report.mandatory[0].message}", evidence), report
