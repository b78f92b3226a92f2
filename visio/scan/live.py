"""Judging a cluster snapshot with the one rule engine, the way `visio audit` judges manifests.

- Every object is judged as read, except what a controller generated from a template another read
  object declares (ReplicaSets of Deployments, Jobs of CronJobs, pods of any controller): the
  declaring object carries the finding once.
- Every pod is also judged on the images it actually runs (from its container statuses) by the image
  rules. A finding the declaring object already has for the same container and rule is not repeated.
- A kind the scan could not read is a `not-audited` finding: mandatory when the scan must fail closed
  (`--fail-on-unaudited`, the default under the secnumcloud profile), advisory otherwise and for kinds
  left out on request.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from policies.engine.adapters import from_kubernetes
from policies.engine.catalog import EXEMPTION_EXPIRED, NOT_AUDITED
from policies.engine.config import PolicyConfig
from policies.engine.evaluate import evaluate
from policies.engine.model import Enforcement, Resource, ResourceRef, StackFacts
from policies.engine.podspec import containers
from policies.engine.report import Finding, Report
from visio.cluster.kinds import GENERATED
from visio.cluster.reader import Snapshot, Unaudited
from visio.scan.running import Running, running_view

IMAGE_RULES = ("image-registry", "image-digest")

Key = tuple[str, str | None, str]  # kind, namespace, name


@dataclass(frozen=True)
class ScanResult:
    snapshot: Snapshot
    report: Report
    resources: int  # objects read and judged


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def _key(obj: Mapping[str, Any]) -> Key:
    meta = _meta(obj)
    return str(obj.get("kind")), meta.get("namespace"), str(meta.get("name"))


def _controller_uid(obj: Mapping[str, Any]) -> str | None:
    for ref in _meta(obj).get("ownerReferences") or []:
        if isinstance(ref, Mapping) and ref.get("controller") is True and isinstance(ref.get("uid"), str):
            return str(ref["uid"])
    return None


def _declaring(obj: Mapping[str, Any], by_uid: Mapping[str, Mapping[str, Any]]) -> Mapping[str, Any]:
    """The read object at the top of the controller chain (the object itself when none was read)."""
    current, seen = obj, 0
    while seen < 10:
        uid = _controller_uid(current)
        owner = by_uid.get(uid) if uid else None
        if owner is None:
            return current
        current, seen = owner, seen + 1
    return current


def _source(snapshot: Snapshot) -> str:
    return f"cluster {snapshot.cluster}"


def _container_names(resource: Resource) -> dict[str, str]:
    """Image field path -> container name, for matching a workload's findings to a pod's containers."""
    try:
        return {f"{path}.image": str(c.get("name")) for path, c in containers(resource)}
    except TypeError:
        return {}


def _running_findings(
    pods: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]],
    declared: Mapping[Key, Resource],
    declared_report: Report,
    config: PolicyConfig,
    stack: StackFacts | None,
    source: str,
) -> tuple[list[Finding], list[Finding]]:
    """Image findings on what pods run, minus those their declaring object already carries."""
    from policies.rules import ALL_RULES

    rules = [r for r in ALL_RULES if r.id in IMAGE_RULES]
    already: set[tuple[Key, str, str]] = set()
    names_of: dict[Key, dict[str, str]] = {}
    for f in [*declared_report.findings, *declared_report.exempted]:
        ref = f.resource
        key = (ref.kind, ref.namespace, ref.name)
        if key not in declared:
            continue
        names = names_of.setdefault(key, _container_names(declared[key]))
        if f.path in names:
            already.add((key, f.rule, names[f.path]))

    views: list[Resource] = []
    details: dict[tuple[str | None, str], tuple[Key, dict[str, Running]]] = {}
    for pod, owner in pods:
        body, found = running_view(pod)
        resource = from_kubernetes(body, source)
        views.append(resource)
        by_path: dict[str, Running] = {}
        positions: dict[str, int] = {}
        for item in found:
            i = positions.get(item.field, 0)
            positions[item.field] = i + 1
            by_path[f"spec.{item.field}[{i}].image"] = item
        details[(resource.namespace, resource.name)] = (_key(owner), by_path)
    if not views:
        return [], []
    report = evaluate(views, config, stack, rules=rules)

    def rewrite(f: Finding) -> Finding | None:
        if f.rule == EXEMPTION_EXPIRED:
            return None  # already reported by the main evaluation
        owner_key, by_path = details.get((f.resource.namespace, f.resource.name), (None, {}))
        item = by_path.get(f.path)
        if item is None:
            return f
        if owner_key is not None and (owner_key, f.rule, item.name) in already:
            return None
        evidence = dict(f.evidence)
        evidence["container"] = item.name
        if item.spec_image:
            evidence["specImage"] = item.spec_image
        if item.image_id:
            evidence["imageID"] = item.image_id
        if owner_key is not None and owner_key[0] != "Pod":
            evidence["declaredBy"] = f"{owner_key[0]} {owner_key[1]}/{owner_key[2]}"
        path = item.status_path if item.reference and item.status_path else f"spec.{item.field}[{item.index}].image"
        return dataclasses.replace(f, path=path, evidence=evidence)

    kept = [g for g in (rewrite(f) for f in report.findings) if g is not None]
    exempted = [g for g in (rewrite(f) for f in report.exempted) if g is not None]
    return kept, exempted


def unaudited_finding(entry: Unaudited, fail_closed: bool, source: str) -> Finding:
    level: Enforcement = "mandatory" if fail_closed and not entry.excluded else "advisory"
    kind = entry.kind
    if entry.excluded:
        message = f"{kind.label} excluded on request: its objects were not read nor judged"
    else:
        message = f"{kind.label} could not be read ({entry.scope}): {entry.reason}; its objects were not judged"
    evidence = {"apiVersion": kind.api_version, "scope": entry.scope}
    if entry.status is not None:
        evidence["status"] = str(entry.status)
    return Finding(
        rule=NOT_AUDITED,
        enforcement=level,
        resource=ResourceRef(kind.kind, "*", entry.namespace),
        path="",
        message=message,
        evidence=evidence,
        source=source,
    )


def judge(
    snapshot: Snapshot,
    config: PolicyConfig,
    fail_on_unaudited: bool,
    stack: StackFacts | None = None,
    progress: Callable[[int], Callable[[int], None]] | None = None,
) -> ScanResult:
    source = _source(snapshot)
    by_uid = {str(_meta(o)["uid"]): o for o in snapshot.objects if isinstance(_meta(o).get("uid"), str)}
    declared: dict[Key, Resource] = {}
    pods: list[tuple[Mapping[str, Any], Mapping[str, Any]]] = []
    for obj in snapshot.objects:
        top = _declaring(obj, by_uid)
        if obj.get("kind") == "Pod":
            pods.append((obj, top))
        if top is not obj and obj.get("kind") in GENERATED:
            continue
        resource = from_kubernetes(obj, source)
        declared[_key(obj)] = resource
    advance = progress(len(declared)) if progress is not None else None
    report = evaluate(list(declared.values()), config, stack, advance=advance)
    running, running_exempted = _running_findings(pods, declared, report, config, stack, source)
    unaudited = [unaudited_finding(u, fail_on_unaudited, source) for u in snapshot.unaudited]
    findings = sorted([*report.findings, *running, *unaudited], key=Finding.sort_key)
    exempted = sorted([*report.exempted, *running_exempted], key=Finding.sort_key)
    return ScanResult(snapshot, Report(findings, exempted, report.exemptions_in_force), len(snapshot.objects))


def unaudited_lines(entries: Iterable[Unaudited]) -> list[str]:
    return [f"{u.kind.label} [{u.scope}]: {u.reason}" for u in entries]
