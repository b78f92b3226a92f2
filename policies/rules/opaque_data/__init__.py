"""opaque-data: a Secret or ConfigMap value the audit cannot read is reported, never passed in silence.

Secret `data` and ConfigMap `binaryData` are base64. A value that does not decode cannot be inspected
for endpoints or credentials, so it is a finding: advisory, and mandatory under `secnumcloud`, which
treats whatever it cannot verify as a violation.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from policies.engine.model import Resource, Violation
from policies.engine.podspec import key_path
from policies.engine.rule import Context, Rule
from policies.sovereignty.extract import decode_base64

RULE_ID = "opaque-data"
ENCODED = {"ConfigMap": "binaryData", "Secret": "data"}


def check(resource: Resource, ctx: Context) -> Iterator[Violation]:
    field = ENCODED.get(resource.kind)
    files = resource.body.get(field) if field else None
    if not isinstance(files, Mapping):
        return
    for key, value in files.items():
        if not isinstance(value, str) or decode_base64(value) is None:
            yield Violation(key_path(str(field), str(key)),
                            "not inspected: the value is not base64, so what it holds cannot be checked",
                            {"key": str(key)})


RULE = Rule(
    id=RULE_ID,
    title="Every stored value inspectable",
    severity="medium",
    help="Store Secret data and ConfigMap binaryData base64-encoded, as the API server requires, so "
         "that what they hold can be checked for endpoints and credentials.",
    description="Secret data and ConfigMap binary data that cannot be decoded, so could not be inspected",
    check=check,
    enforcement=lambda ctx: "mandatory" if ctx.config.profile == "secnumcloud" else "advisory",
)
