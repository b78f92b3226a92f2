"""Running the Pulumi program offline under the SDK's mock runtime, and what it registered.

`run_program("interieur-prod")` feeds the stack file's configuration to the engine config (as the
CLI passes it: objects as JSON, decrypted secure values, their keys listed as secret), runs
`__main__.py` under `pulumi.runtime.set_mocks`, expands every `helm.v4.Chart` with the real Helm
library as the Kubernetes provider would (`visio.plan.expand`), and returns every resource with its inputs.
Secret values stay wrapped in `Secret`; values a preview cannot know are `UNKNOWN`.

Offline nothing can be decrypted: each secure value of the stack file is replaced by a placeholder
that says so, still passed as a secret. A RandomPassword gets a fresh random result (a real preview
would show it unknown) so that tests can follow each generated value and look for leaks.

The mock runtime does not refuse two resources with the same identity the way the engine and the
cluster do, so this module does: same Pulumi type and name, or the same Kubernetes object (group,
kind, namespace, name) from two places.
"""

from __future__ import annotations

import copy
import logging
import runpy
import secrets as random_source
import string
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc, settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

from common import markers
from common.config.loader import stack_path
from common.errors import InputError
from common.paths import PROJECT_ROOT, display
from visio.plan import mocktls
from visio.plan.expand import CHART_TYPE, ChildObject, expand, group_of, is_cluster_scoped, plain_numbers
from visio.plan.pulumiconfig import engine_config

if TYPE_CHECKING:
    from policies.engine.model import Resource as EngineResource

PROJECT = "visio"
PROGRAM = PROJECT_ROOT / "__main__.py"
STACK_TYPE = "pulumi:pulumi:Stack"
RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword"
log = logging.getLogger("visio.plan.mockrun")


class ProgramError(InputError):
    """The program did something the engine or the cluster would refuse (one line per problem)."""


@dataclass(frozen=True)
class Secret:
    """A value Pulumi carries as secret; its repr never shows it."""

    value: Any

    def __repr__(self) -> str:
        return f"Secret({markers.SECRET})"


class _Unknown:
    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Any = _Unknown()


@dataclass(frozen=True)
class PlannedResource:
    urn: str
    type: str
    name: str
    parent: str | None
    custom: bool
    inputs: Mapping[str, Any]
    outputs: Mapping[str, Any] = field(default_factory=dict)
    remote: bool = False
    provider: str | None = None
    dependencies: tuple[str, ...] = ()
    # For objects expanded from a chart: the Chart's URN and the template that rendered them.
    chart: str | None = None
    template: str | None = None

    @property
    def is_kubernetes_object(self) -> bool:
        return self.custom and self.type.startswith("kubernetes:") and self.type != CHART_TYPE

    def to_engine_resource(self) -> EngineResource:
        """The resource as the policy engine sees it (secrets and unknowns redacted)."""
        from policies.engine.adapters import plain
        from policies.engine.model import Resource as EngineResource

        # As the pack sees a preview: secrets hidden, unknowns the engine's sentinel (judged, not passed).
        body: dict[str, Any] = plain(_for_engine(dict(self.inputs)))
        if self.is_kubernetes_object:
            meta = body.get("metadata") or {}
            kind, api_version = str(body.get("kind", "")), str(body.get("apiVersion", ""))
            name, namespace = str(meta.get("name", self.name)), meta.get("namespace")
        else:
            kind, api_version, name, namespace = self.type.rsplit(":", 1)[-1], "", self.name, None
        source = f"chart {self.chart.rsplit('::', 1)[-1]} {self.template}" if self.chart else self.type
        return EngineResource(
            kind=kind, api_version=api_version, name=name, namespace=namespace, body=body,
            pulumi_type=self.type, urn=self.urn, source=source,
        )


@dataclass(frozen=True)
class Plan:
    stack: str
    resources: tuple[PlannedResource, ...]
    outputs: Mapping[str, Any]

    def of_type(self, type_: str) -> list[PlannedResource]:
        return [r for r in self.resources if r.type == type_]

    def get(self, type_: str, name: str) -> PlannedResource:
        for r in self.resources:
            if r.type == type_ and r.name == name:
                return r
        raise KeyError(f"{type_} {name}")

    def by_urn(self, urn: str) -> PlannedResource:
        for r in self.resources:
            if r.urn == urn:
                return r
        raise KeyError(urn)

    def children(self, urn: str) -> list[PlannedResource]:
        return [r for r in self.resources if r.parent == urn]

    def kubernetes_objects(self) -> list[PlannedResource]:
        return [r for r in self.resources if r.is_kubernetes_object]

    def engine_resources(self) -> list[EngineResource]:
        return [r.to_engine_resource() for r in self.resources if r.type != STACK_TYPE]


def _for_engine(value: Any) -> Any:
    from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

    return redact(value, unknown=UNKNOWN_STRING_VALUE)


def redact(value: Any, unknown: str = markers.UNKNOWN) -> Any:
    """Secrets as the secret marker, unknowns as `unknown` (the engine's sentinel where rules judge them)."""
    if isinstance(value, Secret):
        return markers.SECRET
    if value is UNKNOWN:
        return unknown
    if isinstance(value, Mapping):
        return {k: redact(v, unknown) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v, unknown) for v in value]
    return value


def walk_secrets(value: Any) -> Iterator[Any]:
    """Every plaintext held in a Secret inside `value`."""
    if isinstance(value, Secret):
        yield value.value
        yield from walk_secrets(value.value)
    elif isinstance(value, Mapping):
        for v in value.values():
            yield from walk_secrets(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from walk_secrets(v)


def _mark(value: Any) -> Any:
    """SDK wire values to plan values: secret wrappers to Secret, unknowns to UNKNOWN, whole numbers
    back to ints (the wire carries every number as a double; Kubernetes reads them as JSON ints)."""
    if rpc.is_rpc_secret(value):
        return Secret(_mark(rpc.unwrap_rpc_secret(value)))
    if isinstance(value, pulumi.output.Unknown):
        return UNKNOWN
    if isinstance(value, Mapping):
        return {k: _mark(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mark(v) for v in value]
    return plain_numbers(value)


class _Incomplete(Exception):
    pass


def _reveal(value: Any) -> Any:
    """Plain values for rendering; an unknown anywhere means the provider cannot render yet."""
    if isinstance(value, Secret):
        return _reveal(value.value)
    if value is UNKNOWN:
        raise _Incomplete
    if isinstance(value, Mapping):
        return {k: _reveal(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_reveal(v) for v in value]
    return value


class ProgramMocks(pulumi.runtime.Mocks):
    """What the provider would answer, plus the record of every registration."""

    def __init__(self) -> None:
        self.registrations: list[PlannedResource] = []
        self.problems: list[str] = []
        self.calls: list[str] = []
        self._lock = threading.Lock()
        self._pulumi_ids: dict[tuple[str, str], str] = {}
        self._kube_ids: dict[tuple[str, str, str | None, str], str] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        state = dict(args.inputs)
        if args.typ == RANDOM_PASSWORD:
            state["result"] = _random_password(args.inputs)
        if args.typ == CHART_TYPE:
            state["resources"] = []
        if args.typ in mocktls.TYPES:
            identity = f"{pulumi.get_project()}/{pulumi.get_stack()}/{args.name}"
            state.update(mocktls.outputs(args.typ, args.inputs, identity))
        return (f"{args.name}-id" if args.custom else None), state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        self.calls.append(args.token)
        return {}, None

    # -- the record ------------------------------------------------------------------------

    def record(self, resource: PlannedResource) -> None:
        with self._lock:
            self.registrations.append(resource)
            key = (resource.type, resource.name)
            if key in self._pulumi_ids:
                self.problems.append(f"{resource.type} {resource.name}: registered twice")
            self._pulumi_ids[key] = resource.urn
            kube = _kube_identity(resource)
            if kube is not None:
                where = f"{resource.chart} ({resource.template})" if resource.template else resource.urn
                if kube in self._kube_ids:
                    group, kind, namespace, name = kube
                    self.problems.append(
                        f"{group or 'core'}/{kind} {namespace + '/' if namespace else ''}{name}: "
                        f"declared by {self._kube_ids[kube]} and by {where}"
                    )
                else:
                    self._kube_ids[kube] = where


def _kube_identity(resource: PlannedResource) -> tuple[str, str, str | None, str] | None:
    if not resource.is_kubernetes_object:
        return None
    meta = resource.inputs.get("metadata")
    api_version, kind = resource.inputs.get("apiVersion"), resource.inputs.get("kind")
    if not isinstance(meta, Mapping) or not isinstance(api_version, str) or not isinstance(kind, str):
        return None
    name, namespace = meta.get("name"), meta.get("namespace")
    if not isinstance(name, str):
        return None  # auto-named by the provider: unique by construction
    if is_cluster_scoped(api_version, kind, {}):
        return group_of(api_version), kind, None, name
    return group_of(api_version), kind, namespace if isinstance(namespace, str) else "default", name


def _random_password(inputs: Mapping[str, Any]) -> str:
    alphabet = string.ascii_letters + string.digits
    if inputs.get("special", True):
        alphabet += str(inputs.get("overrideSpecial") or "!@#$%&*()-_=+[]{}<>:?")
    return "".join(random_source.choice(alphabet) for _ in range(int(inputs.get("length", 16))))


class _Monitor(pulumi_mocks.MockMonitor):
    """The SDK's mock monitor, keeping what it drops: parent, provider, dependencies, charts' children."""

    mocks: ProgramMocks

    def __init__(self, mocks: ProgramMocks, default_namespace: str) -> None:
        super().__init__(mocks)
        self.default_namespace = default_namespace

    def RegisterResource(self, request: Any) -> Any:
        if request.type == STACK_TYPE:
            return super().RegisterResource(request)  # type: ignore[no-untyped-call]
        _ensure_event_loop()  # type: ignore[no-untyped-call]
        urn = self.make_urn(request.parent, request.type, request.name)
        inputs = _mark(rpc.deserialize_properties(request.object))
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        state = _mark(self.resources[urn].state)
        for name in request.additionalSecretOutputs:
            if name in state and not isinstance(state[name], Secret):
                state[name] = Secret(state[name])
        resource = PlannedResource(
            urn=urn,
            type=request.type,
            name=request.name,
            parent=request.parent or None,
            custom=bool(request.custom),
            inputs=inputs,
            outputs=state,
            remote=bool(request.remote),
            provider=request.provider or (next(iter(request.providers.values()), None) if request.providers else None),
            dependencies=tuple(request.dependencies),
        )
        self.mocks.record(resource)
        if request.type == CHART_TYPE:
            self._expand(resource)
        return response

    def _expand(self, chart: PlannedResource) -> None:
        try:
            inputs = _reveal(chart.inputs)
        except _Incomplete:
            # The provider says "Input properties have unknown values. Preview is incomplete."
            log.warning("%s: chart inputs are not known yet, no children in this preview", chart.name)
            return
        try:
            children = expand(chart.name, inputs, self.default_namespace)
        except InputError as exc:
            with self.mocks._lock:
                self.mocks.problems.extend(exc.problems)
            return
        for child in children:
            self.mocks.record(self._child(chart, child))

    def _child(self, chart: PlannedResource, child: ChildObject) -> PlannedResource:
        obj: dict[str, Any] = copy.deepcopy(child.object)
        for name in child.secret_fields:
            obj[name] = Secret(obj[name])
        return PlannedResource(
            urn=self.make_urn(chart.urn, child.type, child.name),
            type=child.type,
            name=child.name,
            parent=chart.urn,
            custom=True,
            inputs=obj,
            outputs=obj,
            provider=chart.provider,
            chart=chart.urn,
            template=child.template,
        )


# -- running ---------------------------------------------------------------------------------


def run_program(
    stack: str,
    config_overrides: Mapping[str, Any] | None = None,
    *,
    stack_file: Path | None = None,
    program: Path = PROGRAM,
    mocks: ProgramMocks | None = None,
) -> Plan:
    """Run the program for one stack under mocks and return everything it registered.

    `config_overrides` are `pulumi config set --path` style keys applied to the engine config only:
    the stack file on disk still decides which keys are secret. Raises InputError for bad
    configuration (before anything is registered) and ProgramError for registrations the engine or
    the cluster would refuse.
    """
    path = stack_file or stack_path(stack)
    if not path.exists():
        raise InputError(f"{display(path)}: no such stack file")
    values, secret_keys = engine_config(path, config_overrides)
    mocks = mocks or ProgramMocks()
    monitor = _Monitor(mocks, _default_namespace(values))

    settings.reset_options(project=PROJECT, stack=stack, preview=True)
    pulumi.runtime.set_all_config(values, secret_keys)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=True, logger=log, monitor=monitor)
    try:
        _sync_await(run_pulumi_func(lambda: _run_path(program)))
        outputs = _sync_await(_resolve_outputs())
    finally:
        settings.reset_options()
        pulumi.runtime.set_all_config({}, [])
    if mocks.problems:
        raise ProgramError(*(f"stack {stack}: {p}" for p in mocks.problems))
    return Plan(stack=stack, resources=in_order(mocks.registrations), outputs=outputs)


def in_order(registrations: Sequence[PlannedResource]) -> tuple[PlannedResource, ...]:
    """Parents before children, then by URN. The program's resources register concurrently, so the
    order they arrive in changes from run to run; every report and manifest built from a plan must not."""
    parents = {r.urn: r.parent for r in registrations}

    def depth(urn: str) -> int:
        n, parent = 0, parents.get(urn)
        while parent is not None:
            n, parent = n + 1, parents.get(parent)
        return n

    return tuple(sorted(registrations, key=lambda r: (depth(r.urn), r.urn)))


def _run_path(program: Path) -> None:
    runpy.run_path(str(program), run_name="__main__")


def _default_namespace(values: Mapping[str, str]) -> str:
    return values.get("kubernetes:namespace") or "default"


async def _resolve_outputs() -> dict[str, Any]:
    root = settings.get_root_resource()
    exported: dict[str, Any] = dict(getattr(root, "outputs", {}) or {})
    resolved: dict[str, Any] = {}
    for name, value in exported.items():
        output = pulumi.Output.from_input(value)
        plain = _mark(await output.future(with_unknowns=True))
        known = await output.is_known()
        is_secret = await output.is_secret()
        plain = plain if known else UNKNOWN
        resolved[name] = Secret(plain) if is_secret else plain
    return resolved
