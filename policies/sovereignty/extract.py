"""Find endpoints inside configuration values and the documents they embed.

What counts as an endpoint in free text:
- a URL with `//` (any scheme: https, wss, redis, postgres, amqp, s3, ...), a special-scheme URL
  without slashes (`http:evil.com`), and the opaque ICE schemes `turn:`, `turns:`, `stun:`, `stuns:`;
- a dotted-quad IPv4 (optionally `/prefix` or `:port`) and an IPv6 literal (bare or `[...]:port`);
- a hostname whose last label is a delegated top-level domain, optionally with `:port`.

What does not (precision heuristics):
- dotted numbers right after `:`, a letter or `-` (image tags `app:1.2.3.4`, `v1.2.3.4`), and every bare
  dotted quad under a key naming a version, tag, release or build (`APP_VERSION=1.2.3.4`);
- names whose last label is not a TLD (`config.yaml`, `redis.visio`, `x.svc`, `x.ns.svc.cluster.local`:
  only the cluster resolves those), and names ending in a TLD that is also a common file extension
  (`app.py`, `run.sh`, `README.md`) or an identifier word (`user.id`, `spring.application.name`) unless
  written as a URL or with a port;
- Kubernetes-style qualified names (`app.kubernetes.io/name`, `networking.k8s.io`), reversed-domain
  identifiers (`com.example.app`, Java packages), e-mail addresses (local part and domain), names
  followed by `(` (calls), and `$`/`{` template placeholders in a URL host (their values are scanned
  where they are defined);
- comment lines (`#`, `;`, `//`, `!`) of line-based documents (.env, .properties, INI, scripts), and
  values of settings that list what must not be reached (`denied-peer-ip`, `blocklist`, `except`).
Embedded JSON and YAML are parsed and walked so keys give the context; anything else is read line by line.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from common.errors import InputError
from common.yamlsafe import load_all
from policies.sovereignty.tables import tlds

_MAYBE = re.compile(r"[.:\u3002\uff0e\uff61]")
_URL = re.compile(
    r"(?<![\w+.-])(?:(?:https?|wss?|ftp):[/\\]*|[a-z][a-z0-9+.-]{0,30}:[/\\]{2}|(?:turns?|stuns?):)"
    r"[^\s\"'<>`|^,;]+",
    re.IGNORECASE,
)
_IPV4 = re.compile(r"(?<![\w.:/-])\d{1,3}(?:\.\d{1,3}){3}(?:/\d{1,2})?(?::\d{1,5})?(?![\w.-])")
_IPV6 = re.compile(
    r"\[[0-9a-fA-F:.]+(?:%\w+)?\](?::\d{1,5})?"
    r"|(?<![\w:.])[0-9a-fA-F]{0,4}(?::[0-9a-fA-F.]{0,15}){2,8}(?![\w:])"
)
_SEP = "[.\u3002\uff0e\uff61]"
_HOST = re.compile(
    rf"(?<![\w.@/+%$:\u3002\uff0e\uff61-])((?:\w(?:[\w-]{{0,61}}\w)?{_SEP})+[^\W\d_][\w-]{{0,62}}){_SEP}?"
    rf"(:\d{{1,5}})?(?![\w@(-]|{_SEP}\w)"
)
_VERSION_KEY = re.compile(r"(?i)(version|(?:^|[_.-])(?:ver|tag|release|revision|build|checksum|digest|sha\d*)$)")
# Settings that list what must NOT be reached (coturn `denied-peer-ip`, ipBlock `except`).
_DENY_KEY = re.compile(r"(?i)(?:^|[_.-])(?:deny|denied|blocklist|blacklist|except|excluded?)(?:$|[_.-])")
_KEY_VALUE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][\w.\-]*)\s*(?:=|:(?=\s)|:(?!\d+\s*$))\s*(.*)$")
_COMMENT = ("#", ";", "//", "!")
SKIPPED_SCHEMES = frozenset({"file", "unix", "http+unix", "mailto", "data", "urn", "jar", "classpath"})
# Domains used as namespaces for names, not as endpoints.
NAMESPACE_DOMAINS = ("kubernetes.io", "k8s.io", "x-k8s.io", "cert-manager.io", "helm.sh", "istio.io", "cilium.io")
# Bare names (no scheme, no port) count only under these generic TLDs or a country code: the long tail
# of generic TLDs (.name, .data, .host, .run, ...) mostly ends dotted identifiers, not hostnames.
BARE_GENERIC_TLDS = frozenset(
    "com net org io ai dev app cloud eu info biz tech xyz online site chat gov edu int mil".split()
)
# Country codes that are also file extensions or identifier words (`app.py`, `user.id`, `reply.to`).
AMBIGUOUS_CC_TLDS = frozenset(
    "py sh md pl pm rs so tf cc ps mk am in ml sc bz id to at by is me as do no ms us".split()
)
REVERSED_DOMAIN_FIRST = frozenset({"com", "org", "net", "io"})
MAX_DOCUMENT = 1_000_000


@dataclass(frozen=True)
class Hit:
    raw: str  # the endpoint as written
    where: str = ""  # position inside an embedded document ("rtc.stun_servers[0]", "line 4")
    problem: str | None = None  # set when the value could not be inspected (fail closed)


def _url_token(token: str) -> str | None:
    token = token.rstrip(".:!?")
    if token.endswith(")") and "(" not in token:
        token = token.rstrip(")")
    scheme, _, rest = token.partition(":")
    if scheme.lower() in SKIPPED_SCHEMES:
        return None
    authority = re.split(r"[/?#]", rest.lstrip("/\\"), maxsplit=1)[0]
    if not authority or any(c in authority for c in "${}()"):
        return None  # empty, or a placeholder filled in elsewhere
    return token


def _bare_host(name: str, port: str | None) -> bool:
    labels = re.split(_SEP, name.lower())
    tld = labels[-1]
    if not tld.isascii():
        return True  # an IDN TLD: canonicalization decides
    if tld not in tlds():
        return False
    if not port and (tld in AMBIGUOUS_CC_TLDS or (len(tld) > 2 and tld not in BARE_GENERIC_TLDS)):
        return False
    if len(labels) >= 3 and labels[0] in REVERSED_DOMAIN_FIRST:
        return False
    dotted = ".".join(labels)
    return not any(dotted == d or dotted.endswith("." + d) for d in NAMESPACE_DOMAINS)


@lru_cache(maxsize=65536)
def find_endpoints(text: str, key: str = "") -> tuple[str, ...]:
    """Endpoint substrings of one line of text, in order; `key` names the setting (for version context)."""
    if not _MAYBE.search(text) or _DENY_KEY.search(key):
        return ()
    found: list[str] = []
    spans: list[tuple[int, int]] = []
    for m in _URL.finditer(text):
        spans.append(m.span())
        token = _url_token(m.group(0))
        if token:
            found.append(token)
    rest = text
    for start, end in spans:
        rest = rest[:start] + " " * (end - start) + rest[end:]
    if not _VERSION_KEY.search(key):
        found.extend(m.group(0) for m in _IPV4.finditer(rest))
    for m in _IPV6.finditer(rest):
        literal = m.group(0)
        inner = literal[1:].split("]")[0] if literal.startswith("[") else literal
        try:
            ipaddress.IPv6Address(inner.split("%")[0])
        except ValueError:
            continue
        found.append(literal)
    for m in _HOST.finditer(rest):
        if _bare_host(m.group(1), m.group(2)):
            found.append(m.group(0))
    return tuple(found)


def _walk(node: Any, where: str, key: str) -> Iterator[Hit]:
    if isinstance(node, str):
        for hit in scan_value(node, key):
            yield Hit(hit.raw, f"{where}.{hit.where}".strip(".") if hit.where else where, hit.problem)
    elif isinstance(node, dict):
        for k, v in node.items():
            yield from _walk(v, f"{where}.{k}" if where else str(k), str(k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk(v, f"{where}[{i}]", key)


def _parse_document(text: str) -> Any:
    stripped = text.lstrip()
    try:
        if stripped.startswith(("{", "[")):
            return json.loads(text)
    except ValueError:
        pass
    try:
        # Bounded loader: aliases refused, so an alias bomb cannot expand here.
        docs = [d for d in load_all(text, "embedded document") if d is not None]
    except InputError:
        return None
    if docs and all(isinstance(d, dict | list) for d in docs):
        return docs[0] if len(docs) == 1 else docs
    return None


def _scan_lines(text: str) -> Iterator[Hit]:
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith(_COMMENT) or (stripped.startswith("[") and stripped.endswith("]")):
            continue
        pair = _KEY_VALUE.match(stripped)
        key, value = (pair.group(1), pair.group(2)) if pair else ("", stripped)
        for raw in find_endpoints(value, key):
            yield Hit(raw, f"line {number}")


@lru_cache(maxsize=8192)
def scan_value(value: str, key: str = "") -> tuple[Hit, ...]:
    """Endpoints in a configuration value, looking inside embedded JSON/YAML/INI/.env/.properties."""
    if len(value) > MAX_DOCUMENT:
        return (Hit("", "", f"{len(value)} characters, over the {MAX_DOCUMENT} inspection limit"),)
    if not _MAYBE.search(value):
        return ()
    if "\n" in value.strip() or value.lstrip().startswith(("{", "[")):
        doc = _parse_document(value)
        if doc is not None:
            return tuple(_walk(doc, "", key))
        return tuple(_scan_lines(value))
    return tuple(Hit(raw) for raw in find_endpoints(value.strip(), key))


def decode_base64(value: str) -> bytes | None:
    """Secret `data` / ConfigMap `binaryData` bytes; None when the value is not base64."""
    try:
        return base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        return None


# Bytes no text file holds (tab, newlines and form feed excepted): the payload is binary.
_BINARY = re.compile(rb"[\x00-\x08\x0e-\x1f\x7f]")
_PRINTABLE_RUN = re.compile(rb"[\x20-\x7e]{4,}")


def scan_base64(value: str, key: str = "") -> tuple[Hit, ...]:
    """Secret `data` and ConfigMap `binaryData`, read as the consuming application would: UTF-8 text,
    else Latin-1 text (a `.properties` file), else, for binary payloads (keystores, a NUL byte), the
    runs of printable characters, as `strings` shows them. Values that are not base64 are reported
    by the `opaque-data` rule."""
    payload = decode_base64(value)
    if payload is None:
        return ()
    if _BINARY.search(payload) is None:
        try:
            return scan_value(payload.decode("utf-8"), key)
        except UnicodeDecodeError:
            return scan_value(payload.decode("latin-1"), key)
    if len(payload) > MAX_DOCUMENT:
        return (Hit("", "", f"{len(payload)} bytes, over the {MAX_DOCUMENT} inspection limit"),)
    return tuple(Hit(raw, f"byte {run.start()}") for run in _PRINTABLE_RUN.finditer(payload)
                 for raw in find_endpoints(run.group().decode("ascii")))
