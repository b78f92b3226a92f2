"""The policy configuration the engine runs with, from a YAML file or from a stack.

A policy config file (for `visio audit --policy-config`) holds the engine's camelCase keys:
profile, allowedRegistries, trustedDomains, allowedRegions, exemptions (inline list) or
exemptionsFile (path relative to the config file), enforcement (rule id -> mandatory, advisory or
disabled), production, resolve.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from common.config.loader import Stack
from common.config.model import StackConfig
from common.errors import InputError
from common.keypath import format_path, key_path, plain_message
from common.paths import PROJECT_ROOT, display
from common.yamlsafe import load_one, read_text
from policies.engine.config import PolicyConfig, Profile
from policies.engine.exemptions import load_exemptions, parse_exemptions

MAX_BYTES = 1024 * 1024


def _problems(source: str, exc: ValidationError) -> list[str]:
    lines: list[str] = []
    for err in exc.errors(include_input=False, include_url=False):
        lines.append(f"{source}: {format_path(key_path(err)) or '(top level)'}: {plain_message(err)}")
    return lines


def build(data: Mapping[str, Any], source: str, base: Path | None = None) -> PolicyConfig:
    """Validate a policy config mapping; `exemptionsFile` is read relative to `base`."""
    raw = dict(data)
    exemptions_file = raw.pop("exemptionsFile", None)
    if exemptions_file is not None:
        if not isinstance(exemptions_file, str) or not exemptions_file:
            raise InputError(f"{source}: exemptionsFile: must be a file path")
        if "exemptions" in raw:
            raise InputError(f"{source}: exemptionsFile: give exemptions inline or as a file, not both")
        path = (base or Path.cwd()) / exemptions_file
        raw["exemptions"] = load_exemptions(path)
    elif "exemptions" in raw:
        raw["exemptions"] = parse_exemptions(raw["exemptions"], source)
    try:
        return PolicyConfig.model_validate(raw)
    except ValidationError as exc:
        raise InputError(*_problems(source, exc)) from None


def load_policy_config(path: Path) -> PolicyConfig:
    source = display(path)
    doc = load_one(read_text(path, max_bytes=MAX_BYTES), source)
    if doc is None:
        return PolicyConfig()
    if not isinstance(doc, dict):
        raise InputError(f"{source}: a policy config is a YAML mapping")
    return build(doc, source, base=path.parent)


def from_stack(stack: Stack) -> PolicyConfig:
    """What a stack allows: its registry and names, its region, its profile and exemptions."""
    return from_config(stack.config)


def from_config(cfg: StackConfig) -> PolicyConfig:
    """`from_stack` for a configuration the Pulumi engine handed over (the program's own)."""
    policy = cfg.policy
    exemptions = []
    if policy.exemptionsFile:
        exemptions = load_exemptions(PROJECT_ROOT / policy.exemptionsFile)
    domains = [cfg.domains.web, cfg.domains.identity, cfg.domains.media, cfg.media.turn.domain]
    trusted = _unique([*domains, *policy.trustedDomains])
    # The stack's own mirror is allowed only if it is itself sovereign: a stack cannot whitelist a
    # foreign registry by naming it as its mirror.
    mirror = [cfg.registry.host] if _sovereign(cfg.registry.hostname, policy.profile, trusted) else []
    return PolicyConfig(
        profile=policy.profile,
        allowedRegistries=_unique([*mirror, *policy.allowedRegistries]),
        trustedDomains=trusted,
        allowedRegions=[cfg.cluster.region],
        exemptions=exemptions,
        production=cfg.production,
        kubernetesVersion=cfg.cluster.kubernetesVersion,
    )


def _sovereign(host: str, profile: Profile, trusted: list[str]) -> bool:
    from policies.sovereignty import EndpointSyntaxError, judge_for

    try:
        return judge_for(profile, tuple(trusted), False).judge(f"https://{host}").acceptable(profile)
    except EndpointSyntaxError:
        return False


def to_json(config: PolicyConfig) -> dict[str, Any]:
    """The camelCase JSON form (CrossGuard config properties), defaults left out."""
    return config.model_dump(mode="json", exclude_defaults=True)


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))
