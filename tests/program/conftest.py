"""Plans of the example stacks, each run once per test session under the Pulumi mock runtime."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from common.config import stack_names
from visio.plan.mockrun import Plan, run_program

STACKS = stack_names()
_CACHE: dict[str, Plan] = {}


def plan_of(stack: str) -> Plan:
    if stack not in _CACHE:
        _CACHE[stack] = run_program(stack)
    return _CACHE[stack]


@pytest.fixture
def plan() -> Callable[[str], Plan]:
    return plan_of
