"""The policy pack's configuration schema, derived from the policy-config model.

Pulumi validates a pack's configuration against the JSON schema the pack declares; deriving it from
`PolicyConfig` keeps the two from drifting apart. Pulumi checks each property on its own, so
references are inlined; an optional field is simply left out, so `null` is not offered.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

# Settings the pack does not take: Pulumi's own per-policy `enforcementLevel` sets the level, and
# the clock is not configuration.
NOT_IN_PACK = frozenset({"enforcement"})
_ANNOTATIONS = frozenset({"title", "default", "description"})


def _inline(node: Any, defs: Mapping[str, Any]) -> Any:
    if isinstance(node, list):
        return [_inline(item, defs) for item in node]
    if not isinstance(node, Mapping):
        return node
    if "$ref" in node:
        return _inline(defs[str(node["$ref"]).rsplit("/", 1)[-1]], defs)
    options = node.get("anyOf")
    if isinstance(options, list):
        kept = [o for o in options if o != {"type": "null"}]
        if len(kept) == 1:
            return _inline({**{k: v for k, v in node.items() if k != "anyOf"}, **kept[0]}, defs)
    out = {k: _inline(v, defs) for k, v in node.items() if k not in _ANNOTATIONS and k != "properties"}
    if isinstance(node.get("properties"), Mapping):
        # Field names, not keywords: a field may be called "title".
        out["properties"] = {name: _inline(sub, defs) for name, sub in node["properties"].items()}
    return out


def pack_properties(model: type[BaseModel]) -> dict[str, Any]:
    """One JSON schema per setting the pack takes, self-contained."""
    schema = model.model_json_schema(mode="validation")
    defs = schema.get("$defs", {})
    return {name: _inline(sub, defs) for name, sub in schema["properties"].items() if name not in NOT_IN_PACK}
