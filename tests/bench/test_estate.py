"""The benchmark's synthetic estate: the same seed gives the same files, and an audit finds exactly what was planted.

Functional checks only: nothing here is timed (bench/run.py measures).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections import Counter
from pathlib import Path

from bench.estate import generate
from tests.conftest import one_target

ROOT = Path(__file__).resolve().parents[2]
VISIO = ROOT / ".venv" / "bin" / "visio"


def _digest(directory: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(directory.rglob("*")):
        if path.is_file():
            h.update(path.relative_to(directory).as_posix().encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def test_same_seed_same_estate_other_seed_other_estate(tmp_path: Path) -> None:
    first = generate(tmp_path / "a", 300, seed=3)
    second = generate(tmp_path / "b", 300, seed=3)
    other = generate(tmp_path / "c", 300, seed=4)
    assert first == second
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert _digest(tmp_path / "a") != _digest(tmp_path / "c")
    assert first != other
    # 100 objects a file, multi-document
    files = sorted((tmp_path / "a" / "manifests").glob("*.yaml"))
    assert len(files) == 3
    assert all(f.read_text().count("\n---\n") == 99 for f in files)


def test_audit_finds_exactly_the_planted_defects(tmp_path: Path) -> None:
    planted = generate(tmp_path, 200, seed=2024)
    assert {d.planted for d in planted} == {"foreign-registry", "missing-digest", "us-endpoint", "us-endpoint-config"}
    result = subprocess.run(
        [str(VISIO), "audit", str(tmp_path / "manifests"), "--policy-config", str(tmp_path / "policy.yaml"),
         "--format", "json"],
        capture_output=True, text=True, timeout=300, check=False, env={**os.environ, "NO_COLOR": "1"},
    )
    assert result.returncode == 1, result.stderr
    report = one_target(result.stdout, "audit")
    assert report["summary"]["resources"] == 200
    found = Counter(
        (f["rule"], f["resource"]["kind"], f["resource"]["namespace"], f["resource"]["name"], f["path"])
        for f in report["findings"]
    )
    expected = Counter((d.rule, d.kind, d.namespace, d.name, d.path) for d in planted)
    assert found == expected
    assert all(f["enforcement"] == "mandatory" for f in report["findings"])
    # The written record matches what the generator returned.
    assert json.loads((tmp_path / "planted.json").read_text())[0]["rule"] == planted[0].rule
