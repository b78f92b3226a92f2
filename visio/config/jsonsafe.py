"""Reading JSON a user hands us the way the Kubernetes API server would, or refusing it in one line.

Python's decoder accepts what Go's does not (NaN, Infinity) and keeps what Go replaces (a lone UTF-16
surrogate escape becomes U+FFFD there); a number over 4300 digits makes it raise a bare ValueError.
"""

from __future__ import annotations

import json
import re
from typing import Any, NoReturn

from visio.errors import InputError

_LONE_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_LONG_NUMBER = re.compile(r"\d{4301,}")


class _Constant(ValueError):
    pass


def _no_constant(name: str) -> NoReturn:
    raise _Constant(name)


def _position(text: str, offset: int) -> str:
    line = text.count("\n", 0, offset) + 1
    return f"line {line}, column {offset - (text.rfind(chr(10), 0, offset) + 1) + 1}"


def _mend(value: Any) -> Any:
    if isinstance(value, str):
        if _SURROGATE.search(value) is None:
            return value
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, dict):
        return {_mend(k): _mend(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mend(v) for v in value]
    return value


def load_json(text: str, source: str) -> Any:
    try:
        doc = json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise InputError(f"{source}: invalid JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except _Constant as exc:
        raise InputError(f"{source}: invalid JSON: {exc} is not a JSON number") from None
    except ValueError:
        found = _LONG_NUMBER.search(text)
        where = f"{_position(text, found.start())}: " if found else ""
        digits = len(found.group()) if found else 4301
        problem = f"a number of {digits} digits is too long to be a value"
        raise InputError(f"{source}: invalid JSON: {where}{problem}") from None
    # Only a document holding an escaped surrogate can hold a lone one: the others are left untouched.
    return _mend(doc) if _LONE_SURROGATE_ESCAPE.search(text) else doc
