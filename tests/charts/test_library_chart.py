"""The library chart: every service chart takes its shared helpers from charts/visio-lib, and only there."""

from __future__ import annotations

import copy
import os
import re
from pathlib import Path

import pytest
import yaml

from common.config import load_stack, stack_names
from common.errors import InputError
from common.paths import CHARTS_DIR, chart_path
from components.catalogue import SERVICES, service
from tests.conftest import run_visio
from visio.kube.charts import render

LIBRARY = CHARTS_DIR / "visio-lib"
DEFINE = re.compile(r'\{\{-?\s*define\s+"([^"]+)"')


def _defines(chart: Path) -> set[str]:
    return {name for tpl in (chart / "templates").glob("*") for name in DEFINE.findall(tpl.read_text())}


def test_the_library_is_a_library_chart_of_visio_helpers_only() -> None:
    meta = yaml.safe_load((LIBRARY / "Chart.yaml").read_text())
    assert (meta["name"], meta["type"]) == ("visio-lib", "library")
    names = _defines(LIBRARY)
    assert names and all(n.startswith("visio.") for n in names)


@pytest.mark.parametrize("name", [s.chart for s in SERVICES])
def test_each_chart_depends_on_the_library_and_carries_it_as_a_link(name: str) -> None:
    chart = chart_path(name)
    meta = yaml.safe_load((chart / "Chart.yaml").read_text())
    assert meta["dependencies"] == [{"name": "visio-lib", "version": "0.1.0", "repository": "file://../visio-lib"}]
    carried = chart / "charts" / "visio-lib"
    assert carried.is_symlink() and os.readlink(carried) == "../../visio-lib"
    assert carried.resolve() == LIBRARY.resolve()


@pytest.mark.parametrize("name", [s.chart for s in SERVICES])
def test_no_chart_writes_again_what_the_library_defines(name: str) -> None:
    shared = {n.removeprefix("visio.") for n in _defines(LIBRARY)}
    own = _defines(chart_path(name))
    assert all(n.startswith(f"{name}.") for n in own), own
    assert not {n.removeprefix(f"{name}.") for n in own} & shared


@pytest.mark.parametrize("name", ["media", "captioning"])
def test_every_chart_refuses_an_image_without_digest_in_production(name: str) -> None:
    # Signalling and identity have their own case in test_charts_identity_signalling.py.
    prod = next(load_stack(n).config for n in stack_names() if load_stack(n).config.production)
    values = copy.deepcopy(service(name).values.values(prod))
    assert values["requireDigests"] is True
    first = next(iter(values["images"]))
    values["images"][first] = values["images"][first].split("@")[0]
    with pytest.raises(InputError, match="pin it by digest"):
        render(chart_path(name), values, name, service(name).namespace)
    values["requireDigests"] = False
    assert render(chart_path(name), values, name, service(name).namespace)


def test_the_projects_charts_audit_with_their_library_link() -> None:
    # The link stays inside charts/: auditing one of our charts reads it, as for any chart's own files.
    result = run_visio("audit", str(chart_path("media")), "--format", "json")
    assert result.returncode in (0, 1), result.stderr
    assert "symbolic link" not in result.stderr


def test_a_link_to_a_sibling_directory_is_still_refused_for_other_charts(tmp_path: Path) -> None:
    chart = tmp_path / "theirs"
    (chart / "templates").mkdir(parents=True)
    (chart / "charts").mkdir()
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: theirs\nversion: 0.1.0\n")
    (chart / "templates" / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    (tmp_path / "lib").mkdir()
    (chart / "charts" / "lib").symlink_to("../../lib")
    result = run_visio("audit", str(chart))
    assert result.returncode == 2 and "symbolic link to outside the chart" in result.stderr
