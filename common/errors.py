"""Errors that reach the user as one clear line (exit code 2), never as a traceback."""

from __future__ import annotations

from common.redact import redact

__all__ = ["InputError", "redact"]


class InputError(Exception):
    """Unusable input: bad configuration, unreadable file, wrong field type.

    Each entry of ``problems`` is one self-contained line naming the file and key path.
    """

    def __init__(self, *problems: str) -> None:
        self.problems: list[str] = list(problems) or ["invalid input"]
        super().__init__("\n".join(self.problems))
