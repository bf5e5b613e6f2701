"""Check payloads against the schema (draft 2020-12, formats checked), one at a time or
streamed from files of any size.

The same schema files the models are compiled from. jsonschema is the reference: its errors
become the messages, which name the field (as a JSON Pointer) and the rule, never the value, so
they are safe to log for personal data. jsonschema-rs answers first, valid or not, ~100 times
faster; only payloads it finds invalid go through jsonschema for the messages. A test proves
both give the same verdicts on the whole test corpus and on generated payloads.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import jsonschema_rs
from jsonschema import Draft202012Validator
from jsonschema import ValidationError as SchemaError

from pytt_events import _schema
from pytt_events._hashing import EMPTY_SHA256, is_sha256_hex
from pytt_events.stored import StoredPayload, read_payloads

__all__ = [
    "FileResult",
    "Problem",
    "ValidationSummary",
    "detect_family",
    "validate_file",
    "validate_payload",
    "validate_stored",
]

logger = logging.getLogger("pytt_events")

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


def _family_schema(family: str, api_version: str) -> dict[str, Any]:
    document = _schema.load_schema(api_version)
    definition = _schema.family(family, api_version).definition
    return {**document, "$ref": f"#/$defs/{definition}"}


@functools.cache
def _validator(family: str, api_version: str) -> Draft202012Validator:
    """The reference validator (jsonschema): verdicts and messages."""
    return Draft202012Validator(
        _family_schema(family, api_version), format_checker=Draft202012Validator.FORMAT_CHECKER
    )


@functools.cache
def _fast_validator(family: str, api_version: str) -> Any:
    """The fast path (jsonschema-rs): a verdict only."""
    return jsonschema_rs.validator_for(_family_schema(family, api_version), validate_formats=True)


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
    problems: list[Problem] = []
    if not _fast_validator(family, api_version).is_valid(payload):
        validator = _validator(family, api_version)
        problems = [
            Problem(_pointer(error.absolute_path), describe(error))
            for error in sorted(
                validator.iter_errors(payload), key=lambda e: list(map(str, e.path))
            )
        ]
        if not problems:  # pragma: no cover - the parity tests keep this from happening
            logger.debug("the fast validator refused a payload jsonschema accepts")
    if require_hashed:
        plan = _schema.pii_plan(known[family].definition, api_version)
        problems.extend(_unhashed(payload, plan, ""))
    return problems


@dataclass(frozen=True)
class FileResult:
    """The verdict on one payload of a file: where it is, and its problems (none: valid).
    `unreadable` is set when the line or element could not be read as JSON at all."""

    source: str
    line: int
    problems: tuple[Problem, ...]
    unreadable: bool = False

    @property
    def valid(self) -> bool:
        return not self.problems


@dataclass
class ValidationSummary:
    """Counts over everything validated: payloads, valid, invalid, unreadable; and files that
    could not be read at all."""

    payloads: int = 0
    valid: int = 0
    invalid: int = 0
    unreadable: int = 0
    unreadable_files: int = 0

    def add(self, result: FileResult) -> None:
        self.payloads += 1
        if result.unreadable:
            self.unreadable += 1
        elif result.valid:
            self.valid += 1
        else:
            self.invalid += 1


def validate_file(
    path: str | os.PathLike[str],
    schema: str | None = None,
    api_version: str = _schema.DEFAULT_API_VERSION,
    require_hashed: bool = False,
) -> Iterator[FileResult]:
    """Validate every payload of a stored file, streaming, in constant memory.

    Reads .json (one object or an array), .ndjson and .jsonl, each optionally .gz, and yields
    one FileResult per payload, in order, with its line number. A line that is not JSON is an
    unreadable result, not an exception.

    Raises:
        OSError: the file cannot be opened, or (gzip) it is not a gzip file at all.
    """
    return validate_stored(read_payloads(path), schema, api_version, require_hashed)


def validate_stored(
    payloads: Iterable[StoredPayload],
    schema: str | None = None,
    api_version: str = _schema.DEFAULT_API_VERSION,
    require_hashed: bool = False,
) -> Iterator[FileResult]:
    """Validate stored payloads as read by pytt_events.stored.read_payloads."""
    for stored in payloads:
        if stored.error is not None:
            yield FileResult(stored.source, stored.line, (Problem("", stored.error),), True)
            continue
        problems = validate_payload(stored.payload, schema, api_version, require_hashed)
        yield FileResult(stored.source, stored.line, tuple(problems))
