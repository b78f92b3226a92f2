"""The real API server accepts every object every example stack registers, as it would at `pulumi up`."""

from __future__ import annotations

import pytest

from common.config import stack_names
from tests.realcluster.cluster import LocalCluster, desired
from visio.plan.stackplan import plan_stack

STACK = "interieur-prod"


@pytest.mark.parametrize("stack", stack_names())
def test_every_object_of_the_stack_is_accepted_by_the_api_server(local_cluster: LocalCluster, stack: str):
    objects = desired(plan_stack(stack))
    namespaces = [o for o in objects if o["kind"] == "Namespace"]
    rest = [o for o in objects if o["kind"] != "Namespace"]
    # Namespaced objects can only be checked in a namespace that exists; the rest is checked only.
    local_cluster.apply(namespaces)
    result = local_cluster.apply(rest, "--dry-run=server")
    applied = [line for line in result.stdout.splitlines() if "serverside-applied" in line]
    assert len(applied) == len(rest), result.stdout
