"""`visio plan` and the policy pack decide a stack's facts (backend, secrets provider) the same way."""

from __future__ import annotations

import pytest

from common.config import load_stack
from policies import pack
from policies.engine.stackconfig import from_stack
from visio.plan import stackplan as plan


@pytest.mark.parametrize("env_backend", [None, "s3://visio-state?endpoint=s3.gra.io.cloud.ovh.net"])
@pytest.mark.parametrize("name", ["interieur-prod", "dev"])
def test_plan_and_pack_agree(monkeypatch: pytest.MonkeyPatch, name: str, env_backend: str | None) -> None:
    monkeypatch.setenv("PULUMI_STACK", name)
    if env_backend is None:
        monkeypatch.delenv("PULUMI_BACKEND_URL", raising=False)
    else:
        monkeypatch.setenv("PULUMI_BACKEND_URL", env_backend)
    pack._stack_file.cache_clear()
    stack = load_stack(name)
    facts = pack.stack_facts(from_stack(stack))
    assert facts == plan.stack_facts(stack)
    # Without the variable, Pulumi.yaml's backend is the one `pulumi` uses.
    assert facts.backend_url == (env_backend or "file://~/.pulumi-visio")
    pack._stack_file.cache_clear()
