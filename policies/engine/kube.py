"""Turning a Kubernetes manifest document into the engine's Resource."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.engine.model import Resource


def from_manifest(doc: Mapping[str, Any], source: str | None = None) -> Resource:
    meta = doc.get("metadata")
    meta = meta if isinstance(meta, Mapping) else {}
    name = meta.get("name") or meta.get("generateName") or "(unnamed)"
    namespace = meta.get("namespace")
    return Resource(
        kind=str(doc.get("kind") or "(no kind)"),
        api_version=str(doc.get("apiVersion") or ""),
        name=str(name),
        namespace=str(namespace) if namespace else None,
        body=doc,
        source=source,
    )
