"""Exemptions: reading the stack's exemptions file, matching findings, expiry.

An exemption names one rule and a resource selector (shell wildcards on kind, name, namespace) and may
narrow itself to finding paths. An expired exemption exempts nothing and is itself reported.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from fnmatch import fnmatchcase
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from common import yamlsafe
from common.errors import InputError
from common.keypath import format_path
from policies.engine.config import Exemption, PolicyConfig
from policies.engine.model import ResourceRef

_LIST = TypeAdapter(list[Exemption])


def _loc(loc: Iterable[int | str]) -> str:
    return format_path(("exemptions", *loc))


def parse_exemptions(data: Any, source: Path | str) -> list[Exemption]:
    """Validate exemptions given as a list or as a mapping with an `exemptions` list."""
    if isinstance(data, dict) and set(data) == {"exemptions"}:
        data = data["exemptions"]
    if data is None:
        return []
    if not isinstance(data, list):
        raise InputError(f"{source}: exemptions: expected a list of exemptions")
    try:
        return _LIST.validate_python(data)
    except ValidationError as exc:
        raise InputError(
            *(f"{source}: {_loc(err['loc'])}: {err['msg']}" for err in exc.errors(include_url=False))
        ) from None


def load_exemptions(path: Path) -> list[Exemption]:
    text = yamlsafe.read_text(path)
    return parse_exemptions(yamlsafe.load_one(text, path), path)


def is_expired(exemption: Exemption, today: dt.date) -> bool:
    """An exemption holds through its expiry date."""
    return today > exemption.expiry


@lru_cache(maxsize=1024)
def _path_pattern(pattern: str) -> re.Pattern[str]:
    # Paths carry brackets ("containers[0]"), so only "*" is a wildcard here.
    return re.compile(".*".join(re.escape(p) for p in pattern.split("*")))


def selects(exemption: Exemption, ref: ResourceRef) -> bool:
    """The exemption's selector covers the resource, whatever its rule and paths."""
    sel = exemption.resource
    return all(pattern is None or fnmatchcase(value, pattern) for value, pattern in (
        (ref.kind, sel.kind), (ref.name, sel.name), (ref.namespace or "", sel.namespace)))


def matches(exemption: Exemption, rule: str, ref: ResourceRef, path: str) -> bool:
    if exemption.rule != rule or not selects(exemption, ref):
        return False
    return not exemption.paths or any(_path_pattern(p).fullmatch(path) for p in exemption.paths)


class Exemptions:
    """The exemptions in force, indexed by rule for the per-finding lookup."""

    def __init__(self, exemptions: Sequence[Exemption], today: dt.date) -> None:
        self.in_force = [e for e in exemptions if not is_expired(e, today)]
        self.expired = [(i, e) for i, e in enumerate(exemptions) if is_expired(e, today)]
        self._by_rule: dict[str, list[Exemption]] = {}
        for e in self.in_force:
            self._by_rule.setdefault(e.rule, []).append(e)

    def find(self, rule: str, ref: ResourceRef, path: str) -> Exemption | None:
        for e in self._by_rule.get(rule, ()):
            if matches(e, rule, ref, path):
                return e
        return None


def with_exemptions_file(config: PolicyConfig, path: Path) -> PolicyConfig:
    """The config with the exemptions of `path` added to those it already holds."""
    return config.with_overrides(exemptions=[*config.exemptions, *load_exemptions(path)])
