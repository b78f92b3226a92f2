"""The real Pulumi CLI built from tools/pulumi, run offline against a local file backend."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT


@dataclass(frozen=True)
class PulumiCli:
    binary: Path
    home: Path
    backend: Path
    passphrase: str

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {
            **os.environ,
            "PULUMI_HOME": str(self.home),
            "PULUMI_BACKEND_URL": f"file://{self.backend}",
            "PULUMI_CONFIG_PASSPHRASE": self.passphrase,
            # Nothing downloads at run time and nothing phones home.
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            "PULUMI_SKIP_UPDATE_CHECK": "1",
            "PULUMI_SKIP_CONFIRMATIONS": "true",
            **(extra or {}),
        }

    def run(self, cwd: Path, *args: str, env: dict[str, str] | None = None,
            check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([str(self.binary), "--non-interactive", *args], cwd=cwd, env=self.env(env),
                                capture_output=True, text=True, timeout=300, check=False)
        if check and result.returncode != 0:
            raise AssertionError(f"pulumi {' '.join(args[:3])} failed ({result.returncode}):\n{result.stderr[-3000:]}")
        return result


def tools_bin(group: str) -> Path:
    if shutil.which("go") is None:
        if os.environ.get("VISIO_REQUIRE_SERVERS"):
            pytest.fail("Go is required to build the pinned tools (VISIO_REQUIRE_SERVERS is set)")
        pytest.skip("Go is not installed: the pinned tools cannot be built")
    result = subprocess.run([str(ROOT / "scripts" / "build-tools.sh"), group], capture_output=True, text=True,
                            timeout=3600, check=False)
    if result.returncode != 0:
        pytest.fail(f"scripts/build-tools.sh {group} failed:\n{result.stderr[-3000:]}")
    return Path(result.stdout.strip())


def pulumi_cli(workdir: Path, passphrase: str) -> PulumiCli:
    home, backend = workdir / "home", workdir / "state"
    home.mkdir(parents=True, exist_ok=True)
    backend.mkdir(parents=True, exist_ok=True)
    return PulumiCli(tools_bin("pulumi") / "pulumi", home, backend, passphrase)
