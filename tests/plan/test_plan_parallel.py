"""`visio plan --all` over every core: the same report as one process, every stack's problem reported."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from tests.conftest import ROOT, run_visio


def test_plans_in_parallel_equal_plans_in_one_process(tmp_path: Path) -> None:
    reports = {}
    for jobs in ("1", "3"):
        out = tmp_path / f"plan-{jobs}.json"
        result = run_visio("plan", "--all", "--format", "json", "--output", str(out), env={"VISIO_JOBS": jobs})
        assert result.returncode == 0, result.stderr
        reports[jobs] = json.loads(out.read_text())
    names = [t["name"] for t in reports["1"]["targets"]]
    assert names == sorted(names) and len(names) >= 3, "stack order is kept"
    assert reports["3"] == reports["1"]


PLAN_SOME = """
import sys
from common.errors import InputError
from visio.plan import command
try:
    plans = command._plans(sys.argv[1:])
except InputError as exc:
    print("\\n".join(exc.problems))
"""


def test_one_bad_stack_does_not_hide_another(tmp_path: Path) -> None:
    doc = yaml.safe_load((ROOT / "stacks" / "Pulumi.interieur-prod.yaml").read_text())
    first, second = tmp_path / "Pulumi.a.yaml", tmp_path / "Pulumi.b.yaml"
    bad = dict(doc, config={**doc["config"], "visio:media": {**doc["config"]["visio:media"],
                                                             "udpPortRange": {"start": 60000, "end": 50000}}})
    first.write_text(yaml.safe_dump(bad, sort_keys=False))
    worse = dict(doc, config={**doc["config"], "visio:capacity": "lots"})
    second.write_text(yaml.safe_dump(worse, sort_keys=False))
    result = subprocess.run(
        [sys.executable, "-c", PLAN_SOME, str(first), "justice-prod", str(second)], cwd=ROOT, capture_output=True,
        text=True, timeout=300, env={"VISIO_JOBS": "2", "PATH": "/usr/bin:/bin"}, check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2, lines
    assert lines[0] == f"{first}: visio:media.udpPortRange.end: must be greater than start"
    assert lines[1].startswith(f"{second}: visio:capacity")
