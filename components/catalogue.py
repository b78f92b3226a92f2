"""The platform's services, in the order they are deployed: the one list the program and its checks iterate.

A service is its name (release, chart and component name, and through `naming` its namespace), the
module building its chart values and declaring its Secrets, its component class, and when a stack
has it. The program, `visio verify` and the README's table read it here; the network policies name
the namespaces their flows cross through `naming`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from common.config import StackConfig
from components import naming
from components.base import Release, ServiceComponent
from components.captioning import Captioning
from components.identity import Identity
from components.media import Media
from components.signalling import Signalling
from components.values import captioning, identity, media, signalling
from components.values.secrets import SecretSet


class Values(Protocol):
    """A module of `components/values`: the chart values of a stack and the Secrets its pods read."""

    __name__: str

    def values(self, stack: StackConfig) -> dict[str, Any]: ...

    def secrets(self, stack: StackConfig) -> SecretSet: ...


def _always(stack: StackConfig) -> bool:
    return True


def _captioning(stack: StackConfig) -> bool:
    return stack.captioning.enabled


@dataclass(frozen=True)
class Service:
    name: str
    summary: str
    values: Values
    component: type[ServiceComponent]
    enabled: Callable[[StackConfig], bool] = _always
    # How the docs' table says when a stack has the service.
    when: str = "always"

    @property
    def namespace(self) -> str:
        return naming.namespace(self.name)

    @property
    def chart(self) -> str:
        return self.name

    def release(self, stack: StackConfig) -> Release:
        return Release(chart=self.chart, values=self.values.values(stack), secrets=self.values.secrets(stack))


SERVICES = (
    Service("identity", "Keycloak brokered to ProConnect, its PostgreSQL", identity, Identity),
    Service("signalling", "La Suite Meet web app, API and worker, Redis, PostgreSQL", signalling, Signalling),
    Service("media", "LiveKit SFU and coturn on the media node pool", media, Media),
    Service("captioning", "LiveKit agent and in-cluster speech-to-text", captioning, Captioning,
            _captioning, "`captioning.enabled`"),
)


def service(name: str) -> Service:
    return next(s for s in SERVICES if s.name == name)


def enabled(stack: StackConfig) -> tuple[Service, ...]:
    return tuple(s for s in SERVICES if s.enabled(stack))


def table() -> str:
    """The services as the README's Markdown table (a test keeps the README equal to it)."""
    rows = ["| Service | Namespace | Chart | Values | Component | Deployed | Runs |", "|---|---|---|---|---|---|---|"]
    rows += [
        f"| {s.name} | `{s.namespace}` | `charts/{s.chart}` | `{s.values.__name__}` "
        f"| `{s.component.__module__}.{s.component.__name__}` | {s.when} | {s.summary} |"
        for s in SERVICES
    ]
    return "\n".join(rows)
