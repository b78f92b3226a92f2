"""Local verification needs the Debian servers (CI installs them and sets VISIO_REQUIRE_SERVERS) and
the LiveKit server of tools/livekit, built on first use."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.engine.cli import tools_bin

SERVERS = ("turnserver", "turnutils_uclient", "redis-server", "redis-cli", "openssl", "setpriv")


@pytest.fixture
def servers(monkeypatch: pytest.MonkeyPatch) -> None:
    missing = [b for b in SERVERS if shutil.which(b) is None]
    if missing and os.environ.get("VISIO_REQUIRE_SERVERS"):
        pytest.fail(f"{', '.join(missing)} required (VISIO_REQUIRE_SERVERS is set)")
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed (apt-get install coturn redis-server redis-tools openssl)")
    # LiveKit comes from the Go module proxy, not Debian: the pinned build goes first on PATH.
    monkeypatch.setenv("PATH", f"{tools_bin('livekit')}{os.pathsep}{os.environ['PATH']}")
