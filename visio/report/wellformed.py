"""Reports stay well-formed whatever the input: names and values come from files anyone wrote.

A character that a format cannot carry (a control character in XML, a lone surrogate anywhere) or
that would act on a terminal (escape sequences, bidirectional overrides) is replaced by its visible
escape, `\\x1b` or `\\ud800`, so the reader sees that something odd was there.
"""

from __future__ import annotations

import json
import re
from typing import Any

# Not allowed in XML 1.0 at all (even as character references): C0 controls but tab and newlines,
# lone surrogates, U+FFFE and U+FFFF; and, in documents people read, C1 controls and the
# bidirectional controls that make a name display as another.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]")
# What a terminal acts on: C0 and C1 controls (newline and tab excepted), DEL, bidirectional controls.
_NOT_TERMINAL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str) -> str:
    """Text safe to print on a terminal (used with rich `Text`, so no markup is interpreted)."""
    return _NOT_TERMINAL.sub(_escape, text)


def xml_document(text: str) -> str:
    """An XML or HTML document with every character XML 1.0 forbids (or a reader would be fooled by)
    made visible."""
    return _NOT_XML.sub(_escape, text)


def _mend(value: Any) -> Any:
    if isinstance(value, str):
        return _SURROGATE.sub(_escape, value)
    if isinstance(value, dict):
        return {_mend(k): _mend(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mend(v) for v in value]
    return value


def json_document(text: str) -> str:
    """A JSON document (ASCII, as json.dumps writes it) without escaped lone surrogates, which strict
    parsers refuse; only a document holding a `\\ud8xx`-`\\udfxx` escape is decoded again."""
    if not re.search(r"\\u[dD][89a-fA-F]", text):
        return text
    return json.dumps(_mend(json.loads(text)), indent=2)
