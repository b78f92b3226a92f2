"""Media: the LiveKit SFU and coturn, both on host networking on the media node pool."""

from __future__ import annotations

import pulumi

from components import network
from components.base import Release, ServiceComponent
from components.secrets import SecretPool
from visio.config import StackConfig


def turn_uris(stack: StackConfig) -> list[str]:
    turn = stack.media.turn
    return [f"turns:{turn.domain}:{turn.tlsPort}?transport=tcp", f"turn:{turn.domain}:3478?transport=udp"]


class Media(ServiceComponent):
    def __init__(
        self, name: str, stack: StackConfig, release: Release, pool: SecretPool,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(
            # Privileged, not restricted: LiveKit and coturn need hostNetwork and hostPort (one pod per
            # node, the UDP ranges bound on the node's public address), which even "baseline" refuses.
            "visio:media:Media", name, stack,
            namespace=network.MEDIA, pod_security="privileged", classification="call-content",
            release=release, pool=pool, opts=opts,
        )
        self.url = f"wss://{stack.domains.media}"
        self.turn_uris = turn_uris(stack)
        self.finish({"url": self.url, "turnUris": self.turn_uris})
