"""Loading a stack file (`stacks/Pulumi.<stack>.yaml`) into a `StackConfig`.

Every problem becomes one line `<file>: visio:<key path>: <reason>`; values are never echoed for
secret fields, and nothing is returned unless the whole file is valid.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from common.config.model import StackConfig
from common.config.secure import SecureValue, ciphertext_problem
from common.errors import InputError
from common.keypath import KeyPath, format_path, key_path, plain_message
from common.paths import STACKS_DIR, display
from common.yamlsafe import load_one, read_text

NAMESPACE = "visio"
TOP_LEVEL_KEYS = {"secretsprovider", "encryptionsalt", "encryptedkey", "config", "environment"}
_KEY = re.compile(r"^([a-zA-Z][\w-]*):([\w.-]+)$")
_RELATIVE = re.compile(r"^([A-Za-z_][\w]*(?:\[\d+\])?(?:\.[A-Za-z_][\w-]*(?:\[\d+\])?)*): (.+)$")

@dataclass(frozen=True)
class Stack:
    name: str
    path: Path
    config: StackConfig
    secrets_provider: str | None
    # Keys of other namespaces (`kubernetes:context`, `aws:region`, …), kept for the policy rules.
    other_config: Mapping[str, Any] = field(default_factory=dict)


def stack_path(name: str) -> Path:
    return STACKS_DIR / f"Pulumi.{name}.yaml"


def stack_names(directory: Path = STACKS_DIR) -> list[str]:
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in directory.glob("Pulumi.*.yaml"))






def _is_secure_leaf(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"secure"} and isinstance(value["secure"], str)


def _wrap_file_secrets(value: Any) -> Any:
    if _is_secure_leaf(value):
        return SecureValue(ciphertext=value["secure"])
    if isinstance(value, dict):
        return {k: _wrap_file_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_wrap_file_secrets(v) for v in value]
    return value


def secure_paths(value: Any, prefix: KeyPath = ()) -> set[KeyPath]:
    """Where a stack file holds `{secure: …}` leaves, as key paths under the namespace."""
    if _is_secure_leaf(value):
        return {prefix}
    found: set[KeyPath] = set()
    if isinstance(value, dict):
        for k, v in value.items():
            found |= secure_paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found |= secure_paths(v, (*prefix, i))
    return found


def _ciphertext_problems(visio: Mapping[str, Any], other: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(key, problem) for every `secure:` leaf that Pulumi could not have written."""
    found: list[tuple[str, str]] = []
    for prefix, values in ((f"{NAMESPACE}:", visio), ("", other)):
        for loc in sorted(secure_paths(values), key=str):
            problem = ciphertext_problem(_get(values, loc)["secure"])
            if problem is not None:
                found.append((f"{prefix}{format_path(loc)}", problem))
    return found






def _problem_lines(source: str, exc: ValidationError, raw: Mapping[str, Any]) -> list[str]:
    lines: list[str] = []
    for err in exc.errors(include_input=False, include_url=False):
        loc = key_path(err)
        msg = plain_message(err)
        kind = err["type"]
        if kind in {"string_type", "int_type", "bool_type", "dict_type", "list_type", "model_type",
                      "literal_error", "int_from_float"} and isinstance(_get(raw, loc), SecureValue):
            msg = "must be a plain value, not a secret"
        m = _RELATIVE.match(msg)
        if m:
            # Cross-field checks name the key relative to where they run.
            loc = (*loc, *_split(m.group(1)))
            msg = m.group(2)
        key = f"{NAMESPACE}:{format_path(loc)}" if loc else f"{NAMESPACE}:"
        lines.append(f"{source}: {key}: {msg}")
    return lines


def _split(dotted: str) -> KeyPath:
    parts: list[str | int] = []
    for piece in dotted.split("."):
        name, *indexes = re.split(r"\[(\d+)\]", piece)
        parts.append(name)
        parts.extend(int(i) for i in indexes if i)
    return tuple(parts)


def _get(raw: Any, loc: KeyPath) -> Any:
    for part in loc:
        try:
            raw = raw[part]
        except (KeyError, IndexError, TypeError):
            return None
    return raw


def build(visio: Mapping[str, Any], source: str) -> StackConfig:
    """Validate the `visio:` keys (namespace stripped) into a StackConfig, or raise InputError."""
    try:
        return StackConfig.model_validate(dict(visio))
    except ValidationError as exc:
        raise InputError(*_problem_lines(source, exc, visio)) from None


def split_namespaces(config: Mapping[str, Any], source: str) -> tuple[dict[str, Any], dict[str, Any]]:
    visio: dict[str, Any] = {}
    other: dict[str, Any] = {}
    problems: list[str] = []
    for key, value in config.items():
        m = _KEY.match(str(key))
        if not m:
            problems.append(f"{source}: {key}: config keys are written <namespace>:<key>")
        elif m.group(1) == NAMESPACE:
            visio[m.group(2)] = value
        else:
            other[str(key)] = value
    if problems:
        raise InputError(*problems)
    return visio, other


def secrets_provider(doc: Mapping[str, Any]) -> str | None:
    """The stack's secrets manager as the Pulumi CLI decides it: `secretsprovider` when the file names
    one; otherwise a passphrase stack is known by its `encryptionsalt` (the CLI writes no
    `secretsprovider` for it); otherwise the backend's default."""
    provider = doc.get("secretsprovider")
    if isinstance(provider, str) and provider:
        return provider
    return "passphrase" if doc.get("encryptionsalt") else None


def load_stack_file(path: Path) -> Stack:
    source = display(path)
    name = path.name.removeprefix("Pulumi.").removesuffix(".yaml")
    doc = load_one(read_text(path, max_bytes=1024 * 1024), source)
    if not isinstance(doc, dict):
        raise InputError(f"{source}: a stack file is a YAML mapping")
    unknown = sorted(set(map(str, doc)) - TOP_LEVEL_KEYS)
    if unknown:
        raise InputError(*(f"{source}: {key}: unknown top-level key" for key in unknown))
    config = doc.get("config") or {}
    if not isinstance(config, dict):
        raise InputError(f"{source}: config: must be a mapping")
    visio, other = split_namespaces(config, source)
    has_secrets = bool(secure_paths(visio)) or bool(secure_paths(other))
    provider = doc.get("secretsprovider")
    if provider is not None and not isinstance(provider, str):
        raise InputError(f"{source}: secretsprovider: must be a string")
    provider = secrets_provider(doc)
    if has_secrets and not (doc.get("encryptionsalt") or doc.get("encryptedkey")):
        raise InputError(f"{source}: encryptionsalt: secure values need the stack's encryptionsalt or encryptedkey")
    corrupted = [
        f"{source}: {key}: secure value is {problem}; set it again with `pulumi config set --secret`"
        for key, problem in _ciphertext_problems(visio, other)
    ]
    if corrupted:
        raise InputError(*corrupted)
    stack_config = build(_wrap_file_secrets(visio), source)
    return Stack(name, path, stack_config, provider, other)


def load_stack(name_or_path: str) -> Stack:
    """A stack by name (`interieur-prod`) or by file path."""
    candidate = Path(name_or_path)
    if candidate.suffix in {".yaml", ".yml"} or "/" in name_or_path:
        return load_stack_file(candidate)
    path = stack_path(name_or_path)
    if not path.exists():
        known = ", ".join(stack_names()) or "none"
        raise InputError(f"{display(path)}: no such stack {name_or_path!r} (known: {known})")
    return load_stack_file(path)
