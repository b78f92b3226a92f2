"""Values of `charts/identity`: Keycloak (brokered to ProConnect outside development) and PostgreSQL."""

from __future__ import annotations

from typing import Any

from common.config import StackConfig
from components.values.common import image, replica_floor, tls_ingress, topology
from components.values.secrets import SecretSet, SecretSpec
from components.values.signalling import OIDC_CLIENT_ID

# Keycloak replicas share their caches over JGroups (TCP). jdbc-ping is the default stack of
# Keycloak 26.1 and later and the one its documentation points to (the kubernetes/DNS_PING stack
# is deprecated from 26.4): replicas register in the realm database, which they already reach.
CACHE_STACK = "jdbc-ping"
# JGroups data port and the FD_SOCK2 failure-detection offset (Keycloak's defaults: 7800, 57800).
CACHE_PORT = 7800
CACHE_FAILURE_DETECTION_OFFSET = 50000

SECRETS: SecretSet = {
    "identity-admin": {"password": SecretSpec.random(32)},
    "identity-postgres": {"password": SecretSpec.random(32)},
    # Origin of the backend's client secret; signalling's `signalling-oidc` holds the same value.
    "identity-oidc-clients": {OIDC_CLIENT_ID: SecretSpec.random(48)},
}
# Only for stacks brokered to ProConnect: the secret ProConnect issued, from the stack config.
PROCONNECT_SECRET: SecretSet = {
    "identity-proconnect": {"client-secret": SecretSpec.from_config("identity.proconnect.clientSecret")},
}


def secrets(stack: StackConfig) -> SecretSet:
    out = {name: dict(keys) for name, keys in SECRETS.items()}
    if stack.identity.provider == "proconnect":
        out.update({name: dict(keys) for name, keys in PROCONNECT_SECRET.items()})
    return out


def cache_ports() -> tuple[int, int]:
    """The TCP ports Keycloak replicas open to each other: JGroups data and failure detection."""
    return CACHE_PORT, CACHE_PORT + CACHE_FAILURE_DETECTION_OFFSET


def values(stack: StackConfig) -> dict[str, Any]:
    realm: dict[str, Any] = {
        "name": stack.identity.realm,
        "webDomain": stack.domains.web,
        "backendClientId": OIDC_CLIENT_ID,
    }
    if stack.identity.proconnect is not None:
        realm["proconnect"] = {
            "enabled": True,
            "issuer": stack.identity.proconnect.issuer.rstrip("/"),
            "clientId": stack.identity.proconnect.clientId,
            "acrValues": stack.identity.acrValues,
        }
    return {
        "requireDigests": stack.production,
        "domain": stack.domains.identity,
        "realm": realm,
        "topology": topology(stack),
        # The admin console is only reachable from outside in development.
        "ingress": {
            "className": stack.cluster.ingressClass,
            "exposeAdmin": stack.environment == "dev",
            **tls_ingress(stack),
        },
        "keycloak": {
            "image": image(stack, "keycloak"),
            "replicas": replica_floor(stack),
            "cache": {
                "stack": CACHE_STACK,
                "port": CACHE_PORT,
                "failureDetectionOffset": CACHE_FAILURE_DETECTION_OFFSET,
            },
        },
        "postgres": {
            "image": image(stack, "postgres"),
            "storage": {"size": "10Gi" if stack.production else "5Gi"},
        },
    }
