"""What every service component does: its namespace, its Secrets, its chart, its NetworkPolicies."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import pulumi
import pulumi_kubernetes as k8s

from common.config import StackConfig
from common.paths import chart_path
from components import naming, network
from components.secrets import SecretPool
from components.values.secrets import SecretSet

PodSecurity = Literal["restricted", "baseline", "privileged"]
# What a namespace holds, for the data-protection register: call content (audio, video, captions)
# or personal data about users and meetings.
Classification = Literal["call-content", "personal-data", "configuration"]


@dataclass(frozen=True)
class Release:
    """A chart, the values the stack gives it and the Secrets its pods read."""

    chart: str
    values: Mapping[str, Any]
    secrets: SecretSet


def namespace_labels(stack: StackConfig, pod_security: PodSecurity, classification: Classification) -> dict[str, str]:
    labels = {
        "app.kubernetes.io/part-of": "visio",
        "visio.gouv.fr/ministry": stack.ministry,
        "visio.gouv.fr/environment": stack.environment,
        "visio.gouv.fr/data-classification": classification,
    }
    # Enforce, and also warn and audit so a violation is visible before a pod is refused.
    for mode in ("enforce", "warn", "audit"):
        labels[f"pod-security.kubernetes.io/{mode}"] = pod_security
        labels[f"pod-security.kubernetes.io/{mode}-version"] = "latest"
    return labels


class ServiceComponent(pulumi.ComponentResource):
    """One service of the platform in its own namespace (named after it); a subclass declares what differs."""

    TYPE: ClassVar[str]
    POD_SECURITY: ClassVar[PodSecurity] = "restricted"
    CLASSIFICATION: ClassVar[Classification]

    namespace: k8s.core.v1.Namespace

    def __init__(
        self,
        name: str,
        stack: StackConfig,
        release: Release,
        pool: SecretPool,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(self.TYPE, name, None, opts)
        self.stack = stack
        self.namespace_name = namespace = naming.namespace(name)
        self.namespace = k8s.core.v1.Namespace(
            namespace,
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=namespace, labels=namespace_labels(stack, self.POD_SECURITY, self.CLASSIFICATION)
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.policies = [self._network_policy(p) for p in network.policies(namespace, stack)]
        self.secrets = self._secrets(release.secrets, pool)
        self.chart = k8s.helm.v4.Chart(
            release.chart,
            chart=str(chart_path(release.chart)),
            # The plain name, not the Namespace's output: a preview then renders the chart in full
            # (the provider renders nothing while an input is unknown). depends_on keeps the order.
            namespace=namespace,
            values=dict(release.values),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.namespace, *self.secrets, *self.policies]),
        )
        self.register_outputs({"namespace": self.namespace.metadata.name, **self.outputs(stack)})

    def outputs(self, stack: StackConfig) -> Mapping[str, Any]:
        """What the service publishes besides its namespace (URLs, TURN URIs, ...)."""
        return {}

    def _child(self, *depends_on: pulumi.Resource) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, depends_on=[self.namespace, *depends_on])

    def _secrets(self, declared: SecretSet, pool: SecretPool) -> list[k8s.core.v1.Secret]:
        """One Kubernetes Secret per declared name, its values only ever carried as Pulumi secrets."""
        out = []
        for secret, keys in sorted(declared.items()):
            out.append(
                k8s.core.v1.Secret(
                    f"{self.namespace_name}/{secret}",
                    metadata=k8s.meta.v1.ObjectMetaArgs(
                        name=secret,
                        namespace=self.namespace_name,
                        labels={"app.kubernetes.io/part-of": "visio"},
                    ),
                    type="Opaque",
                    string_data={key: pool.value(secret, key) for key in sorted(keys)},
                    opts=pulumi.ResourceOptions.merge(
                        self._child(), pulumi.ResourceOptions(additional_secret_outputs=["data", "stringData"])
                    ),
                )
            )
        return out

    def _network_policy(self, policy: Mapping[str, Any]) -> k8s.networking.v1.NetworkPolicy:
        meta = policy["metadata"]
        return k8s.networking.v1.NetworkPolicy(
            f"{self.namespace_name}/{meta['name']}",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=meta["name"], namespace=self.namespace_name),
            spec=policy["spec"],
            opts=self._child(),
        )
