"""Signalling: web frontend, room/token API, its Celery worker, Redis and PostgreSQL."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from common.config import StackConfig
from components.base import ServiceComponent


class Signalling(ServiceComponent):
    TYPE = "visio:signalling:Signalling"
    CLASSIFICATION = "personal-data"

    def outputs(self, stack: StackConfig) -> Mapping[str, Any]:
        return {"url": f"https://{stack.domains.web}"}
