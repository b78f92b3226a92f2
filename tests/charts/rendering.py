"""Helpers of the media and captioning chart tests: example stacks rendered with the real Helm library."""

from __future__ import annotations

from typing import Any

import kubernetes_validate

from visio.charts import chart_path, render
from visio.config import stack_names

STACKS = stack_names()


def rendered(chart: str, values: dict[str, Any], namespace: str) -> list[dict[str, Any]]:
    return [obj for _, obj in render(chart_path(chart), values, chart, namespace)]


def validate_all(objects: list[dict[str, Any]], kube_version: str) -> None:
    for obj in objects:
        kubernetes_validate.validate(obj, kube_version, strict=True)


def by_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def containers(pod_spec: dict[str, Any]) -> list[dict[str, Any]]:
    return list(pod_spec.get("initContainers", [])) + list(pod_spec["containers"])


def env_of(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container.get("env", [])}
