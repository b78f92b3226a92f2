"""`visio admission policies|serve`: the generated ValidatingAdmissionPolicies, and the webhook."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from common.errors import InputError
from policies.admission.policies import validating_policies
from policies.engine.config import PolicyConfig
from policies.engine.stackconfig import load_policy_config

admission = typer.Typer(help="The rules at admission: generated policies and the validating webhook.",
                        no_args_is_help=True)


def _policy(stack: str | None, policy_config: Path | None) -> PolicyConfig:
    if (stack is None) == (policy_config is None):
        raise InputError("give one policy source: --stack STACK or --policy-config FILE")
    if stack is not None:
        from common.config import load_stack
        from policies.engine.stackconfig import from_stack

        return from_stack(load_stack(stack))
    assert policy_config is not None
    return load_policy_config(policy_config)


StackOption = Annotated[str | None, typer.Option("--stack", help="The stack whose policy applies.")]
ConfigOption = Annotated[Path | None, typer.Option("--policy-config", help="Policy settings (YAML or JSON).")]


@admission.command("policies")
def policies_command(stack: StackOption = None, policy_config: ConfigOption = None) -> None:
    """Print the ValidatingAdmissionPolicies and bindings the rules' CEL gives for a policy, as YAML."""
    docs = validating_policies(_policy(stack, policy_config))
    typer.echo(yaml.safe_dump_all(docs, sort_keys=False, width=120), nl=False)


def _related(kubeconfig: Path | None) -> Any:
    from visio.admission.serve import CachedRelated
    from visio.cluster.api import list_all
    from visio.cluster.connect import api_client

    api, _name = api_client(kubeconfig)

    def read(namespace: str) -> list[dict[str, Any]]:
        items, _kind = list_all(api, f"/api/v1/namespaces/{namespace}/configmaps")
        return [i for i in items if isinstance(i, dict)]

    return CachedRelated(read)


@admission.command("serve")
def serve_command(
    cert: Annotated[Path, typer.Option("--cert", help="Serving certificate (PEM).")],
    key: Annotated[Path, typer.Option("--key", help="Its private key (PEM).")],
    stack: StackOption = None,
    policy_config: ConfigOption = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "0.0.0.0",
    port: Annotated[int, typer.Option("--port", help="HTTPS port.")] = 8443,
    kubeconfig: Annotated[Path | None, typer.Option(
        "--kubeconfig", help="Cluster to read ConfigMaps from, for env values set through them.")] = None,
    no_related: Annotated[bool, typer.Option(
        "--no-related", help="Do not read ConfigMaps: env values from them are unknown (fail closed).")] = False,
) -> None:
    """Serve the validating webhook over HTTPS (POST /validate, GET /healthz); one JSON line per decision."""
    import os
    import ssl

    from visio.admission.serve import Certificate, serve

    config = _policy(stack, policy_config)
    for path, what in ((cert, "--cert"), (key, "--key")):
        if not path.is_file():
            raise InputError(f"{what}: {path}: no such file")
    try:
        certificate = Certificate(cert, key)
    except ssl.SSLError as exc:
        raise InputError(f"--cert/--key: {cert}, {key}: not a usable certificate and key ({exc.reason})") from None
    in_cluster = bool(os.environ.get("KUBERNETES_SERVICE_HOST"))
    related = None if no_related or (kubeconfig is None and not in_cluster) else _related(kubeconfig)
    serve(config, certificate, host, port, related)


def register(app: typer.Typer) -> None:
    app.add_typer(admission, name="admission")
