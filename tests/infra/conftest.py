"""Local verification needs the Debian servers (CI installs them and sets VISIO_REQUIRE_SERVERS), the
LiveKit server of tools/livekit, built on first use, and for identity the Keycloak of tools/keycloak."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from tests.engine.cli import tools_bin

SERVERS = ("turnserver", "turnutils_uclient", "redis-server", "redis-cli", "openssl", "setpriv", "unshare", "ip")


@pytest.fixture
def servers(monkeypatch: pytest.MonkeyPatch) -> None:
    missing = [b for b in SERVERS if shutil.which(b) is None]
    if missing and os.environ.get("VISIO_REQUIRE_SERVERS"):
        pytest.fail(f"{', '.join(missing)} required (VISIO_REQUIRE_SERVERS is set)")
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed (apt-get install coturn redis-server redis-tools openssl)")
    # LiveKit comes from the Go module proxy, not Debian: the pinned build goes first on PATH.
    monkeypatch.setenv("PATH", f"{tools_bin('livekit')}{os.pathsep}{os.environ['PATH']}")


@pytest.fixture(scope="module")
def identity_servers() -> Iterator[None]:
    """Debian's PostgreSQL and the Keycloak distribution of tools/keycloak (fetched on first use)."""
    from visio.verify.local import StartError
    from visio.verify.postgres import pg_binary

    missing = [b for b in ("java", "curl", "setpriv") if shutil.which(b) is None]
    for name in ("initdb", "postgres", "pg_isready", "psql"):
        try:
            pg_binary(name)
        except StartError:
            missing.append(name)
    if missing and os.environ.get("VISIO_REQUIRE_SERVERS"):
        pytest.fail(f"{', '.join(missing)} required (VISIO_REQUIRE_SERVERS is set)")
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed (apt-get install postgresql openjdk-17-jre-headless curl)")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PATH", f"{tools_bin('keycloak')}{os.pathsep}{os.environ['PATH']}")
        yield
