"""The kinds a cluster scan reads: every kind a rule understands, and how to list it.

Each entry names the kind's API version, plural and scope, from which its REST paths follow.
Custom resources (cert-manager issuers) are read only when discovery shows their API group. Secrets
are read as metadata only: the list asks the server for `PartialObjectMetadataList`, so their data
never crosses the wire.
"""

from __future__ import annotations

from dataclasses import dataclass

# Content negotiation for metadata-only reads; a server that cannot answer it gets no fallback to
# full objects (the kind is reported as not audited instead).
METADATA_LIST_ACCEPT = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
METADATA_ACCEPT = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"

# Objects per list request: bounded pages keep memory flat on large clusters.
PAGE_SIZE = 500


def version_root(api_version: str) -> str:
    """An API version's root path: `/api/v1` for the core group, `/apis/apps/v1` for the others."""
    return f"/apis/{api_version}" if "/" in api_version else f"/api/{api_version}"


@dataclass(frozen=True)
class Kind:
    api_version: str  # "v1", "apps/v1", "cert-manager.io/v1"
    kind: str
    plural: str
    namespaced: bool = True
    # A custom resource: its group may not be served at all, which is then nothing to read.
    custom: bool = False
    metadata_only: bool = False

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @property
    def version(self) -> str:
        return self.api_version.rpartition("/")[2]

    @property
    def base(self) -> str:
        return version_root(self.api_version)

    def path(self, namespace: str | None = None, name: str | None = None) -> str:
        """The collection (all namespaces when `namespace` is None), or one object when `name` is given."""
        scope = f"/namespaces/{namespace}" if self.namespaced and namespace else ""
        return f"{self.base}{scope}/{self.plural}" + (f"/{name}" if name else "")

    @property
    def label(self) -> str:
        """How reports name the kind: `Deployment (apps/v1)`."""
        return f"{self.kind} ({self.api_version})"


KINDS: tuple[Kind, ...] = (
    Kind("v1", "Namespace", "namespaces", namespaced=False),
    Kind("v1", "Node", "nodes", namespaced=False),
    Kind("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration",
          "validatingwebhookconfigurations", namespaced=False),
    Kind("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration",
          "mutatingwebhookconfigurations", namespaced=False),
    Kind("apps/v1", "Deployment", "deployments"),
    Kind("apps/v1", "StatefulSet", "statefulsets"),
    Kind("apps/v1", "DaemonSet", "daemonsets"),
    Kind("apps/v1", "ReplicaSet", "replicasets"),
    Kind("batch/v1", "CronJob", "cronjobs"),
    Kind("batch/v1", "Job", "jobs"),
    Kind("v1", "ReplicationController", "replicationcontrollers"),
    Kind("v1", "PodTemplate", "podtemplates"),
    Kind("v1", "Pod", "pods"),
    Kind("v1", "Service", "services"),
    Kind("v1", "Endpoints", "endpoints"),
    Kind("discovery.k8s.io/v1", "EndpointSlice", "endpointslices"),
    Kind("networking.k8s.io/v1", "Ingress", "ingresses"),
    Kind("networking.k8s.io/v1", "NetworkPolicy", "networkpolicies"),
    Kind("v1", "ConfigMap", "configmaps"),
    Kind("v1", "Secret", "secrets", metadata_only=True),
    Kind("cert-manager.io/v1", "Issuer", "issuers", custom=True),
    Kind("cert-manager.io/v1", "ClusterIssuer", "clusterissuers", namespaced=False, custom=True),
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
