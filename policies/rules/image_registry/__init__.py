"""image-registry: every container image comes from a registry the stack allows.

Covers containers, init containers and ephemeral containers of every pod-spec carrier. References are
parsed as the runtime parses them, so a bare `nginx` is Docker Hub and `registry.gouv.fr.evil.com`
is not `registry.gouv.fr`. A reference the runtime would reject cannot be placed: violation.
"""

from __future__ import annotations

from collections.abc import Iterator

from policies.engine.images import ImageRefError, allowed_registries, parse_image
from policies.engine.model import Resource, Violation
from policies.engine.podspec import containers
from policies.engine.rule import Context, Rule
from policies.rules.image_registry.cel import cel


def check(resource: Resource, ctx: Context) -> Iterator[Violation]:
    found = containers(resource)
    if not found:
        return
    # A malformed allow-list entry raises here: every workload then fails closed as a rule error.
    allowed = allowed_registries(tuple(ctx.config.allowedRegistries))
    for path, container in found:
        image = container.get("image")
        where = f"{path}.image"
        if not isinstance(image, str) or not image:
            yield Violation(where, "container has no image reference to check")
            continue
        try:
            ref = parse_image(image)
        except ImageRefError as exc:
            yield Violation(where, f"image {image!r} is not a valid reference ({exc})", {"image": image})
            continue
        if not any(a.covers(ref) for a in allowed):
            yield Violation(
                where,
                f"image {image!r} comes from {ref.registry}/{ref.repository}, outside the allowed registries",
                {"image": image, "registry": ref.registry, "repository": ref.repository},
            )


RULE = Rule(
    id="image-registry",
    cel=cel,
    description="Container images come only from the stack's allowed (sovereign) registries",
    check=check,
    title="Sovereign image registry",
    severity="high",
    help="Mirror the image into an allowed registry and reference it from there.",
)
