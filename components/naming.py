"""How a service's objects are named: its namespace, and the in-cluster address of a workload.

A service is released under its own name (release, chart and Pulumi component share it), so its
workloads are `<service>-<workload>` and live in `visio-<service>`.
"""

from __future__ import annotations


def namespace(service: str) -> str:
    return f"visio-{service}"


def address(service: str, workload: str, port: int) -> str:
    """`host:port` of a workload's Service, as pods of any namespace resolve it."""
    return f"{service}-{workload}.{namespace(service)}.svc.cluster.local:{port}"
