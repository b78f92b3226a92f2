"""The signalling and identity charts, rendered by the real Helm library for every example stack."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from functools import cache
from typing import Any

import helm_python
import kubernetes_validate
import pytest
import yaml

from common.config import SecureValue, StackConfig, load_stack, stack_names
from common.errors import InputError
from common.images import IMAGES
from common.paths import chart_path
from components.values import identity, signalling
from components.values.secrets import SecretSpec
from visio.kube.charts import render

Obj = dict[str, Any]
BUILDERS = {"signalling": signalling, "identity": identity}
NAMESPACES = {"signalling": "visio-signalling", "identity": "visio-identity"}
CASES = [(chart, name) for chart in BUILDERS for name in stack_names()]
IDS = [f"{chart}-{name}" for chart, name in CASES]
WORKLOADS = {"Deployment", "StatefulSet", "Job"}
LONG_RUNNING = {"Deployment", "StatefulSet"}
# The one documented exception to a read-only root filesystem (see charts/identity/templates/keycloak.yaml).
WRITABLE_ROOT = {("identity-keycloak", "keycloak")}


@cache
def stack(name: str) -> StackConfig:
    return load_stack(name).config


@cache
def _rendered(chart: str, name: str) -> str:
    values = BUILDERS[chart].values(stack(name))
    return json.dumps(render(chart_path(chart), values, chart, NAMESPACES[chart]))


def objects(chart: str, name: str) -> list[Obj]:
    return [obj for _, obj in json.loads(_rendered(chart, name))]


def pod_specs(objs: list[Obj]) -> Iterator[tuple[Obj, Obj]]:
    for obj in objs:
        if obj["kind"] in WORKLOADS:
            yield obj, obj["spec"]["template"]["spec"]


def containers(spec: Obj) -> list[Obj]:
    return [*spec.get("initContainers", []), *spec["containers"], *spec.get("ephemeralContainers", [])]


def env_of(obj: Obj, container: str) -> dict[str, Obj]:
    spec = obj["spec"]["template"]["spec"]
    found = next(c for c in spec["containers"] if c["name"] == container)
    return {e["name"]: e for e in found.get("env", [])}


def find(objs: list[Obj], kind: str, name: str) -> Obj:
    matches = [o for o in objs if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(matches) == 1, f"{kind}/{name}: {len(matches)} rendered"
    return matches[0]


def realm_of(objs: list[Obj]) -> Obj:
    data = find(objs, "ConfigMap", "identity-realm")["data"]
    assert len(data) == 1
    (doc,) = data.values()
    realm: Obj = json.loads(doc)
    return realm


@pytest.mark.parametrize(("chart", "name"), CASES, ids=IDS)
def test_every_object_is_valid_for_the_stack_kubernetes_version(chart: str, name: str) -> None:
    version = stack(name).cluster.kubernetesVersion
    objs = objects(chart, name)
    assert objs
    for obj in objs:
        kubernetes_validate.validate(obj, version, strict=True)


@pytest.mark.parametrize(("chart", "name"), CASES, ids=IDS)
def test_helm_lint_strict_is_clean(chart: str, name: str) -> None:
    values = BUILDERS[chart].values(stack(name))
    result = helm_python.lint(
        chart_path(chart), values, strict=True, kube_version=f"v{stack(name).cluster.kubernetesVersion}.0"
    )
    assert result["errors"] == []
    # Severity 1 is informational (a chart icon); warnings and errors fail strict lint.
    assert [m for m in result["messages"] if m["severity"] > 1] == []


@pytest.mark.parametrize(("chart", "name"), CASES, ids=IDS)
def test_images_come_from_the_stack_registry_and_are_pinned_in_production(chart: str, name: str) -> None:
    config = stack(name)
    by_repository = {f"{config.registry.host}/{img.repository}": key for key, img in IMAGES.items()}
    seen = 0
    for _, spec in pod_specs(objects(chart, name)):
        for container in containers(spec):
            ref = container["image"]
            seen += 1
            assert ref.startswith(f"{config.registry.host}/"), ref
            assert container["imagePullPolicy"] == "IfNotPresent"
            repository = ref.split("@")[0].rsplit(":", 1)[0]
            assert repository in by_repository, ref
            digest = config.registry.digests.get(by_repository[repository])
            if config.production:
                assert digest is not None and ref.endswith(f"@{digest}"), ref
            else:
                assert "@" not in ref or (digest is not None and ref.endswith(f"@{digest}"))
    assert seen >= 2


@pytest.mark.parametrize(("chart", "name"), CASES, ids=IDS)
def test_pods_meet_pod_security_restricted(chart: str, name: str) -> None:
    for obj, spec in pod_specs(objects(chart, name)):
        where = obj["metadata"]["name"]
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True, where
        assert isinstance(pod["runAsUser"], int) and pod["runAsUser"] > 0, where
        assert pod["seccompProfile"] == {"type": "RuntimeDefault"}, where
        assert spec["automountServiceAccountToken"] is False, where
        for key in ("hostNetwork", "hostPID", "hostIPC"):
            assert not spec.get(key), where
        assert not any("hostPath" in v for v in spec.get("volumes", [])), where
        for container in containers(spec):
            sc = container["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False, where
            assert sc["capabilities"] == {"drop": ["ALL"]}, where
            assert not sc.get("privileged"), where
            writable = (where, container["name"]) in WRITABLE_ROOT
            assert sc["readOnlyRootFilesystem"] is (not writable), (where, container["name"])
            res = container["resources"]
            assert set(res["requests"]) == set(res["limits"]) == {"cpu", "memory"}, where
            if sc["readOnlyRootFilesystem"] or writable:
                mounts = {m["mountPath"] for m in container.get("volumeMounts", [])}
                assert "/tmp" in mounts, where


@pytest.mark.parametrize(("chart", "name"), CASES, ids=IDS)
def test_long_running_containers_have_probes(chart: str, name: str) -> None:
    for obj, spec in pod_specs(objects(chart, name)):
        if obj["kind"] not in LONG_RUNNING:
            continue
        for container in spec["containers"]:
            assert "livenessProbe" in container, obj["metadata"]["name"]
            if container.get("ports"):
                assert "readinessProbe" in container, obj["metadata"]["name"]


def _selects(selector: Obj, labels: Obj) -> bool:
    return all(labels.get(k) == v for k, v in selector["matchLabels"].items())


@pytest.mark.parametrize(("chart", "name"), CASES, ids=IDS)
def test_every_workload_has_a_disruption_budget_and_zone_spread(chart: str, name: str) -> None:
    config = stack(name)
    objs = objects(chart, name)
    pdbs = [o for o in objs if o["kind"] == "PodDisruptionBudget"]
    for obj, spec in pod_specs(objs):
        if obj["kind"] not in LONG_RUNNING:
            continue
        labels = obj["spec"]["template"]["metadata"]["labels"]
        where = obj["metadata"]["name"]
        assert sum(_selects(p["spec"]["selector"], labels) for p in pdbs) == 1, where
        zone = [c for c in spec["topologySpreadConstraints"] if c["topologyKey"] == "topology.kubernetes.io/zone"]
        assert len(zone) == 1 and _selects(zone[0]["labelSelector"], labels), where
        strict = len(config.cluster.zones) > 1
        assert zone[0]["whenUnsatisfiable"] == ("DoNotSchedule" if strict else "ScheduleAnyway"), where
        terms = spec.get("affinity", {}).get("nodeAffinity", {})
        if config.cluster.provider == "on-premises":
            assert terms == {}, where
        else:
            (term,) = terms["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
            (expr,) = term["matchExpressions"]
            assert expr["key"] == "topology.kubernetes.io/zone" and expr["operator"] == "In"
            assert expr["values"] == list(config.cluster.zones), where


@pytest.mark.parametrize(("chart", "name"), CASES, ids=IDS)
def test_recommended_labels_everywhere(chart: str, name: str) -> None:
    keys = ("name", "instance", "component", "part-of", "managed-by")
    for obj in objects(chart, name):
        labelled = [obj["metadata"]["labels"]]
        if obj["kind"] in WORKLOADS:
            labelled.append(obj["spec"]["template"]["metadata"]["labels"])
        for labels in labelled:
            for key in keys:
                assert labels.get(f"app.kubernetes.io/{key}"), (obj["kind"], obj["metadata"]["name"], key)
            assert labels["app.kubernetes.io/part-of"] == "visio"
            assert labels["app.kubernetes.io/instance"] == chart


SERVICES = {
    "signalling": {
        "signalling-frontend": {8080},
        "signalling-backend": {8000},
        "signalling-redis": {6379},
        "signalling-postgres": {5432},
    },
    "identity": {"identity-keycloak": {8080, 9000}, "identity-postgres": {5432}},
}


@pytest.mark.parametrize(("chart", "name"), CASES, ids=IDS)
def test_service_names_and_ports_match_the_contract(chart: str, name: str) -> None:
    objs = objects(chart, name)
    services = {o["metadata"]["name"]: {p["port"] for p in o["spec"]["ports"]} for o in objs if o["kind"] == "Service"}
    assert services == SERVICES[chart]
    # Each Service selects pods that exist and expose the target port by name.
    for svc in (o for o in objs if o["kind"] == "Service"):
        backing = [
            spec
            for obj, spec in pod_specs(objs)
            if obj["kind"] in LONG_RUNNING
            and _selects({"matchLabels": svc["spec"]["selector"]}, obj["spec"]["template"]["metadata"]["labels"])
        ]
        assert len(backing) == 1, svc["metadata"]["name"]
        named = {p["name"] for c in backing[0]["containers"] for p in c.get("ports", [])}
        assert {p["targetPort"] for p in svc["spec"]["ports"]} <= named


@pytest.mark.parametrize(("chart", "name"), CASES, ids=IDS)
def test_ingress_serves_the_stack_domain_over_tls(chart: str, name: str) -> None:
    config = stack(name)
    host = config.domains.web if chart == "signalling" else config.domains.identity
    (ingress,) = [o for o in objects(chart, name) if o["kind"] == "Ingress"]
    assert ingress["spec"]["ingressClassName"] == config.cluster.ingressClass
    assert [h for t in ingress["spec"]["tls"] for h in t["hosts"]] == [host]
    assert all(t["secretName"] for t in ingress["spec"]["tls"])
    (rule,) = ingress["spec"]["rules"]
    assert rule["host"] == host
    routes = {p["path"]: p["backend"]["service"] for p in rule["http"]["paths"]}
    admin = "/admin/" in routes
    assert admin is (config.environment == "dev")
    if chart == "signalling":
        assert routes["/api/"] == {"name": "signalling-backend", "port": {"number": 8000}}
        assert routes["/"] == {"name": "signalling-frontend", "port": {"number": 8080}}
    else:
        assert set(routes) - {"/admin/"} == {"/realms/", "/resources/"}
        assert all(r == {"name": "identity-keycloak", "port": {"number": 8080}} for r in routes.values())


@pytest.mark.parametrize("name", stack_names())
def test_realm_brokers_proconnect_only_outside_development(name: str) -> None:
    config = stack(name)
    objs = objects("identity", name)
    realm = realm_of(objs)
    assert realm["realm"] == config.identity.realm
    (client,) = realm["clients"]
    assert client["clientId"] == signalling.OIDC_CLIENT_ID
    assert client["publicClient"] is False
    assert client["redirectUris"] == [f"https://{config.domains.web}/*"]
    assert client["secret"] == "${VISIO_BACKEND_CLIENT_SECRET}"
    keycloak_env = env_of(find(objs, "Deployment", "identity-keycloak"), "keycloak")
    if config.identity.provider == "keycloak":
        assert "identityProviders" not in realm
        assert "PROCONNECT_CLIENT_SECRET" not in keycloak_env
        return
    assert config.identity.proconnect is not None
    (idp,) = realm["identityProviders"]
    issuer = config.identity.proconnect.issuer.rstrip("/")
    assert idp["alias"] == "proconnect" and idp["providerId"] == "oidc" and idp["enabled"] is True
    assert idp["firstBrokerLoginFlowAlias"] == "first broker login"
    cfg = idp["config"]
    assert cfg["issuer"] == issuer
    assert cfg["authorizationUrl"] == f"{issuer}/authorize?acr_values={config.identity.acrValues}"
    assert cfg["clientId"] == config.identity.proconnect.clientId
    assert cfg["clientSecret"] == "${PROCONNECT_CLIENT_SECRET}"
    assert cfg["syncMode"] == "FORCE"
    for key in ("tokenUrl", "userInfoUrl", "jwksUrl"):
        assert cfg[key].startswith(f"{issuer}/")
    ref = keycloak_env["PROCONNECT_CLIENT_SECRET"]["valueFrom"]["secretKeyRef"]
    assert ref == {"name": "identity-proconnect", "key": "client-secret"}


@pytest.mark.parametrize("name", stack_names())
def test_keycloak_runs_in_production_mode_behind_the_ingress(name: str) -> None:
    config = stack(name)
    deployment = find(objects("identity", name), "Deployment", "identity-keycloak")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["start", "--import-realm"]
    env = env_of(deployment, "keycloak")
    plain = {k: v["value"] for k, v in env.items() if "value" in v}
    assert plain["KC_HOSTNAME"] == f"https://{config.domains.identity}"
    assert plain["KC_DB"] == "postgres" and plain["KC_DB_URL_HOST"] == "identity-postgres"
    assert plain["KC_PROXY_HEADERS"] == "xforwarded"
    assert plain["KC_HEALTH_ENABLED"] == "true"
    for probe, path in (("livenessProbe", "/health/live"), ("readinessProbe", "/health/ready")):
        assert container[probe]["httpGet"] == {"path": path, "port": "management"}
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports["management"] == 9000 and ports["http"] == 8080
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert mounts["/opt/keycloak/data/import"] == "realm"
    assert deployment["spec"]["replicas"] == (1 if config.environment == "dev" else len(config.cluster.zones))


@pytest.mark.parametrize("name", stack_names())
def test_backend_talks_to_the_stack_realm_and_livekit_without_telemetry(name: str) -> None:
    config = stack(name)
    objs = objects("signalling", name)
    for workload, container in (("signalling-backend", "django"), ("signalling-worker", "celery")):
        env = env_of(find(objs, "Deployment", workload), container)
        plain = {k: v["value"] for k, v in env.items() if "value" in v}
        realm = f"https://{config.domains.identity}/realms/{config.identity.realm}/protocol/openid-connect/"
        for key in ("AUTHORIZATION", "TOKEN", "USER", "JWKS", "LOGOUT"):
            assert plain[f"OIDC_OP_{key}_ENDPOINT"].startswith(realm)
        assert plain["OIDC_RP_CLIENT_ID"] == "visio-backend"
        assert plain["LIVEKIT_API_URL"] == f"https://{config.domains.media}"
        assert plain["DJANGO_ALLOWED_HOSTS"] == config.domains.web
        extra = json.loads(plain["OIDC_AUTH_REQUEST_EXTRA_PARAMS"])
        assert extra == ({"kc_idp_hint": "proconnect"} if config.identity.provider == "proconnect" else {})
        assert plain["FRONTEND_ANALYTICS"] == "{}" and plain["FRONTEND_SUPPORT"] == "{}"
        assert not [k for k in env if re.search(r"SENTRY|POSTHOG|CRISP|BREVO", k)]
        for key in ("LIVEKIT_API_KEY", "LIVEKIT_API_SECRET"):
            assert env[key]["valueFrom"]["secretKeyRef"]["name"] == "livekit-api"
        # Credentials enter URLs through the kubelet's $(VAR) expansion only.
        assert plain["REDIS_URL"] == "redis://default:$(REDIS_PASSWORD)@signalling-redis:6379/1"
        names = list(env)
        assert names.index("REDIS_PASSWORD") < names.index("REDIS_URL")


def _secret_refs(objs: list[Obj]) -> set[tuple[str, str]]:
    refs: set[tuple[str, str]] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "secretKeyRef" in node:
                refs.add((node["secretKeyRef"]["name"], node["secretKeyRef"]["key"]))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(objs)
    return refs


@pytest.mark.parametrize(("chart", "name"), CASES, ids=IDS)
def test_secret_references_match_the_declared_secrets(chart: str, name: str) -> None:
    objs = objects(chart, name)
    declared = {(s, k) for s, keys in BUILDERS[chart].secrets(stack(name)).items() for k in keys}
    assert _secret_refs(objs) == declared
    assert not [o for o in objs if o["kind"] == "Secret"]


SENSITIVE_ENV = re.compile(r"PASSWORD|SECRET|_KEY$|AUTH$")


@pytest.mark.parametrize(("chart", "name"), CASES, ids=IDS)
def test_no_secret_value_in_any_rendered_object(chart: str, name: str) -> None:
    config = stack(name)
    canary = "Canary-Pl41ntext-Never-Rendered"
    if config.identity.proconnect is not None:
        secret = SecureValue(ciphertext="v1:cipher-canary", plaintext=canary)
        proconnect = config.identity.proconnect.model_copy(update={"clientSecret": secret})
        config = config.model_copy(update={"identity": config.identity.model_copy(update={"proconnect": proconnect})})
    values = BUILDERS[chart].values(config)
    text = yaml.safe_dump_all([o for _, o in render(chart_path(chart), values, chart, NAMESPACES[chart])])
    assert canary not in text and "cipher-canary" not in text
    for obj, spec in pod_specs(objects(chart, name)):
        for container in containers(spec):
            for env in container.get("env", []):
                if SENSITIVE_ENV.search(env["name"]):
                    assert "value" not in env and "secretKeyRef" in env["valueFrom"], (obj["metadata"]["name"], env)


def test_shared_secrets_point_at_declared_keys() -> None:
    for name in stack_names():
        config = stack(name)
        declared = {**identity.secrets(config), **signalling.secrets(config)}
        shared = [spec.shared for keys in declared.values() for spec in keys.values() if spec.shared]
        assert shared == ["identity-oidc-clients/visio-backend"]
        for ref in shared:
            secret, key = ref.split("/")
            origin = declared[secret][key]
            assert origin.length >= 32 and origin.shared is None
        assert set(signalling.SECRETS["livekit-api"]) == {"key", "secret"}
        # LiveKit refuses API secrets shorter than 32 characters.
        assert signalling.SECRETS["livekit-api"]["secret"].length >= 32
        has_pc = "identity-proconnect" in identity.secrets(config)
        assert has_pc is (config.identity.provider == "proconnect")


def test_secret_spec_takes_exactly_one_source() -> None:
    assert SecretSpec.random(32).length == 32
    for bad in (
        lambda: SecretSpec(),
        lambda: SecretSpec(length=32, shared="a/b"),
        lambda: SecretSpec(shared="no-key"),
        lambda: SecretSpec(length=8),
        lambda: SecretSpec(length=32, config="identity.proconnect.clientSecret"),
    ):
        with pytest.raises(ValueError):
            bad()


def test_config_sourced_secret_resolves_to_the_stack_secure_value() -> None:
    from components.values.secrets import config_secret

    for name in stack_names():
        config = stack(name)
        spec = identity.secrets(config).get("identity-proconnect", {}).get("client-secret")
        if config.identity.proconnect is None:
            assert spec is None
            with pytest.raises(KeyError):
                config_secret(config, "identity.proconnect.clientSecret")
            continue
        assert spec is not None and spec.config is not None
        assert config_secret(config, spec.config) is config.identity.proconnect.clientSecret


@pytest.mark.parametrize("chart", list(BUILDERS))
def test_pinned_stacks_refuse_an_image_without_digest(chart: str) -> None:
    prod = next(n for n in stack_names() if stack(n).production)
    values = copy.deepcopy(BUILDERS[chart].values(stack(prod)))
    component = "backend" if chart == "signalling" else "keycloak"
    values[component]["image"] = values[component]["image"].split("@")[0]
    with pytest.raises(InputError, match="pin it by digest"):
        render(chart_path(chart), values, chart, NAMESPACES[chart])
    values["requireDigests"] = False
    assert render(chart_path(chart), values, chart, NAMESPACES[chart])


def _with(chart: str, path: str, value: Any) -> tuple[str, Obj]:
    values = copy.deepcopy(BUILDERS[chart].values(stack("interieur-prod")))
    node = values
    *parents, last = path.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value
    return chart, values


BAD_VALUES = {
    "bare image name (implicit docker.io)": _with("signalling", "frontend.image", "lasuite/meet-frontend:v1"),
    "image without tag or digest": _with("signalling", "backend.image", "registry.interieur.gouv.fr/visio/x"),
    "image with a malformed digest": _with("identity", "keycloak.image", "reg.gouv.fr/keycloak@sha256:abc"),
    "upper-case domain": _with("signalling", "domain", "Visio.Interieur.Gouv.Fr"),
    "domain with a path": _with("identity", "domain", "auth.gouv.fr/evil"),
    "plain http issuer": _with("signalling", "oidc.issuer", "http://auth.visio.interieur.gouv.fr/realms/v"),
    "credentials in the livekit url": _with("signalling", "livekit.url", "https://u:p@livekit.gouv.fr"),
    "unknown top-level key": _with("signalling", "sentryDsn", "https://key@o1.ingest.sentry.io/1"),
    "unknown extra auth parameter": _with("signalling", "oidc.authRequestExtraParams", {"prompt": "none"}),
    "zero replicas": _with("signalling", "backend.replicas", {"min": 0, "max": 3}),
    "cpu target over 95%": _with("signalling", "frontend.targetCPUUtilization", 120),
    "root user": _with("signalling", "redis.runAsUser", 0),
    "memory without a unit": _with("signalling", "backend.resources.limits.memory", "512"),
    "storage in bytes": _with("signalling", "postgres.storage.size", "10000000000"),
    "empty zone list": _with("identity", "topology.zones", []),
    "unknown sync mode": _with("identity", "realm.proconnect.syncMode", "ALWAYS"),
    "proconnect without client id": _with("identity", "realm.proconnect.clientId", ""),
    "master realm": _with("identity", "realm.name", "master"),
    "placeholder in realm display name": _with("identity", "realm.displayName", "${KC_DB_PASSWORD}"),
    "acr values with a query separator": _with("identity", "realm.proconnect.acrValues", "eidas1&prompt=none"),
    "extra env on keycloak": _with("identity", "keycloak.env", [{"name": "KC_LOG_LEVEL", "value": "debug"}]),
    "string for a boolean": _with("identity", "ingress.exposeAdmin", "yes"),
}


@pytest.mark.parametrize(("chart", "values"), list(BAD_VALUES.values()), ids=list(BAD_VALUES))
def test_schema_rejects_bad_values(chart: str, values: Obj) -> None:
    with pytest.raises(helm_python.HelmValuesError):
        helm_python.Chart.load(chart_path(chart)).validate_schema(values)


@pytest.mark.parametrize(
    ("chart", "name"), [*CASES, *[(c, None) for c in BUILDERS]], ids=[*IDS, *[f"{c}-defaults" for c in BUILDERS]]
)
def test_schema_accepts_built_values_and_defaults(chart: str, name: str | None) -> None:
    values = {} if name is None else BUILDERS[chart].values(stack(name))
    helm_python.Chart.load(chart_path(chart)).validate_schema(values)
