"""Shared test helpers: the project root and running the real `visio` CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
VISIO = [sys.executable, "-m", "visio"]


def run_visio(*args: str, cwd: Path = ROOT, timeout: float = 120, env: dict[str, str] | None = None,
              ) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    return subprocess.run(
        [*VISIO, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=full_env, check=False
    )


def one_target(text: str, command: str) -> dict[str, Any]:
    """The one target of a JSON report, after checking the shape every command shares."""
    doc = json.loads(text)
    assert set(doc) == {"command", "passed", "targets", "findings"} and doc["command"] == command, list(doc)
    [target] = doc["targets"]
    assert doc["findings"] == [{**f, "target": target["name"]} for f in target["findings"]]
    assert {"name", "findings", "exempted", "exemptions", "summary"} <= set(target)
    assert doc["passed"] is target["summary"]["passed"]
    return target  # type: ignore[no-any-return]


@pytest.fixture
def visio_cli():  # type: ignore[no-untyped-def]
    return run_visio
