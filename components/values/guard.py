"""Values of `charts/guard` (the admission webhook) and its Secrets: none but the serving certificate,
which the Guard component generates or cert-manager issues."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from common.config import StackConfig
from components.values.common import image
from components.values.secrets import SecretSet

TLS_SECRET = "guard-tls"


def secrets(stack: StackConfig) -> SecretSet:
    return {}


def values(stack: StackConfig, policy: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return {
        "requireDigests": stack.production,
        "image": image(stack, "visio-guard"),
        "replicas": 2,
        "policy": dict(policy or {}),
        "tlsSecretName": TLS_SECRET,
        "clusterIssuer": stack.tls.issuer or "",
        "runAsUser": 10001,
        "resources": {"requests": {"cpu": "100m", "memory": "192Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}},
    }
