"""Values of `charts/signalling` (web frontend, room/token API, Celery worker, Redis, PostgreSQL)."""

from __future__ import annotations

import math
from typing import Any

from common.config import StackConfig
from components.values.common import image, replica_floor, tls_ingress, topology
from components.values.secrets import SecretSet, SecretSpec

# The OIDC client the realm declares for the backend (see components/values/identity.py).
OIDC_CLIENT_ID = "visio-backend"
# Headroom assumption, not a published figure: the API only issues tokens and room metadata, a
# small share of the participants hit it at once. Tune with load tests of the ministry's traffic.
PARTICIPANTS_PER_API_REPLICA = 1500

SECRETS: SecretSet = {
    "signalling-django": {"secret-key": SecretSpec.random(64, special=True)},
    "signalling-postgres": {"password": SecretSpec.random(32)},
    # Shared with the media chart (LiveKit's routing bus is this Redis). Letters and digits only:
    # the password is placed in redis:// URLs.
    "redis-auth": {"password": SecretSpec.random(32)},
    "signalling-oidc": {"client-secret": SecretSpec.same_as("identity-oidc-clients", OIDC_CLIENT_ID)},
    # Shared with the media chart: the backend signs LiveKit access tokens with this pair.
    "livekit-api": {"key": SecretSpec.random(20), "secret": SecretSpec.random(48)},
}


def secrets(stack: StackConfig) -> SecretSet:
    return {name: dict(keys) for name, keys in SECRETS.items()}


def _autoscaling(stack: StackConfig, per_replica: int) -> dict[str, int]:
    floor = replica_floor(stack)
    wanted = math.ceil(stack.capacity.peakConcurrentParticipants / per_replica)
    return {"min": floor, "max": max(floor * 2, wanted)}


def values(stack: StackConfig) -> dict[str, Any]:
    proconnect = stack.identity.provider == "proconnect"
    return {
        "requireDigests": stack.production,
        "domain": stack.domains.web,
        "oidc": {
            "issuer": f"https://{stack.domains.identity}/realms/{stack.identity.realm}",
            "clientId": OIDC_CLIENT_ID,
            # Straight to ProConnect instead of the realm's login page.
            "authRequestExtraParams": {"kc_idp_hint": "proconnect"} if proconnect else {},
        },
        # Browsers receive this URL with their access token: the public signalling endpoint.
        "livekit": {"url": f"https://{stack.domains.media}"},
        "topology": topology(stack),
        "ingress": {
            "className": stack.cluster.ingressClass,
            "exposeAdmin": stack.environment == "dev",
            **tls_ingress(stack),
        },
        "frontend": {
            "image": image(stack, "meet-frontend"),
            "replicas": _autoscaling(stack, PARTICIPANTS_PER_API_REPLICA * 2),
        },
        "backend": {
            "image": image(stack, "meet-backend"),
            "replicas": _autoscaling(stack, PARTICIPANTS_PER_API_REPLICA),
        },
        "worker": {"replicas": replica_floor(stack)},
        "redis": {"image": image(stack, "redis")},
        "postgres": {
            "image": image(stack, "postgres"),
            "storage": {"size": "20Gi" if stack.production else "5Gi"},
        },
    }
