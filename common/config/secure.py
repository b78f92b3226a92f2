"""Values written as `{secure: ...}` in a stack file.

A `SecureValue` carries the ciphertext read from the file and, when the Pulumi engine has decrypted
it, the plaintext. Its repr never shows either, so a secret cannot leak through an error or a log.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from pydantic_core import core_schema

from common.markers import SECRET

# Pulumi's symmetric crypter (passphrase and cloud KMS providers alike) writes `v1:<nonce>:<sealed>`:
# a 12-byte AES-GCM nonce and the ciphertext with its 16-byte tag, both in standard base64.
NONCE_BYTES = 12
TAG_BYTES = 16


def _decoded(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def ciphertext_problem(text: str) -> str | None:
    """Why `text` cannot be a ciphertext Pulumi wrote (None when it can); the text is never echoed."""
    version, _, rest = text.partition(":")
    nonce_text, _, sealed_text = rest.partition(":")
    if version != "v1" or not sealed_text:
        return "not a Pulumi ciphertext (expected v1:<nonce>:<data>)"
    nonce, sealed = _decoded(nonce_text), _decoded(sealed_text)
    if nonce is None or sealed is None:
        return "corrupted ciphertext (not base64)"
    if len(nonce) != NONCE_BYTES or len(sealed) < TAG_BYTES:
        return "corrupted ciphertext (truncated)"
    return None


class SecureValue:
    __slots__ = ("_ciphertext", "_plaintext")

    def __init__(self, ciphertext: str | None = None, plaintext: str | None = None) -> None:
        self._ciphertext = ciphertext
        self._plaintext = plaintext

    @property
    def known(self) -> bool:
        """True when the plaintext is available (inside the Pulumi engine, or a test)."""
        return self._plaintext is not None

    def reveal(self) -> str:
        if self._plaintext is None:
            raise ValueError("secret value is not decrypted here")
        return self._plaintext

    def __repr__(self) -> str:
        return f"SecureValue({SECRET})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, SecureValue)
            and other._plaintext == self._plaintext
            and other._ciphertext == self._ciphertext
        )

    def __hash__(self) -> int:
        return hash((self._ciphertext, self._plaintext))

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> core_schema.CoreSchema:
        def check(value: Any) -> SecureValue:
            if isinstance(value, SecureValue):
                return value
            raise ValueError("must be a secret (`pulumi config set --secret`), not a plain value")

        return core_schema.no_info_plain_validator_function(
            check, serialization=core_schema.plain_serializer_function_ser_schema(lambda v: SECRET)
        )
