"""Identity: Keycloak (brokered to ProConnect outside development) and its PostgreSQL."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from common.config import StackConfig
from components.base import ServiceComponent


class Identity(ServiceComponent):
    TYPE = "visio:identity:Identity"
    CLASSIFICATION = "personal-data"

    def outputs(self, stack: StackConfig) -> Mapping[str, Any]:
        return {"issuer": f"https://{stack.domains.identity}/realms/{stack.identity.realm}"}
