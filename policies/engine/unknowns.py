"""Values unknown at preview, judged the same way by every front end that meets them (pack, plan).

A finding on an unknown value is advisory at preview and names the field; at update it keeps its
level. An unknown a rule read without flagging it could not be verified: an advisory finding at
preview, a mandatory one at update (a value still unknown then is not acceptable).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from policies.engine.adapters import UNKNOWN_TEXT, Reads, reads_of, unknown_paths
from policies.engine.model import Enforcement, Resource, Violation

NOT_VERIFIED = "value unknown at preview, not verified; enforced at update"


def touched(violation: Violation, paths: Iterable[str]) -> list[str]:
    """The unknown paths a violation is about: under its path, or all when it quotes the sentinel."""
    hit = [p for p in paths
           if violation.path and (p == violation.path or p.startswith((f"{violation.path}.", f"{violation.path}[")))]
    if not hit and (UNKNOWN_TEXT in violation.message or any(UNKNOWN_TEXT in v for v in violation.evidence.values())):
        hit = list(paths)
    return hit


@dataclass
class Watch:
    """What one rule read of one resource's unknown values while it ran."""

    resource: Resource
    reads: Reads | None
    unknown: list[str]
    _before: set[str]

    @classmethod
    def start(cls, resource: Resource) -> Watch:
        reads = reads_of(resource)
        if reads is None:
            return cls(resource, None, [], set())
        before, reads.paths = reads.paths, set()
        return cls(resource, reads, unknown_paths(resource.body), before)

    def stop(self) -> set[str]:
        if self.reads is None:
            return set()
        read, self.reads.paths = self.reads.paths, self._before | self.reads.paths
        return read


def settle(
    violations: Iterable[Violation], level: Enforcement, unknown: list[str], read: set[str], preview: bool
) -> Iterator[tuple[Enforcement, Violation]]:
    """Each violation at its level for this phase, then the unknowns read and not flagged."""
    covered: set[str] = set()
    for v in violations:
        hit = touched(v, unknown) if unknown else []
        if not hit:
            yield level, v
            continue
        covered.update(hit)
        message = f"{v.message} (value unknown at preview: {', '.join(hit)}; enforced at update)"
        yield ("advisory" if preview else level), Violation(v.path, message, v.evidence)
    for path in sorted(read - covered):
        yield ("advisory" if preview else "mandatory"), Violation(path, NOT_VERIFIED)
