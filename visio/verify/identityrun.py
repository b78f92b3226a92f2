"""The identity service on loopback: the chart's PostgreSQL and Keycloak, started from what it renders.

Each check observes the running servers (see `visio.verify.postgres` and `visio.verify.keycloak`
for what loopback changes); requests reach Keycloak only through the model of the rendered Ingress,
and a request for any other address is refused before it leaves the process.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from common.config.loader import Stack
from common.errors import InputError
from components import catalogue
from visio.kube.charts import render_service
from visio.report.checkresult import CheckResult, Outcome, run_check
from visio.verify import broker, keycloak, livekit, local, postgres
from visio.verify.keycloak import KeycloakRun
from visio.verify.postgres import IdentityRender, PostgresServer

TARGET = "keycloak (local)"
# What only the admin console's page carries (its assets live under admin/keycloak.v2).
CONSOLE_MARK = "admin/keycloak.v2"
ADMIN_PROBES = ("/admin/master/console/", "/admin/{realm}/console/", "/admin/realms", "/admin/serverinfo")
# Routed prefixes followed by dot segments: the ingress matches the normalised path.
TRAVERSALS = ("/resources/..%2F..%2Fadmin/master/console/", "/realms/..%2Fadmin/master/console/",
              "/realms/%2e%2e/admin/master/console/")


def expected_issuer(stack: Stack) -> str:
    """The issuer the stack's clients trust: the signalling backend's OIDC configuration."""
    return str(catalogue.service("signalling").values.values(stack.config)["oidc"]["issuer"])


def _server_version(run: KeycloakRun) -> str:
    found = re.search(r"Keycloak (\S+) on JVM", run.log_text())
    return found.group(1) if found else ""


def realm_imported(run: KeycloakRun, chart: IdentityRender, stack: Stack) -> Outcome:
    realm, issuer = stack.config.identity.realm, expected_issuer(stack)
    evidence = {"chart deploys": run.image, "server": _server_version(run) or "-",
                "started in": f"{run.started_in:.0f} s", "clients trust": issuer}
    if run.failure is not None:
        return False, f"Keycloak did not start from the rendered configuration: {run.failure}", evidence
    wanted = livekit.deployed_version(run.image)
    if not wanted or _server_version(run) != wanted:
        return False, f"the local Keycloak is {_server_version(run) or '?'}, the chart deploys {run.image}", evidence
    imported = re.findall(r"Realm '([^']+)' imported", run.log_text())
    evidence["imported"] = ", ".join(imported) or "-"
    if realm not in imported:
        return False, f"Keycloak did not import the realm {realm!r} from the realm ConfigMap", evidence
    session, _ = keycloak.public_session(run, chart)
    answer = session.get(f"{issuer}/.well-known/openid-configuration", timeout=30, allow_redirects=False)
    evidence["discovery"] = f"HTTP {answer.status_code}"
    if answer.status_code != 200:
        return False, f"{issuer}/.well-known/openid-configuration answers HTTP {answer.status_code}", evidence
    announced = str(answer.json().get("issuer"))
    evidence["issuer"] = announced
    if announced != issuer:
        return False, f"Keycloak announces the issuer {announced}; the stack's clients trust {issuer}", evidence
    # The issuer is the configured hostname, not the request's: forged Host headers must not move it.
    path = urllib.parse.urlsplit(issuer).path + "/.well-known/openid-configuration"
    forged = keycloak.direct(run, path, headers={"Host": "attacker.invalid", "X-Forwarded-Host": "attacker.invalid",
                                                 "X-Forwarded-Proto": "https"})
    forged_issuer = str(forged.json().get("issuer")) if forged.status == 200 else f"HTTP {forged.status}"
    evidence["issuer for a forged Host"] = forged_issuer
    if forged_issuer != issuer:
        return False, f"a request with a forged Host header gets the issuer {forged_issuer}", evidence
    return True, f"realm {realm!r} imported; its discovery document names the issuer the clients trust", evidence


def database(run: KeycloakRun, pg: PostgresServer, stack: Stack) -> Outcome:
    realm = stack.config.identity.realm
    evidence = {"server": pg.version, "chart deploys": pg.image, "database": pg.database, "user": pg.user,
                "KC_DB": run.env.get("KC_DB", "-")}
    if run.failure is not None:
        return False, "no database to inspect without a running Keycloak (see keycloak-realm-imported)", evidence
    # As the chart's user, with its password, over TCP: the way Keycloak itself connects.
    realms = pg.psql("SELECT name FROM realm ORDER BY name")
    if realms.returncode != 0:
        lines = realms.stderr.strip().splitlines()
        why = next((line for line in lines if "ERROR" in line), lines[0] if lines else f"psql {realms.returncode}")
        return False, f"no Keycloak realm table in database {pg.database!r}: {why.strip()}", evidence
    names = realms.stdout.split()
    evidence["realms"] = ", ".join(names) or "-"
    tables = pg.psql("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
    evidence["tables"] = tables.stdout.strip() or "-"
    ping = pg.psql("SELECT count(*) FROM jgroups_ping")
    evidence["jgroups_ping rows"] = ping.stdout.strip() if ping.returncode == 0 else "no table"
    h2 = sorted(str(p.relative_to(run.home)) for p in (run.home / "data").rglob("*.db"))
    if h2:
        evidence["H2 files"] = ", ".join(h2)
        return False, "Keycloak wrote an H2 database beside PostgreSQL", evidence
    if realm not in names:
        return False, f"the realm {realm!r} is not in database {pg.database!r} (realms there: {', '.join(names)})", \
            evidence
    return True, (f"Keycloak's schema ({evidence['tables']} tables) and the realm {realm!r} are in database "
                  f"{pg.database!r} on PostgreSQL, reached as {pg.user!r}"), evidence


def admin_console_closed(run: KeycloakRun, chart: IdentityRender, stack: Stack) -> Outcome:
    realm = stack.config.identity.realm
    evidence: dict[str, str] = {"routed": ", ".join(p for ps in keycloak.routed_paths(chart).values() for p in ps)}
    if run.failure is not None:
        return False, "no admin console to probe without a running Keycloak (see keycloak-realm-imported)", evidence
    # Keycloak serves the console itself: only the Ingress keeps it private, so observe both.
    served = keycloak.direct(run, "/admin/master/console/")
    evidence["served by Keycloak"] = f"HTTP {served.status}"
    if served.status != 200 or CONSOLE_MARK not in served.text:
        return False, "the admin console page was not observed on Keycloak itself, so its closing proves nothing", \
            evidence
    session, ingresses = keycloak.public_session(run, chart)
    host = urllib.parse.urlsplit(expected_issuer(stack)).netloc
    if host not in ingresses:
        return False, f"no Ingress serves {host}, the issuer's host", evidence
    ingress, reached = ingresses[host], []
    for probe in (*(p.format(realm=realm) for p in ADMIN_PROBES), *TRAVERSALS):
        before = len(ingress.refused)
        answer = session.get(f"https://{host}{probe}", timeout=30, allow_redirects=False)
        forwarded = len(ingress.refused) == before
        evidence[probe] = f"HTTP {answer.status_code}" + ("" if forwarded else " (no Ingress path)")
        if forwarded and (probe.startswith("/admin/") or CONSOLE_MARK in answer.text):
            reached.append(probe)
    # Keycloak resolves some of them to the console itself: the Ingress keeps them out only because
    # the controller matches the normalised path (ingress-nginx does). Recorded, not judged.
    resolved = [p for p in TRAVERSALS if CONSOLE_MARK in keycloak.direct(run, p).text]
    evidence["Keycloak itself serves the console at"] = ", ".join(resolved) or "-"
    if reached:
        return False, f"the admin console or API is reachable from outside: {', '.join(reached)}", evidence
    return True, ("the admin console and API are served by Keycloak but no Ingress path reaches them "
                  f"({len(ADMIN_PROBES) + len(TRAVERSALS)} probes)"), evidence


def _admin_claimed_private(stack: Stack) -> bool:
    return not catalogue.service("identity").values.values(stack.config)["ingress"]["exposeAdmin"]


def keycloak_checks(
    stack: Stack,
    *,
    render_transform: Callable[[IdentityRender], IdentityRender] | None = None,
    realms: Callable[[dict[str, dict[str, Any]]], dict[str, dict[str, Any]]] | None = None,
    env_transform: Callable[[keycloak.Env], keycloak.Env] | None = None,
) -> list[CheckResult]:
    """Start PostgreSQL and Keycloak, check, stop. The transforms edit what the chart rendered, the
    imported realm files and Keycloak's final environment: tests use them to weaken a stack."""
    config = stack.config
    chart = postgres.render_identity(config)
    if render_transform is not None:
        chart = render_transform(chart)
    values = livekit.generated(catalogue.service("identity").values.secrets(config))
    standin, https_port, issuer = broker.stand_in(stack, values), local.free_port(), expected_issuer(stack)

    def imported(files: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        files = realms(files) if realms is not None else files
        if standin is None:
            return files
        return broker.realms_with_standin(files, stack, standin, https_port,
                                          f"{issuer}/broker/{broker.ALIAS}/endpoint")
    base = Path(tempfile.mkdtemp(prefix="visio-verify-identity-"))

    def environment(env: keycloak.Env) -> keycloak.Env:
        env = env_transform(env) if env_transform is not None else env
        return env if standin is None else {**env, **broker.https_listener(base / "keycloak", https_port)}
    os.chmod(base, 0o711)  # servers dropped to another user must reach their own subdirectory
    try:
        with postgres.postgres_server(chart, base / "postgres", values,
                                      uid=local.run_as(chart.postgres_pod, chart.postgres)) as pg, \
                keycloak.keycloak_server(chart, base / "keycloak", values, pg, realms=imported,
                                         env_transform=environment,
                                         uid=local.run_as(chart.keycloak_pod, chart.keycloak)) as kc:
            results = [
                run_check("keycloak-realm-imported", TARGET, lambda: realm_imported(kc, chart, stack)),
                run_check("keycloak-database", TARGET, lambda: database(kc, pg, stack)),
            ]
            if _admin_claimed_private(stack):
                results.append(run_check("keycloak-admin-console-closed", TARGET,
                                         lambda: admin_console_closed(kc, chart, stack)))
            if standin is not None:
                backend = broker.backend_env(render_service(catalogue.service("signalling"), config))
                results.append(run_check("keycloak-broker-login", TARGET,
                                         lambda: broker.broker_login(kc, chart, stack, backend, standin, issuer)))
            return results
    except local.StartError as exc:
        raise InputError(f"stacks/{stack.path.name}: verify identity: {exc}") from None
    finally:
        shutil.rmtree(base, ignore_errors=True)

