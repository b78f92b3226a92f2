"""Values of the `media` chart (LiveKit SFU + coturn) for one stack."""

from __future__ import annotations

from typing import Any

from common.config.model import StackConfig
from common.images import image_ref
from components.naming import address
from components.sizing import size
from components.values.common import tls_ingress
from components.values.secrets import SecretSet, SecretSpec

NODE_POOL_LABEL = "visio.numerique.gouv.fr/node-pool"

REDIS_ADDRESS = address("signalling", "redis", 6379)
WEBHOOK_PATH = "/api/v1.0/rooms/webhooks-livekit/"

# Secret name -> key -> how the component fills it. `livekit-api` and `redis-auth` hold the same
# values in every namespace that declares them (signalling, media, captioning).
SECRETS: SecretSet = {
    "livekit-api": {"key": SecretSpec.random(20), "secret": SecretSpec.random(48)},
    "redis-auth": {"password": SecretSpec.random(32)},
    "turn-auth": {"static-auth-secret": SecretSpec.random(48)},
}


def secrets(stack: StackConfig) -> SecretSet:
    return {name: dict(keys) for name, keys in SECRETS.items()}


# A production SFU node is a dedicated 16-core machine (the size LiveKit's benchmark measured).
def _sfu_resources(big: bool, cores: int) -> dict[str, dict[str, str]]:
    # Outside development the SFU takes its node (the cores the sizing counts on), less two for the
    # kubelet and coturn.
    if not big:
        return {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "4", "memory": "4Gi"}}
    return {"requests": {"cpu": str(max(cores - 2, 1)), "memory": "12Gi"},
            "limits": {"cpu": str(cores), "memory": "24Gi"}}


_TURN_RESOURCES = {
    True: {"requests": {"cpu": "1", "memory": "512Mi"}, "limits": {"cpu": "2", "memory": "2Gi"}},
    False: {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}},
}


def _image(stack: StackConfig, name: str) -> str:
    return image_ref(stack.registry.host, name, stack.registry.digests.get(name))


def _cert_manager(stack: StackConfig) -> dict[str, Any]:
    # coturn reads its certificate from a Secret, not through an Ingress: with an issuer, the chart's
    # own Certificate object has cert-manager fill `turn-tls`.
    if stack.tls.issuer is None:
        return {"enabled": False}
    return {"enabled": True, "issuerKind": "ClusterIssuer", "issuerName": stack.tls.issuer}


def webhook_url(stack: StackConfig) -> str:
    """The backend's LiveKit webhook, by the public web name.

    The backend runs Django's production settings: plain HTTP is redirected to HTTPS and a Host
    other than `domains.web` is refused, so an in-cluster `http://signalling-backend:8000` URL would
    get a redirect or a 400. LiveKit (host network) reaches the name through the ingress controller.
    """
    return f"https://{stack.domains.web}{WEBHOOK_PATH}"


def values(stack: StackConfig) -> dict[str, Any]:
    sizing = size(stack)
    media = stack.media
    turn = media.turn
    big = stack.environment != "dev"
    return {
        "requireDigests": stack.production,
        "images": {
            "livekit": _image(stack, "livekit-server"),
            "coturn": _image(stack, "coturn"),
            # The backend image carries python3, which mints the TURN credential at pod start.
            "credentialMinter": _image(stack, "meet-backend"),
        },
        "imagePullPolicy": "IfNotPresent",
        "nodePool": {"labelKey": NODE_POOL_LABEL, "name": media.nodePool},
        "livekit": {
            "replicas": sizing.sfu_nodes,
            "port": 7880,
            "tcpPort": 7881,
            "udpPortRange": {"start": media.udpPortRange.start, "end": media.udpPortRange.end},
            "logLevel": "debug" if stack.environment == "dev" else "info",
            "drainHours": 5,
            "turnCredentialTtlHours": 720,
            "apiSecretName": "livekit-api",
            "redis": {"address": REDIS_ADDRESS, "passwordSecretName": "redis-auth"},
            "webhookUrls": [webhook_url(stack)],
            "resources": _sfu_resources(big, sizing.sfu_cores),
        },
        "turn": {
            "domain": turn.domain,
            "port": 3478,
            "tlsPort": turn.tlsPort,
            "relayPortRange": {"start": turn.relayPortRange.start, "end": turn.relayPortRange.end},
            "replicas": sizing.turn_replicas,
            "authSecretName": "turn-auth",
            "tlsSecretName": "turn-tls",
            "certManager": _cert_manager(stack),
            "resources": _TURN_RESOURCES[big],
        },
        "ingress": {
            "enabled": True,
            "className": stack.cluster.ingressClass,
            "host": stack.domains.media,
            "tlsSecretName": "media-livekit-tls",
            **tls_ingress(stack),
        },
    }
