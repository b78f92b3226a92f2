"""The identity chart's PostgreSQL and Keycloak, really started on loopback from what it renders.

One run of interieur-prod must pass every check; one weakened run must fail each check for its own
reason: a realm whose `frontendUrl` moves the issuer, an Ingress that also routes `/admin/`, and a
Keycloak pointed at its H2 `dev-file` database instead of the chart's PostgreSQL; and a broker that
no longer asks ProConnect for `acr_values=eidas1` fails the login check of culture-staging.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest

from common.config import load_stack
from common.images import IMAGES
from tests.conftest import ROOT
from visio.report.checkresult import CheckResult
from visio.verify import identityrun, keycloak
from visio.verify.postgres import IdentityRender, render_identity

STACK = "interieur-prod"
CHECKS = {"keycloak-realm-imported", "keycloak-database", "keycloak-admin-console-closed", "keycloak-broker-login"}


def _lock() -> dict[str, str]:
    text = (ROOT / "tools" / "keycloak" / "maven.lock").read_text()
    return dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))


def test_keycloak_pin_is_the_release_the_chart_deploys() -> None:
    lock = _lock()
    assert (lock["group"], lock["artifact"]) == ("org.keycloak", "keycloak-quarkus-dist")
    assert lock["version"] == IMAGES["keycloak"].tag
    assert re.fullmatch(r"[0-9a-f]{64}", lock["sha256"])
    image = render_identity(load_stack(STACK).config).keycloak["image"]
    assert f"/keycloak/keycloak:{lock['version']}@sha256:" in image


def test_a_start_failure_reports_keycloaks_last_error_line(tmp_path: Path) -> None:
    log = tmp_path / "keycloak.log"
    log.write_text("2026-01-01 10:00:00,000 INFO  [io.quarkus] (main) starting\n"
                   "2026-01-01 10:00:01,000 ERROR [org.keycloak.quarkus.runtime.cli.ExecutionExceptionHandler] (main) "
                   "ERROR: Failed to obtain JDBC connection\n"
                   "2026-01-01 10:00:01,001 INFO  [io.quarkus] (main) stopped\n")
    assert keycloak.last_error(log) == ("ERROR [org.keycloak.quarkus.runtime.cli.ExecutionExceptionHandler] (main) "
                                        "ERROR: Failed to obtain JDBC connection")


def _by_id(results: list[CheckResult]) -> dict[str, CheckResult]:
    return {r.check: r for r in results}


@pytest.fixture(scope="module")
def passing(identity_servers: None) -> dict[str, CheckResult]:
    return _by_id(identityrun.keycloak_checks(load_stack(STACK)))


def _moved_issuer(realms: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    for realm in realms.values():
        realm.setdefault("attributes", {})["frontendUrl"] = "https://auth.attacker.invalid"
    return realms


def _admin_routed(chart: IdentityRender) -> IdentityRender:
    objects = copy.deepcopy(chart.objects)
    (ingress,) = [o for o in objects if o["kind"] == "Ingress"]
    paths = ingress["spec"]["rules"][0]["http"]["paths"]
    paths.append({**paths[0], "path": "/admin/"})
    return dataclasses.replace(chart, objects=objects)


def _h2(env: dict[str, str]) -> dict[str, str]:
    kept = {k: v for k, v in env.items() if not k.startswith(("KC_DB_URL", "KC_DB_USERNAME", "KC_DB_PASSWORD"))}
    return {**kept, "KC_DB": "dev-file"}


@pytest.fixture(scope="module")
def weakened(identity_servers: None) -> dict[str, CheckResult]:
    return _by_id(identityrun.keycloak_checks(load_stack(STACK), realms=_moved_issuer,
                                              render_transform=_admin_routed, env_transform=_h2))


def test_interieur_prod_identity_passes_on_real_servers(passing: dict[str, CheckResult]) -> None:
    assert set(passing) == CHECKS
    failed = [f"{r.check}: {r.message} {dict(r.evidence)}" for r in passing.values() if not r.passed]
    assert not failed
    realm = passing["keycloak-realm-imported"].evidence
    assert realm["issuer"] == realm["clients trust"] == "https://auth.visio.interieur.gouv.fr/realms/visio"
    assert realm["issuer for a forged Host"] == realm["issuer"]
    assert realm["server"] == IMAGES["keycloak"].tag
    db = passing["keycloak-database"].evidence
    assert (db["database"], db["user"], db["KC_DB"]) == ("keycloak", "keycloak", "postgres")
    assert db["realms"] == "master, proconnect-standin, visio" and int(db["tables"]) > 50
    admin = passing["keycloak-admin-console-closed"].evidence
    assert admin["served by Keycloak"] == "HTTP 200"
    assert admin["/admin/master/console/"] == "HTTP 404 (no Ingress path)"
    assert all(admin[p] == "HTTP 404 (no Ingress path)" for p in identityrun.TRAVERSALS)
    # The login went to the stand-in ProConnect and back, asking for the stack's eIDAS level; the
    # family name is ProConnect's usual_name, mapped by the rendered realm.
    login = passing["keycloak-broker-login"].evidence
    assert login["acr_values asked of ProConnect"] == "eidas1"
    assert "auth.proconnect.gouv.fr/realms/proconnect-standin/protocol/openid-connect/auth" in login["hops"]
    assert login["hops"].endswith("visio.interieur.gouv.fr/api/v1.0/callback/")
    assert (login["id token iss"], login["id token azp"]) == ("https://auth.visio.interieur.gouv.fr/realms/visio",
                                                              "visio-backend")
    assert (login["id token email"], login["id token family_name"]) == ("camille.agent@numerique.gouv.fr", "Agent")


def test_a_moved_issuer_fails_the_realm_check(weakened: dict[str, CheckResult]) -> None:
    result = weakened["keycloak-realm-imported"]
    assert not result.passed
    assert "announces the issuer https://auth.attacker.invalid/realms/visio" in result.message


def test_h2_instead_of_postgres_fails_the_database_check(weakened: dict[str, CheckResult]) -> None:
    result = weakened["keycloak-database"]
    assert not result.passed
    assert result.evidence["KC_DB"] == "dev-file"
    assert "no Keycloak realm table in database 'keycloak'" in result.message


def test_an_admin_path_in_the_ingress_fails_the_admin_check(weakened: dict[str, CheckResult]) -> None:
    result = weakened["keycloak-admin-console-closed"]
    assert not result.passed
    assert "reachable from outside: /admin/master/console/" in result.message


def _without_acr(realms: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    for realm in realms.values():
        for provider in realm.get("identityProviders") or []:
            provider["config"]["authorizationUrl"] = provider["config"]["authorizationUrl"].split("?")[0]
    return realms


@pytest.fixture(scope="module")
def without_acr(identity_servers: None) -> dict[str, CheckResult]:
    return _by_id(identityrun.keycloak_checks(load_stack("culture-staging"), realms=_without_acr))


def test_a_broker_that_no_longer_asks_for_eidas1_fails_the_login_check(without_acr: dict[str, CheckResult]) -> None:
    # The login itself still works: only the level of assurance asked of ProConnect is gone, which
    # nothing but this check would notice.
    result = without_acr["keycloak-broker-login"]
    assert not result.passed
    assert "asked ProConnect for acr_values=-, the stack requires eidas1" in result.message
    assert result.evidence["stand-in"] == "https://fca.integ01.dev-agentconnect.fr/realms/proconnect-standin"
    assert all(r.passed for r in without_acr.values() if r.check != "keycloak-broker-login")


def test_development_stack_exposes_the_admin_console_and_omits_the_check() -> None:
    # dev routes /admin/ on purpose (exposeAdmin): nothing claims the console is private there.
    assert not identityrun._admin_claimed_private(load_stack("dev"))
    assert identityrun._admin_claimed_private(load_stack(STACK))
