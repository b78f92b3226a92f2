"""image-registry in CEL: the same reference parsing and whole-component registry match, at admission."""

from __future__ import annotations

from policies.engine.cel import CelCheck, image_check, literal
from policies.engine.config import PolicyConfig
from policies.engine.images import allowed_registries


def cel(config: PolicyConfig) -> CelCheck:
    allowed = [[a.host, "/".join(a.prefix)] for a in allowed_registries(tuple(config.allowedRegistries))]
    covered = (f"c.valid && {literal(allowed)}.exists(a, a[0] == c.host"
               " && (a[1] == '' || c.repo == a[1] || c.repo.startsWith(a[1] + '/')))")
    return image_check("image-registry", covered, "is outside the allowed registries",
                       f" (allowed: {', '.join(config.allowedRegistries) or 'none'})")
