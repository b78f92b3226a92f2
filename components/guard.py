"""The rules at admission, installed by the stack: the webhook's chart, its serving certificate, and the
admission documents the rule engine generates (policies, bindings, webhook configuration).

The documents arrive as plain objects from the program, which has the engine make them: this
component does not import the rule engine. Without a cert-manager issuer, the serving certificate is
generated here (pulumi-tls) from a CA of its own, whose certificate becomes the webhook's CA bundle;
it is renewed by the `pulumi up` that runs inside its renewal window. With an issuer, cert-manager
issues and renews it, and its CA injector fills the bundle.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_tls as tls

from common.config import StackConfig
from common.paths import chart_path
from components import naming, network
from components.base import namespace_labels
from components.values import guard as guard_values

NAME = "guard"
TYPE = "visio:guard:Guard"
# The serving certificate lives 90 days and is renewed in the last 30; its CA lives 5 years.
CERT_HOURS, CERT_RENEWAL_HOURS = 90 * 24, 30 * 24
CA_HOURS, CA_RENEWAL_HOURS = 5 * 365 * 24, 365 * 24
WEBHOOK_CONFIGURATION = "visio-guard"


def service_host() -> str:
    return f"{NAME}.{naming.namespace(NAME)}.svc"


class Guard(pulumi.ComponentResource):
    def __init__(self, stack: StackConfig, policy: Mapping[str, Any], policies: Sequence[Mapping[str, Any]],
                 webhook: Mapping[str, Any], opts: pulumi.ResourceOptions | None = None) -> None:
        """`policy`: the engine's configuration for the webhook (JSON); `policies`: the generated
        ValidatingAdmissionPolicies and bindings; `webhook`: the ValidatingWebhookConfiguration, its
        clientConfig to be filled here."""
        super().__init__(TYPE, NAME, None, opts)
        self.namespace_name = namespace = naming.namespace(NAME)
        self.namespace = k8s.core.v1.Namespace(
            namespace,
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=namespace, labels=namespace_labels(stack, "restricted", "configuration")),
            opts=pulumi.ResourceOptions(parent=self),
        )
        child = pulumi.ResourceOptions(parent=self, depends_on=[self.namespace])
        self.network = [
            k8s.networking.v1.NetworkPolicy(
                f"{namespace}/{p['metadata']['name']}",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=p["metadata"]["name"], namespace=namespace),
                spec=p["spec"], opts=child)
            for p in network.policies(namespace, stack)
        ]
        ca_bundle: pulumi.Output[str] | None = None
        extra: list[pulumi.Resource] = []
        if stack.tls.issuer is None:
            secret, ca_pem = self._certificate(namespace, child)
            ca_bundle = ca_pem.apply(lambda pem: base64.b64encode(pem.encode()).decode())
            extra.append(secret)
        self.chart = k8s.helm.v4.Chart(
            NAME,
            chart=str(chart_path(NAME)),
            namespace=namespace,
            values=guard_values.values(stack, policy),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.namespace, *self.network, *extra]),
        )
        self.policies = [self._admission(doc) for doc in policies]
        # Registered once the webhook is up: until then the stack's own objects are not held by it.
        self.webhook = self._webhook(webhook, ca_bundle, stack.tls.issuer is not None)
        self.register_outputs({"namespace": self.namespace.metadata.name})

    def _certificate(self, namespace: str, opts: pulumi.ResourceOptions
                     ) -> tuple[k8s.core.v1.Secret, pulumi.Output[str]]:
        ca_key = tls.PrivateKey(f"{NAME}-ca", algorithm="ECDSA", ecdsa_curve="P256", opts=opts)
        ca = tls.SelfSignedCert(
            f"{NAME}-ca", private_key_pem=ca_key.private_key_pem, is_ca_certificate=True,
            subject=tls.SelfSignedCertSubjectArgs(common_name="visio guard CA", organization="DINUM"),
            validity_period_hours=CA_HOURS, early_renewal_hours=CA_RENEWAL_HOURS,
            allowed_uses=["cert_signing", "crl_signing"], opts=opts)
        key = tls.PrivateKey(f"{NAME}-serving", algorithm="ECDSA", ecdsa_curve="P256", opts=opts)
        request = tls.CertRequest(
            f"{NAME}-serving", private_key_pem=key.private_key_pem, dns_names=[service_host()],
            subject=tls.CertRequestSubjectArgs(common_name=service_host()), opts=opts)
        cert = tls.LocallySignedCert(
            f"{NAME}-serving", cert_request_pem=request.cert_request_pem, ca_private_key_pem=ca_key.private_key_pem,
            ca_cert_pem=ca.cert_pem, validity_period_hours=CERT_HOURS, early_renewal_hours=CERT_RENEWAL_HOURS,
            allowed_uses=["digital_signature", "key_encipherment", "server_auth"], opts=opts)
        secret = k8s.core.v1.Secret(
            f"{namespace}/{guard_values.TLS_SECRET}",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=guard_values.TLS_SECRET, namespace=namespace,
                                                labels={"app.kubernetes.io/part-of": "visio"}),
            type="kubernetes.io/tls",
            string_data={"tls.crt": cert.cert_pem, "tls.key": key.private_key_pem},
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(
                additional_secret_outputs=["data", "stringData"])),
        )
        return secret, ca.cert_pem

    def _admission(self, doc: Mapping[str, Any]) -> pulumi.Resource:
        meta, name = doc["metadata"], f"{doc['kind']}/{doc['metadata']['name']}"
        opts = pulumi.ResourceOptions(parent=self)
        if doc["kind"] == "ValidatingAdmissionPolicy":
            return k8s.admissionregistration.v1.ValidatingAdmissionPolicy(
                name, metadata=_meta(meta), spec=doc["spec"], opts=opts)
        return k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding(
            name, metadata=_meta(meta), spec=doc["spec"], opts=opts)

    def _webhook(self, doc: Mapping[str, Any], ca_bundle: pulumi.Output[str] | None,
                 injected: bool) -> k8s.admissionregistration.v1.ValidatingWebhookConfiguration:
        meta = dict(doc["metadata"])
        if injected:  # cert-manager's CA injector writes the bundle of the Certificate's issuer
            meta["annotations"] = {**meta.get("annotations", {}),
                                   "cert-manager.io/inject-ca-from": f"{self.namespace_name}/{guard_values.TLS_SECRET}"}
        client: dict[str, Any] = {
            "service": {"namespace": self.namespace_name, "name": NAME, "path": "/validate", "port": 443}}
        if ca_bundle is not None:
            client["caBundle"] = ca_bundle
        hooks: list[Any] = [{**hook, "clientConfig": client} for hook in doc["webhooks"]]
        return k8s.admissionregistration.v1.ValidatingWebhookConfiguration(
            f"ValidatingWebhookConfiguration/{meta['name']}",
            metadata=_meta(meta),
            webhooks=hooks,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.chart]),
        )


def _meta(meta: Mapping[str, Any]) -> k8s.meta.v1.ObjectMetaArgs:
    return k8s.meta.v1.ObjectMetaArgs(name=meta["name"], labels=meta.get("labels") or None,
                                      annotations=meta.get("annotations") or None)


def guard_namespace() -> str:
    return naming.namespace(NAME)
