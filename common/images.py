"""The upstream images the platform deploys, as mirrored into each stack's sovereign registry.

The repository path is kept as upstream publishes it, so a mirror is a plain copy
(`<registry.host>/<repository>:<tag>`); production stacks pin each one by digest.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Image:
    repository: str
    tag: str


IMAGES: dict[str, Image] = {
    "meet-frontend": Image("lasuite/meet-frontend", "v0.1.34"),
    "meet-backend": Image("lasuite/meet-backend", "v0.1.34"),
    "meet-agents": Image("lasuite/meet-agents", "v0.1.34"),
    "livekit-server": Image("livekit/livekit-server", "v1.9.12"),
    "coturn": Image("coturn/coturn", "4.6.3"),
    "redis": Image("library/redis", "7.4.2"),
    "keycloak": Image("keycloak/keycloak", "26.1.4"),
    "postgres": Image("library/postgres", "16.8"),
    "kyutai-stt": Image("kyutai/moshi-server", "0.6.3"),
    "whisper-stt": Image("speaches-ai/speaches", "0.8.3-cuda"),
    # The platform's own admission webhook (`visio admission serve`), published with each release.
    "visio-guard": Image("dinum/visio-guard", "0.1.0"),
}


def image_ref(registry_host: str, name: str, digest: str | None) -> str:
    """The full reference a pod uses: by digest when one is pinned, by tag otherwise."""
    image = IMAGES[name]
    ref = f"{registry_host}/{image.repository}:{image.tag}"
    return f"{ref}@{digest}" if digest else ref
