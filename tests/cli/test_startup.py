"""A command loads only what it uses: a one-file audit, the common case in editors and pre-commit
hooks, pays no import of another command's libraries. (How long it takes is bench/run.py's business.)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

PROBE = """
import sys
from visio.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(" ".join(sorted(m for m in NOT_NEEDED if m in sys.modules)), file=sys.stderr)
"""
# The Kubernetes client (scan, drift), DNS (only with --resolve), Jinja (HTML reports), other commands.
NOT_NEEDED = ("kubernetes", "dns.resolver", "jinja2", "visio.scan.command", "visio.plan.command",
              "visio.verify.command", "visio.admission.command")


def _loaded(*args: str) -> set[str]:
    code = f"NOT_NEEDED = {NOT_NEEDED!r}\n{PROBE}"
    result = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True,
                            timeout=120, check=False)
    return set(result.stderr.strip().splitlines()[-1].split()) if result.stderr.strip() else set()


def test_a_one_file_audit_loads_no_other_commands_libraries(tmp_path: Path) -> None:
    manifest = tmp_path / "one.yaml"
    manifest.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: a}\n"
                        "data: {url: 'https://api.example.fr/'}\n")
    assert _loaded("audit", str(manifest), "--format", "json") == set()


def test_help_still_lists_every_command() -> None:
    result = subprocess.run([sys.executable, "-m", "visio", "--help"], cwd=ROOT, capture_output=True, text=True,
                            timeout=120, check=False, env={"NO_COLOR": "1", "COLUMNS": "200",
                                                            "PATH": "/usr/bin:/bin"})
    from visio.cli import COMMANDS

    for name in COMMANDS:
        assert f" {name} " in result.stdout, name
    assert _loaded("--help") >= {"visio.scan.command", "visio.admission.command"}
