"""The nodes of a local cluster that can hold the given stacks, labelled and tainted as a French
provider's node pools are: general nodes in every zone, the media pool (one LiveKit and one coturn per
node, host networking), the GPU pool when a stack enables captioning. kwok simulates them.

    python -m visio.cluster.localnodes STACK [STACK ...]   prints the objects as a YAML List
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from typing import Any

import yaml

from common.config import Stack, load_stack
from common.errors import InputError
from components.sizing import GPUS_PER_NODE, size

POOL_LABEL = "visio.numerique.gouv.fr/node-pool"
KWOK_ANNOTATION = "kwok.x-k8s.io/node"
# A media node has the cores the sizing counts on (capacity.sfuNode.cores); the SFU requests all but two.
MEDIA_NODE = {"cpu": "16", "memory": "64Gi", "pods": "110"}
GENERAL_NODE = {"cpu": "32", "memory": "128Gi", "pods": "110"}
GPU_NODE = {"cpu": "32", "memory": "256Gi", "pods": "110", "nvidia.com/gpu": str(GPUS_PER_NODE)}
GENERAL_NODES_PER_ZONE = 2
# Volumes for the databases' claims: the local cluster has no storage provisioner.
VOLUMES = 12
STORAGE_CLASS = "visio-local"


def _node(name: str, address: str, stack: Stack, zone: str, capacity: dict[str, str], pool: str | None,
          taints: Sequence[dict[str, str]] = ()) -> dict[str, Any]:
    cluster = stack.config.cluster
    labels = {
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "topology.kubernetes.io/region": cluster.region,
        "topology.kubernetes.io/zone": zone,
        "type": "kwok",
    }
    if pool:
        labels[POOL_LABEL] = pool
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": labels, "annotations": {KWOK_ANNOTATION: "fake"}},
        "spec": {"taints": list(taints)} if taints else {},
        # Host-network pods (LiveKit, coturn) take the node's address as theirs: without one their
        # Services get no endpoints. Private addresses: nothing is ever sent to them.
        "status": {"capacity": capacity, "allocatable": capacity,
                   "addresses": [{"type": "InternalIP", "address": address}, {"type": "Hostname", "address": name}]},
    }


def _pool_taint(pool: str) -> dict[str, str]:
    return {"key": POOL_LABEL, "value": pool, "effect": "NoSchedule"}


def nodes(stacks: Sequence[Stack]) -> list[dict[str, Any]]:
    """Enough nodes for the largest of the stacks; region and zones from the first one."""
    first = stacks[0]
    zones = first.config.cluster.zones
    media: dict[str, int] = {}
    gpus: dict[str, int] = {}
    cores: dict[str, int] = {}
    for stack in stacks:
        sizing = size(stack.config)
        for pool, count in sizing.node_pools.items():
            kind = media if pool == stack.config.media.nodePool else gpus
            kind[pool] = max(kind.get(pool, 0), count)
        pool = stack.config.media.nodePool
        cores[pool] = max(cores.get(pool, 0), sizing.sfu_cores)
    out = [_node(f"general-{zone}-{i}", _address(0, z * GENERAL_NODES_PER_ZONE + i), first, zone,
                 GENERAL_NODE, None)
           for z, zone in enumerate(zones) for i in range(GENERAL_NODES_PER_ZONE)]
    for p, (pool, count) in enumerate(sorted(media.items()), start=1):
        node = {**MEDIA_NODE, "cpu": str(cores[pool])}
        out += [_node(f"{pool}-{i}", _address(p, i), first, zones[i % len(zones)], node, pool,
                      [_pool_taint(pool)])
                for i in range(count)]
    for p, (pool, count) in enumerate(sorted(gpus.items()), start=1 + len(media)):
        taints = [_pool_taint(pool), {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}]
        out += [_node(f"{pool}-{i}", _address(p, i), first, zones[i % len(zones)], GPU_NODE, pool, taints)
                for i in range(count)]
    return out


def _address(pool: int, index: int) -> str:
    return f"10.{200 + pool}.{index // 250}.{index % 250 + 1}"


def storage() -> list[dict[str, Any]]:
    """A default StorageClass and pre-made volumes the databases' claims bind to."""
    objects: list[dict[str, Any]] = [{
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": STORAGE_CLASS,
                     "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
        "provisioner": "kubernetes.io/no-provisioner",
        "volumeBindingMode": "Immediate",
        "reclaimPolicy": "Retain",
    }]
    objects += [{
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": f"local-volume-{i}"},
        "spec": {"capacity": {"storage": "500Gi"}, "accessModes": ["ReadWriteOnce"],
                 "storageClassName": STORAGE_CLASS, "persistentVolumeReclaimPolicy": "Retain",
                 "hostPath": {"path": f"/var/lib/visio-local/volume-{i}"}},
    } for i in range(VOLUMES)]
    return objects


def manifest(stack_names: Iterable[str]) -> str:
    stacks = [load_stack(name) for name in stack_names]
    if not stacks:
        raise InputError("name at least one stack")
    return yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": storage() + nodes(stacks)},
                          sort_keys=False)


def main(argv: Sequence[str]) -> int:
    try:
        sys.stdout.write(manifest(argv))
    except InputError as exc:
        for line in exc.problems:
            print(f"error: {line}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
