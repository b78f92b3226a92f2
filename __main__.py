"""The Visio platform of one ministry stack: signalling, media, identity and, when enabled, captioning.

Everything that can be refused is checked first (configuration, sizing, chart values, Secret
declarations), so a bad stack stops the program before any resource is registered.
"""

from __future__ import annotations

import os

import pulumi
import pulumi_kubernetes as k8s

from components import catalogue
from components.base import ServiceComponent
from components.guard import WEBHOOK_CONFIGURATION, Guard, guard_namespace
from components.media import turn_uris
from components.secrets import SecretPool, resolve
from components.sizing import size
from components.stack import config_source, stack_config
from policies.admission.policies import validating_policies
from policies.admission.webhook import webhook_configuration
from policies.engine.stackconfig import from_config, to_json

stack = stack_config()
sizing = size(stack, config_source(pulumi.get_stack()))
services = catalogue.enabled(stack)
releases = {service.name: service.release(stack) for service in services}
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
parts: dict[str, ServiceComponent] = {
    s.name: s.component(s.name, stack, releases[s.name], pool, opts) for s in services
}

# The same rules at admission: the cluster itself refuses what leaves the EU.
policy = from_config(stack)
part_of = {"app.kubernetes.io/part-of": "visio"}
guard = Guard(
    stack,
    to_json(policy),
    validating_policies(policy, labels=part_of),
    webhook_configuration(WEBHOOK_CONFIGURATION, {}, own_namespaces=[guard_namespace()], labels=part_of),
    opts,
)

pulumi.export("webUrl", f"https://{stack.domains.web}")
pulumi.export("identityUrl", f"https://{stack.domains.identity}/realms/{stack.identity.realm}")
pulumi.export("livekitUrl", f"wss://{stack.domains.media}")
pulumi.export("turnUris", turn_uris(stack))
pulumi.export("namespaces", {**{name: part.namespace.metadata.name for name, part in parts.items()},
                             "guard": guard.namespace.metadata.name})
pulumi.export(
    "capacity",
    {"sfuNodes": sizing.sfu_nodes, "turnReplicas": sizing.turn_replicas, "sttGpus": sizing.stt_replicas,
     "nodePools": sizing.node_pools},
)
