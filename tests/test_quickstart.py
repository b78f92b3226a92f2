"""The README's quick start is exactly two commands, and CI runs the second one, nothing less."""

from __future__ import annotations

import re

from tests.conftest import ROOT


def quick_start_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "the quick start has a sh block"
    return [line.split("#", 1)[0].strip() for line in block.group(1).splitlines() if line.strip()]


def test_quick_start_is_two_commands_plan_then_test() -> None:
    commands = quick_start_commands()
    assert commands == ["scripts/quickstart.sh plan", "scripts/quickstart.sh test"]


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    test_command = quick_start_commands()[1]
    assert re.search(rf"^exec {re.escape(test_command)}$", ci, re.M), ci


def test_quickstart_plan_job_is_visio_plan_all_and_test_job_runs_pytest() -> None:
    script = (ROOT / "scripts" / "quickstart.sh").read_text()
    assert re.search(r"^\s+exec \.venv/bin/visio plan --all\b", script, re.M)
    assert re.search(r"^\s+exec \.venv/bin/python -m pytest\b", script, re.M)
    assert "VISIO_REQUIRE_SERVERS=1" in script
