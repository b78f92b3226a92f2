"""image-digest: every container image is pinned by digest.

A tag can be moved to other content after review; a digest cannot. Mandatory on production stacks,
advisory elsewhere so development can track tags.
"""

from __future__ import annotations

from collections.abc import Iterator

from policies.engine.images import ImageRefError, parse_image
from policies.engine.model import Enforcement, Resource, Violation
from policies.engine.podspec import containers
from policies.engine.rule import Context, Rule
from policies.rules.image_digest.cel import cel


def check(resource: Resource, ctx: Context) -> Iterator[Violation]:
    for path, container in containers(resource):
        image = container.get("image")
        where = f"{path}.image"
        if not isinstance(image, str) or not image:
            yield Violation(where, "container has no image reference, so no digest")
            continue
        try:
            ref = parse_image(image)
        except ImageRefError as exc:
            yield Violation(where, f"image {image!r} cannot be read, so its pinning is unknown ({exc})")
            continue
        if ref.digest is None:
            yield Violation(
                where,
                f"image {image!r} is referenced by tag {ref.tag or 'latest'!r}, not pinned by digest",
                {"image": image},
            )


def enforcement(ctx: Context) -> Enforcement:
    production = ctx.config.production or (ctx.stack is not None and ctx.stack.production)
    return "mandatory" if production else "advisory"


RULE = Rule(
    id="image-digest",
    cel=cel,
    description="Container images are pinned by digest (mandatory in production)",
    check=check,
    enforcement=enforcement,
    title="Images pinned by digest",
    severity="medium",
    help="Reference the image as registry/repository@sha256:<digest> so what runs is what was reviewed.",
)
