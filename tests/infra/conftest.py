"""Local verification needs the Debian servers; CI installs them and sets VISIO_REQUIRE_SERVERS."""

from __future__ import annotations

import os
import shutil

import pytest

SERVERS = ("turnserver", "turnutils_uclient", "redis-server", "redis-cli", "openssl", "setpriv")


@pytest.fixture
def servers() -> None:
    missing = [b for b in SERVERS if shutil.which(b) is None]
    if missing and os.environ.get("VISIO_REQUIRE_SERVERS"):
        pytest.fail(f"{', '.join(missing)} required (VISIO_REQUIRE_SERVERS is set)")
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed (apt-get install coturn redis-server redis-tools openssl)")
