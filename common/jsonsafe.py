"""Reading JSON a user hands us the way the Kubernetes API server would, or refusing it in one line.

Python's decoder accepts what Go's does not (NaN, Infinity) and keeps what Go replaces (a lone UTF-16
surrogate escape becomes U+FFFD there); a number over 4300 digits makes it raise a bare ValueError.
"""

from __future__ import annotations

import json
import re
from typing import Any, NoReturn

from common.errors import InputError
from common.yamlsafe import Position

_LONE_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_LONG_NUMBER = re.compile(r"\d{4301,}")
_SPACE = re.compile(r"[ \t\n\r]*")
_decoder = json.JSONDecoder()


class _Constant(ValueError):
    pass


def _no_constant(name: str) -> NoReturn:
    raise _Constant(name)


def _at(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column (in code points, as SARIF counts them) of an offset."""
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _position(text: str, offset: int) -> str:
    line, column = _at(text, offset)
    return f"line {line}, column {column}"


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


def _skip(text: str, offset: int) -> int:
    m = _SPACE.match(text, offset)
    return m.end() if m else offset


def _entries(text: str, offset: int) -> list[int]:
    """Offsets of the entries of the array that opens at `offset`."""
    starts: list[int] = []
    offset = _skip(text, offset + 1)
    while text[offset] != "]":
        starts.append(offset)
        offset = _skip(text, _decoder.raw_decode(text, offset)[1])
        if text[offset] == ",":
            offset = _skip(text, offset + 1)
    return starts


def _object_position(text: str) -> Position:
    start = _skip(text, 0)
    items: list[int] = []
    if text[start] == "{":
        offset = _skip(text, start + 1)
        while text[offset] != "}":
            key, offset = _decoder.raw_decode(text, offset)
            offset = _skip(text, _skip(text, offset) + 1)  # past the colon
            if key == "items":  # the last one wins, as in json.loads
                items = _entries(text, offset) if text[offset] == "[" else []
            offset = _skip(text, _decoder.raw_decode(text, offset)[1])
            if text[offset] == ",":
                offset = _skip(text, offset + 1)
    return Position(*_at(text, start), tuple(_at(text, i) for i in items))


def load_json_positioned(text: str, source: str) -> tuple[Any, Position]:
    """As `load_json`, with where the object starts and each entry of its top-level `items`.

    The standard decoder gives no positions, so the top level is walked here and every value under it
    decoded at its offset by that same decoder; the document itself is the one `load_json` returns.
    """
    doc = load_json(text, source)
    # The text decoded without error, so the walk cannot meet anything the decoder refuses.
    return doc, _object_position(text)
