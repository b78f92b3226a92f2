"""Public certificates: issued by cert-manager when the stack names an issuer, else provisioned Secrets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import helm_python
import pytest

from common.config import StackConfig, load_stack
from common.paths import chart_path
from components import naming
from components.values import identity, media, signalling
from tests.charts.rendering import STACKS, by_kind, rendered, validate_all

Obj = dict[str, Any]
ISSUER_ANNOTATION = "cert-manager.io/cluster-issuer"
BUILDERS = {"signalling": signalling, "identity": identity, "media": media}
# The Secret each public name is served with: what the ministry provisions when no issuer is set.
TLS_SECRETS = {
    "signalling": "signalling-web-tls",
    "identity": "identity-tls",
    "media": "media-livekit-tls",
}
TURN_SECRET = "turn-tls"


def with_issuer(name: str, issuer: str | None) -> StackConfig:
    config = load_stack(name).config
    return config.model_copy(update={"tls": config.tls.model_copy(update={"issuer": issuer})})


def objects(chart: str, config: StackConfig) -> list[Obj]:
    builder = BUILDERS[chart]
    return rendered(chart, builder.values(config), naming.namespace(chart))


def host_of(chart: str, config: StackConfig) -> str:
    return {"signalling": config.domains.web, "identity": config.domains.identity,
            "media": config.domains.media}[chart]


# Every example stack as written, and every stack in the other mode too.
MODES = [(name, mode) for name in STACKS for mode in ("as-written", "issuer", "provisioned")]


def config_for(name: str, mode: str) -> StackConfig:
    if mode == "issuer":
        return with_issuer(name, "pki-test")
    if mode == "provisioned":
        return with_issuer(name, None)
    return load_stack(name).config


def test_only_interieur_prod_names_an_issuer() -> None:
    assert {n: load_stack(n).config.tls.issuer for n in STACKS} == {
        n: ("pki-interieur" if n == "interieur-prod" else None) for n in STACKS
    }


@pytest.mark.parametrize(("name", "mode"), MODES)
@pytest.mark.parametrize("chart", sorted(BUILDERS))
def test_every_ingress_is_annotated_exactly_when_an_issuer_is_set(chart: str, name: str, mode: str) -> None:
    config = config_for(name, mode)
    (ingress,) = by_kind(objects(chart, config), "Ingress").values()
    annotations = ingress["metadata"].get("annotations") or {}
    if config.tls.issuer:
        assert annotations[ISSUER_ANNOTATION] == config.tls.issuer
    else:
        assert ISSUER_ANNOTATION not in annotations
    # Same Secret either way: cert-manager fills it, or the ministry provisions it.
    assert ingress["spec"]["tls"] == [{"hosts": [host_of(chart, config)], "secretName": TLS_SECRETS[chart]}]


@pytest.mark.parametrize(("name", "mode"), MODES)
def test_turn_certificate_is_issued_into_the_secret_coturn_mounts(name: str, mode: str) -> None:
    config = config_for(name, mode)
    objs = objects("media", config)
    unchecked = validate_all(objs, config.cluster.kubernetesVersion)
    coturn = by_kind(objs, "Deployment")["media-coturn"]["spec"]["template"]["spec"]
    (tls_volume,) = [v for v in coturn["volumes"] if v["name"] == "tls"]
    assert tls_volume["secret"]["secretName"] == TURN_SECRET
    certificates = by_kind(objs, "Certificate")
    if not config.tls.issuer:
        assert certificates == {} and unchecked == []
        return
    (certificate,) = certificates.values()
    assert unchecked == [certificate]  # cert-manager's CRD: no schema in kubernetes-validate
    assert certificate["apiVersion"] == "cert-manager.io/v1"
    assert certificate["metadata"]["namespace"] == naming.namespace("media")
    spec = certificate["spec"]
    assert spec["secretName"] == TURN_SECRET
    assert spec["dnsNames"] == [config.media.turn.domain]
    assert spec["issuerRef"] == {"kind": "ClusterIssuer", "name": config.tls.issuer}
    assert spec["usages"] == ["digital signature", "server auth"]


@pytest.mark.parametrize("chart", sorted(BUILDERS))
def test_issuer_mode_passes_strict_lint(chart: str) -> None:
    config = with_issuer("justice-prod", "pki-justice")
    report = helm_python.lint(chart_path(chart), BUILDERS[chart].values(config), strict=True,
                              kube_version=f"v{config.cluster.kubernetesVersion}.0")
    assert report["errors"] == [] and [m for m in report["messages"] if m["severity"] > 1] == []


@pytest.mark.parametrize("chart", sorted(BUILDERS))
def test_provisioned_secret_names_are_documented(chart: str) -> None:
    """Without an issuer the ministry creates these Secrets first: the chart must say which."""
    docs = (chart_path(chart) / "values.yaml").read_text()
    readme: Path = chart_path(chart) / "README.md"
    if readme.exists():
        docs += readme.read_text()
    names = [TLS_SECRETS[chart], *([TURN_SECRET] if chart == "media" else [])]
    for secret in names:
        assert secret in docs, (chart, secret)
    assert "provision" in docs, chart
