"""The union of the charts' Secret declarations, checked before anything is registered."""

from __future__ import annotations

import pytest

from common.config import load_stack
from common.errors import InputError
from components.secrets import resolve
from components.values.secrets import SecretSpec


def test_same_as_must_lead_to_a_declared_value() -> None:
    stack = load_stack("dev").config
    with pytest.raises(InputError, match="refers to missing/key, which no chart declares"):
        resolve([{"a": {"k": SecretSpec.same_as("missing", "key")}}], stack)


def test_same_as_loops_are_refused() -> None:
    stack = load_stack("dev").config
    loop = {"a": {"k": SecretSpec.same_as("b", "k")}, "b": {"k": SecretSpec.same_as("a", "k")}}
    with pytest.raises(InputError, match="same_as loop"):
        resolve([loop], stack)


def test_one_name_declared_differently_by_two_charts_is_refused() -> None:
    stack = load_stack("dev").config
    with pytest.raises(InputError, match="livekit-api"):
        first, second = {"key": SecretSpec.random(20)}, {"key": SecretSpec.random(24)}
        resolve([{"livekit-api": first}, {"livekit-api": second}], stack)


def test_config_secrets_must_be_decrypted() -> None:
    # Loaded by the CLI, the ciphertext is there but not the plaintext: the program cannot use it.
    stack = load_stack("interieur-prod").config
    spec = {"identity-proconnect": {"client-secret": SecretSpec.from_config("identity.proconnect.clientSecret")}}
    with pytest.raises(InputError, match="not decrypted"):
        resolve([spec], stack)
    with pytest.raises(InputError, match="not set in this stack"):
        resolve([spec], load_stack("dev").config)
