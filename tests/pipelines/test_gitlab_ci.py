"""The GitLab pipeline run for real: `.gitlab-ci.yml`'s jobs executed by gitlab-ci-local with its
shell executor, in a copy of the project, as a merge-request pipeline would run them. Each job's exit
code and artefacts are what the pipeline's comments promise."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT
from tests.engine.cli import tools_bin


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def runner() -> Path:
    if shutil.which("rsync") is None:
        pytest.fail("gitlab-ci-local needs rsync (scripts/quickstart.sh test installs it)")
    return tools_bin("gitlab-ci-local") / "gitlab-ci-local"


def _project(tmp_path: Path) -> Path:
    """The tracked files of the project in a repository of their own, as a runner checks it out."""
    copy = tmp_path / "checkout"
    copy.mkdir()
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                           check=True, capture_output=True, timeout=60).stdout.decode().split("\0")
    for name in filter(None, files):
        source = ROOT / name
        if source.is_symlink():  # as git checks it out (the charts' link to their library chart)
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            (copy / name).symlink_to(os.readlink(source))
        elif source.is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / name)
    _git(copy, "init", "-q", "-b", "main")
    _git(copy, "-c", "user.email=ci@visio.test", "-c", "user.name=ci", "add", "-A")
    _git(copy, "-c", "user.email=ci@visio.test", "-c", "user.name=ci", "commit", "-q", "-m", "checkout")
    return copy


def _run_job(runner: Path, project: Path, job: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(runner), "--force-shell-executor", "--variable", "CI_PIPELINE_SOURCE=merge_request_event",
         "--ignore-predefined-vars", "CI_PIPELINE_SOURCE", "--variable", "VISIO_CI_IMAGE=shell", job],
        cwd=project, capture_output=True, text=True, timeout=900, check=False)


def test_plan_job_passes_on_compliant_stacks_and_keeps_every_report(runner: Path, tmp_path: Path):
    project = _project(tmp_path)
    result = _run_job(runner, project, "plan")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "PASS  plan" in result.stdout
    reports = project / ".gitlab-ci-local" / "artifacts" / "plan" / "reports"
    assert {p.name for p in reports.iterdir()} >= {"visio-plan.json", "visio-plan.sarif", "visio-plan.html",
                                                   "visio-plan.junit.xml", "manifests"}
    junit = ET.parse(reports / "visio-plan.junit.xml").getroot()
    assert junit.get("failures") == "0"


def test_plan_job_fails_a_change_that_moves_production_to_a_foreign_registry(runner: Path, tmp_path: Path):
    project = _project(tmp_path)
    stack_file = project / "stacks" / "Pulumi.justice-prod.yaml"
    text = stack_file.read_text()
    host = yaml.safe_load(text)["config"]["visio:registry"]["host"]
    stack_file.write_text(text.replace(f"host: {host}", "host: ghcr.io/visio-justice"))
    _git(project, "-c", "user.email=ci@visio.test", "-c", "user.name=ci", "commit", "-qam", "foreign registry")
    result = _run_job(runner, project, "plan")
    assert result.returncode != 0 and "FAIL  plan" in result.stdout, result.stdout[-3000:]
    # `artifacts: when: always`: the reports that say why are kept for the merge request.
    report = json.loads((project / ".gitlab-ci-local" / "artifacts" / "plan" / "reports" /
                         "visio-plan.json").read_text())
    justice = next(s for s in report["targets"] if s["name"] == "justice-prod")
    rules = {f["rule"] for f in justice["findings"] if f["enforcement"] == "mandatory"}
    assert "image-registry" in rules
