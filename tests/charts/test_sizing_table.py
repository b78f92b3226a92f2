"""The README's sizing table is what `visio capacity --all --format markdown` prints."""

from __future__ import annotations

from tests.conftest import ROOT, run_visio


def test_readme_sizing_table_is_what_capacity_prints() -> None:
    result = run_visio("capacity", "--all", "--format", "markdown")
    assert result.returncode == 0, result.stderr
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Sizing\n", 1)[1].split("\n## ", 1)[0]
    table = [line for line in section.splitlines() if line.startswith("|")]
    assert table == result.stdout.splitlines()
    assert len(table) == 2 + len(list((ROOT / "stacks").glob("Pulumi.*.yaml")))
