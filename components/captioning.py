"""Captioning: the LiveKit agent and the in-cluster speech-to-text server (audio stays inside)."""

from __future__ import annotations

import pulumi

from components import network
from components.base import Release, ServiceComponent
from components.secrets import SecretPool
from visio.config import StackConfig


class Captioning(ServiceComponent):
    def __init__(
        self, name: str, stack: StackConfig, release: Release, pool: SecretPool,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(
            "visio:captioning:Captioning", name, stack,
            namespace=network.CAPTIONING, pod_security="restricted", classification="call-content",
            release=release, pool=pool, opts=opts,
        )
        self.finish({"engine": stack.captioning.engine, "languages": list(stack.captioning.languages)})
