"""The CrossGuard pack driven as the Pulumi engine drives it: a subprocess speaking gRPC.

`python -u -m pulumi.policy <engine address> policies` prints its port; the tests then call
GetAnalyzerInfo, Configure, Analyze and AnalyzeStack on it. The engine address points at a real
in-test Engine server that records the Log calls the policy runtime makes.
"""

from __future__ import annotations

import os
import selectors
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc, engine_pb2, engine_pb2_grpc
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

from policies.rules import ALL_RULES

ROOT = Path(__file__).resolve().parents[2]
MANDATORY = analyzer_pb2.MANDATORY
ADVISORY = analyzer_pb2.ADVISORY
DISABLED = analyzer_pb2.DISABLED
RULE_IDS = {r.id for r in ALL_RULES}
STACK_RULES = {r.id for r in ALL_RULES if r.check_stack is not None}
DIGEST = "sha256:" + "ab" * 32
SETTINGS: dict[str, Any] = {
    "profile": "secnumcloud",
    "allowedRegistries": ["registry.interieur.gouv.fr"],
    "trustedDomains": ["visio.interieur.gouv.fr"],
    "allowedRegions": ["eu-west-par"],
    "production": False,
}


class Engine(engine_pb2_grpc.EngineServicer):
    def __init__(self) -> None:
        self.logs: list[engine_pb2.LogRequest] = []

    def Log(self, request: engine_pb2.LogRequest, context: grpc.ServicerContext) -> empty_pb2.Empty:
        self.logs.append(request)
        return empty_pb2.Empty()

    def GetRootResource(self, request: Any, context: grpc.ServicerContext) -> Any:
        return engine_pb2.GetRootResourceResponse(urn="")

    def SetRootResource(self, request: Any, context: grpc.ServicerContext) -> Any:
        return engine_pb2.SetRootResourceResponse()


@dataclass
class Pack:
    stub: analyzer_pb2_grpc.AnalyzerStub
    engine: Engine
    process: subprocess.Popen[bytes]
    names: list[str] = field(default_factory=list)

    def configure(
        self,
        settings: dict[str, Any] | None = None,
        levels: dict[str, analyzer_pb2.EnforcementLevel.ValueType] | None = None,
        per_policy: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        """Configure every policy, as the Pulumi CLI does: a level and the settings for each."""
        request = analyzer_pb2.ConfigureAnalyzerRequest()
        for name in self.names:
            props = struct_pb2.Struct()
            props.update((per_policy or {}).get(name, settings if settings is not None else SETTINGS))
            request.policyConfig[name].CopyFrom(
                analyzer_pb2.PolicyConfig(enforcementLevel=(levels or {}).get(name, MANDATORY), properties=props)
            )
        self.stub.Configure(request, timeout=30)

    def analyze(self, pulumi_type: str, name: str, props: dict[str, Any]) -> list[analyzer_pb2.AnalyzeDiagnostic]:
        urn = f"urn:pulumi:dev::visio::{pulumi_type}::{name}"
        request = analyzer_pb2.AnalyzeRequest(type=pulumi_type, properties=_struct(props), urn=urn, name=name)
        return list(self.stub.Analyze(request, timeout=60).diagnostics)

    def analyze_stack(self, resources: list[tuple[str, str, dict[str, Any]]]) -> list[analyzer_pb2.AnalyzeDiagnostic]:
        request = analyzer_pb2.AnalyzeStackRequest(
            resources=[
                analyzer_pb2.AnalyzerResource(
                    type=t, name=n, properties=_struct(p), urn=f"urn:pulumi:dev::visio::{t}::{n}"
                )
                for t, n, p in resources
            ]
        )
        return list(self.stub.AnalyzeStack(request, timeout=60).diagnostics)


def _struct(data: dict[str, Any]) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    s.update(data)
    return s


def _read_port(process: subprocess.Popen[bytes], deadline: float) -> int:
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    line = b""
    while not line.endswith(b"\n"):
        if not selector.select(timeout=max(0.0, deadline - time.monotonic())):
            raise AssertionError("policy pack did not print its port in time")
        chunk = os.read(process.stdout.fileno(), 1)
        if not chunk:
            err = process.stderr.read().decode() if process.stderr else ""
            raise AssertionError(f"policy pack exited before serving: {err[-3000:]}")
        line += chunk
    return int(line.strip())


@pytest.fixture(scope="module")
def engine() -> Iterator[tuple[Engine, int]]:
    servicer = Engine()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    engine_pb2_grpc.add_EngineServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield servicer, port
    server.stop(0)


def _start(engine: tuple[Engine, int], dry_run: bool) -> Iterator[Pack]:
    servicer, engine_port = engine
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
    env.update(
        PULUMI_BACKEND_URL="https://api.pulumi.com",
        PULUMI_PROJECT="visio",
        PULUMI_STACK="dev",
        PULUMI_DRY_RUN="true" if dry_run else "false",
    )
    process = subprocess.Popen(
        [sys.executable, "-u", "-m", "pulumi.policy", f"127.0.0.1:{engine_port}", "policies"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        port = _read_port(process, time.monotonic() + 60)
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        pack = Pack(analyzer_pb2_grpc.AnalyzerStub(channel), servicer, process)
        info = pack.stub.GetAnalyzerInfo(empty_pb2.Empty(), timeout=30)
        pack.names = [p.name for p in info.policies]
        yield pack
        channel.close()
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def pack(engine: tuple[Engine, int]) -> Iterator[Pack]:
    """The pack at update time (PULUMI_DRY_RUN=false)."""
    yield from _start(engine, dry_run=False)


@pytest.fixture(scope="module")
def preview_pack(engine: tuple[Engine, int]) -> Iterator[Pack]:
    yield from _start(engine, dry_run=True)


def deployment(image: str, env: list[dict[str, Any]] | None = None, namespace: str = "visio") -> dict[str, Any]:
    """A Deployment meeting the restricted pod security profile, so only what a test plants shows."""
    container: dict[str, Any] = {
        "name": "app",
        "image": image,
        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
    }
    if env:
        container["env"] = env
    pod = {
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [container],
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "backend", "namespace": namespace},
        "spec": {
            "selector": {"matchLabels": {"app": "backend"}},
            "template": {"metadata": {"labels": {"app": "backend"}}, "spec": pod},
        },
    }


CLEAN_IMAGE = f"registry.interieur.gouv.fr/visio/backend@{DIGEST}"
DEFAULT_DENY = {
    "apiVersion": "networking.k8s.io/v1",
    "kind": "NetworkPolicy",
    "metadata": {"name": "default-deny", "namespace": "visio"},
    "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
}


def by_policy(diagnostics: list[analyzer_pb2.AnalyzeDiagnostic], name: str) -> list[analyzer_pb2.AnalyzeDiagnostic]:
    return [d for d in diagnostics if d.policyName == name]


def test_analyzer_info_lists_every_rule_with_level_and_schema(pack: Pack) -> None:
    info = pack.stub.GetAnalyzerInfo(empty_pb2.Empty(), timeout=30)
    assert info.name == "visio-sovereignty"
    assert {p.name for p in info.policies} == RULE_IDS
    for policy in info.policies:
        assert policy.enforcementLevel == MANDATORY, policy.name
        assert policy.description
        props = set(policy.configSchema.properties)
        assert {"profile", "allowedRegistries", "trustedDomains", "allowedRegions", "exemptions",
                "production", "resolve"} <= props, policy.name
        expected = analyzer_pb2.POLICY_TYPE_STACK if policy.name in STACK_RULES else analyzer_pb2.POLICY_TYPE_RESOURCE
        assert policy.policy_type == expected, policy.name
        # Spelled out, or Pulumi would read the missing level as advisory.
        assert info.initialConfig[policy.name].enforcementLevel == MANDATORY


def test_violating_deployment_is_refused_with_rule_ids(pack: Pack) -> None:
    pack.configure()
    env = [{"name": "AWS_S3_ENDPOINT_URL", "value": "https://s3.eu-west-3.amazonaws.com"}]
    diags = pack.analyze("kubernetes:apps/v1:Deployment", "backend", deployment("docker.io/library/nginx:1.27", env))
    registry = by_policy(diags, "image-registry")
    assert len(registry) == 1
    assert registry[0].enforcementLevel == MANDATORY
    assert "spec.template.spec.containers[0].image" in registry[0].message
    assert "docker.io" in registry[0].message
    assert registry[0].urn.endswith("::backend")
    aws = [d for d in diags if "amazonaws.com" in d.message and d.enforcementLevel == MANDATORY]
    assert aws, [(d.policyName, d.message) for d in diags]
    assert all(d.policyName in RULE_IDS for d in aws)


def test_clean_deployment_has_no_diagnostic(pack: Pack) -> None:
    pack.configure()
    diags = pack.analyze("kubernetes:apps/v1:Deployment", "backend", deployment(CLEAN_IMAGE))
    assert [(d.policyName, d.message) for d in diags] == []


def test_image_digest_follows_engine_level_then_configure(pack: Pack) -> None:
    tagged = deployment("registry.interieur.gouv.fr/visio/backend:1.0")
    pack.configure()  # not production: the engine keeps image-digest advisory inside a mandatory pack
    [diag] = by_policy(pack.analyze("kubernetes:apps/v1:Deployment", "backend", tagged), "image-digest")
    assert diag.enforcementLevel == ADVISORY

    pack.configure({**SETTINGS, "production": True})
    [diag] = by_policy(pack.analyze("kubernetes:apps/v1:Deployment", "backend", tagged), "image-digest")
    assert diag.enforcementLevel == MANDATORY

    pack.configure({**SETTINGS, "production": True}, levels={"image-digest": ADVISORY})
    [diag] = by_policy(pack.analyze("kubernetes:apps/v1:Deployment", "backend", tagged), "image-digest")
    assert diag.enforcementLevel == ADVISORY

    pack.configure({**SETTINGS, "production": True}, levels={"image-digest": DISABLED})
    assert by_policy(pack.analyze("kubernetes:apps/v1:Deployment", "backend", tagged), "image-digest") == []


def test_configure_allowed_registries(pack: Pack) -> None:
    nginx = deployment(f"docker.io/library/nginx@{DIGEST}")
    pack.configure()
    assert by_policy(pack.analyze("kubernetes:apps/v1:Deployment", "backend", nginx), "image-registry")
    pack.configure({**SETTINGS, "allowedRegistries": ["docker.io/library"]})
    assert by_policy(pack.analyze("kubernetes:apps/v1:Deployment", "backend", nginx), "image-registry") == []


def test_invalid_configuration_fails_closed(pack: Pack) -> None:
    pack.configure(per_policy={"image-registry": {**SETTINGS, "profile": "anything-goes"}})
    diags = by_policy(pack.analyze("kubernetes:apps/v1:Deployment", "backend", deployment(CLEAN_IMAGE)),
                      "image-registry")
    assert len(diags) == 1
    assert diags[0].enforcementLevel == MANDATORY
    assert "invalid policy configuration: profile" in diags[0].message


def test_stack_policies_catch_state_backend_and_missing_egress_policy(pack: Pack) -> None:
    pack.configure()
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "visio"}}
    resources = [
        ("kubernetes:core/v1:Namespace", "visio", namespace),
        ("kubernetes:apps/v1:Deployment", "backend", deployment(CLEAN_IMAGE)),
    ]
    diags = pack.analyze_stack(resources)
    state = by_policy(diags, "iac-state")
    assert state and all(d.enforcementLevel == MANDATORY for d in state)
    assert any("Pulumi Cloud" in d.message for d in state)
    egress = by_policy(diags, "egress-policy")
    assert [d.enforcementLevel for d in egress] == [MANDATORY]
    assert "namespace visio has no default-deny egress" in egress[0].message

    with_policy = [*resources, ("kubernetes:networking.k8s.io/v1:NetworkPolicy", "default-deny", DEFAULT_DENY)]
    assert by_policy(pack.analyze_stack(with_policy), "egress-policy") == []


def _unknown_image_diags(p: Pack) -> list[analyzer_pb2.AnalyzeDiagnostic]:
    p.configure()
    env = [{"name": "STORAGE_URL", "value": UNKNOWN_STRING_VALUE}]
    props = deployment(UNKNOWN_STRING_VALUE, env)
    del props["metadata"]["name"]  # auto-named: only the Pulumi name is known at preview
    return p.analyze("kubernetes:apps/v1:Deployment", "backend", props)


def test_unknown_values_are_advisory_at_preview(preview_pack: Pack) -> None:
    diags = _unknown_image_diags(preview_pack)
    registry = by_policy(diags, "image-registry")
    assert registry, [(d.policyName, d.message) for d in diags]
    assert all(d.enforcementLevel == ADVISORY for d in registry)
    assert any("spec.template.spec.containers[0].image" in d.message and "unknown at preview" in d.message
               for d in registry)
    assert any("Deployment visio/backend" in d.message for d in registry)
    # CrossGuard's own "can't run policy" fallback never fires: the pack handles unknowns itself.
    assert not any("can't run policy" in d.message for d in diags)
    # No unknown is passed over in silence: the env value is named by some policy.
    assert any("env[0].value" in d.message and d.enforcementLevel == ADVISORY for d in diags)


def test_unknown_values_are_mandatory_at_update(pack: Pack) -> None:
    registry = by_policy(_unknown_image_diags(pack), "image-registry")
    assert registry and all(d.enforcementLevel == MANDATORY for d in registry)


def test_engine_received_no_error_log(pack: Pack) -> None:
    # pulumi.policy reports a crashing pack through the engine's Log endpoint; none may be errors.
    pack.configure()
    pack.analyze("kubernetes:core/v1:ConfigMap", "cm", {"metadata": {"name": "cm"}, "data": {"a": "b"}})
    errors = [log.message for log in pack.engine.logs if log.severity == engine_pb2.ERROR]
    assert errors == []
    assert pack.process.poll() is None


def _exemption(expiry: str) -> dict[str, Any]:
    return {
        "rule": "image-registry",
        "resource": {"kind": "Deployment", "name": "backend", "namespace": "visio"},
        "justification": "vendor image pending mirroring to the ministry registry",
        "approver": "rssi@interieur.gouv.fr",
        "expiry": expiry,
    }


def test_exemptions_from_configuration(pack: Pack) -> None:
    nginx = f"docker.io/library/nginx@{DIGEST}"
    pack.configure({**SETTINGS, "exemptions": [_exemption("2099-12-31")]})
    diags = pack.analyze("kubernetes:apps/v1:Deployment", "backend", deployment(nginx))
    assert by_policy(diags, "image-registry") == []

    pack.configure({**SETTINGS, "exemptions": [_exemption("2020-01-31")]})
    diags = by_policy(pack.analyze("kubernetes:apps/v1:Deployment", "backend", deployment(nginx)), "image-registry")
    assert len(diags) == 2 and all(d.enforcementLevel == MANDATORY for d in diags)
    assert any("expired on 2020-01-31" in d.message for d in diags)
    # The expired exemption is reported where it used to apply, not on every resource.
    other = deployment(CLEAN_IMAGE)
    other["metadata"]["name"] = "frontend"
    assert by_policy(pack.analyze("kubernetes:apps/v1:Deployment", "frontend", other), "image-registry") == []


def test_initial_config_comes_from_the_stack(pack: Pack) -> None:
    from common.config import load_stack
    from policies.engine.stackconfig import from_stack

    expected = from_stack(load_stack("dev"))
    info = pack.stub.GetAnalyzerInfo(empty_pb2.Empty(), timeout=30)
    props = info.initialConfig["image-registry"].properties
    assert list(props["allowedRegistries"]) == expected.allowedRegistries
    assert list(props["trustedDomains"]) == expected.trustedDomains
    assert props["profile"] == expected.profile
