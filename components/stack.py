"""The stack configuration as the Pulumi engine hands it to the program.

The engine passes each `visio:<key>` as a string (objects as JSON) with secure values already
decrypted; the keys holding one are listed as secret. This module turns that back into the same
`StackConfig` the CLI builds from the stack file, through the same `loader.build`, so both validate
one document. Decrypted values go back into `SecureValue` so they are never handled as plain text.
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import config as engine
from pydantic import BaseModel

from common.config.loader import NAMESPACE, build, secure_paths, split_namespaces, stack_path
from common.config.model import StackConfig
from common.config.secure import SecureValue
from common.errors import InputError
from common.paths import display
from common.yamlsafe import load_one, read_text

KeyPath = tuple[str | int, ...]


def engine_config() -> dict[str, Any]:
    """Every config key the engine set, `PULUMI_CONFIG` first, then keys set in-process."""
    values: dict[str, Any] = dict(engine.get_config_env())
    values.update(engine.CONFIG.get())
    return values


def secret_keys(keys: Iterable[str]) -> set[str]:
    from_env = set(engine.get_config_secret_keys_env())
    return {key for key in keys if key in from_env or engine.is_config_secret(key)}


def config_source(name: str, stacks_dir: Path | None = None) -> str:
    """What error lines name as the origin of the running stack's configuration."""
    path = (stacks_dir / f"Pulumi.{name}.yaml") if stacks_dir is not None else stack_path(name)
    return display(path) if path.exists() else f"pulumi config of stack {name}"


def stack_config(stack: str | None = None, stacks_dir: Path | None = None) -> StackConfig:
    """The validated configuration of the running stack, or InputError naming the bad key.

    Call it before registering any resource: a bad document must stop the program with nothing
    created.
    """
    name = stack or pulumi.get_stack()
    path = (stacks_dir / f"Pulumi.{name}.yaml") if stacks_dir is not None else stack_path(name)
    source = config_source(name, stacks_dir)
    config = engine_config()
    prefix = f"{NAMESPACE}:"
    raw = {key[len(prefix) :]: value for key, value in config.items() if key.startswith(prefix)}
    visio = {key: _decode(key, value, source) for key, value in raw.items()}
    if path.exists():
        paths = _file_secure_paths(path, source)
    else:
        secret = secret_keys(config)
        paths = {p for p in declared_secure_paths() if f"{prefix}{p[0]}" in secret}
    for key_path in sorted(paths, key=str):
        _wrap(visio, key_path)
    return build(visio, source)


def _decode(key: str, value: Any, source: str) -> Any:
    """A config string back to the type the model expects for `key` (JSON for objects)."""
    if not isinstance(value, str):
        return value
    field = StackConfig.model_fields.get(key)
    if field is None:
        return value  # the model reports the unknown key
    kinds = _kinds(field.annotation)
    if kinds & {"object", "list"}:
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            raise InputError(f"{source}: {NAMESPACE}:{key}: not a JSON object as the engine passes one") from None
    if "bool" in kinds and value in {"true", "false"}:
        return value == "true"
    if "int" in kinds and value.lstrip("-").isdigit():
        return int(value)
    return value


def _kinds(annotation: Any) -> set[str]:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return set().union(*(_kinds(arg) for arg in typing.get_args(annotation)))
    if typing.get_origin(annotation) is typing.Annotated:
        return _kinds(typing.get_args(annotation)[0])
    origin = typing.get_origin(annotation) or annotation
    if isinstance(origin, type):
        if issubclass(origin, BaseModel) or issubclass(origin, dict):
            return {"object"}
        if issubclass(origin, list | tuple):
            return {"list"}
        if issubclass(origin, bool):
            return {"bool"}
        if issubclass(origin, int):
            return {"int"}
    return {"other"}


def declared_secure_paths(model: type[BaseModel] = StackConfig, prefix: KeyPath = ()) -> set[KeyPath]:
    """Key paths the model declares as `SecureValue` (looking through nested models)."""
    found: set[KeyPath] = set()
    for name, field in model.model_fields.items():
        for arg in _leaf_types(field.annotation):
            if arg is SecureValue:
                found.add((*prefix, name))
            elif isinstance(arg, type) and issubclass(arg, BaseModel):
                found |= declared_secure_paths(arg, (*prefix, name))
    return found


def _leaf_types(annotation: Any) -> list[Any]:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [leaf for arg in typing.get_args(annotation) for leaf in _leaf_types(arg)]
    if typing.get_origin(annotation) is typing.Annotated:
        return _leaf_types(typing.get_args(annotation)[0])
    return [annotation]


def _file_secure_paths(path: Path, source: str) -> set[KeyPath]:
    doc = load_one(read_text(path, max_bytes=1024 * 1024), source)
    config = doc.get("config") if isinstance(doc, dict) else None
    if not isinstance(config, Mapping):
        return set()
    visio, _other = split_namespaces(config, source)
    return secure_paths(visio)


def _wrap(document: dict[str, Any], key_path: KeyPath) -> None:
    """Replace the decrypted string at `key_path` by a SecureValue (a missing key stays missing)."""
    node: Any = document
    for part in key_path[:-1]:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return
    last = key_path[-1]
    try:
        value = node[last]
    except (KeyError, IndexError, TypeError):
        return
    if isinstance(value, str):
        node[last] = SecureValue(plaintext=value)
    elif not isinstance(value, SecureValue):
        # A secret that is not a string is still secret: keep it out of plain handling.
        node[last] = SecureValue(plaintext=json.dumps(value))
