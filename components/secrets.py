"""Every secret value of the stack, generated once and handed to each namespace that needs it.

The charts declare their Secrets (`components/values/*.SECRETS`); the union of the declarations is
made here, so a Secret name declared by two charts (`livekit-api` by signalling and media) is one
value, and a key declared `same_as` another is that very value. Random values come from
`pulumi_random` (kept encrypted in the state); values from the stack configuration come from its
decrypted `SecureValue`. All are Pulumi secrets from the start.
"""

from __future__ import annotations

from collections.abc import Iterable

import pulumi
import pulumi_random

from common.config import StackConfig
from common.errors import InputError
from components.values.secrets import SecretSet, SecretSpec, config_secret, merge

TYPE = "visio:secrets:SecretPool"


class SecretPool(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        stack: StackConfig,
        declarations: Iterable[SecretSet],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(TYPE, name, None, opts)
        self.specs = resolve(declarations, stack)
        self._values: dict[tuple[str, str], pulumi.Output[str]] = {}
        child = pulumi.ResourceOptions(parent=self)
        for (secret, key), spec in sorted(self.specs.items()):
            if spec.length:
                password = pulumi_random.RandomPassword(
                    f"{secret}/{key}", length=spec.length, special=spec.special, opts=child
                )
                self._values[(secret, key)] = pulumi.Output.secret(password.result)
            elif spec.config is not None:
                plain = config_secret(stack, spec.config).reveal()
                self._values[(secret, key)] = pulumi.Output.secret(plain)
        self.register_outputs({})

    def value(self, secret: str, key: str) -> pulumi.Output[str]:
        """The value of `<secret>/<key>`, following `same_as` to the key that holds it."""
        target = origin(self.specs, secret, key)
        return self._values[target]


def resolve(declarations: Iterable[SecretSet], stack: StackConfig) -> dict[tuple[str, str], SecretSpec]:
    """The merged declarations by (secret, key), checked: every `same_as` leads to a value without
    loops, every config source names a decrypted secret of the stack."""
    try:
        merged = merge(*declarations)
    except ValueError as exc:
        raise InputError(f"chart secrets: {exc}") from None
    specs = {(secret, key): spec for secret, keys in merged.items() for key, spec in keys.items()}
    for (secret, key), spec in specs.items():
        origin(specs, secret, key)
        if spec.config is not None:
            try:
                if not config_secret(stack, spec.config).known:
                    raise ValueError(f"visio:{spec.config}: not decrypted (run through the Pulumi engine)")
            except (KeyError, TypeError, ValueError) as exc:
                raise InputError(f"secret {secret}/{key}: {exc.args[0] if exc.args else exc}") from None
    return specs


def origin(specs: dict[tuple[str, str], SecretSpec], secret: str, key: str) -> tuple[str, str]:
    seen: list[tuple[str, str]] = []
    current = (secret, key)
    while True:
        if current in seen:
            chain = " -> ".join(f"{s}/{k}" for s, k in [*seen, current])
            raise InputError(f"chart secrets: {chain}: same_as loop")
        seen.append(current)
        spec = specs.get(current)
        if spec is None:
            raise InputError(
                f"chart secrets: {secret}/{key}: refers to {current[0]}/{current[1]}, which no chart declares"
            )
        if spec.shared is None:
            return current
        target_secret, _, target_key = spec.shared.partition("/")
        current = (target_secret, target_key)
