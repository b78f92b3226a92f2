"""Configuration files carried inside Kubernetes objects: LiveKit's config.yaml, Keycloak realms.

Rules judge these by content, whatever the object is called, because a chart may name its ConfigMap
anything. Parsing is cached on the text so rules sharing a document parse it once.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

from common import yamlsafe
from common.errors import InputError
from policies.engine.model import Resource
from policies.engine.podspec import containers, env_vars, key_path

MAX_TEXT = 1024 * 1024
_LIVEKIT_KEYS = frozenset({"rtc", "keys", "key_file", "turn", "redis", "room", "webhook", "port"})


@lru_cache(maxsize=512)
def parse_document(text: str) -> Any:
    """YAML (JSON included) without aliases; None when it does not parse."""
    if len(text) > MAX_TEXT:
        return None
    try:
        return yamlsafe.load_one(text, "embedded document")
    except InputError:
        return None


def data_files(resource: Resource) -> Iterator[tuple[str, str]]:
    """(field path, text) of each file a ConfigMap or Secret holds (Secret data decoded)."""
    body = resource.body
    if resource.kind == "ConfigMap":
        fields: tuple[tuple[str, bool], ...] = (("data", False),)
    elif resource.kind == "Secret":
        fields = (("stringData", False), ("data", True))
    else:
        return
    for field, encoded in fields:
        files = body.get(field)
        if not isinstance(files, Mapping):
            continue
        for key, value in files.items():
            if not isinstance(value, str):
                continue
            if encoded:
                try:
                    value = base64.b64decode(value, validate=True).decode("utf-8")
                except (binascii.Error, UnicodeDecodeError):
                    continue
            yield key_path(field, str(key)), value


def _is_livekit(doc: Any) -> bool:
    if not isinstance(doc, Mapping):
        return False
    present = _LIVEKIT_KEYS.intersection(doc)
    return isinstance(doc.get("rtc"), Mapping) or (len(present) >= 2 and bool({"keys", "turn"} & present))


def livekit_configs(resource: Resource) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(field path, parsed config) of each LiveKit server config the resource carries."""
    for path, text in data_files(resource):
        if path.endswith(('.yaml"]', '.yml"]')) and ("rtc:" in text or "keys:" in text or "turn:" in text):
            doc = parse_document(text)
            if _is_livekit(doc):
                yield path, doc
    for cpath, container in containers(resource):
        for epath, name, entry in env_vars(cpath, container):
            value = entry.get("value")
            if name == "LIVEKIT_CONFIG" and isinstance(value, str):
                doc = parse_document(value)
                if _is_livekit(doc):
                    yield f"{epath}.value", doc


def keycloak_realms(resource: Resource) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(field path, realm) of Keycloak realm exports in ConfigMaps/Secrets and KeycloakRealmImport."""
    if resource.kind == "KeycloakRealmImport":
        spec = resource.body.get("spec")
        realm = spec.get("realm") if isinstance(spec, Mapping) else None
        if isinstance(realm, Mapping):
            yield "spec.realm", realm
        return
    for path, text in data_files(resource):
        if '"identityProviders"' not in text and "identityProviders:" not in text:
            continue
        try:
            doc = json.loads(text)
        except ValueError:
            doc = parse_document(text)
        realms = doc if isinstance(doc, list) else [doc]
        for i, realm in enumerate(realms):
            if isinstance(realm, Mapping):
                yield (f"{path}[{i}]" if isinstance(doc, list) else path), realm
