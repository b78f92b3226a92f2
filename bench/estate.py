"""A synthetic estate of Kubernetes objects for the audit benchmark, with planted defects.

`generate(root, count, seed)` writes `count` objects into multi-document YAML files under
`root/manifests/` (100 objects a file), the policy settings under `root/policy.yaml` and the
defects it planted under `root/planted.json`. Everything else in the estate passes every rule with
those settings, so an audit must report exactly the planted defects. The same seed and count give
the same bytes.

The estate looks like a ministry's platform: namespaces of about fifty objects, each with its
default-deny egress policy; Deployments with init containers, sidecars and a dozen environment
variables; StatefulSets with volume claims; CronJobs; Services; ConfigMaps carrying application and
LiveKit configuration files; Secrets carrying connection strings; Ingresses with TLS; NetworkPolicies
allowing egress to a French object store. Names and most values vary with the object, so no cache
sees the same text twice more than the real thing would.

Defects, a few per hundred workloads or ConfigMaps:
- `foreign-registry`: an image from a registry outside the allowed one (pinned, so only image-registry);
- `missing-digest`: an image from the allowed registry referenced by tag only (image-digest);
- `us-endpoint`: an environment variable naming a US service (endpoint-sovereignty);
- `us-endpoint-config`: a US storage endpoint inside a ConfigMap's embedded YAML (endpoint-sovereignty).

The `small` shape is the other end: Deployments of one container with a few URLs in its environment,
Services, and ConfigMaps holding a short YAML file, a few hundred bytes each, where the cost of an
audit is its per-object overhead rather than parsing. The same defects are planted in it.

Run as `python bench/estate.py DIR COUNT [--seed N] [--shape rich|small]`.
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import shutil
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

REGISTRY = "registry.interieur.gouv.fr"
TRUSTED = "visio.interieur.gouv.fr"
REGION = "eu-west-par"
PER_FILE = 100
NAMESPACE_SIZE = 50
POLICY: dict[str, Any] = {
    "profile": "secnumcloud",
    "allowedRegistries": [REGISTRY],
    "trustedDomains": [TRUSTED],
    "allowedRegions": [REGION],
    "production": True,
}
COMPONENTS = (
    "meet-frontend", "meet-backend", "meet-celery", "livekit-server", "livekit-egress", "coturn",
    "keycloak", "redis", "postgres", "stt-server", "meet-agents", "meet-summary", "nginx-cache",
    "metrics-exporter", "log-shipper", "backup-runner", "cert-renewer", "mailer", "search", "thumbnailer",
)
SIDECARS = ("log-shipper", "metrics-exporter", "nginx-cache")
FOREIGN_IMAGES = ("ghcr.io/acme/toolbox", "quay.io/prometheus/node-exporter", "docker.io/library/busybox")
US_ENDPOINTS = ("https://api.openai.com/v1", "https://api.deepgram.com/v1/listen", "https://o12.ingest.sentry.io/4")
US_STORAGE = ("https://storage.googleapis.com", "https://s3.us-east-1.amazonaws.com")
# Mix of objects after each namespace's own Namespace and default-deny policy.
KINDS = (
    ("Deployment", 26), ("Service", 18), ("ConfigMap", 18), ("Secret", 10), ("StatefulSet", 7),
    ("CronJob", 7), ("Ingress", 7), ("NetworkPolicy", 7),
)


@dataclass(frozen=True, order=True)
class Defect:
    rule: str
    kind: str
    namespace: str
    name: str
    path: str
    planted: str  # which defect: foreign-registry, missing-digest, us-endpoint, us-endpoint-config


class _Dumper(yaml.CSafeDumper):
    pass


def _text(dumper: _Dumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


class Estate:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.digests = {c: self._hex(64) for c in COMPONENTS}
        self.defects: list[Defect] = []
        self.index = 0

    def _hex(self, n: int) -> str:
        return "".join(self.rng.choice("0123456789abcdef") for _ in range(n))

    def image(self, component: str) -> str:
        return f"{REGISTRY}/visio/{component}@sha256:{self.digests[component]}"

    # -- pod specs -------------------------------------------------------------------------------

    def container(self, name: str, component: str, ns: str, env_count: int) -> dict[str, Any]:
        i = self.index
        env: list[dict[str, Any]] = [
            {"name": "LOG_LEVEL", "value": self.rng.choice(("info", "warning", "debug"))},
            {"name": "ALLOWED_HOSTS", "value": f"meet-{i}.{TRUSTED},{ns}.{TRUSTED}"},
            {"name": "REDIS_URL", "value": f"redis://redis.{ns}.svc.cluster.local:6379/{i % 16}"},
            {"name": "DB_HOST", "value": f"postgres-{i % 7}.{ns}.svc.cluster.local"},
            {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": f"db-{ns}", "key": "password"}}},
            {"name": "S3_ENDPOINT", "value": "https://s3.gra.io.cloud.ovh.net"},
            {"name": "S3_BUCKET", "value": f"visio-{ns}-recordings-{i}"},
            {"name": "OIDC_OP_JWKS_ENDPOINT",
             "value": f"https://auth.{TRUSTED}/realms/{ns}/protocol/openid-connect/certs"},
            {"name": "WORKERS", "value": str(1 + i % 8)},
            {"name": "APP_VERSION", "value": f"1.{i % 20}.{i % 7}"},
            {"name": "FEATURE_RECORDING", "value": self.rng.choice(("true", "false"))},
            {"name": "MEDIA_BASE_URL", "value": f"https://media-{i % 50}.{TRUSTED}/static/"},
            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "ARCHIVE_URL", "value": f"https://visio-{ns}.s3.fr-par.scw.cloud/archive/{i}"},
        ]
        return {
            "name": name,
            "image": self.image(component),
            "imagePullPolicy": "IfNotPresent",
            "args": ["--port", str(8000 + i % 100), "--bind", "0.0.0.0", "--log-format", "json"],
            "ports": [{"name": "http", "containerPort": 8000 + i % 100, "protocol": "TCP"}],
            "env": env[:env_count],
            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
            "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 10},
            "securityContext": {
                "allowPrivilegeEscalation": False,
                "readOnlyRootFilesystem": True,
                "capabilities": {"drop": ["ALL"]},
            },
            "volumeMounts": [{"name": "config", "mountPath": "/etc/app", "readOnly": True},
                             {"name": "tmp", "mountPath": "/tmp"}],
        }

    def pod_spec(self, kind: str, name: str, ns: str, prefix: str) -> dict[str, Any]:
        component = self.rng.choice(COMPONENTS)
        containers = [self.container("app", component, ns, self.rng.randint(8, 14))]
        for sidecar in self.rng.sample(SIDECARS, self.rng.randint(0, 2)):
            containers.append(self.container(sidecar, sidecar, ns, self.rng.randint(2, 5)))
        init = [self.container("migrate", component, ns, self.rng.randint(3, 6))]
        spec: dict[str, Any] = {
            "serviceAccountName": name,
            "automountServiceAccountToken": False,
            "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "fsGroup": 10001,
                                "seccompProfile": {"type": "RuntimeDefault"}},
            "nodeSelector": {"topology.kubernetes.io/region": REGION},
            "initContainers": init,
            "containers": containers,
            "volumes": [{"name": "config", "configMap": {"name": f"{name}-config"}},
                        {"name": "tmp", "emptyDir": {}}],
        }
        if kind == "CronJob":
            spec["restartPolicy"] = "OnFailure"
        self.plant_workload(kind, name, ns, prefix, spec)
        return spec

    def plant_workload(self, kind: str, name: str, ns: str, prefix: str, spec: dict[str, Any]) -> None:
        roll = self.rng.random()
        lists = [(f, spec[f]) for f in ("initContainers", "containers") if spec.get(f)]
        field, chosen = self.rng.choice(lists)
        k = self.rng.randrange(len(chosen))
        container = chosen[k]
        where = f"{prefix}.{field}[{k}]"
        if roll < 0.03:
            image = f"{self.rng.choice(FOREIGN_IMAGES)}@sha256:{self._hex(64)}"
            container["image"] = image
            self.defects.append(Defect("image-registry", kind, ns, name, f"{where}.image", "foreign-registry"))
        elif roll < 0.06:
            container["image"] = f"{REGISTRY}/visio/{self.rng.choice(COMPONENTS)}:1.{self.rng.randint(0, 9)}.0"
            self.defects.append(Defect("image-digest", kind, ns, name, f"{where}.image", "missing-digest"))
        elif roll < 0.09:
            container["env"].append({"name": "UPSTREAM_API", "value": self.rng.choice(US_ENDPOINTS)})
            at = f"{where}.env[{len(container['env']) - 1}].value"
            self.defects.append(Defect("endpoint-sovereignty", kind, ns, name, at, "us-endpoint"))

    # -- objects ---------------------------------------------------------------------------------

    @staticmethod
    def meta(name: str, ns: str | None, component: str = "") -> dict[str, Any]:
        labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "visio"}
        if component:
            labels["app.kubernetes.io/component"] = component
        out: dict[str, Any] = {"name": name, "labels": labels}
        if ns is not None:
            out["namespace"] = ns
        return out

    def deployment(self, name: str, ns: str) -> dict[str, Any]:
        prefix = "spec.template.spec"
        return {
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": self.meta(name, ns, "web"),
            "spec": {
                "replicas": self.rng.randint(1, 4),
                "revisionHistoryLimit": 3,
                "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
                "template": {
                    "metadata": {"labels": {"app.kubernetes.io/name": name},
                                 "annotations": {"checksum/config": self._hex(16)}},
                    "spec": self.pod_spec("Deployment", name, ns, prefix),
                },
            },
        }

    def stateful_set(self, name: str, ns: str) -> dict[str, Any]:
        return {
            "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": self.meta(name, ns, "data"),
            "spec": {
                "serviceName": name,
                "replicas": 3,
                "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
                "template": {
                    "metadata": {"labels": {"app.kubernetes.io/name": name}},
                    "spec": self.pod_spec("StatefulSet", name, ns, "spec.template.spec"),
                },
                "volumeClaimTemplates": [{
                    "metadata": {"name": "data"},
                    "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "csi-cinder-high-speed",
                             "resources": {"requests": {"storage": f"{10 * (1 + self.index % 5)}Gi"}}},
                }],
            },
        }

    def cron_job(self, name: str, ns: str) -> dict[str, Any]:
        prefix = "spec.jobTemplate.spec.template.spec"
        return {
            "apiVersion": "batch/v1", "kind": "CronJob", "metadata": self.meta(name, ns, "batch"),
            "spec": {
                "schedule": f"{self.index % 60} {self.index % 24} * * *",
                "concurrencyPolicy": "Forbid",
                "jobTemplate": {"spec": {
                    "backoffLimit": 2,
                    "template": {"spec": self.pod_spec("CronJob", name, ns, prefix)},
                }},
            },
        }

    def service(self, name: str, ns: str) -> dict[str, Any]:
        port = 8000 + self.index % 100
        return {
            "apiVersion": "v1", "kind": "Service", "metadata": self.meta(name, ns),
            "spec": {
                "type": "ClusterIP",
                "selector": {"app.kubernetes.io/name": name},
                "ports": [{"name": "http", "port": 80, "targetPort": port, "protocol": "TCP"},
                          {"name": "metrics", "port": 9090, "targetPort": 9090, "protocol": "TCP"}],
            },
        }

    def app_config(self, ns: str, storage: str) -> str:
        i = self.index
        return "\n".join([
            "server:",
            f"  public_url: https://meet-{i}.{TRUSTED}",
            f"  listen: 0.0.0.0:{8000 + i % 100}",
            "  workers: 4",
            "database:",
            f"  host: postgres-{i % 7}.{ns}.svc.cluster.local",
            "  port: 5432",
            f"  name: visio_{i}",
            "cache:",
            f"  url: redis://redis.{ns}.svc.cluster.local:6379/1",
            "storage:",
            f"  endpoint: {storage}",
            f"  bucket: visio-{ns}-{i}",
            "  region: gra",
            "identity:",
            f"  issuer: https://auth.{TRUSTED}/realms/{ns}",
            "  client_id: meet",
            "  scopes: [openid, email, profile]",
            "features:",
            "  recording: true",
            "  subtitles: true",
            f"  max_participants: {50 + i % 150}",
            "",
        ])

    def livekit_config(self, ns: str) -> str:
        return "\n".join([
            "port: 7880",
            "rtc:",
            "  tcp_port: 7881",
            "  port_range_start: 50000",
            "  port_range_end: 60000",
            "  use_external_ip: false",
            "  stun_servers:",
            f"    - turn.{TRUSTED}:3478",
            "  turn_servers:",
            f"    - host: turn.{TRUSTED}",
            "      port: 5349",
            "      protocol: tls",
            "redis:",
            f"  address: redis.{ns}.svc.cluster.local:6379",
            "key_file: /etc/livekit/keys.yaml",
            "webhook:",
            "  urls:",
            f"    - https://meet-{self.index}.{TRUSTED}/api/v1.0/rooms/webhooks-livekit/",
            "",
        ])

    def config_map(self, name: str, ns: str) -> dict[str, Any]:
        storage = "https://s3.gra.io.cloud.ovh.net"
        planted = self.rng.random() < 0.04
        if planted:
            storage = self.rng.choice(US_STORAGE)
        data = {
            "app.yaml": self.app_config(ns, storage),
            "settings.env": "\n".join([
                "# rendered from the stack configuration",
                f"PUBLIC_URL=https://meet-{self.index}.{TRUSTED}",
                f"SMTP_HOST=smtp.{TRUSTED}",
                "SMTP_PORT=587",
                f"CELERY_BROKER=redis://redis.{ns}.svc.cluster.local:6379/2",
                "",
            ]),
            "LOG_FORMAT": "json",
            "TIMEZONE": "Europe/Paris",
        }
        if self.index % 5 == 0:
            data["config.yaml"] = self.livekit_config(ns)
        if planted:
            self.defects.append(Defect("endpoint-sovereignty", "ConfigMap", ns, name, 'data["app.yaml"]',
                                       "us-endpoint-config"))
        return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": self.meta(name, ns), "data": data}

    def secret(self, name: str, ns: str) -> dict[str, Any]:
        def b64(text: str) -> str:
            return base64.b64encode(text.encode()).decode()

        return {
            "apiVersion": "v1", "kind": "Secret", "metadata": self.meta(name, ns), "type": "Opaque",
            "data": {
                "password": b64(self._hex(32)),
                "DATABASE_URL": b64(f"postgres://visio@postgres-{self.index % 7}.{ns}.svc.cluster.local:5432/visio"),
                "api-key": b64(self._hex(40)),
            },
        }

    def ingress(self, name: str, ns: str) -> dict[str, Any]:
        host = f"meet-{self.index}.{TRUSTED}"
        return {
            "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {**self.meta(name, ns), "annotations": {
                "cert-manager.io/cluster-issuer": "acme-internal",
                "nginx.ingress.kubernetes.io/proxy-body-size": "10m",
            }},
            "spec": {
                "ingressClassName": "nginx",
                "tls": [{"hosts": [host], "secretName": f"{name}-tls"}],
                "rules": [{"host": host, "http": {"paths": [{
                    "path": "/", "pathType": "Prefix",
                    "backend": {"service": {"name": name, "port": {"name": "http"}}},
                }]}}],
            },
        }

    def network_policy(self, name: str, ns: str) -> dict[str, Any]:
        return {
            "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": self.meta(name, ns),
            "spec": {
                "podSelector": {"matchLabels": {"app.kubernetes.io/name": name}},
                "policyTypes": ["Egress"],
                "egress": [
                    {"to": [{"ipBlock": {"cidr": f"51.91.{self.index % 200}.0/24"}}],
                     "ports": [{"port": 443, "protocol": "TCP"}]},
                    {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}}}]},
                ],
            },
        }

    def namespace(self, ns: str) -> list[dict[str, Any]]:
        return [
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {
                "name": ns, "labels": {"pod-security.kubernetes.io/enforce": "restricted"}}},
            {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
             "metadata": {"name": "default-deny", "namespace": ns},
             "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}},
        ]

    kinds: tuple[tuple[str, int], ...] = KINDS

    def objects(self, count: int) -> Iterator[dict[str, Any]]:
        kinds = [k for k, _ in self.kinds]
        weights = [w for _, w in self.kinds]
        build = {"Deployment": self.deployment, "Service": self.service, "ConfigMap": self.config_map,
                 "Secret": self.secret, "StatefulSet": self.stateful_set, "CronJob": self.cron_job,
                 "Ingress": self.ingress, "NetworkPolicy": self.network_policy}
        pending: list[dict[str, Any]] = []
        ns = ""
        while self.index < count:
            if self.index % NAMESPACE_SIZE == 0:
                ns = f"ministere-{self.index // NAMESPACE_SIZE:04d}"
                pending = self.namespace(ns)
            if pending:
                obj = pending.pop(0)
            else:
                kind = self.rng.choices(kinds, weights)[0]
                obj = build[kind](f"{kind.lower()}-{self.index:06d}", ns)
            self.index += 1
            yield obj


SMALL_KINDS = (("Deployment", 40), ("Service", 30), ("ConfigMap", 30))


class SmallEstate(Estate):
    """Objects of a few hundred bytes: the audit's per-object overhead, not parsing, dominates."""

    kinds = SMALL_KINDS

    def container(self, name: str, component: str, ns: str, env_count: int) -> dict[str, Any]:
        i = self.index
        env = [
            {"name": "S3_ENDPOINT", "value": "https://s3.gra.io.cloud.ovh.net"},
            {"name": "OIDC_ISSUER", "value": f"https://auth.{TRUSTED}/realms/{ns}"},
            {"name": "REDIS_URL", "value": f"redis://redis.{ns}.svc.cluster.local:6379/{i % 16}"},
        ]
        return {
            "name": name,
            "image": self.image(component),
            "env": env[:env_count],
            "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
        }

    def pod_spec(self, kind: str, name: str, ns: str, prefix: str) -> dict[str, Any]:
        component = self.rng.choice(COMPONENTS)
        spec: dict[str, Any] = {
            "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
            "nodeSelector": {"topology.kubernetes.io/region": REGION},
            "initContainers": [],
            "containers": [self.container("app", component, ns, self.rng.randint(2, 3))],
        }
        self.plant_workload(kind, name, ns, prefix, spec)
        if not spec["initContainers"]:
            del spec["initContainers"]
        return spec

    def deployment(self, name: str, ns: str) -> dict[str, Any]:
        return {
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns},
            "spec": {
                "selector": {"matchLabels": {"app": name}},
                "template": {"metadata": {"labels": {"app": name}},
                             "spec": self.pod_spec("Deployment", name, ns, "spec.template.spec")},
            },
        }

    def service(self, name: str, ns: str) -> dict[str, Any]:
        return {
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
            "spec": {"selector": {"app": name}, "ports": [{"port": 80, "targetPort": 8000 + self.index % 100}]},
        }

    def config_map(self, name: str, ns: str) -> dict[str, Any]:
        storage = "https://s3.gra.io.cloud.ovh.net"
        planted = self.rng.random() < 0.04
        if planted:
            storage = self.rng.choice(US_STORAGE)
            self.defects.append(Defect("endpoint-sovereignty", "ConfigMap", ns, name, 'data["app.yaml"]',
                                       "us-endpoint-config"))
        app = (f"public_url: https://meet-{self.index}.{TRUSTED}\n"
               f"storage:\n  endpoint: {storage}\n  bucket: b{self.index}\n")
        return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns},
                "data": {"app.yaml": app, "LOG_LEVEL": "info"}}


SHAPES: dict[str, type[Estate]] = {"rich": Estate, "small": SmallEstate}


def generate(root: Path, count: int, seed: int = 2024, shape: str = "rich") -> list[Defect]:
    """Write the estate under `root` (replacing what was there); the planted defects, sorted."""
    manifests = root / "manifests"
    if manifests.exists():
        shutil.rmtree(manifests)
    manifests.mkdir(parents=True)
    estate = SHAPES[shape](seed)
    batch: list[dict[str, Any]] = []
    part = 0

    def flush() -> None:
        nonlocal part
        text = yaml.dump_all(batch, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=120)
        (manifests / f"part-{part:05d}.yaml").write_text(text, encoding="utf-8")
        part += 1
        batch.clear()

    for obj in estate.objects(count):
        batch.append(obj)
        if len(batch) == PER_FILE:
            flush()
    if batch:
        flush()
    (root / "policy.yaml").write_text(yaml.safe_dump(POLICY, sort_keys=False), encoding="utf-8")
    defects = sorted(estate.defects)
    (root / "planted.json").write_text(json.dumps([asdict(d) for d in defects], indent=1), encoding="utf-8")
    return defects


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("root", type=Path)
    parser.add_argument("count", type=int)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--shape", choices=sorted(SHAPES), default="rich")
    args = parser.parse_args()
    defects = generate(args.root, args.count, args.seed, args.shape)
    print(f"{args.count} objects under {args.root / 'manifests'}, {len(defects)} planted defects")


if __name__ == "__main__":
    main()
