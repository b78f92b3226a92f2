"""Progress of long runs: a bar on a terminal, silence on a pipe unless asked, NO_COLOR respected."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench.estate import generate

VISIO = [sys.executable, "-m", "visio"]
COLOUR = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("small-estate")
    generate(root, 3000, seed=7, shape="small")
    return root


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VISIO_PROGRESS", "NO_COLOR", "FORCE_COLOR")}
    env.update(extra)
    return env


def _piped(args: list[str], **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*VISIO, *args], capture_output=True, text=True, env=_env(**extra), timeout=120)


def _on_terminal(args: list[str], out: Path, **extra: str) -> tuple[int, str]:
    """Run with stderr on a pseudo-terminal (stdout to a file); what the terminal received."""
    leader, follower = pty.openpty()
    with out.open("w") as sink:
        proc = subprocess.Popen([*VISIO, *args], stdout=sink, stderr=follower, env=_env(COLUMNS="100", **extra))
    os.close(follower)
    received = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the child closed its side
            break
        if not chunk:
            break
        received += chunk
    os.close(leader)
    return proc.wait(timeout=120), received.decode(errors="replace")


def test_a_pipe_gets_no_progress_unless_asked(tree: Path, tmp_path: Path) -> None:
    quiet = _piped(["audit", str(tree), "--format", "json", "-o", str(tmp_path / "quiet.json")])
    assert quiet.returncode == 1, quiet.stderr
    assert quiet.stderr == ""
    asked = _piped(["audit", str(tree), "--format", "json", "-o", str(tmp_path / "asked.json")], VISIO_PROGRESS="1")
    assert asked.returncode == 1
    lines = asked.stderr.splitlines()
    # Plain lines for a CI log: no control codes, each step up to its end.
    assert "\x1b" not in asked.stderr
    assert any(re.fullmatch(r"judging objects: 3000/3000 \(100%\) [0-9.]+ s", line) for line in lines), lines
    assert any(re.fullmatch(r"reading files: (\d+)/\1 \(100%\) [0-9.]+ s", line) for line in lines), lines
    assert len(lines) <= 20  # a line per tenth of each step, not one per object
    # Progress changes nothing in the report.
    assert (tmp_path / "quiet.json").read_text() == (tmp_path / "asked.json").read_text()


def test_a_terminal_gets_a_bar_without_colour_under_no_color(tree: Path, tmp_path: Path) -> None:
    code, shown = _on_terminal(["audit", str(tree), "--format", "json", "-o", str(tmp_path / "r.json")],
                               tmp_path / "stdout", NO_COLOR="1")
    assert code == 1
    assert "judging objects" in shown and "3000/3000" in shown
    assert not COLOUR.findall(shown.replace("\x1b[0m", "")), "NO_COLOR: no colours on the bar"
    code, shown = _on_terminal(["audit", str(tree), "--format", "json", "-o", str(tmp_path / "r.json")],
                               tmp_path / "stdout", VISIO_PROGRESS="0")
    assert code == 1
    assert "judging objects" not in shown and "reading files" not in shown


def test_a_one_file_audit_draws_no_bar(tmp_path: Path) -> None:
    one = tmp_path / "one.yaml"
    one.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: n}\ndata: {k: v}\n")
    code, shown = _on_terminal(["audit", str(one)], tmp_path / "stdout")
    assert code == 1  # the namespace has no default-deny egress policy
    assert "egress-policy" in (tmp_path / "stdout").read_text()
    assert "judging objects" not in shown and "reading files" not in shown


def test_an_unknown_progress_setting_is_refused() -> None:
    result = _piped(["audit", "does-not-matter.yaml"], VISIO_PROGRESS="sometimes")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["error: VISIO_PROGRESS: expected 1 or 0 (on or off), got 'sometimes'"]
