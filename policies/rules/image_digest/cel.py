"""image-digest in CEL: every container's reference carries a digest the runtime verifies."""

from __future__ import annotations

from policies.engine.cel import POD_CARRIERS, CelCheck, CelValidation, container_path, image_variables
from policies.engine.config import PolicyConfig


def cel(config: PolicyConfig) -> CelCheck:
    pinned = "c.valid && c.r.contains('@')"
    return CelCheck(
        kinds=POD_CARRIERS,
        variables=(*image_variables(), ("unpinned", f"variables.images.filter(c, !({pinned}))")),
        validations=(CelValidation(
            "size(variables.unpinned) == 0",
            "'image-digest: ' + variables.unpinned.map(c, " + container_path("c") +
            " + \".image '\" + c.image + \"' is not pinned by digest\").join('; ')",
        ),),
        complete=True,
    )
