"""Media: the LiveKit SFU and coturn, both on host networking on the media node pool."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from common.config import StackConfig
from components.base import ServiceComponent


def turn_uris(stack: StackConfig) -> list[str]:
    turn = stack.media.turn
    return [f"turns:{turn.domain}:{turn.tlsPort}?transport=tcp", f"turn:{turn.domain}:3478?transport=udp"]


class Media(ServiceComponent):
    TYPE = "visio:media:Media"
    # Privileged, not restricted: LiveKit and coturn need hostNetwork and hostPort (one pod per node,
    # the UDP ranges bound on the node's public address), which even "baseline" refuses.
    POD_SECURITY = "privileged"
    CLASSIFICATION = "call-content"

    def outputs(self, stack: StackConfig) -> Mapping[str, Any]:
        return {"url": f"wss://{stack.domains.media}", "turnUris": turn_uris(stack)}
