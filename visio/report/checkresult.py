"""One verification check's outcome: which check, on what, passed or not, and the evidence."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class CheckResult:
    check: str  # stable id: "coturn-denied-peers", "turn-refuses-10.0.0.1"
    target: str  # what was checked: "coturn (local 127.0.0.1)", "visio-media/media-coturn-7d9f"
    passed: bool
    message: str
    evidence: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {"check": self.check, "target": self.target, "passed": self.passed,
                "message": self.message, "evidence": dict(self.evidence)}


Outcome = tuple[bool, str, Mapping[str, str]]


def run_check(check: str, target: str, probe: Callable[[], Outcome]) -> CheckResult:
    """Run one probe; one that cannot run is a failure (fail closed), never a pass or a skip."""
    try:
        passed, message, evidence = probe()
    except Exception as exc:  # a probe that crashes proves nothing
        detail = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
        return CheckResult(check, target, False, f"could not check: {type(exc).__name__}: {detail}".rstrip(": "))
    return CheckResult(check, target, passed, message, evidence)


def all_passed(results: Iterable[CheckResult]) -> bool:
    results = list(results)
    return bool(results) and all(r.passed for r in results)
