"""Values shared by our own charts: images from the stack's registry, zones, replica floors."""

from __future__ import annotations

from typing import Any

from common.config import StackConfig
from common.images import image_ref


def image(stack: StackConfig, name: str) -> str:
    return image_ref(stack.registry.host, name, stack.registry.digests.get(name))


def topology(stack: StackConfig) -> dict[str, Any]:
    # Pods are pinned to the stack's declared zones (all checked to be in the EU) except on
    # premises, where nodes often carry no zone label at all.
    return {
        "zones": list(stack.cluster.zones),
        "pinZones": stack.cluster.provider != "on-premises",
    }


def replica_floor(stack: StackConfig) -> int:
    """One replica per zone outside development, and never fewer than two: a zone can be lost."""
    if stack.environment == "dev":
        return 1
    return max(2, len(stack.cluster.zones))


def tls_ingress(stack: StackConfig) -> dict[str, str]:
    """The TLS part of a chart's `ingress` values: the ClusterIssuer, or "" for a provisioned Secret.

    With `tls.issuer` set, cert-manager issues each Ingress's certificate into the Secret the chart
    names; without it, the ministry provisions those Secrets before the first deployment.
    """
    return {"clusterIssuer": stack.tls.issuer or ""}
