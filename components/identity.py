"""Identity: Keycloak (brokered to ProConnect outside development) and its PostgreSQL."""

from __future__ import annotations

import pulumi

from components import network
from components.base import Release, ServiceComponent
from components.secrets import SecretPool
from visio.config import StackConfig


class Identity(ServiceComponent):
    def __init__(
        self, name: str, stack: StackConfig, release: Release, pool: SecretPool,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(
            "visio:identity:Identity", name, stack,
            namespace=network.IDENTITY, pod_security="restricted", classification="personal-data",
            release=release, pool=pool, opts=opts,
        )
        self.issuer = f"https://{stack.domains.identity}/realms/{stack.identity.realm}"
        self.finish({"issuer": self.issuer})
