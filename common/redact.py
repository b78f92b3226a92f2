"""Credentials in URLs never reach a report or an error line: findings and messages echo input values,
and `https://user:password@host` or `https://token@host` would carry the secret along."""

from __future__ import annotations

import re

from common.markers import REDACTED

# From `scheme://` to the last `@` of the authority (greedy: `a@b@host` hides both `a` and `b`).
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*:(?://|\\\\))[^/\\?#\s\"'<>]*@")


def redact(text: str) -> str:
    """The text with the userinfo of every URL in it replaced by the redacted marker."""
    if "@" not in text:
        return text
    return _USERINFO.sub(lambda m: f"{m.group(1)}{REDACTED}@", text)
