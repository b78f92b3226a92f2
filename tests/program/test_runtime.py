"""The typed configuration built inside the program from what the engine passes."""

from __future__ import annotations

import json

import pytest

from common.config import SecureValue, load_stack, stack_path
from common.errors import InputError
from components.stack import declared_secure_paths, stack_config
from visio.plan.pulumiconfig import engine_config


def test_the_model_declares_where_secrets_live() -> None:
    assert declared_secure_paths() == {("identity", "proconnect", "clientSecret")}


def test_the_engine_environment_gives_the_same_config_as_the_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    # As the language host does it: PULUMI_CONFIG holds every key, secret keys listed apart.
    values, secret = engine_config(stack_path("interieur-prod"))
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps(values))
    monkeypatch.setenv("PULUMI_CONFIG_SECRET_KEYS", json.dumps(secret))
    from_engine = stack_config("interieur-prod")
    from_cli = load_stack("interieur-prod").config
    assert from_engine.model_dump() == from_cli.model_dump()
    assert from_engine.identity.proconnect is not None
    client_secret = from_engine.identity.proconnect.clientSecret
    assert isinstance(client_secret, SecureValue) and client_secret.known
    assert "placeholder" not in repr(from_engine)


def test_a_non_json_object_names_its_key(monkeypatch: pytest.MonkeyPatch) -> None:
    values, _ = engine_config(stack_path("dev"))
    values["visio:media"] = "{not json"
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps(values))
    with pytest.raises(InputError, match=r"^stacks/Pulumi.dev.yaml: visio:media: not a JSON object"):
        stack_config("dev")
