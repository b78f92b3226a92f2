"""A fast yes/no to "does this object satisfy its Kubernetes schema?".

jsonschema explains every error but spends milliseconds on each object, so on a large estate of valid
objects most of an audit went there. The Kubernetes schemas use a handful of keywords (type, enum,
required, properties, additionalProperties, items, oneOf, $ref); they compile here into plain Python
checks with jsonschema's semantics. `schema.errors` asks this first and lets jsonschema find and word
the errors only when the answer is no, so the reported errors are unchanged. A schema using any other
assertion keyword is not compiled: jsonschema then judges every object of that kind.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Callable, Mapping
from typing import Any

Check = Callable[[Any], bool]

# Keywords compiled below; every other keyword jsonschema asserts makes a schema unsupported.
HANDLED = frozenset({"type", "enum", "required", "properties", "additionalProperties", "items", "oneOf", "$ref"})
# What jsonschema's Draft 2020-12 validator acts on (its VALIDATORS, which a test compares), less
# `format`: an annotation only, since the validators are built without a format checker.
ASSERTED = frozenset({
    "$dynamicRef", "$ref", "additionalProperties", "allOf", "anyOf", "const", "contains", "dependentRequired",
    "dependentSchemas", "enum", "exclusiveMaximum", "exclusiveMinimum", "if", "items", "maxItems", "maxLength",
    "maxProperties", "maximum", "minItems", "minLength", "minProperties", "minimum", "multipleOf", "not", "oneOf",
    "pattern", "patternProperties", "prefixItems", "properties", "propertyNames", "required", "type",
    "unevaluatedItems", "unevaluatedProperties", "uniqueItems",
})
# `#/$defs/X` is local to the definitions document; the kind documents name it by path.
_DEFS_REF = re.compile(r"(/api/_definitions\.json)?#/\$defs/([^/~]+)\Z")


class Unsupported(Exception):
    """The schema uses something this compiler does not reproduce exactly."""


def _is_integer(x: Any) -> bool:
    if isinstance(x, bool):
        return False
    return isinstance(x, int) or (isinstance(x, float) and x.is_integer())


def _is_number(x: Any) -> bool:
    return isinstance(x, numbers.Number) and not isinstance(x, bool)


_PLAIN_TYPES: dict[str, type] = {"string": str, "object": dict, "array": list, "boolean": bool, "null": type(None)}


def _type_check(declared: Any) -> Check:
    names = [declared] if isinstance(declared, str) else declared
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise Unsupported(f"type {declared!r}")
    unknown = set(names) - set(_PLAIN_TYPES) - {"integer", "number"}
    if unknown:
        raise Unsupported(f"type {sorted(unknown)}")
    plain = tuple(_PLAIN_TYPES[n] for n in names if n in _PLAIN_TYPES)
    # bool is an int in Python but not an integer to JSON Schema; booleans match only "boolean".
    if "number" in names:
        return lambda x: isinstance(x, plain) or _is_number(x)
    if "integer" in names:
        return lambda x: isinstance(x, plain) or _is_integer(x)
    return lambda x: isinstance(x, plain)


def _enum_check(values: Any) -> Check:
    if not isinstance(values, list):
        raise Unsupported("enum is not a list")
    if not all(v is None or isinstance(v, str) for v in values):
        raise Unsupported("enum of values other than strings and null")
    strings = frozenset(v for v in values if isinstance(v, str))
    allows_null = None in values
    # jsonschema's equality: a string equals only an equal string; null only null.
    return lambda x: (isinstance(x, str) and x in strings) or (allows_null and x is None)


class Compiler:
    """Compiles schema nodes; `$defs` references are compiled once and shared (they recurse)."""

    def __init__(self, definitions: Mapping[str, Any]) -> None:
        self.definitions = definitions
        self.refs: dict[str, Check] = {}

    def ref(self, target: Any, in_definitions: bool) -> Check | None:
        m = _DEFS_REF.match(target) if isinstance(target, str) else None
        if m is None or not (m.group(1) or in_definitions):
            raise Unsupported(f"$ref {target!r}")
        name = m.group(2)
        if name in self.refs:
            return self.refs[name]
        node = self.definitions.get(name)
        if node is None:
            raise Unsupported(f"$ref {target!r} not found")
        compiled: list[Check | None] = []

        def forward(x: Any) -> bool:
            check = compiled[0]
            return check is None or check(x)

        self.refs[name] = forward  # a recursive definition reaches itself through this
        compiled.append(self.node(node, in_definitions=True))
        return forward

    def node(self, schema: Any, in_definitions: bool = False) -> Check | None:
        """The check for one schema node; None when the node accepts everything."""
        if schema is True:
            return None
        if not isinstance(schema, Mapping):
            raise Unsupported(f"schema node {schema!r}")
        extra = (schema.keys() & ASSERTED) - HANDLED
        if extra:
            raise Unsupported(f"keywords {sorted(extra)}")
        parts: list[Check] = []
        if "type" in schema:
            parts.append(_type_check(schema["type"]))
        if "enum" in schema:
            parts.append(_enum_check(schema["enum"]))
        mapping = self._mapping(schema, in_definitions)
        if mapping is not None:
            parts.append(mapping)
        if "items" in schema:
            items = self.node(schema["items"], in_definitions)
            if items is not None:
                parts.append(_items(items))
        if "oneOf" in schema:
            options = schema["oneOf"]
            if not isinstance(options, list) or not options:
                raise Unsupported("oneOf")
            parts.append(_one_of([self.node(o, in_definitions) for o in options]))
        if "$ref" in schema:
            target = self.ref(schema["$ref"], in_definitions)
            if target is not None:
                parts.append(target)
        return _all(parts)

    def _mapping(self, schema: Mapping[str, Any], in_definitions: bool) -> Check | None:
        properties = schema.get("properties", {})
        required = schema.get("required", [])
        additional = schema.get("additionalProperties", True)
        if not isinstance(properties, Mapping) or not isinstance(required, list):
            raise Unsupported("properties or required")
        if not properties and not required and additional is True:
            return None
        checks = {key: self.node(sub, in_definitions) for key, sub in properties.items()}
        forbid = additional is False
        extra = None if additional is True or forbid else self.node(additional, in_definitions)
        needed = tuple(required)

        def check(x: Any) -> bool:
            if not isinstance(x, dict):
                return True  # these keywords only constrain objects
            for key in needed:
                if key not in x:
                    return False
            for key, value in x.items():
                if key in checks:
                    sub = checks[key]
                    if sub is not None and not sub(value):
                        return False
                elif forbid or (extra is not None and not extra(value)):
                    return False
            return True

        return check


def _items(check: Check) -> Check:
    def items(x: Any) -> bool:
        if not isinstance(x, list):
            return True
        for value in x:  # noqa: SIM110 (a plain loop is the faster one on this hot path)
            if not check(value):
                return False
        return True

    return items


def _one_of(options: list[Check | None]) -> Check:
    def one_of(x: Any) -> bool:
        return sum(1 for o in options if o is None or o(x)) == 1

    return one_of


def _all(parts: list[Check]) -> Check | None:
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        first, second = parts
        return lambda x: first(x) and second(x)
    return lambda x: all(p(x) for p in parts)


def compile_schema(schema: Mapping[str, Any], definitions: Mapping[str, Any]) -> Check | None:
    """A yes/no check equivalent to validating against `schema`; None when not supported."""
    compiler = Compiler(definitions)
    try:
        root = compiler.node(schema)
    except Unsupported:
        return None
    return root if root is not None else (lambda _x: True)
