"""Container image references, parsed the way the container runtime parses them.

The grammar is the distribution reference grammar kubelet and containerd use: the first path
component names a registry only when it contains "." or ":", is "localhost", or is not lower-case;
otherwise the image comes from Docker Hub (`nginx` is `docker.io/library/nginx`). Registries are
compared by exact host (port included) and optional path prefix on whole components, never by string
prefix, so `registry.gouv.fr.evil.com/x` is not `registry.gouv.fr`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

DOCKER_HUB = "docker.io"
LEGACY_HUB = "index.docker.io"
MAX_NAME = 255

_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|-+)"
_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_LABEL = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST = rf"(?:{_DOMAIN_LABEL}(?:\.{_DOMAIN_LABEL})*|\[[a-fA-F0-9:]+\])"
_DOMAIN = rf"{_HOST}(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"

# Written for both Python's re (ASCII) and RE2, which the API server's CEL uses.
REFERENCE_PATTERN = (
    rf"(?P<domain>{_DOMAIN})/(?P<path>{_COMPONENT}(?:/{_COMPONENT})*)"
    rf"(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{_DIGEST}))?"
)
_REFERENCE = re.compile(REFERENCE_PATTERN, re.ASCII)
_DOMAIN_ONLY = re.compile(_DOMAIN, re.ASCII)
_PATH_ONLY = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*", re.ASCII)
_HEX_ID = re.compile(r"[a-f0-9]{64}", re.ASCII)
# Hex digits of each digest algorithm the runtime verifies.
DIGEST_ALGORITHMS = {"sha256": 64, "sha384": 96, "sha512": 128}
_DIGEST_HEX = {alg: re.compile(f"[a-f0-9]{{{n}}}") for alg, n in DIGEST_ALGORITHMS.items()}


class ImageRefError(ValueError):
    """The runtime would refuse this reference."""


@dataclass(frozen=True)
class ImageRef:
    registry: str  # host[:port] as written, Docker Hub normalised to docker.io
    repository: str  # path inside the registry, e.g. library/nginx
    tag: str | None
    digest: str | None

    @property
    def host(self) -> str:
        return self.registry.lower()

    @property
    def name(self) -> str:
        return f"{self.registry}/{self.repository}"

    def repository_is(self, upstream: str) -> bool:
        """True when the repository is `upstream` or a mirror of it under a path prefix."""
        return self.repository == upstream or self.repository.endswith("/" + upstream)


def _split_domain(reference: str) -> tuple[str, str]:
    first, sep, rest = reference.partition("/")
    if not sep:
        return DOCKER_HUB, "library/" + reference
    if first == "localhost" or any(c in first for c in ".:") or first.lower() != first:
        domain, remainder = first, rest
    else:
        domain, remainder = DOCKER_HUB, reference
    if domain == LEGACY_HUB:
        domain = DOCKER_HUB
    if domain == DOCKER_HUB and "/" not in remainder:
        remainder = "library/" + remainder
    return domain, remainder


@lru_cache(maxsize=65536)
def parse_image(reference: str) -> ImageRef:
    """Parse and normalise; raises ImageRefError for what the runtime would reject."""
    if not isinstance(reference, str) or not reference:
        raise ImageRefError("empty image reference")
    if _HEX_ID.fullmatch(reference):
        raise ImageRefError("a bare 64-hex image ID is not a repository reference")
    domain, remainder = _split_domain(reference)
    remote = remainder.split(":", 1)[0]
    if remote.lower() != remote:
        raise ImageRefError(f"repository name {remote.split('@')[0]!r} must be lower-case")
    m = _REFERENCE.fullmatch(f"{domain}/{remainder}")
    if m is None:
        raise ImageRefError("not a valid image reference")
    if len(m["domain"]) + 1 + len(m["path"]) > MAX_NAME:
        raise ImageRefError(f"repository name longer than {MAX_NAME} characters")
    digest = m["digest"]
    if digest is not None:
        algorithm, _, hexpart = digest.partition(":")
        pattern = _DIGEST_HEX.get(algorithm)
        if pattern is None:
            raise ImageRefError(f"unsupported digest algorithm {algorithm!r}")
        if not pattern.fullmatch(hexpart):
            raise ImageRefError(f"malformed {algorithm} digest")
    return ImageRef(m["domain"], m["path"], m["tag"], digest)


@dataclass(frozen=True)
class AllowedRegistry:
    host: str  # lower-cased host[:port]
    prefix: tuple[str, ...]  # whole path components

    def covers(self, ref: ImageRef) -> bool:
        if ref.host != self.host:
            return False
        n = len(self.prefix)
        return not n or tuple(ref.repository.split("/")[:n]) == self.prefix


def parse_allowed(entry: str) -> AllowedRegistry:
    """`host[:port][/path/prefix]` as written in allowedRegistries."""
    host, _, prefix = entry.strip().rstrip("/").partition("/")
    if not _DOMAIN_ONLY.fullmatch(host) or (prefix and not _PATH_ONLY.fullmatch(prefix)):
        raise ValueError(f"allowedRegistries: {entry!r} is not host[:port][/path]")
    host = host.lower()
    return AllowedRegistry(DOCKER_HUB if host == LEGACY_HUB else host, tuple(prefix.split("/")) if prefix else ())


@lru_cache(maxsize=64)
def allowed_registries(entries: tuple[str, ...]) -> tuple[AllowedRegistry, ...]:
    return tuple(parse_allowed(e) for e in entries)
