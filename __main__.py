"""The Visio platform of one ministry stack: signalling, media, identity and, when enabled, captioning.

Everything that can be refused is checked first (configuration, sizing, chart values, Secret
declarations), so a bad stack stops the program before any resource is registered.
"""

from __future__ import annotations

import os
from types import ModuleType

import pulumi
import pulumi_kubernetes as k8s

from components.base import Release
from components.captioning import Captioning
from components.identity import Identity
from components.media import Media, turn_uris
from components.secrets import SecretPool, resolve
from components.signalling import Signalling
from components.sizing import size
from components.stack import stack_config
from components.values import captioning, identity, media, signalling
from components.values.secrets import SecretSet


def declared_secrets(module: ModuleType) -> SecretSet:
    builder = getattr(module, "secrets", None)
    return dict(builder(stack) if callable(builder) else module.SECRETS)


def release(module: ModuleType) -> Release:
    return Release(chart=module.CHART, values=module.values(stack), secrets=declared_secrets(module))


stack = stack_config()
sizing = size(stack)
services: dict[str, ModuleType] = {"signalling": signalling, "media": media, "identity": identity}
if stack.captioning.enabled:
    services["captioning"] = captioning
releases = {name: release(module) for name, module in services.items()}
resolve((r.secrets for r in releases.values()), stack)

# From here on, resources. The provider is explicit so that no resource lands on whatever cluster
# the ambient kubeconfig happens to point at.
kube = pulumi.Config("kubernetes")
kubeconfig = kube.get_secret("kubeconfig")
if kubeconfig is None and os.environ.get("KUBECONFIG"):
    kubeconfig = pulumi.Output.secret(os.environ["KUBECONFIG"])
provider = k8s.Provider(
    "k8s",
    kubeconfig=kubeconfig,
    context=kube.get("context"),
    enable_server_side_apply=True,
)
opts = pulumi.ResourceOptions(providers=[provider])

pool = SecretPool("secrets", stack, (r.secrets for r in releases.values()))
parts: dict[str, Signalling | Media | Identity | Captioning] = {
    "identity": Identity("identity", stack, releases["identity"], pool, opts),
    "signalling": Signalling("signalling", stack, releases["signalling"], pool, opts),
    "media": Media("media", stack, releases["media"], pool, opts),
}
if "captioning" in releases:
    parts["captioning"] = Captioning("captioning", stack, releases["captioning"], pool, opts)

pulumi.export("webUrl", f"https://{stack.domains.web}")
pulumi.export("identityUrl", f"https://{stack.domains.identity}/realms/{stack.identity.realm}")
pulumi.export("livekitUrl", f"wss://{stack.domains.media}")
pulumi.export("turnUris", turn_uris(stack))
pulumi.export("namespaces", {name: part.namespace.metadata.name for name, part in parts.items()})
pulumi.export(
    "capacity",
    {"sfuNodes": sizing.sfu_nodes, "turnReplicas": sizing.turn_replicas, "sttReplicas": sizing.stt_replicas},
)
