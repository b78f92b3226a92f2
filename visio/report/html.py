"""The HTML report a security officer signs off: per target a summary, every finding with its evidence,
every exemption in force, and where the target's endpoints live."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence

import jinja2

from policies.engine.catalog import catalog
from visio.report.target import Target, location

PLACEMENTS = ("internal", "trusted", "FR", "EU", "non-EU", "unknown")

_env = jinja2.Environment(
    loader=jinja2.PackageLoader("visio.report", "templates"),
    autoescape=jinja2.select_autoescape(["html", "j2"]),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def render(targets: Sequence[Target], title: str = "Visio sovereignty report", generated: dt.date | None = None) -> str:
    placements = [Counter(e.placement for e in t.endpoints) for t in targets]
    return _env.get_template("report.html.j2").render(
        title=title,
        generated=(generated or dt.date.today()).isoformat(),
        targets=list(zip(targets, placements, strict=True)),
        placements=PLACEMENTS,
        rules=catalog(),
        location=location,
    )
