"""image-digest in CEL: every container's reference carries a digest the runtime verifies."""

from __future__ import annotations

from policies.engine.cel import CelCheck, image_check
from policies.engine.config import PolicyConfig


def cel(config: PolicyConfig) -> CelCheck:
    return image_check("image-digest", "c.valid && c.r.contains('@')", "is not pinned by digest")
