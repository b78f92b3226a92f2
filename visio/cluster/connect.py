"""An API client for the cluster a kubeconfig names, through the official client's own loader.

Nothing here talks to the cluster; a kubeconfig that cannot be used is unusable input (exit 2).
Without `--kubeconfig`, `KUBECONFIG` or `~/.kube/config` is used, and inside a pod the service
account (how the scheduled CI job runs when its runner lives in the cluster).
"""

from __future__ import annotations

import os
from pathlib import Path

from kubernetes import client, config

from common.errors import InputError


def _default_path() -> Path | None:
    env = os.environ.get("KUBECONFIG")
    if env:
        first = env.split(os.pathsep)[0]
        return Path(first) if first else None
    home = Path(config.KUBE_CONFIG_DEFAULT_LOCATION).expanduser()
    return home if home.exists() else None


def api_client(kubeconfig: Path | None = None, context: str | None = None) -> tuple[client.ApiClient, str]:
    """The API client and a name for the cluster (the kubeconfig context, or `in-cluster`)."""
    path = kubeconfig or _default_path()
    if path is None:
        if os.environ.get("KUBERNETES_SERVICE_HOST") and context is None:
            configuration = client.Configuration()
            try:
                config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
            except config.ConfigException as exc:
                raise InputError(f"in-cluster configuration: {exc}") from None
            return client.ApiClient(configuration), "in-cluster"
        raise InputError("kubeconfig: none given (--kubeconfig, KUBECONFIG or ~/.kube/config)")
    if not path.is_file():
        raise InputError(f"{path}: no such kubeconfig file")
    try:
        contexts, active = config.list_kube_config_contexts(config_file=str(path))  # type: ignore[no-untyped-call]
    except Exception as exc:  # the loader fails in many shapes on malformed files; all are bad input
        raise InputError(f"{path}: not a usable kubeconfig ({_first_line(exc)})") from None
    names = [c.get("name") for c in contexts or []]
    if context is not None and context not in names:
        raise InputError(f"{path}: contexts: no context named {context!r}")
    chosen = context or (active or {}).get("name") or "(default)"
    try:
        api = config.new_client_from_config(  # type: ignore[no-untyped-call]
            config_file=str(path), context=context, persist_config=False)
    except Exception as exc:
        raise InputError(f"{path}: context {chosen}: {_first_line(exc)}") from None
    return api, str(chosen)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
