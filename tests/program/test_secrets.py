"""Secrets: generated once, carried as Pulumi secrets, the same value wherever a name is shared."""

from __future__ import annotations

import json
from typing import Any

import pytest

from common.config import load_stack
from components import naming
from components.values import captioning, identity, media, signalling
from tests.program.conftest import STACKS, plan_of
from visio.plan.mockrun import Plan, Secret, redact, walk_secrets
from visio.plan.pulumiconfig import PLACEHOLDER

SECRET = "kubernetes:core/v1:Secret"
RANDOM = "random:index/randomPassword:RandomPassword"


def secret_data(plan: Plan, namespace: str, name: str) -> dict[str, str]:
    data = plan.get(SECRET, f"{namespace}/{name}").inputs["stringData"]
    assert isinstance(data, Secret), f"{namespace}/{name}: stringData is not marked secret"
    assert isinstance(data.value, dict)
    return data.value


@pytest.mark.parametrize("stack", STACKS)
def test_each_chart_gets_the_secrets_it_declares_marked_secret(stack: str) -> None:
    config = load_stack(stack).config
    plan = plan_of(stack)
    modules = {"signalling": signalling, "media": media, "identity": identity}
    if config.captioning.enabled:
        modules["captioning"] = captioning
    for service, module in modules.items():
        declared = module.secrets(config)
        for name, keys in declared.items():
            data = secret_data(plan, naming.namespace(service), name)
            assert set(data) == set(keys)
            assert all(isinstance(v, str) and v for v in data.values())


@pytest.mark.parametrize("stack", STACKS)
def test_random_values_are_secret_outputs_generated_once(stack: str) -> None:
    plan = plan_of(stack)
    passwords = plan.of_type(RANDOM)
    assert passwords
    assert all(isinstance(p.outputs["result"], Secret) for p in passwords)
    assert all(p.parent == plan.get("visio:secrets:SecretPool", "secrets").urn for p in passwords)
    assert len({p.name for p in passwords}) == len(passwords)


@pytest.mark.parametrize("stack", STACKS)
def test_a_shared_name_holds_one_value_in_every_namespace(stack: str) -> None:
    config = load_stack(stack).config
    plan = plan_of(stack)
    namespaces = ["visio-signalling", "visio-media"] + (["visio-captioning"] if config.captioning.enabled else [])
    values = [secret_data(plan, ns, "livekit-api") for ns in namespaces]
    assert all(v == values[0] for v in values)
    # The backend's OIDC client secret is the one the realm declares for it.
    oidc = secret_data(plan, "visio-identity", "identity-oidc-clients")[signalling.OIDC_CLIENT_ID]
    assert secret_data(plan, "visio-signalling", "signalling-oidc")["client-secret"] == oidc


def env_secret_refs(plan: Plan, type_: str, name: str) -> dict[str, tuple[str, str]]:
    """Environment variable -> (Secret, key) of every container of a rendered workload."""
    spec = plan.get(type_, name).inputs["spec"]["template"]["spec"]
    refs: dict[str, tuple[str, str]] = {}
    for container in spec.get("initContainers", []) + spec["containers"]:
        for env in container.get("env", []):
            ref = env.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                refs[env["name"]] = (ref["name"], ref["key"])
    return refs


@pytest.mark.parametrize("stack", STACKS)
def test_livekit_reads_the_password_redis_runs_with(stack: str) -> None:
    plan = plan_of(stack)
    redis = env_secret_refs(plan, "kubernetes:apps/v1:Deployment", "signalling:visio-signalling/signalling-redis")
    livekit = env_secret_refs(plan, "kubernetes:apps/v1:Deployment", "media:visio-media/media-livekit")
    (redis_ref,) = set(redis.values())
    livekit_ref = livekit["REDIS_PASSWORD"]
    redis_password = secret_data(plan, "visio-signalling", redis_ref[0])[redis_ref[1]]
    assert secret_data(plan, "visio-media", livekit_ref[0])[livekit_ref[1]] == redis_password


@pytest.mark.parametrize("stack", STACKS)
def test_livekit_and_its_clients_share_the_api_key(stack: str) -> None:
    plan = plan_of(stack)
    livekit = env_secret_refs(plan, "kubernetes:apps/v1:Deployment", "media:visio-media/media-livekit")
    backend = env_secret_refs(plan, "kubernetes:apps/v1:Deployment", "signalling:visio-signalling/signalling-backend")
    for var in ("LIVEKIT_API_KEY", "LIVEKIT_API_SECRET"):
        server, client = livekit[var], backend[var]
        assert secret_data(plan, "visio-media", server[0])[server[1]] == (
            secret_data(plan, "visio-signalling", client[0])[client[1]]
        )


@pytest.mark.parametrize("stack", [s for s in STACKS if load_stack(s).config.identity.provider == "proconnect"])
def test_the_proconnect_client_secret_comes_from_the_stack_config(stack: str) -> None:
    plan = plan_of(stack)
    data = secret_data(plan, "visio-identity", "identity-proconnect")
    assert data["client-secret"] == PLACEHOLDER.format(key="visio:identity.proconnect.clientSecret")


@pytest.mark.parametrize("stack", STACKS)
def test_no_secret_value_appears_in_plain_form(stack: str) -> None:
    plan = plan_of(stack)
    everything: list[Any] = [plan.outputs]
    for r in plan.resources:
        everything += [r.inputs, r.outputs]
    plaintexts = {v for v in walk_secrets(everything) if isinstance(v, str)}
    plaintexts |= {v for d in walk_secrets(everything) if isinstance(d, dict) for v in d.values()}
    plaintexts = {p for p in plaintexts if isinstance(p, str) and len(p) >= 16}
    assert len(plaintexts) >= 5
    shown = json.dumps(redact(everything), default=str) + repr(plan)
    leaked = [p[:4] + "…" for p in plaintexts if p in shown]
    assert leaked == []
