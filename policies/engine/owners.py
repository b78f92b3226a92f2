"""The workload an object was made from, for exemptions at admission.

An exemption names the workload a reviewer approved (a Deployment); at admission its controllers
create the ReplicaSets and Pods, which must be covered too, at the same finding paths. An object's
controller is its `ownerReferences` entry with `controller: true`; a Pod of a Deployment is owned by
a ReplicaSet named `<deployment>-<pod-template-hash>`, which names the Deployment as well.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from policies.engine.podspec import CARRIERS

HASH_LABEL = "pod-template-hash"


def controllers(body: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(kind, name) of the object's controller and, for a Pod of a Deployment, of that Deployment."""
    meta = body.get("metadata")
    if not isinstance(meta, Mapping):
        return
    for owner in meta.get("ownerReferences") or ():
        if not isinstance(owner, Mapping) or owner.get("controller") is not True:
            continue
        kind, name = owner.get("kind"), owner.get("name")
        if not isinstance(kind, str) or not isinstance(name, str):
            continue
        yield kind, name
        labels = meta.get("labels")
        hashed = labels.get(HASH_LABEL) if isinstance(labels, Mapping) else None
        if kind == "ReplicaSet" and isinstance(hashed, str) and hashed and name.endswith("-" + hashed):
            yield "Deployment", name[: -len(hashed) - 1]


def as_owner_path(path: str, kind: str, owner_kind: str) -> str | None:
    """A finding path of an object as the same field of its owner's pod template, None if neither has one."""
    mine, theirs = CARRIERS.get(kind), CARRIERS.get(owner_kind)
    if mine is None or theirs is None:
        return None
    prefix = ".".join(mine)
    if path != prefix and not path.startswith(prefix + ".") and not path.startswith(prefix + "["):
        return None
    return ".".join(theirs) + path[len(prefix):]
