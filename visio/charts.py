"""Rendering our Helm charts (and third-party ones) offline with the real Helm library."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import helm_python
import yaml

from visio import PROJECT_ROOT
from visio.config.yamlsafe import load_all
from visio.errors import InputError

CHARTS_DIR = PROJECT_ROOT / "charts"


def chart_path(name: str) -> Path:
    return CHARTS_DIR / name


def render(
    path: Path, values: dict[str, Any] | None, release: str, namespace: str
) -> list[tuple[str, dict[str, Any]]]:
    """Render a chart and parse its manifests: (template path, object) in template order.

    Values are checked against the chart's values.schema.json first, as `helm install` does.
    """
    try:
        chart = helm_python.Chart.load(path)
        chart.validate_schema(values or {})
        manifests = chart.render(values or {}, name=release, namespace=namespace, is_install=True)
    except helm_python.HelmError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{path}: {first}") from None
    objects: list[tuple[str, dict[str, Any]]] = []
    for template in sorted(manifests):
        if not template.endswith((".yaml", ".yml", ".json")):
            continue  # NOTES.txt and helpers render to text
        for doc in load_all(manifests[template], template):
            if doc is None:
                continue
            if not isinstance(doc, dict) or "kind" not in doc:
                raise InputError(f"{path}: {template}: rendered a document that is not a Kubernetes object")
            objects.append((template, doc))
    return objects


def dump(objects: list[dict[str, Any]]) -> str:
    return yaml.safe_dump_all(objects, sort_keys=False)
