"""Captioning: the LiveKit agent and the in-cluster speech-to-text server (audio stays inside)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from common.config import StackConfig
from components.base import ServiceComponent


class Captioning(ServiceComponent):
    TYPE = "visio:captioning:Captioning"
    CLASSIFICATION = "call-content"

    def outputs(self, stack: StackConfig) -> Mapping[str, Any]:
        return {"engine": stack.captioning.engine, "languages": list(stack.captioning.languages)}
