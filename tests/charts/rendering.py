"""Helpers of the media and captioning chart tests: example stacks rendered with the real Helm library."""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pytest

from common.config import stack_names
from common.paths import chart_path
from visio.kube.charts import render

STACKS = stack_names()


def rendered(chart: str, values: dict[str, Any], namespace: str) -> list[dict[str, Any]]:
    return [obj for _, obj in render(chart_path(chart), values, chart, namespace)]


# Custom resources kubernetes-validate has no schema for (the plan lists them as not schema-checked).
UNSCHEMAED_GROUPS = ("cert-manager.io/",)


def validate_all(objects: list[dict[str, Any]], kube_version: str) -> list[dict[str, Any]]:
    """Validate every object strictly; return the custom resources that have no schema to check."""
    unchecked = []
    for obj in objects:
        if obj["apiVersion"].startswith(UNSCHEMAED_GROUPS):
            with pytest.raises(kubernetes_validate.SchemaNotFoundError):
                kubernetes_validate.validate(obj, kube_version, strict=True)
            unchecked.append(obj)
            continue
        kubernetes_validate.validate(obj, kube_version, strict=True)
    return unchecked


def by_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def containers(pod_spec: dict[str, Any]) -> list[dict[str, Any]]:
    return list(pod_spec.get("initContainers", [])) + list(pod_spec["containers"])


def env_of(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container.get("env", [])}
