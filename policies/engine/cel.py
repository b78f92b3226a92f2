"""What a rule states in CEL, for the API server to decide at admission (ValidatingAdmissionPolicy).

A rule that can be decided from the object alone gives its decision here, built from the same
parameters its Python check reads: the pod-spec carriers of `podspec`, the reference grammar of
`images`, the policy configuration. The admission generator turns each into a policy and a binding;
tests hold every policy against the rule's own fixtures on the real API server.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from policies.engine.images import DIGEST_ALGORITHMS, DOCKER_HUB, LEGACY_HUB, MAX_NAME, REFERENCE_PATTERN
from policies.engine.podspec import CARRIERS, CONTAINER_LISTS

# The REST resource of each kind a CEL rule matches: (API group, plural).
RESOURCES: dict[str, tuple[str, str]] = {
    "Pod": ("", "pods"),
    "Deployment": ("apps", "deployments"),
    "StatefulSet": ("apps", "statefulsets"),
    "DaemonSet": ("apps", "daemonsets"),
    "ReplicaSet": ("apps", "replicasets"),
    "ReplicationController": ("", "replicationcontrollers"),
    "Job": ("batch", "jobs"),
    "CronJob": ("batch", "cronjobs"),
    "PodTemplate": ("", "podtemplates"),
    "Node": ("", "nodes"),
    "Ingress": ("networking.k8s.io", "ingresses"),
}
# Ephemeral containers arrive through their own subresource, never with the Pod's creation.
SUBRESOURCES: dict[str, tuple[str, ...]] = {"Pod": ("pods/ephemeralcontainers",)}
POD_CARRIERS: tuple[str, ...] = tuple(CARRIERS)


@dataclass(frozen=True)
class CelValidation:
    expression: str
    message: str  # a CEL expression giving the denial text; it starts with the rule id


@dataclass(frozen=True)
class CelCheck:
    """A rule's decision in CEL: the kinds it applies to, its named sub-expressions, its validations.

    `complete`: CEL decides the whole rule for these kinds, so the webhook need not run it.
    """

    kinds: tuple[str, ...]
    variables: tuple[tuple[str, str], ...]
    validations: tuple[CelValidation, ...]
    complete: bool


def literal(value: Any) -> str:
    """A CEL literal for JSON data: CEL reads JSON strings, numbers, booleans, lists and maps as written."""
    text: str = json.dumps(value, ensure_ascii=True, sort_keys=True)
    return text


def _pod_spec_path(kind_var: str, parts: dict[tuple[str, ...], list[str]],
                   render: Callable[[tuple[str, ...]], str]) -> str:
    *rest, (last_keys, _kinds) = list(parts.items())
    expr = render(last_keys)
    for keys, kinds in reversed(rest):
        expr = f"({kind_var} in {literal(kinds)} ? {render(keys)} : {expr})"
    return expr


def pod_spec_variables() -> tuple[tuple[str, str], ...]:
    """`spec` (the pod spec of any carrier, {} when it has none), `prefix` (its field path) and
    `containers` (every container of it: list, name and image)."""
    parts: dict[tuple[str, ...], list[str]] = {}
    for kind, keys in CARRIERS.items():
        parts.setdefault(keys, []).append(kind)

    def spec_at(keys: tuple[str, ...]) -> str:
        # Each step is optional: a missing template is an empty spec, not an evaluation error.
        return "object" + "".join(f".?{k}" for k in keys) + ".orValue({})"

    def prefix_of(keys: tuple[str, ...]) -> str:
        return literal(".".join(keys))

    lists = " + ".join(
        f"(has(variables.spec.{name}) ? variables.spec.{name}.map(c, "
        f"{{'list': dyn({literal(name)}), 'name': dyn(c.name), 'image': dyn(has(c.image) ? string(c.image) : '')}})"
        " : [])"
        for name in CONTAINER_LISTS)
    return (
        ("spec", _pod_spec_path("object.kind", parts, spec_at)),
        ("prefix", _pod_spec_path("object.kind", parts, prefix_of)),
        ("containers", lists),
    )


def container_path(var: str) -> str:
    """The field path of a container entry of `variables.containers`, named by its name."""
    return f"variables.prefix + '.' + {var}.list + '[name=' + {var}.name + ']'"


def _parse_steps() -> tuple[tuple[str, str], ...]:
    """The reference parsed as the runtime parses it (see `policies.engine.images`), one field a step:
    `f` the first path component, `e` whether it names a registry, `d` the registry (Docker Hub
    normalised), `r` the remainder (with `library/` for an official image), `repo` the repository,
    `host` the registry lower-cased, `valid` whether the runtime accepts the reference at all."""
    hub = literal(DOCKER_HUB)
    return (
        ("f", "c.image.split('/')[0]"),
        ("e", "c.image.contains('/') && (c.f == 'localhost' || c.f.contains('.') || c.f.contains(':')"
              " || c.f.lowerAscii() != c.f)"),
        ("d", f"!c.e || c.f == {literal(LEGACY_HUB)} ? {hub} : c.f"),
        ("r0", "c.e ? c.image.substring(c.f.size() + 1) : c.image"),
        ("r", f"c.d == {hub} && !c.r0.contains('/') ? 'library/' + c.r0 : c.r0"),
        ("repo", "c.r.split('@')[0].split(':')[0]"),
        ("host", "c.d.lowerAscii()"),
        ("valid", "!c.image.matches('^[a-f0-9]{64}$') && c.r.split(':')[0].lowerAscii() == c.r.split(':')[0]"
                  f" && (c.d + '/' + c.r).matches({literal('^' + REFERENCE_PATTERN + '$')})"
                  f" && c.d.size() + 1 + c.repo.size() <= {MAX_NAME}"
                  f" && (!c.r.contains('@') || c.r.split('@')[1].matches({literal(_digest_pattern())}))"),
    )


def image_variables() -> tuple[tuple[str, str], ...]:
    """The pod-spec variables, then `images`: each container with its reference parsed.

    CEL in the API server has no let-binding, so each parsing step is a variable of its own that adds
    one field to every entry of the one before.
    """
    out = list(pod_spec_variables())
    fields = ["list", "name", "image"]
    source = "variables.containers"
    steps = _parse_steps()
    for i, (name, expr) in enumerate(steps):
        target = "images" if i == len(steps) - 1 else f"parse{i}"
        kept = ", ".join(f"'{k}': c.{k}" for k in fields)
        out.append((target, f"{source}.map(c, {{{kept}, '{name}': dyn({expr})}})"))
        fields.append(name)
        source = f"variables.{target}"
    return tuple(out)


def _digest_pattern() -> str:
    return "^(" + "|".join(f"{alg}:[a-f0-9]{{{n}}}" for alg, n in DIGEST_ALGORITHMS.items()) + ")$"


def image_check(rule_id: str, passes: str, failure: str, note: str = "") -> CelCheck:
    """A rule that judges each container's parsed reference (`image_variables`) alone.

    `passes` is a CEL condition on the entry `c`; the denial names every container failing it, each
    followed by `failure`, then `note`.
    """
    message = (f"'{rule_id}: ' + variables.failing.map(c, {container_path('c')} + \".image '\" + c.image + "
               f"{literal(chr(39) + ' ' + failure)}).join('; ')" + (f" + {literal(note)}" if note else ""))
    return CelCheck(
        kinds=POD_CARRIERS,
        variables=(*image_variables(), ("failing", f"variables.images.filter(c, !({passes}))")),
        validations=(CelValidation("size(variables.failing) == 0", message),),
        complete=True,
    )
