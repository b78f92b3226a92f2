"""The README's service table is the catalogue the program deploys from."""

from __future__ import annotations

import re

from components import catalogue
from tests.conftest import ROOT


def test_readme_service_table_is_the_catalogue() -> None:
    readme = (ROOT / "README.md").read_text()
    found = re.search(r"<!-- services -->\n(.*?)\n<!-- /services -->", readme, re.S)
    assert found, "README.md: the <!-- services --> table is missing"
    assert found.group(1) == catalogue.table(), "README.md: paste components.catalogue.table() between the markers"


def test_catalogue_names_each_service_once_with_its_own_chart_and_namespace() -> None:
    names = [s.name for s in catalogue.SERVICES]
    assert len(names) == len(set(names))
    for s in catalogue.SERVICES:
        assert (ROOT / "charts" / s.chart / "Chart.yaml").is_file(), s.name
        assert s.namespace == f"visio-{s.name}"
        assert s.component.__module__ == f"components.{s.name}"
