"""The ValidatingWebhookConfiguration of the webhook that runs the engine (`visio admission serve`).

Failure policy Fail: a webhook that cannot be reached, or whose certificate the API server does not
trust, refuses every request it guards. The control plane's namespaces and the webhook's own are not
guarded, so the webhook can always be repaired; its timeout stays well under the API server's 30 s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from policies.admission.policies import API_VERSION, CONTROL_PLANE_NAMESPACES, NAMESPACE_LABEL
from policies.admission.review import WEBHOOK_RESOURCES

WEBHOOK_NAME = "guard.visio.numerique.gouv.fr"
PATH = "/validate"
TIMEOUT_SECONDS = 5


def webhook_configuration(name: str, client_config: Mapping[str, Any], own_namespaces: Sequence[str] = (),
                          labels: Mapping[str, str] | None = None,
                          timeout_seconds: int = TIMEOUT_SECONDS) -> dict[str, Any]:
    """`client_config`: `{service: {...}}` in the cluster, or `{url: ...}` for a webhook run outside it,
    with its `caBundle` (base64 PEM)."""
    exempt = [*CONTROL_PLANE_NAMESPACES, *(n for n in own_namespaces if n not in CONTROL_PLANE_NAMESPACES)]
    return {
        "apiVersion": API_VERSION,
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": name, "labels": dict(labels or {})},
        "webhooks": [{
            "name": WEBHOOK_NAME,
            "clientConfig": dict(client_config),
            "rules": [{"apiGroups": [group], "apiVersions": ["*"], "operations": ["CREATE", "UPDATE"],
                       "resources": list(resources), "scope": "*"} for group, resources in WEBHOOK_RESOURCES],
            "failurePolicy": "Fail",
            "matchPolicy": "Equivalent",
            # The webhook only reads: the API server may call it for dry-run requests too.
            "sideEffects": "None",
            "admissionReviewVersions": ["v1"],
            "timeoutSeconds": timeout_seconds,
            "namespaceSelector": {"matchExpressions": [
                {"key": NAMESPACE_LABEL, "operator": "NotIn", "values": exempt}]},
        }],
    }
