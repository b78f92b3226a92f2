"""Key paths (`spec.template.spec.containers[0].image`) as every error line and finding prints them."""

from __future__ import annotations

from pydantic_core import ErrorDetails

KeyPath = tuple[str | int, ...]


def format_path(loc: KeyPath) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def key_path(err: ErrorDetails) -> KeyPath:
    """Where a pydantic error points, without the union/validator tags pydantic inserts."""
    return tuple(p for p in err["loc"] if not (isinstance(p, str) and "[" in p))


def plain_message(err: ErrorDetails) -> str:
    """A pydantic error message as a person reads it next to the key path."""
    if err["type"] == "extra_forbidden":
        return "unknown key"
    if err["type"] == "missing":
        return "required key is missing"
    return err["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
