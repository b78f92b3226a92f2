"""Signalling: web frontend, room/token API, its Celery worker, Redis and PostgreSQL."""

from __future__ import annotations

import pulumi

from components import network
from components.base import Release, ServiceComponent
from components.secrets import SecretPool
from visio.config import StackConfig


class Signalling(ServiceComponent):
    def __init__(
        self, name: str, stack: StackConfig, release: Release, pool: SecretPool,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(
            "visio:signalling:Signalling", name, stack,
            namespace=network.SIGNALLING, pod_security="restricted", classification="personal-data",
            release=release, pool=pool, opts=opts,
        )
        self.url = f"https://{stack.domains.web}"
        self.finish({"url": self.url})
