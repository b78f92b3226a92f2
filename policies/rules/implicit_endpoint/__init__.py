"""implicit-endpoint: software defaults that reach a non-EU service when an override is missing.

Explicit endpoints are judged by endpoint-sovereignty; this rule catches the ones nobody wrote down.
The catalog below is data: add an entry when a component's upstream default calls out. Software is
recognised by image repository (mirrors keep the upstream path) and, for LiveKit, by config content.
Values set through ConfigMaps or Secrets are resolved; one that cannot be resolved fails closed under
the secnumcloud profile.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from policies.engine.embedded import livekit_configs
from policies.engine.envresolve import DataIndex, resolve_env
from policies.engine.images import ImageRefError, parse_image
from policies.engine.model import Resource, ResourceRef, Violation
from policies.engine.podspec import containers
from policies.engine.rule import Context, Rule


@dataclass(frozen=True)
class EnvDefault:
    """An environment variable whose absence (or a listed value) sends data to a foreign service."""

    software: str
    repositories: tuple[str, ...]
    variable: str
    endpoint: str
    is_unsafe: Callable[[str], bool]  # applied to the value when it is set and non-empty
    fix: str


def _always_safe(_value: str) -> bool:
    return False


CATALOG: tuple[EnvDefault, ...] = (
    EnvDefault(
        "La Suite Meet agents (live subtitles)", ("lasuite/meet-agents",), "STT_PROVIDER",
        "api.deepgram.com (Deepgram, US)", lambda v: v.strip().lower() == "deepgram",
        "set STT_PROVIDER=kyutai and KYUTAI_STT_BASE_URL to the in-cluster STT server",
    ),
    EnvDefault(
        "La Suite Meet summary (transcription)", ("lasuite/meet-summary",), "WHISPERX_BASE_URL",
        "api.openai.com (OpenAI, US)", _always_safe, "set WHISPERX_BASE_URL to the in-cluster ASR server",
    ),
    EnvDefault(
        "La Suite Meet summary (LLM)", ("lasuite/meet-summary",), "LLM_BASE_URL",
        "api.openai.com (OpenAI, US)", _always_safe, "set LLM_BASE_URL to a self-hosted LLM endpoint",
    ),
)


def _repository(image: Any) -> str | None:
    if not isinstance(image, str):
        return None
    try:
        return parse_image(image).repository
    except ImageRefError:
        return None  # image-registry reports the reference itself


def _matches(repository: str, upstream: tuple[str, ...]) -> bool:
    return any(repository == u or repository.endswith("/" + u) for u in upstream)


def _env_defaults(resource: Resource, ctx: Context, index: DataIndex) -> Iterator[Violation]:
    strict = ctx.config.profile == "secnumcloud"
    for path, container in containers(resource):
        repository = _repository(container.get("image"))
        if repository is None:
            continue
        for entry in CATALOG:
            if not _matches(repository, entry.repositories):
                continue
            got = resolve_env(entry.variable, container, resource.namespace, index, path)
            evidence = {"software": entry.software, "variable": entry.variable, "endpoint": entry.endpoint}
            if got.state == "unknown":
                if strict:
                    yield Violation(
                        f"{path}.env", f"{entry.variable} comes from {got.origin}, which this evaluation "
                        f"cannot see; if unset, {entry.software} calls {entry.endpoint}", evidence)
            elif got.state == "unset" or not (got.value or "").strip():
                yield Violation(
                    f"{path}.env", f"{entry.variable} is not set: {entry.software} defaults to "
                    f"{entry.endpoint}; {entry.fix}", evidence)
            elif entry.is_unsafe(got.value or ""):
                yield Violation(
                    f"{path}.env", f"{entry.variable}={got.value} sends data to {entry.endpoint}; {entry.fix}",
                    {**evidence, "value": got.value or ""})


def _livekit(resource: Resource) -> Iterator[Violation]:
    for path, config in livekit_configs(resource):
        rtc = config.get("rtc")
        rtc = rtc if isinstance(rtc, Mapping) else {}
        stun = rtc.get("stun_servers")
        if isinstance(stun, list) and stun:
            continue
        why = (
            "rtc.use_external_ip discovers the node's public address through STUN and"
            if rtc.get("use_external_ip") is True else "ICE gathering"
        )
        yield Violation(
            f"{path}.rtc.stun_servers",
            f"LiveKit config has no rtc.stun_servers: {why} falls back to Google's public STUN servers "
            "(stun.l.google.com, US); list the platform's own STUN/TURN servers",
            {"software": "LiveKit server", "endpoint": "stun.l.google.com:19302"},
        )


def check_stack(
    resources: Sequence[Resource], ctx: Context
) -> Iterator[tuple[ResourceRef | None, Violation]]:
    index = DataIndex(resources)
    for resource in resources:
        for violation in _env_defaults(resource, ctx, index):
            yield resource.ref, violation
        for violation in _livekit(resource):
            yield resource.ref, violation


RULE = Rule(
    id="implicit-endpoint",
    description="No component falls back to a non-EU service because an override is missing",
    check_stack=check_stack,
    per_object=True,
    title="Implicit foreign default",
    severity="high",
    help=(
        "Set the override the component needs (for example rtc.stun_servers, STT_PROVIDER, WHISPERX_BASE_URL, "
        "LLM_BASE_URL) to a self-hosted or sovereign service."
    ),
)
