"""The images pods actually run, from `status.*ContainerStatuses[].imageID`.

A pod spec says what was asked for; the container status says what the node pulled. containerd and
CRI-O report the repository digest the image came from (`registry/repo@sha256:...`); the Docker
runtime prefixes it (`docker-pullable://`). A bare `sha256:` ID (an image built or loaded on the node)
names no registry: the pod is then judged on what its spec asked for.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

STATUS_LISTS = {
    "containers": "containerStatuses",
    "initContainers": "initContainerStatuses",
    "ephemeralContainers": "ephemeralContainerStatuses",
}
_RUNTIME_PREFIXES = ("docker-pullable://", "docker://", "containerd://", "cri-o://")


@dataclass(frozen=True)
class Running:
    """One container of a pod: what the spec asked for and, when known, the digest reference it runs."""

    field: str  # containers, initContainers, ephemeralContainers
    index: int  # position in the spec list
    name: str
    spec_image: str | None
    reference: str | None  # registry/repository@sha256:... from the status, None when unknown
    status_path: str | None  # where the image ID was read, for reports
    image_id: str | None


def digest_reference(image_id: Any) -> str | None:
    """`registry/repo@sha256:...` from an image ID, None when it names no repository."""
    if not isinstance(image_id, str):
        return None
    text = image_id.strip()
    for prefix in _RUNTIME_PREFIXES:
        if text.startswith(prefix):
            text = text[len(prefix):]
            break
    repository, at, digest = text.partition("@")
    if not at or not repository or not digest.startswith("sha256:") or repository.startswith("sha256:"):
        return None
    return text


def running_containers(pod: Mapping[str, Any]) -> Iterator[Running]:
    spec = pod.get("spec") if isinstance(pod.get("spec"), Mapping) else {}
    status = pod.get("status") if isinstance(pod.get("status"), Mapping) else {}
    assert isinstance(spec, Mapping) and isinstance(status, Mapping)
    for field, status_field in STATUS_LISTS.items():
        statuses = status.get(status_field)
        by_name: dict[str, tuple[int, Mapping[str, Any]]] = {}
        for i, entry in enumerate(statuses if isinstance(statuses, list) else []):
            if isinstance(entry, Mapping) and isinstance(entry.get("name"), str):
                by_name[entry["name"]] = (i, entry)
        containers = spec.get(field)
        for index, container in enumerate(containers if isinstance(containers, list) else []):
            if not isinstance(container, Mapping):
                continue
            name = container.get("name")
            name = name if isinstance(name, str) else f"#{index}"
            image = container.get("image")
            found = by_name.get(name)
            image_id = found[1].get("imageID") if found else None
            yield Running(
                field=field,
                index=index,
                name=name,
                spec_image=image if isinstance(image, str) else None,
                reference=digest_reference(image_id),
                status_path=f"status.{status_field}[{found[0]}].imageID" if found else None,
                image_id=image_id if isinstance(image_id, str) and image_id else None,
            )


def running_view(pod: Mapping[str, Any]) -> tuple[dict[str, Any], list[Running]]:
    """A pod body holding only its containers' names and the images they run (the spec's image when
    the status names no registry digest): what the image rules judge for a running pod."""
    metadata = pod.get("metadata") if isinstance(pod.get("metadata"), Mapping) else {}
    assert isinstance(metadata, Mapping)
    spec: dict[str, list[dict[str, Any]]] = {}
    found = list(running_containers(pod))
    for item in found:
        image = item.reference or item.spec_image
        spec.setdefault(item.field, []).append({"name": item.name, "image": image})
    body = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {k: metadata[k] for k in ("name", "namespace", "ownerReferences", "uid") if k in metadata},
        "spec": spec,
    }
    return body, found
