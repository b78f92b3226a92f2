"""The shape of a rule: one small module under `policies/rules/<rule_id>/` exporting `RULE`."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from policies.engine.cel import CelCheck
from policies.engine.model import Enforcement, Resource, ResourceRef, StackFacts, Violation

if TYPE_CHECKING:
    from policies.engine.config import PolicyConfig


@dataclass
class Context:
    """What a rule may consult besides the resource itself."""

    config: PolicyConfig
    stack: StackFacts | None = None


Severity = Literal["critical", "high", "medium", "low"]
ResourceCheck = Callable[[Resource, Context], Iterable[Violation]]
# A stack check sees every resource at once (e.g. "each namespace has a default-deny egress policy").
StackCheck = Callable[[Sequence[Resource], Context], Iterable[tuple[ResourceRef | None, Violation]]]
# Work done once over every resource before the checks (e.g. resolve every hostname concurrently).
Prepare = Callable[[Sequence[Resource], Context], None]


@dataclass(frozen=True)
class Rule:
    id: str
    description: str
    check: ResourceCheck | None = None
    check_stack: StackCheck | None = None
    prepare: Prepare | None = None
    # Enforcement when the policy config does not override it; may depend on the stack (production).
    enforcement: Callable[[Context], Enforcement] = lambda _ctx: "mandatory"
    # For reports: a short title, how severe a finding is, and what to do about it.
    title: str = ""
    severity: Severity = "medium"
    help: str = ""
    # The rule's decision in CEL, for the API server to enforce at admission without the webhook.
    cel: Callable[[PolicyConfig], CelCheck] | None = None
    # What the rule judges: Kubernetes objects (in manifests, a live cluster or a program), the
    # program's other Pulumi resources, or the stack itself (backend, secrets provider).
    judges: tuple[Literal["kubernetes", "pulumi", "stack"], ...] = ("kubernetes",)
    # The stack check judges each object on its own and the ConfigMaps of its namespace, so the
    # admission webhook can run it on one object at a time.
    per_object: bool = False
