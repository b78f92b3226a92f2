"""The ProConnect login through the rendered broker, against a stand-in ProConnect.

ProConnect is out of reach here, so a second realm of the same Keycloak plays it: an OIDC provider
answering under the public name of the stack's ProConnect issuer (its `frontendUrl`), with one civil
servant (a password generated per run) and the client the rendered broker authenticates as (its
client id, the generated secret). ProConnect names the family name `usual_name`: the stand-in
sends that claim, and a `lastName` that differs, so the rendered mapper is seen at work.

Only the URLs of the rendered identity provider change: the issuer and the authorization URL (its
query, `acr_values`, kept) name the stand-in's public endpoints, reached through the same Ingress
model as the broker; the token, user-info and key endpoints, which Keycloak calls itself, name the
stand-in on an HTTPS listener added on loopback (a self-signed certificate Keycloak is told to trust:
the rendered realm requires TLS for every URL). The stand-in's issuer path is Keycloak's
(`/realms/<name>`), not ProConnect's `/api/v2`.

The browser side is the signalling backend as its chart configures it: the authorization request
carries its client id, scopes, PKCE (S256) and extra parameters (`kc_idp_hint`); the redirects are
followed by a plain HTTP client, the stand-in's login form is submitted, and the code that comes
back to the backend's callback is exchanged with the client secret and the PKCE verifier.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import secrets
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from common.config.loader import Stack
from visio.report.checkresult import Outcome
from visio.verify import keycloak, local
from visio.verify.keycloak import KeycloakRun
from visio.verify.local import LOOPBACK
from visio.verify.postgres import IdentityRender

STANDIN_REALM = "proconnect-standin"
ALIAS = "proconnect"  # the rendered identity provider
CALLBACK = "/api/v1.0/callback/"  # the backend's OIDC callback (La Suite Meet, mozilla-django-oidc)
MAX_HOPS = 20
USER = {"username": "camille.agent", "email": "camille.agent@numerique.gouv.fr", "firstName": "Camille",
        "lastName": "Agent-Standin"}
USUAL_NAME = "Agent"


@dataclass(frozen=True)
class StandIn:
    host: str  # the public name of the stack's ProConnect issuer
    password: str
    client_id: str
    client_secret: str

    @property
    def issuer(self) -> str:
        return f"https://{self.host}/realms/{STANDIN_REALM}"


def stand_in(stack: Stack, values: Mapping[tuple[str, str], str]) -> StandIn | None:
    """The stand-in for a stack brokered to ProConnect; None for local accounts (dev)."""
    proconnect = stack.config.identity.proconnect
    if stack.config.identity.provider != "proconnect" or proconnect is None:
        return None
    host = urllib.parse.urlsplit(proconnect.issuer).hostname or ""
    secret = values[("identity-proconnect", "client-secret")]
    return StandIn(host, secrets.token_urlsafe(24), proconnect.clientId, secret)


# ProConnect's scopes each carry their claim; the stand-in's user gives these values.
_PROPERTY_CLAIMS = {"given_name": "firstName"}
_CLAIMS = {"usual_name": USUAL_NAME, "siret": "13002526500013", "uid": "standin-1"}


def _scope(name: str) -> dict[str, Any]:
    claim = {"claim.name": name, "jsonType.label": "String", "id.token.claim": "true", "access.token.claim": "true",
             "userinfo.token.claim": "true"}
    if name in _PROPERTY_CLAIMS:
        mapper = {"protocolMapper": "oidc-usermodel-property-mapper",
                  "config": {**claim, "user.attribute": _PROPERTY_CLAIMS[name]}}
    else:
        mapper = {"protocolMapper": "oidc-hardcoded-claim-mapper",
                  "config": {**claim, "claim.value": _CLAIMS.get(name, "stand-in")}}
    return {"name": name, "protocol": "openid-connect", "attributes": {"include.in.token.scope": "true"},
            "protocolMappers": [{"name": name, "protocol": "openid-connect", **mapper}]}


def standin_realm(standin: StandIn, broker_endpoint: str) -> dict[str, Any]:
    """The stand-in ProConnect: the broker's client and one user (its scopes are added once it runs)."""
    return {
        "realm": STANDIN_REALM,
        "enabled": True,
        "sslRequired": "external",
        "attributes": {"frontendUrl": f"https://{standin.host}"},
        "clients": [{"clientId": standin.client_id, "enabled": True, "protocol": "openid-connect",
                     "publicClient": False, "clientAuthenticatorType": "client-secret",
                     "secret": standin.client_secret, "standardFlowEnabled": True,
                     "directAccessGrantsEnabled": False, "redirectUris": [broker_endpoint]}],
        "users": [{**USER, "enabled": True, "emailVerified": True,
                   "credentials": [{"type": "password", "value": standin.password, "temporary": False}]}],
    }


def add_scopes(run: KeycloakRun, standin: StandIn, scopes: str) -> list[str]:
    """Give the stand-in a client scope per ProConnect scope the broker asks for, through the admin
    API on loopback: an imported realm that declares client scopes gets none of Keycloak's own."""
    base = f"http://{LOOPBACK}:{run.port}"
    login = {"grant_type": "password", "client_id": "admin-cli", "username": run.env["KC_BOOTSTRAP_ADMIN_USERNAME"],
             "password": run.env["KC_BOOTSTRAP_ADMIN_PASSWORD"]}
    token = requests.post(f"{base}/realms/master/protocol/openid-connect/token", data=login, timeout=60)
    token.raise_for_status()
    admin = requests.Session()
    admin.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
    realm = f"{base}/admin/realms/{STANDIN_REALM}"
    existing = {s["name"] for s in admin.get(f"{realm}/client-scopes", timeout=60).json()}
    added = [name for name in scopes.split() if name not in existing and name != "openid"]
    for name in added:
        admin.post(f"{realm}/client-scopes", json=_scope(name), timeout=60).raise_for_status()
    ids = {s["name"]: s["id"] for s in admin.get(f"{realm}/client-scopes", timeout=60).json()}
    (client,) = admin.get(f"{realm}/clients", params={"clientId": standin.client_id}, timeout=60).json()
    for name in added:
        admin.put(f"{realm}/clients/{client['id']}/optional-client-scopes/{ids[name]}", timeout=60).raise_for_status()
    return added


def https_listener(tmp: Path, port: int) -> dict[str, str]:
    """An HTTPS listener on loopback for the broker's own calls to the stand-in, and the trust in it.

    The rendered realm requires TLS everywhere (`sslRequired: all`), so Keycloak refuses an
    identity provider whose token or key URL is plain HTTP, loopback or not.
    """
    tmp.mkdir(parents=True, exist_ok=True)
    local.self_signed(tmp, LOOPBACK, san=f"IP:{LOOPBACK}")
    return {"KC_HTTPS_PORT": str(port), "KC_HTTPS_CERTIFICATE_FILE": str(tmp / "cert.pem"),
            "KC_HTTPS_CERTIFICATE_KEY_FILE": str(tmp / "key.pem"), "KC_TRUSTSTORE_PATHS": str(tmp / "cert.pem")}


def point_broker(realm: dict[str, Any], standin: StandIn, port: int) -> dict[str, str]:
    """Point the rendered identity provider at the stand-in (its own calls to `port`, the HTTPS
    listener on loopback); returns each URL setting changed."""
    changed: dict[str, str] = {}
    for provider in realm.get("identityProviders") or []:
        if provider.get("alias") != ALIAS:
            continue
        config = provider["config"]
        back = f"https://{LOOPBACK}:{port}/realms/{STANDIN_REALM}/protocol/openid-connect"
        query = urllib.parse.urlsplit(config.get("authorizationUrl", "")).query
        authorize = f"{standin.issuer}/protocol/openid-connect/auth"
        changed = {"issuer": standin.issuer, "authorizationUrl": authorize + (f"?{query}" if query else ""),
                   "tokenUrl": f"{back}/token", "userInfoUrl": f"{back}/userinfo", "jwksUrl": f"{back}/certs",
                   "logoutUrl": f"{back}/logout"}
        config.update(changed)
    return changed


def realms_with_standin(imported: dict[str, dict[str, Any]], stack: Stack, standin: StandIn, port: int,
                        broker_endpoint: str) -> dict[str, dict[str, Any]]:
    for realm in imported.values():
        if realm.get("realm") == stack.config.identity.realm:
            point_broker(realm, standin, port)
    return {**imported, f"{STANDIN_REALM}.json": standin_realm(standin, broker_endpoint)}


def broker_scopes(run: KeycloakRun, stack: Stack) -> str:
    """The scopes the rendered identity provider asks ProConnect for."""
    for realm in run.realms.values():
        if realm.get("realm") == stack.config.identity.realm:
            for provider in realm.get("identityProviders") or []:
                if provider.get("alias") == ALIAS:
                    return str(provider["config"].get("defaultScope") or "openid")
    return "openid"


def _form_action(page: str) -> str | None:
    form = re.search(r"<form[^>]*id=\"kc-form-login\"[^>]*>", page) or re.search(r"<form[^>]*>", page)
    if form is None:
        return None
    action = re.search(r"action=\"([^\"]+)\"", form.group(0))
    return html.unescape(action.group(1)) if action else None


def _page_says(page: str) -> str:
    """What a Keycloak page tells the user: its alert or its title."""
    for pattern in (r"class=\"[^\"]*(?:kc-feedback-text|pf-v5-c-alert__title|alert-error)[^\"]*\"[^>]*>(.*?)<",
                    r"<title>(.*?)</title>", r"<h1[^>]*>(.*?)</h1>"):
        found = re.search(pattern, page, re.S)
        if found and found.group(1).strip():
            return html.unescape(re.sub(r"\s+", " ", found.group(1))).strip()[:200]
    return page.strip()[:200] or "an empty page"


def _claims(token: str) -> dict[str, Any]:
    """A JWT's payload. Its signature is not checked here: the user-info call that follows is."""
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(64)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return verifier, challenge


def backend_env(signalling: list[dict[str, Any]]) -> dict[str, str]:
    """The literal environment of the signalling backend's container (its OIDC client settings)."""
    for obj in signalling:
        if obj.get("kind") != "Deployment":
            continue
        for container in obj["spec"]["template"]["spec"].get("containers") or []:
            env = {e["name"]: str(e["value"]) for e in container.get("env") or [] if "value" in e}
            if "OIDC_RP_CLIENT_ID" in env:
                return env
    return {}


def broker_login(run: KeycloakRun, chart: IdentityRender, stack: Stack, backend: Mapping[str, str],
                 standin: StandIn, issuer: str) -> Outcome:
    """Log in as the backend does, through the broker, to the stand-in and back; check the tokens."""
    evidence: dict[str, str] = {"stand-in": standin.issuer}
    if run.failure is not None:
        return False, "no login without a running Keycloak (see keycloak-realm-imported)", evidence
    missing = [k for k in ("OIDC_OP_AUTHORIZATION_ENDPOINT", "OIDC_OP_TOKEN_ENDPOINT", "OIDC_OP_USER_ENDPOINT",
                           "OIDC_RP_CLIENT_ID", "OIDC_RP_SCOPES", "LOGIN_REDIRECT_URL") if k not in backend]
    if missing:
        return False, f"the signalling backend's OIDC settings lack {', '.join(missing)}", evidence
    evidence["stand-in scopes added"] = ", ".join(add_scopes(run, standin, broker_scopes(run, stack))) or "-"
    session, _ = keycloak.public_session(run, chart)
    session.mount(f"https://{standin.host}/", keycloak.Ingress(run, standin.host, [f"/realms/{STANDIN_REALM}/"]))
    web = urllib.parse.urlsplit(backend["LOGIN_REDIRECT_URL"]).hostname
    redirect_uri = f"https://{web}{CALLBACK}"
    verifier, challenge = _pkce()
    state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    extra = json.loads(backend.get("OIDC_AUTH_REQUEST_EXTRA_PARAMS") or "{}")
    params = {"response_type": "code", "client_id": backend["OIDC_RP_CLIENT_ID"], "redirect_uri": redirect_uri,
              "scope": backend["OIDC_RP_SCOPES"], "state": state, "nonce": nonce, "code_challenge": challenge,
              "code_challenge_method": "S256", **{str(k): str(v) for k, v in extra.items()}}
    url = f"{backend['OIDC_OP_AUTHORIZATION_ENDPOINT']}?{urllib.parse.urlencode(params)}"
    hops: list[str] = []
    asked: str | None = None  # the broker's authorization request to the stand-in
    current = url  # the public URL asked: the Ingress model rewrites the request's own to loopback
    response = session.get(current, allow_redirects=False, timeout=60)
    back: urllib.parse.SplitResult | None = None
    for _ in range(MAX_HOPS):
        where = urllib.parse.urlsplit(current)
        if response.is_redirect:
            target = urllib.parse.urlsplit(urllib.parse.urljoin(current, response.headers["Location"]))
            hops.append(f"{target.hostname}{target.path}")
            if target.hostname == web:
                back = target
                break
            if target.hostname == standin.host and asked is None:
                asked = target.geturl()
            current = target.geturl()
            response = session.get(current, allow_redirects=False, timeout=60)
        elif response.status_code == 200 and where.hostname == standin.host and _form_action(response.text):
            current = urllib.parse.urljoin(current, _form_action(response.text) or "")
            response = session.post(current, timeout=60, allow_redirects=False,
                                    data={"username": USER["username"], "password": standin.password})
        else:
            evidence["hops"] = " → ".join(hops) or "-"
            return False, (f"the login stopped at {where.hostname}{where.path} (HTTP {response.status_code}): "
                           f"{_page_says(response.text)}"), evidence
    evidence["hops"] = " → ".join(hops) or "-"
    if back is None:
        return False, f"no way back to the backend after {MAX_HOPS} steps", evidence
    wanted_acr = stack.config.identity.acrValues
    sent_acr = urllib.parse.parse_qs(urllib.parse.urlsplit(asked or "").query).get("acr_values", ["-"])[0]
    evidence["acr_values asked of ProConnect"] = sent_acr
    if asked is None:
        return False, "the broker never sent the browser to ProConnect", evidence
    if wanted_acr and sent_acr != wanted_acr:
        return False, f"the broker asked ProConnect for acr_values={sent_acr}, the stack requires {wanted_acr}", \
            evidence
    answer = urllib.parse.parse_qs(back.query)
    if answer.get("state") != [state] or "code" not in answer:
        return False, f"the callback got no code for this request: {_page_says(json.dumps(answer))}", evidence
    return _tokens(session, run, backend, answer["code"][0], redirect_uri, verifier, nonce, stack, issuer, evidence)


def _tokens(session: requests.Session, run: KeycloakRun, backend: Mapping[str, str], code: str, redirect_uri: str,
            verifier: str, nonce: str, stack: Stack, issuer: str, evidence: dict[str, str]) -> Outcome:
    client_id = backend["OIDC_RP_CLIENT_ID"]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri, "client_id": client_id,
            "client_secret": run.env.get("VISIO_BACKEND_CLIENT_SECRET", ""), "code_verifier": verifier}
    exchanged = session.post(backend["OIDC_OP_TOKEN_ENDPOINT"], data=form, timeout=60)
    if exchanged.status_code != 200:
        return False, f"the code exchange failed: HTTP {exchanged.status_code} {exchanged.text[:200]}", evidence
    tokens = exchanged.json()
    claims = _claims(tokens["id_token"])
    expected = {"iss": issuer, "azp": client_id, "nonce": nonce, "email": USER["email"],
                "given_name": USER["firstName"], "family_name": USUAL_NAME}
    evidence.update({f"id token {k}": str(claims.get(k)) for k in ("iss", "azp", "email", "given_name", "family_name",
                                                                   "acr")})
    wrong = [f"{k} is {claims.get(k)!r}, not {v!r}" for k, v in expected.items() if claims.get(k) != v]
    if wrong:
        return False, f"the ID token's claims are not the expected ones: {'; '.join(wrong)}", evidence
    # The server's own word on the access token: user-info answers for it, with the same person.
    info = session.get(backend["OIDC_OP_USER_ENDPOINT"], timeout=60,
                       headers={"Authorization": f"Bearer {tokens['access_token']}"})
    if info.status_code != 200 or info.json().get("email") != USER["email"]:
        return False, f"user-info refused the access token: HTTP {info.status_code}", evidence
    return True, (f"a ProConnect user logged in through the broker with acr_values="
                  f"{stack.config.identity.acrValues} (PKCE S256); the ID token names them, family name from "
                  "ProConnect's usual_name"), evidence
