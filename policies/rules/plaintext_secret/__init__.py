"""plaintext-secret: no credential written in clear in a pod spec or a ConfigMap.

Credentials belong in Secrets (referenced with `valueFrom.secretKeyRef` or mounted). Flags env values
of variables named like a credential, ConfigMap keys named so, and anywhere in those values a URL with
a password in its userinfo or a PEM private key. Names that only point at a credential
(`SECRET_NAME`, `PASSWORD_FILE`, `ACCESS_KEY_ID`), file paths and placeholders (`$(VAR)`, `${VAR}`)
are not credentials. A DSN carrying a key in its userinfo (Sentry) is one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from functools import lru_cache

from policies.engine.embedded import livekit_configs
from policies.engine.model import Resource, Violation
from policies.engine.podspec import containers, env_vars, key_path
from policies.engine.rule import Context, Rule

# The credential word ends the name: TOKEN_AUDIENCE or SECRET_NAME are settings, not credentials.
_CREDENTIAL_NAME = re.compile(
    r"(?:^|_)(?:PASSWORD|PASSWD|PASSPHRASE|SECRET|SECRET_KEY|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIALS?|"
    r"ACCESS_?KEY|AUTH_?KEY|SIGNING_KEY|ENCRYPTION_KEY)$"
)
_SEPARATORS = re.compile(r"[^A-Z0-9]+")
_PLACEHOLDER = re.compile(r"\$\([A-Za-z_][A-Za-z0-9_]*\)|\$\{[^}]*\}|\{\{[^}]*\}\}|%\([^)]*\)s|<[^>]*>")
_USERINFO = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]*:([^/\s@]+)@", re.IGNORECASE)
_ANY_USERINFO = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s@]+@", re.IGNORECASE)
_ABSOLUTE_PATH = re.compile(r"/\S*")
_PEM_KEY = re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----")
_FALSY = frozenset({"", "true", "false", "yes", "no", "none", "null"})


@lru_cache(maxsize=4096)
def credential_name(name: str) -> bool:
    upper = _SEPARATORS.sub("_", name.upper())
    return bool(_CREDENTIAL_NAME.search(upper))


def _placeholder(value: str) -> bool:
    return not _PLACEHOLDER.sub("", value).strip()


def value_problem(value: str) -> str | None:
    """What in a value is a credential, whatever the key: a URL password or a PEM private key."""
    # The literal parts of the patterns first: most values hold neither, and the scans cost.
    if "PRIVATE KEY-----" in value and _PEM_KEY.search(value):
        return "holds a PEM private key"
    if "@" not in value or "://" not in value:
        return None
    for m in _USERINFO.finditer(value):
        if not _placeholder(m.group(1)):
            return "holds a URL with a password in its userinfo"
    return None


def _judge(path: str, name: str, value: str, where: str) -> Iterator[Violation]:
    problem = value_problem(value)
    literal = value.strip().lower() not in _FALSY and not _placeholder(value)
    if problem is None and literal and credential_name(name) and not _ABSOLUTE_PATH.fullmatch(value.strip()):
        problem = "is named like a credential and holds a literal value"
    if problem is None and "DSN" in name.upper() and _ANY_USERINFO.search(value):
        problem = "is a DSN carrying its key in the URL userinfo"
    if problem is not None:
        # Evidence names the key, never the value.
        yield Violation(path, f"{where} {name!r} {problem}; keep it in a Secret", {"key": name})


def check(resource: Resource, ctx: Context) -> Iterator[Violation]:
    for cpath, container in containers(resource):
        for epath, name, entry in env_vars(cpath, container):
            value = entry.get("value")
            if isinstance(value, str):
                yield from _judge(f"{epath}.value", name, value, "env var")
    if resource.kind != "ConfigMap":
        return
    data = resource.body.get("data")
    if isinstance(data, Mapping):
        for key, value in data.items():
            if isinstance(value, str):
                yield from _judge(key_path("data", str(key)), str(key), value, "ConfigMap key")
    for path, config in livekit_configs(resource):
        keys = config.get("keys")
        if isinstance(keys, Mapping) and keys:
            yield Violation(f"{path}.keys", "LiveKit API keys and secrets written in a ConfigMap; "
                            "use key_file from a Secret", {"key": "keys"})


RULE = Rule(
    id="plaintext-secret",
    description="Credentials are kept in Secrets, never in clear in pod specs or ConfigMaps",
    check=check,
    title="Credentials in clear",
    severity="high",
    help="Move the credential into a Secret and reference it with secretKeyRef or envFrom.",
)
