"""tls-required: what clients and identity flows reach is encrypted.

- An Ingress terminates TLS for every host it serves (`spec.tls` covering each rule host).
- TURN offered to browsers includes TLS (`turns:` / LiveKit `protocol: tls`), not only `turn:` over
  UDP/TCP, and LiveKit's embedded TURN listens on a TLS port.
- OIDC issuer, discovery and endpoint URLs (env vars, Keycloak identity brokers) use https.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from policies.engine.embedded import keycloak_realms, livekit_configs
from policies.engine.model import Resource, Violation
from policies.engine.podspec import containers, env_vars, key_path, list_at
from policies.engine.rule import Context, Rule
from policies.rules.tls_required.cel import cel

_OIDC_NAME = re.compile(r"OIDC|OPENID|ISSUER|DISCOVERY|JWKS|AUTHORIZATION_ENDPOINT|TOKEN_ENDPOINT|USERINFO")
_TURN_URI = re.compile(r"(?<![a-z])turns?:", re.IGNORECASE)
_IDP_URL_KEYS = ("issuer", "authorizationUrl", "tokenUrl", "userInfoUrl", "jwksUrl", "logoutUrl",
                 "metadataDescriptorUrl")


def _covered(host: str, tls_hosts: list[str]) -> bool:
    for pattern in tls_hosts:
        if pattern == host:
            return True
        if pattern.startswith("*.") and "." in host and host.split(".", 1)[1] == pattern[2:]:
            return True
    return False


def _ingress(resource: Resource) -> Iterator[Violation]:
    spec = resource.body.get("spec")
    if not isinstance(spec, Mapping):
        return
    tls = list_at(spec, "tls", "spec")
    if not tls:
        yield Violation("spec.tls", "Ingress serves plain HTTP: no spec.tls", {})
        return
    tls_hosts = [h.lower() for entry in tls if isinstance(entry, Mapping)
                 for h in list_at(entry, "hosts", "spec.tls") if isinstance(h, str)]
    for i, rule in enumerate(list_at(spec, "rules", "spec")):
        host = rule.get("host") if isinstance(rule, Mapping) else None
        if not isinstance(host, str):
            yield Violation(f"spec.rules[{i}]", "rule without host answers any name, outside the TLS hosts")
        elif not _covered(host.lower(), tls_hosts):
            yield Violation(f"spec.rules[{i}].host", f"host {host} is not covered by spec.tls", {"host": host})


def _livekit_turn(path: str, config: Mapping[str, Any]) -> Iterator[Violation]:
    rtc = config.get("rtc")
    servers = rtc.get("turn_servers") if isinstance(rtc, Mapping) else None
    if isinstance(servers, list) and servers:
        protocols = [str(s.get("protocol", "")).lower() if isinstance(s, Mapping) else "" for s in servers]
        if "tls" not in protocols:
            yield Violation(f"{path}.rtc.turn_servers", "TURN servers offered to clients are "
                            f"{'/'.join(sorted(set(protocols)))} only; offer TURN over TLS (protocol: tls)")
    turn = config.get("turn")
    if isinstance(turn, Mapping) and turn.get("enabled") is True and not turn.get("tls_port"):
        yield Violation(f"{path}.turn.tls_port", "LiveKit's embedded TURN is enabled without a TLS port")


def _env(resource: Resource) -> Iterator[Violation]:
    for cpath, container in containers(resource):
        for epath, name, entry in env_vars(cpath, container):
            value = entry.get("value")
            if not isinstance(value, str):
                continue
            upper = name.upper()
            if _OIDC_NAME.search(upper) and value.lstrip()[:7].lower() == "http://":
                yield Violation(f"{epath}.value", f"OIDC URL {name} uses plain http", {"url": value})
            if "TURN" in upper:
                schemes = {m.group(0).lower() for m in _TURN_URI.finditer(value)}
                if "turn:" in schemes and "turns:" not in schemes:
                    yield Violation(f"{epath}.value", f"{name} offers turn: without a turns: (TLS) alternative")


def _keycloak(resource: Resource) -> Iterator[Violation]:
    for path, realm in keycloak_realms(resource):
        for i, idp in enumerate(list_at(realm, "identityProviders", path)):
            config = idp.get("config") if isinstance(idp, Mapping) else None
            if not isinstance(config, Mapping):
                continue
            for key in _IDP_URL_KEYS:
                url = config.get(key)
                if isinstance(url, str) and url.strip().lower().startswith("http://"):
                    yield Violation(key_path(f"{path}.identityProviders[{i}].config", key),
                                    f"identity broker {idp.get('alias', i)} {key} uses plain http", {"url": url})


def check(resource: Resource, ctx: Context) -> Iterator[Violation]:
    if resource.kind == "Ingress":
        yield from _ingress(resource)
    for path, config in livekit_configs(resource):
        yield from _livekit_turn(path, config)
    yield from _env(resource)
    yield from _keycloak(resource)


RULE = Rule(
    id="tls-required",
    cel=cel,
    description="Ingress, TURN offered to clients and OIDC URLs use TLS",
    check=check,
    title="TLS everywhere",
    severity="high",
    help="Serve the host with a TLS certificate, offer TURN over TLS, and use https:// for OIDC.",
)
