"""The order manifests are written in: the order an installer applies kinds, then namespace and name.

A written file applies as it stands (`kubectl apply -f`): what others depend on comes first. Kinds
follow the install order Helm documents; kinds it does not list come after, alphabetically.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

INSTALL_ORDER = (
    "PriorityClass", "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodSecurityPolicy",
    "PodDisruptionBudget", "ServiceAccount", "Secret", "SecretList", "ConfigMap", "StorageClass",
    "PersistentVolume", "PersistentVolumeClaim", "CustomResourceDefinition", "ClusterRole", "ClusterRoleList",
    "ClusterRoleBinding", "ClusterRoleBindingList", "Role", "RoleList", "RoleBinding", "RoleBindingList",
    "Service", "DaemonSet", "Pod", "ReplicationController", "ReplicaSet", "Deployment",
    "HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob", "IngressClass", "Ingress", "APIService",
)
_RANK = {kind: i for i, kind in enumerate(INSTALL_ORDER)}


def apply_order(obj: Mapping[str, Any]) -> tuple[int, str, str, str, str]:
    kind = str(obj.get("kind") or "")
    meta = obj.get("metadata") or {}
    meta = meta if isinstance(meta, Mapping) else {}
    return (_RANK.get(kind, len(INSTALL_ORDER)), kind, str(obj.get("apiVersion") or ""),
            str(meta.get("namespace") or ""), str(meta.get("name") or ""))
