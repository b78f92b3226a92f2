"""The pack's configuration schema is the policy-config model's: what one accepts, the other does."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from pydantic import ValidationError

from policies.engine.config import PolicyConfig
from policies.engine.config_schema import NOT_IN_PACK, pack_properties
from policies.pack import CONFIG_SCHEMA

EXEMPTION = {"rule": "pod-security", "resource": {"kind": "Deployment", "name": "media-*"},
             "justification": "host networking for media", "approver": "rssi@interieur.gouv.fr",
             "expiry": "2027-06-30"}


def test_every_model_setting_is_in_the_pack_schema_self_contained() -> None:
    assert set(CONFIG_SCHEMA.properties) == set(PolicyConfig.model_fields) - NOT_IN_PACK
    assert "$ref" not in json.dumps(CONFIG_SCHEMA.properties)


def test_a_new_model_field_reaches_the_schema() -> None:
    class Extended(PolicyConfig):
        maxReplicas: int | None = None

    assert pack_properties(Extended)["maxReplicas"] == {"type": "integer"}


@pytest.mark.parametrize("settings", [
    {"profile": "eu-residency", "allowedRegistries": ["registry.gouv.fr"], "kubernetesVersion": "1.34"},
    {"exemptions": [EXEMPTION], "production": True, "resolve": False},
    {"profile": "lenient"},
    {"allowedRegistries": "registry.gouv.fr"},
    {"kubernetesVersion": "1.3x"},
    {"exemptions": [{**EXEMPTION, "approver": "x"}]},
    {"exemptions": [{**EXEMPTION, "resource": {"kind": "Pod", "nmespace": "x"}}]},
])
def test_the_schema_and_the_model_agree(settings: dict[str, Any]) -> None:
    schema = {"type": "object", "properties": CONFIG_SCHEMA.properties}
    try:
        PolicyConfig.model_validate(settings)
        model_accepts = True
    except ValidationError:
        model_accepts = False
    schema_accepts = jsonschema.Draft7Validator(schema).is_valid(settings)
    assert schema_accepts == model_accepts
