"""The kinds a cluster scan reads: every kind a rule understands, and how to list it.

Each entry names the official client's typed list calls (all namespaces, one namespace). Custom
resources (cert-manager issuers) go through `CustomObjectsApi` and are read only when discovery shows
their API group. Secrets are read as metadata only: the list asks the server for
`PartialObjectMetadataList`, so their data never crosses the wire.
"""

from __future__ import annotations

from dataclasses import dataclass

# Content negotiation for metadata-only reads; a server that cannot answer it gets no fallback to
# full objects (the kind is reported as not audited instead).
METADATA_LIST_ACCEPT = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
METADATA_ACCEPT = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"

# Objects per list request: bounded pages keep memory flat on large clusters.
PAGE_SIZE = 500


@dataclass(frozen=True)
class Kind:
    api_version: str  # "v1", "apps/v1", "cert-manager.io/v1"
    kind: str
    plural: str
    namespaced: bool
    # Typed client: API class name in `kubernetes.client`, method for all namespaces / one namespace.
    api: str | None = None
    list_all: str | None = None
    list_namespaced: str | None = None
    # Custom resources are listed through CustomObjectsApi when their group is served.
    custom: bool = False
    metadata_only: bool = False

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @property
    def version(self) -> str:
        return self.api_version.rpartition("/")[2]

    @property
    def label(self) -> str:
        """How reports name the kind: `Deployment (apps/v1)`."""
        return f"{self.kind} ({self.api_version})"


def _core(kind: str, plural: str, snake: str, namespaced: bool = True, metadata_only: bool = False) -> Kind:
    if not namespaced:
        return Kind("v1", kind, plural, False, "CoreV1Api", f"list_{snake}")
    return Kind("v1", kind, plural, True, "CoreV1Api", f"list_{snake}_for_all_namespaces",
                f"list_namespaced_{snake}", metadata_only=metadata_only)


def _typed(api_version: str, api: str, kind: str, plural: str, snake: str, namespaced: bool = True) -> Kind:
    if not namespaced:
        return Kind(api_version, kind, plural, False, api, f"list_{snake}")
    return Kind(api_version, kind, plural, True, api, f"list_{snake}_for_all_namespaces", f"list_namespaced_{snake}")


KINDS: tuple[Kind, ...] = (
    _core("Namespace", "namespaces", "namespace", namespaced=False),
    _core("Node", "nodes", "node", namespaced=False),
    _typed("admissionregistration.k8s.io/v1", "AdmissionregistrationV1Api", "ValidatingWebhookConfiguration",
           "validatingwebhookconfigurations", "validating_webhook_configuration", namespaced=False),
    _typed("admissionregistration.k8s.io/v1", "AdmissionregistrationV1Api", "MutatingWebhookConfiguration",
           "mutatingwebhookconfigurations", "mutating_webhook_configuration", namespaced=False),
    _typed("apps/v1", "AppsV1Api", "Deployment", "deployments", "deployment"),
    _typed("apps/v1", "AppsV1Api", "StatefulSet", "statefulsets", "stateful_set"),
    _typed("apps/v1", "AppsV1Api", "DaemonSet", "daemonsets", "daemon_set"),
    _typed("apps/v1", "AppsV1Api", "ReplicaSet", "replicasets", "replica_set"),
    _typed("batch/v1", "BatchV1Api", "CronJob", "cronjobs", "cron_job"),
    _typed("batch/v1", "BatchV1Api", "Job", "jobs", "job"),
    _core("ReplicationController", "replicationcontrollers", "replication_controller"),
    _core("PodTemplate", "podtemplates", "pod_template"),
    _core("Pod", "pods", "pod"),
    _core("Service", "services", "service"),
    _core("Endpoints", "endpoints", "endpoints"),
    _typed("discovery.k8s.io/v1", "DiscoveryV1Api", "EndpointSlice", "endpointslices", "endpoint_slice"),
    _typed("networking.k8s.io/v1", "NetworkingV1Api", "Ingress", "ingresses", "ingress"),
    _typed("networking.k8s.io/v1", "NetworkingV1Api", "NetworkPolicy", "networkpolicies", "network_policy"),
    _core("ConfigMap", "configmaps", "config_map"),
    _core("Secret", "secrets", "secret", metadata_only=True),
    Kind("cert-manager.io/v1", "Issuer", "issuers", True, custom=True),
    Kind("cert-manager.io/v1", "ClusterIssuer", "clusterissuers", False, custom=True),
)

# Objects a controller creates from a template another kind declares: judged through their owner
# when the owner was read (their pods' running images are still judged one by one).
GENERATED = frozenset({"ReplicaSet", "Job", "Pod"})


def by_kind(name: str) -> Kind | None:
    """The table entry for a kind name, case-insensitive, plural accepted."""
    wanted = name.lower()
    for kind in KINDS:
        if wanted in (kind.kind.lower(), kind.plural):
            return kind
    return None
