"""A cluster as it looks once a stack has been applied: the plan's objects as the API server stores
them (defaults filled in, status and managedFields added, empty lists dropped, Secret stringData
folded into data), the controllers' offspring (ReplicaSets, pods with the image digests the nodes
pulled, Endpoints and EndpointSlices) and nodes in the stack's region; then the defects tests plant.
"""

from __future__ import annotations

import base64
import copy
import hashlib
from collections.abc import Iterable
from typing import Any

from tests.cluster.fakeapi import FakeCluster
from visio.plan.stackplan import StackPlan

STACK = "interieur-prod"

# Planted defects and the findings each must produce (rule, kind, namespace, name, path).
DOCKER_HUB_IMAGE = "docker.io/library/nginx@sha256:4c0fdaa8b6341bfdeca5f18f7837462c80cff90527ee35ef185571e1c327beac"
US_CDN = "d3f5example1.cloudfront.net"
US_WEBHOOK = "https://admission.us-east-1.amazonaws.com/validate"


def _digest(image: str) -> str:
    return hashlib.sha256(image.encode()).hexdigest()


def image_id(image: str) -> str:
    """What containerd reports for a pulled image: the repository with the digest it resolved."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name = name[: len(name) - len(last)] + last.split(":", 1)[0]
    first = name.split("/", 1)[0]
    if "." not in first and ":" not in first and first != "localhost":
        name = f"docker.io/{name}" if "/" in name else f"docker.io/library/{name}"
    digest = image.split("@", 1)[1] if "@" in image else f"sha256:{_digest(image)}"
    return f"{name}@{digest}"


def _drop_empty(value: Any) -> Any:
    """Go's omitempty on slices: an empty list is not written back."""
    if isinstance(value, dict):
        return {k: _drop_empty(v) for k, v in value.items() if not (isinstance(v, list) and not v)}
    if isinstance(value, list):
        return [_drop_empty(v) for v in value]
    return value


def _container_defaults(c: dict[str, Any]) -> None:
    c.setdefault("terminationMessagePath", "/dev/termination-log")
    c.setdefault("terminationMessagePolicy", "File")
    c.setdefault("imagePullPolicy", "Always" if str(c.get("image", "")).endswith(":latest") else "IfNotPresent")
    c.setdefault("resources", {})
    for port in c.get("ports") or []:
        port.setdefault("protocol", "TCP")
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        if isinstance(c.get(probe), dict):
            for key, default in (("timeoutSeconds", 1), ("periodSeconds", 10), ("successThreshold", 1),
                                 ("failureThreshold", 3)):
                c[probe].setdefault(key, default)


def _pod_spec_defaults(spec: dict[str, Any]) -> None:
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("securityContext", {})
    spec.setdefault("terminationGracePeriodSeconds", 30)
    for field in ("containers", "initContainers"):
        for c in spec.get(field) or []:
            _container_defaults(c)


def stored(obj: dict[str, Any]) -> dict[str, Any]:
    """The object as `kubectl get -o json` would show it after a server-side apply."""
    obj = _drop_empty(copy.deepcopy(obj))
    kind = obj["kind"]
    meta = obj.setdefault("metadata", {})
    meta["managedFields"] = [{"manager": "pulumi-kubernetes-6f2c7e", "operation": "Apply", "apiVersion":
                              obj["apiVersion"], "time": "2025-03-01T09:00:00Z", "fieldsType": "FieldsV1",
                              "fieldsV1": {"f:metadata": {}}}]
    spec = obj.get("spec")
    if kind in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
        meta["generation"] = 1
        template = spec["template"]
        _pod_spec_defaults(template["spec"])
        template.setdefault("metadata", {}).setdefault("creationTimestamp", None)
        replicas = spec.get("replicas", 1)
        if kind == "Deployment":
            spec.setdefault("replicas", 1)
            spec.setdefault("progressDeadlineSeconds", 600)
            spec.setdefault("revisionHistoryLimit", 10)
            spec.setdefault("strategy", {"type": "RollingUpdate",
                                         "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}})
            meta.setdefault("annotations", {})["deployment.kubernetes.io/revision"] = "1"
            obj["status"] = {"observedGeneration": 1, "replicas": replicas, "readyReplicas": replicas,
                             "availableReplicas": replicas, "updatedReplicas": replicas,
                             "conditions": [{"type": "Available", "status": "True",
                                             "reason": "MinimumReplicasAvailable"}]}
        elif kind == "StatefulSet":
            spec.setdefault("podManagementPolicy", "OrderedReady")
            spec.setdefault("updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
            spec.setdefault("persistentVolumeClaimRetentionPolicy", {"whenDeleted": "Retain", "whenScaled": "Retain"})
            for claim in spec.get("volumeClaimTemplates") or []:
                claim.setdefault("apiVersion", "v1")
                claim.setdefault("kind", "PersistentVolumeClaim")
                claim["spec"].setdefault("volumeMode", "Filesystem")
                claim["status"] = {"phase": "Pending"}
            obj["status"] = {"observedGeneration": 1, "replicas": replicas, "readyReplicas": replicas,
                             "currentRevision": f"{meta['name']}-7d9f8b6c5", "availableReplicas": replicas}
        elif kind == "Job":
            spec.setdefault("backoffLimit", 6)
            spec.setdefault("completions", 1)
            spec.setdefault("parallelism", 1)
            spec.setdefault("completionMode", "NonIndexed")
            spec.setdefault("suspend", False)
            uid = "11111111-2222-4333-8444-" + _digest(meta["name"])[:12]
            spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
            template["metadata"].setdefault("labels", {}).update(
                {"batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": meta["name"],
                 "controller-uid": uid, "job-name": meta["name"]})
            obj["status"] = {"succeeded": 1, "startTime": "2025-03-01T09:00:05Z",
                             "completionTime": "2025-03-01T09:01:10Z"}
    elif kind == "Service":
        spec.setdefault("type", "ClusterIP")
        if spec["type"] != "ExternalName":
            spec.setdefault("sessionAffinity", "None")
            spec.setdefault("internalTrafficPolicy", "Cluster")
            if spec.get("clusterIP") != "None":
                spec["clusterIP"] = "10.96." + str(int(_digest(meta["name"])[:2], 16)) + ".17"
            spec["clusterIPs"] = [spec["clusterIP"]]
            spec.setdefault("ipFamilies", ["IPv4"])
            spec.setdefault("ipFamilyPolicy", "SingleStack")
            for port in spec.get("ports") or []:
                port.setdefault("protocol", "TCP")
                port.setdefault("targetPort", port["port"])
        obj["status"] = {"loadBalancer": {}}
    elif kind == "Namespace":
        meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = meta["name"]
        obj["spec"] = {"finalizers": ["kubernetes"]}
        obj["status"] = {"phase": "Active"}
    elif kind == "Secret":
        string_data = obj.pop("stringData", None)
        # A whole stringData held as one Pulumi secret is redacted to a string by the plan: keys unknown.
        string_data = string_data if isinstance(string_data, dict) else {"value": str(string_data)}
        data = {k: base64.b64encode(str(v).encode()).decode() for k, v in string_data.items()}
        obj["data"] = {**(obj.get("data") or {}), **data}
        obj.setdefault("type", "Opaque")
    elif kind == "PodDisruptionBudget":
        obj["status"] = {"currentHealthy": 2, "desiredHealthy": 1, "disruptionsAllowed": 1, "expectedPods": 2,
                         "observedGeneration": 1}
    elif kind == "HorizontalPodAutoscaler":
        obj["status"] = {"currentReplicas": 2, "desiredReplicas": 2}
    elif kind == "Ingress":
        obj["status"] = {"loadBalancer": {"ingress": [{"ip": "10.0.40.12"}]}}
    return obj


def _owner(obj: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": obj["metadata"]["name"],
            "uid": obj["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}


def _pod(owner: dict[str, Any], template: dict[str, Any], name: str, index: int, node: str) -> dict[str, Any]:
    spec = copy.deepcopy(template["spec"])
    spec["nodeName"] = node
    spec.setdefault("serviceAccountName", "default")
    statuses: dict[str, list[dict[str, Any]]] = {}
    for field, status_field in (("containers", "containerStatuses"), ("initContainers", "initContainerStatuses")):
        for c in spec.get(field) or []:
            statuses.setdefault(status_field, []).append({
                "name": c["name"], "image": c["image"], "imageID": image_id(c["image"]),
                "ready": field == "containers", "restartCount": 0, "started": field == "containers",
                "containerID": f"containerd://{_digest(name + c['name'])}",
            })
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": owner["metadata"]["namespace"],
                     "labels": dict(template.get("metadata", {}).get("labels") or {}),
                     "ownerReferences": [_owner(owner)]},
        "spec": spec,
        "status": {"phase": "Running", "podIP": f"10.42.{index % 250}.{10 + index % 200}", "qosClass": "Burstable",
                   **statuses},
    }


class Offspring:
    """Pod names and IPs, stable across runs."""

    def __init__(self) -> None:
        self.count = 0

    def pods_of(self, cluster: FakeCluster, workload: dict[str, Any], nodes: list[str]) -> list[dict[str, Any]]:
        kind = workload["kind"]
        replicas = workload["spec"].get("replicas", 1) if kind != "Job" else 1
        template = workload["spec"]["template"]
        owner = workload
        if kind == "Deployment":
            rs_name = f"{workload['metadata']['name']}-{_digest(workload['metadata']['name'])[:10]}"
            rs = cluster.add({
                "apiVersion": "apps/v1", "kind": "ReplicaSet",
                "metadata": {"name": rs_name, "namespace": workload["metadata"]["namespace"],
                             "labels": dict(template.get("metadata", {}).get("labels") or {}),
                             "ownerReferences": [_owner(workload)]},
                "spec": {"replicas": replicas, "selector": workload["spec"]["selector"], "template": template},
                "status": {"replicas": replicas, "readyReplicas": replicas},
            })
            owner = rs
        pods = []
        for i in range(replicas):
            self.count += 1
            suffix = str(i) if kind == "StatefulSet" else _digest(f"{owner['metadata']['name']}{i}")[:5]
            pods.append(cluster.add(_pod(owner, template, f"{owner['metadata']['name']}-{suffix}", self.count,
                                         nodes[self.count % len(nodes)])))
        return pods


def _endpoints(cluster: FakeCluster, services: Iterable[dict[str, Any]], pods: list[dict[str, Any]]) -> None:
    for svc in services:
        selector = (svc.get("spec") or {}).get("selector")
        if not selector:
            continue
        ns = svc["metadata"]["namespace"]
        chosen = [p for p in pods if p["metadata"]["namespace"] == ns
                  and all(p["metadata"]["labels"].get(k) == v for k, v in selector.items())]
        ports = [{"name": p.get("name"), "port": p["port"], "protocol": p.get("protocol", "TCP")}
                 for p in svc["spec"].get("ports") or []]
        ports = [{k: v for k, v in p.items() if v is not None} for p in ports]
        if not chosen:
            continue
        cluster.add({"apiVersion": "v1", "kind": "Endpoints",
                     "metadata": {"name": svc["metadata"]["name"], "namespace": ns},
                     "subsets": [{"addresses": [{"ip": p["status"]["podIP"], "nodeName": p["spec"]["nodeName"]}
                                                for p in chosen], "ports": ports}]})
        cluster.add({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                     "metadata": {"name": f"{svc['metadata']['name']}-{_digest(ns)[:5]}", "namespace": ns,
                                  "labels": {"kubernetes.io/service-name": svc["metadata"]["name"],
                                             "endpointslice.kubernetes.io/managed-by":
                                                 "endpointslice-controller.k8s.io"},
                                  "ownerReferences": [_owner(svc)]},
                     "addressType": "IPv4",
                     "endpoints": [{"addresses": [p["status"]["podIP"]], "conditions": {"ready": True},
                                    "nodeName": p["spec"]["nodeName"]} for p in chosen],
                     "ports": ports})


def _node(name: str, region: str, zone: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": {
            "kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
            "topology.kubernetes.io/region": region, "topology.kubernetes.io/zone": zone,
            "node.kubernetes.io/instance-type": "tinav6.c8r16p1"}},
        "spec": {"podCIDR": "10.42.0.0/24"},
        "status": {"addresses": [{"type": "InternalIP", "address": "10.0.10.21"},
                                 {"type": "Hostname", "address": name}],
                   "nodeInfo": {"kubeletVersion": "v1.31.4", "containerRuntimeVersion": "containerd://1.7.24"},
                   "images": [{"names": ["registry.interieur.gouv.fr/visio/livekit/livekit-server@sha256:" + "0" * 64],
                               "sizeBytes": 52000000}]},
    }


def populate(cluster: FakeCluster, plan: StackPlan) -> None:
    """The applied stack, its pods and its nodes; no defect."""
    cfg = plan.stack.config.cluster
    nodes = [f"node-{zone}" for zone in cfg.zones]
    for node, zone in zip(nodes, cfg.zones, strict=True):
        cluster.add(_node(node, cfg.region, zone))
    offspring = Offspring()
    pods: list[dict[str, Any]] = []
    services = []
    served = {(r.api_version, r.kind) for r in cluster.resources}
    for obj in plan.objects:
        if (obj["apiVersion"], obj["kind"]) not in served:
            continue  # a custom resource of a group this cluster does not serve
        live = cluster.add(stored(obj))
        if live["kind"] in ("Deployment", "StatefulSet", "Job"):
            pods.extend(offspring.pods_of(cluster, live, nodes))
        if live["kind"] == "Service":
            services.append(live)
    _endpoints(cluster, services, pods)


def plant_defects(cluster: FakeCluster, plan: StackPlan) -> list[tuple[str, str, str | None, str, str]]:
    """The four defects and the finding each one must produce."""
    region = plan.stack.config.cluster.region
    nodes = [n["metadata"]["name"] for n in cluster.objects[cluster.resource_for("v1", "Node")]]
    assert nodes and region != "us-east-1"
    restricted = {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "runAsNonRoot": True,
                  "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}
    proxy = cluster.add(stored({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "legacy-proxy", "namespace": "visio-signalling", "labels": {"app": "legacy-proxy"}},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "legacy-proxy"}},
                 "template": {"metadata": {"labels": {"app": "legacy-proxy"}},
                              "spec": {"automountServiceAccountToken": False,
                                       "securityContext": {"runAsNonRoot": True, "runAsUser": 101,
                                                           "seccompProfile": {"type": "RuntimeDefault"}},
                                       "containers": [{"name": "nginx", "image": DOCKER_HUB_IMAGE,
                                                       "securityContext": restricted,
                                                       "ports": [{"containerPort": 8080}]}]}}},
    }))
    Offspring().pods_of(cluster, proxy, nodes)
    cluster.add(_node("node-us-east-1a", "us-east-1", "us-east-1a"))
    cluster.add(stored({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "cdn-assets", "namespace": "visio-signalling"},
        "spec": {"type": "ExternalName", "externalName": US_CDN},
    }))
    cluster.add({
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": "external-validator"},
        "webhooks": [{"name": "validate.external.example", "admissionReviewVersions": ["v1"],
                      "sideEffects": "None", "failurePolicy": "Fail", "timeoutSeconds": 10,
                      "clientConfig": {"url": US_WEBHOOK},
                      "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"],
                                 "resources": ["pods"], "scope": "*"}]}],
    })
    return [
        ("image-registry", "Deployment", "visio-signalling", "legacy-proxy", "spec.template.spec.containers[0].image"),
        ("node-region", "Node", None, "node-us-east-1a", 'metadata.labels["topology.kubernetes.io/region"]'),
        ("endpoint-sovereignty", "Service", "visio-signalling", "cdn-assets", "spec.externalName"),
        ("endpoint-sovereignty", "ValidatingWebhookConfiguration", None, "external-validator",
         "webhooks[0].clientConfig.url"),
    ]
