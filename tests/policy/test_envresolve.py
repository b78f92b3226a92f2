"""Environment values resolved with Kubernetes precedence, unknown when the source is not visible."""

from __future__ import annotations

import base64
from typing import Any

from policies.engine.adapters import from_kubernetes
from policies.engine.envresolve import DataIndex, EnvValue, resolve_env

INDEX = DataIndex([
    from_kubernetes({"kind": "ConfigMap", "metadata": {"name": "first", "namespace": "ns"},
                   "data": {"STT_PROVIDER": "deepgram", "X_MODE": "a"}}),
    from_kubernetes({"kind": "Secret", "metadata": {"name": "second", "namespace": "ns"},
                   "data": {"STT_PROVIDER": base64.b64encode(b"kyutai").decode()}}),
    from_kubernetes({"kind": "ConfigMap", "metadata": {"name": "first", "namespace": "other"},
                   "data": {"STT_PROVIDER": "kyutai"}}),
])


def resolve(container: dict[str, Any], name: str = "STT_PROVIDER", namespace: str = "ns") -> EnvValue:
    return resolve_env(name, container, namespace, INDEX)


def test_later_env_from_source_wins() -> None:
    both = [{"configMapRef": {"name": "first"}}, {"secretRef": {"name": "second"}}]
    assert resolve({"envFrom": both}).value == "kyutai"
    assert resolve({"envFrom": list(reversed(both))}).value == "deepgram"


def test_env_overrides_env_from_and_last_duplicate_wins() -> None:
    container = {"envFrom": [{"secretRef": {"name": "second"}}],
                 "env": [{"name": "STT_PROVIDER", "value": "kyutai"}, {"name": "STT_PROVIDER", "value": "deepgram"}]}
    assert resolve(container) == EnvValue("set", "deepgram", "env")


def test_key_refs_namespaces_and_prefixes() -> None:
    key_ref = {"configMapKeyRef": {"name": "first", "key": "STT_PROVIDER"}}
    ref = {"env": [{"name": "STT_PROVIDER", "valueFrom": key_ref}]}
    assert resolve(ref).value == "deepgram"
    assert resolve(ref, namespace="other").value == "kyutai"
    assert resolve({"envFrom": [{"prefix": "X_", "configMapRef": {"name": "first"}}]}, "X_MODE").state == "unset"
    assert resolve({"envFrom": [{"prefix": "APP_", "configMapRef": {"name": "first"}}]}, "APP_X_MODE").value == "a"


def test_unseen_sources_are_unknown_never_guessed() -> None:
    assert resolve({"envFrom": [{"configMapRef": {"name": "elsewhere", "optional": True}}]}).state == "unknown"
    missing_key = {"env": [{"name": "STT_PROVIDER", "valueFrom": {"secretKeyRef": {"name": "second", "key": "nope"}}}]}
    assert resolve(missing_key).state == "unknown"
    field_ref = {"env": [{"name": "STT_PROVIDER", "valueFrom": {"fieldRef": {"fieldPath": "x"}}}]}
    assert resolve(field_ref).state == "unknown"
    assert resolve({"env": [{"name": "OTHER", "value": "x"}]}).state == "unset"
