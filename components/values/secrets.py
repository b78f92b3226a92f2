"""How the component fills each key of the Kubernetes Secrets a chart refers to.

A chart never contains a generated value: its pods read Secrets by name (`secretKeyRef`), and the
component creates those Secrets from these specs. Exactly one source per key:

- random: `length` characters, letters and digits, plus punctuation when `special`;
- shared: the same value as another key, written `"<secret>/<key>"` (a value that two services must
  agree on, such as an OIDC client secret held by both the realm and the relying party);
- config: the decrypted stack-config secret at a dotted path of `StackConfig`.

A Secret name declared by several charts (e.g. `livekit-api`, used by media and signalling) stands for
one value, created in each chart's namespace.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from common.config import SecureValue, StackConfig

SecretSet = dict[str, dict[str, "SecretSpec"]]


@dataclass(frozen=True)
class SecretSpec:
    length: int = 0
    special: bool = False
    shared: str | None = None
    config: str | None = None

    def __post_init__(self) -> None:
        sources = [self.length > 0, self.shared is not None, self.config is not None]
        if sources.count(True) != 1:
            raise ValueError("a secret key takes exactly one source: length, shared or config")
        if self.length and self.length < 16:
            raise ValueError(f"length {self.length}: generated secrets are at least 16 characters")
        if self.shared is not None and self.shared.count("/") != 1:
            raise ValueError(f"shared {self.shared!r}: expected '<secret>/<key>'")

    @classmethod
    def random(cls, length: int, *, special: bool = False) -> SecretSpec:
        return cls(length=length, special=special)

    @classmethod
    def same_as(cls, secret: str, key: str) -> SecretSpec:
        return cls(shared=f"{secret}/{key}")

    @classmethod
    def from_config(cls, path: str) -> SecretSpec:
        return cls(config=path)


def config_secret(stack: StackConfig, path: str) -> SecureValue:
    """The stack-config secret a `from_config` spec names (e.g. `identity.proconnect.clientSecret`)."""
    node: Any = stack
    for part in path.split("."):
        node = getattr(node, part, None)
        if node is None:
            raise KeyError(f"visio:{path}: not set in this stack")
    if not isinstance(node, SecureValue):
        raise TypeError(f"visio:{path}: is not a secret value")
    return node


def merge(*sets: SecretSet) -> SecretSet:
    """Union of several charts' declarations; a name declared twice must declare the same keys."""
    out: SecretSet = {}
    for one in sets:
        for name, keys in one.items():
            if name in out and out[name] != keys:
                raise ValueError(f"secret {name!r}: declared with different keys or specs")
            out[name] = dict(keys)
    return out
