"""Check payloads against the schema, with jsonschema (draft 2020-12, formats checked).

The same schema files the models are compiled from; messages name the field (as a JSON Pointer)
and the rule, never the value, so they are safe to log for personal data.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema import ValidationError as SchemaError

from pytt_events import _schema
from pytt_events._hashing import EMPTY_SHA256, is_sha256_hex

__all__ = ["Problem", "detect_family", "validate_payload"]

_MAX_LISTED_VALUES = 8


@dataclass(frozen=True)
class Problem:
    """One reason a payload is not acceptable: where (a JSON Pointer) and why."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path or '/'}: {self.message}"


def detect_family(payload: Any) -> str | None:
    """The request family a payload's shape says it is, or None."""
    if not isinstance(payload, Mapping):
        return None
    if "event_source" in payload or "data" in payload:
        return "event_track"
    if "batch" in payload:
        return "pixel_batch"
    if "pixel_code" in payload or "event" in payload or "context" in payload:
        return "pixel_track"
    return None


@functools.cache
def _validator(family: str, api_version: str) -> Draft202012Validator:
    document = _schema.load_schema(api_version)
    definition = _schema.family(family, api_version).definition
    root = {**document, "$ref": f"#/$defs/{definition}"}
    return Draft202012Validator(root, format_checker=Draft202012Validator.FORMAT_CHECKER)


def _pointer(path: Any) -> str:
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


def _values(values: Any) -> str:
    listed = [repr(value) for value in values]
    if len(listed) > _MAX_LISTED_VALUES:
        return f"one of the {len(listed)} values the schema lists ({', '.join(listed[:3])}, ...)"
    return "one of " + ", ".join(listed)


def describe(error: SchemaError) -> str:
    """A message for a jsonschema error that never repeats the offending value."""
    kind, rule = error.validator, error.validator_value
    if kind in ("required", "additionalProperties", "dependentRequired"):
        return str(error.message)  # names properties, not values
    if kind == "type":
        return f"must be of type {rule}"
    if kind == "enum":
        return f"must be {_values(rule)}"
    if kind == "const":
        return f"must be {rule!r}"
    if kind == "format":
        return f"is not a valid {rule}"
    if kind == "pattern":
        return f"does not match the pattern {rule}"
    if kind == "not" and isinstance(rule, Mapping) and set(rule) == {"required"}:
        names = ", ".join(repr(name) for name in rule["required"])
        return f"must not contain {names} (see the schema's description of this object)"
    if kind in ("anyOf", "oneOf") and error.context:
        reasons = dict.fromkeys(describe(sub) for sub in error.context)
        return " or ".join(reasons)
    bounds = {
        "minLength": "must have at least {} character(s)",
        "maxLength": "must have at most {} character(s)",
        "minimum": "must be at least {}",
        "maximum": "must be at most {}",
        "exclusiveMinimum": "must be greater than {}",
        "exclusiveMaximum": "must be less than {}",
        "minItems": "must have at least {} item(s)",
        "maxItems": "must have at most {} item(s)",
        "minProperties": "must have at least {} field(s)",
        "maxProperties": "must have at most {} field(s)",
    }
    if kind in bounds:
        return bounds[kind].format(rule)
    return f"fails the schema's {kind!r} rule"


def _unhashed(payload: Any, plan: Mapping[str, Any], path: str) -> Iterator[Problem]:
    if isinstance(payload, list):
        for index, item in enumerate(payload):
            yield from _unhashed(item, plan, f"{path}/{index}")
        return
    if not isinstance(payload, Mapping):
        return
    for key, rule in plan.items():
        if key not in payload:
            continue
        where = f"{path}/{key}"
        value = payload[key]
        if isinstance(rule, str):
            values = value if isinstance(value, list) else [value]
            for index, item in enumerate(values):
                spot = f"{where}/{index}" if isinstance(value, list) else where
                if not isinstance(item, str) or not item:
                    continue
                if not is_sha256_hex(item):
                    yield Problem(spot, f"personal data ({rule}) is not a SHA-256 hex digest")
                elif item.lower() == EMPTY_SHA256:
                    yield Problem(spot, "is the SHA-256 of an empty string: it matches nobody")
        else:
            yield from _unhashed(value, rule, where)


def validate_payload(
    payload: Any,
    schema: str | None = None,
    api_version: str = _schema.DEFAULT_API_VERSION,
    require_hashed: bool = False,
) -> list[Problem]:
    """The problems of a request body (empty when it is valid).

    Args:
        payload: a parsed JSON request body.
        schema: the request family ("pixel_track", "pixel_batch", ...); None detects it
            from the payload's shape.
        api_version: the schema version to check against.
        require_hashed: also report every personal-data field (x-pii) whose value is not a
            SHA-256 hex digest.

    Raises:
        UnknownApiVersionError: no schema for api_version in this build.
    """
    family = schema or detect_family(payload)
    known = _schema.families(api_version)
    if family is None:
        return [
            Problem(
                "",
                "cannot tell which request this is (expected pixel_code and event, a batch, "
                f"or event_source and data); known families: {', '.join(known)}",
            )
        ]
    if family not in known:
        return [Problem("", f"schema {api_version} has no request family {family!r}")]
    validator = _validator(family, api_version)
    problems = [
        Problem(_pointer(error.absolute_path), describe(error))
        for error in sorted(validator.iter_errors(payload), key=lambda e: list(map(str, e.path)))
    ]
    if require_hashed:
        plan = _schema.pii_plan(known[family].definition, api_version)
        problems.extend(_unhashed(payload, plan, ""))
    return problems
