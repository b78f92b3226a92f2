"""What the rules look at and what they report."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Enforcement = Literal["mandatory", "advisory"]


@dataclass(frozen=True)
class ResourceRef:
    kind: str
    name: str
    namespace: str | None = None

    def __str__(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {where}{self.name}"


@dataclass(frozen=True)
class Origin:
    """Where an object was read: its file, document (1-based, in files of several) and position.

    Reports point code-scanning UIs and reviewers here, so it is kept apart from display text.
    """

    file: str
    document: int | None = None
    # Index in the `items` of a List document, then in the `items` of Lists nested in that item.
    item: int | None = None
    nested: tuple[int, ...] = ()
    # 1-based line and column of the object's first key, when the format gives them.
    line: int | None = None
    column: int | None = None
    # Line and column are in the file as a template rendered it (a Helm chart's), not in its source.
    rendered: bool = False

    def __str__(self) -> str:
        doc = f"#{self.document}" if self.document is not None else ""
        item = f".items[{self.item}]" if self.item is not None else ""
        item += "".join(f".items[{i}]" for i in self.nested)
        return f"{self.file}{doc}{item}"

    def to_dict(self) -> dict[str, str | int]:
        out: dict[str, str | int] = {"file": self.file}
        for key in ("document", "item", "line", "column"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.nested:
            out["nested"] = ".".join(map(str, self.nested))
        if self.rendered:
            out["rendered"] = True
        return out


@dataclass(frozen=True)
class Resource:
    """One object under evaluation, whatever front end found it.

    `body` is the Kubernetes object as JSON (apiVersion, kind, metadata, spec, data, ...) or, for a
    non-Kubernetes Pulumi resource, its inputs.
    """

    kind: str
    api_version: str
    name: str
    namespace: str | None
    body: Mapping[str, Any]
    # Pulumi type token when the object came from a Pulumi program: "kubernetes:apps/v1:Deployment",
    # "pulumi:providers:kubernetes", "aws:s3/bucket:Bucket".
    pulumi_type: str | None = None
    urn: str | None = None
    # Where it came from, for reports: "manifests/app.yaml#3", "chart media", "component visio:media:Media".
    source: str | None = None
    origin: Origin | None = None

    @property
    def ref(self) -> ResourceRef:
        return ResourceRef(self.kind, self.name, self.namespace)


@dataclass(frozen=True)
class Violation:
    """What a rule returns: where in the resource, why, and the evidence behind it."""

    path: str
    message: str
    evidence: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Refused:
    """A document that could not be audited (unparsable, or an object the API server would refuse)."""

    ref: ResourceRef
    path: str
    message: str
    origin: Origin | None = None


@dataclass(frozen=True)
class StackFacts:
    """Facts about a Pulumi stack that stack-level rules (iac-state) judge."""

    name: str
    production: bool
    backend_url: str | None = None
    secrets_provider: str | None = None
