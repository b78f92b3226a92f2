"""Real control planes on loopback, started by scripts/local-cluster.sh: one per test module, with
nodes sized and labelled for the module's `STACK`, removed after the module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.realcluster.cluster import Deployed, LocalCluster, deploy, tools_available


@pytest.fixture(scope="module")
def local_cluster(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
                  ) -> Iterator[LocalCluster]:
    tools_available()
    cluster = LocalCluster(tmp_path_factory.mktemp("local-cluster"))
    try:
        cluster.up(*getattr(request.module, "CLUSTER_STACKS", [request.module.STACK]))
        yield cluster
    finally:
        cluster.down()


@pytest.fixture(scope="module")
def deployed(request: pytest.FixtureRequest, local_cluster: LocalCluster) -> Deployed:
    return deploy(local_cluster, request.module.STACK)
