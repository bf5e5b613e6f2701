"""The rules between fields: a schema object's `allOf` of if/then rules (event_source_id must
fit event_source; event_source "app" warns), which codegen carries into the models as
`x-conditions`. Compiled into one jsonschema-rs validator per rule set, whose custom keywords
are the schema's warning marks (_soft), checked, and their refusals described without ever
repeating a value.

One module for the three places that check them: the model engine (_marks: when a model is
built), the request families (_families.Family.check_top: a request's request-level fields),
and the file validator (validation: stored payloads). It sits below all three and imports none
of them. jsonschema-rs is imported when a rule set is first compiled, jsonschema (the reference
validator, for the messages) when a rule first refuses fields, and _soft (which loads the phone
metadata) when first needed: `import pytt_events`, the CLI's help and the families' schema
readers load none of them. `warm_up` builds them all at start.

Problem, the public type of pytt_events.validation (which re-exports it), is defined here: the
rules give their findings as Problems.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pytt_events import _schema
from pytt_events._constants import DEFAULT_API_VERSION

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from jsonschema import ValidationError as SchemaError

__all__ = [
    "Problem",
    "Severity",
    "check_conditions",
    "condition_problems",
    "describe",
    "fields_read",
    "names_read",
    "payload_warnings",
    "pointer",
    "rule_message",
    "rules",
    "warm_up",
]

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One problem of a payload: where (a JSON Pointer), why, and how bad. An "error" is
    something TikTok refuses; a "warning" something TikTok takes but probably wastes."""

    path: str
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        text = f"{self.path or '/'}: {self.message}"
        return f"{text} (warning)" if self.severity == "warning" else text


# -- the rules, read from the schema ------------------------------------------------------


@functools.cache
def rules(definition: str, api_version: str = DEFAULT_API_VERSION) -> tuple[Any, ...]:
    """The rules between fields of a $defs entry: its allOf of if/then rules."""
    node = _schema.load_schema(api_version)["$defs"][definition]
    found = [rule for rule in node.get("allOf", ()) if isinstance(rule, Mapping) and "if" in rule]
    return tuple(found)


def fields_read(conditions: Any) -> frozenset[str]:
    """The fields that rules between fields (if/then) read: every key of their properties."""
    names: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, Mapping):
            for key, child in node.items():
                if key == "properties" and isinstance(child, Mapping):
                    names.update(child)
                walk(child)
        elif isinstance(node, (list, tuple)):
            for child in node:
                walk(child)

    walk(conditions)
    return frozenset(names)


# -- checking -------------------------------------------------------------------------------


def check_conditions(
    conditions: list[Any], fields: Mapping[str, Any], document: Mapping[str, Any]
) -> list[Problem]:
    """The problems of an object's fields under rules between them (a schema's if/then rules,
    as the models carry them in x-conditions): errors and warnings."""
    validator = _conditions_validator(
        json.dumps(conditions, sort_keys=True), id(document), document
    )
    invalid, warnings = _fast_check(validator, fields)
    problems: list[Problem] = []
    if invalid:
        problems = [
            Problem(pointer(error.absolute_path), describe(error))
            for error in validator.reference.iter_errors(dict(fields))
        ]
    return problems + warnings


def condition_problems(
    model: type, conditions: list[Any], fields: Mapping[str, Any]
) -> list[tuple[str, str]]:
    """What a model's rules between fields (its x-conditions) refuse of fields (JSON values),
    as (dotted path, reason) pairs; what they warn about is logged once per process."""
    if not conditions:
        return []
    problems = check_conditions(conditions, fields, _schema.document_of(model))
    errors = []
    owner = model.__name__
    for problem in problems:
        where = problem.path.strip("/").replace("/", ".")
        if problem.severity == "warning":
            from pytt_events import _soft

            _soft.warn_once(
                (owner, "x-conditions", where, problem.message),
                f"{owner}.{where} {problem.message}",
            )
        else:
            errors.append((where, problem.message))
    return errors


def payload_warnings(payload: Any, definition: str, api_version: str) -> list[Problem]:
    """The warnings of a payload's fields under its rules between fields (if/then), memoized
    on those fields' values: they are request-level fields, which repeat across a file."""
    found = rules(definition, api_version)
    if not found or not isinstance(payload, Mapping):
        return []
    names = names_read(definition, api_version)
    key = tuple(
        value if isinstance(value, (str, int, float, bool, type(None))) else repr(value)
        for value in (payload.get(name) for name in names)
    )
    return list(_memoized_warnings(definition, api_version, names, key))


@functools.cache
def names_read(definition: str, api_version: str) -> tuple[str, ...]:
    """The fields the rules between fields of a $defs entry read, sorted."""
    return tuple(sorted(fields_read(rules(definition, api_version))))


@functools.lru_cache(maxsize=4096)
def _memoized_warnings(
    definition: str, api_version: str, names: tuple[str, ...], values: tuple[Any, ...]
) -> tuple[Problem, ...]:
    fields = {name: value for name, value in zip(names, values, strict=True) if value is not None}
    problems = check_conditions(
        list(rules(definition, api_version)), fields, _schema.load_schema(api_version)
    )
    return tuple(problem for problem in problems if problem.severity == "warning")


def warm_up(conditions: list[Any], document: Mapping[str, Any]) -> None:
    """Build what checking fields against conditions builds on first use: its validator (this
    imports jsonschema-rs and jsonschema) and the checks of the warning marks inside it."""
    from pytt_events import _soft

    _reference_class()
    check_conditions(conditions, {}, document)  # builds and caches its validator
    for mark, rule, message in _value_marks(conditions):
        _soft.check_value(mark, rule, None, document, message)  # compiles its check


def _value_marks(node: Any) -> Iterator[tuple[str, Any, str | None]]:
    """The warning marks on values anywhere in node: (mark, rule, x-message beside it)."""
    from pytt_events import _soft

    if isinstance(node, Mapping):
        for mark in _soft.VALUE_MARKS:
            if mark in node:
                yield mark, node[mark], node.get("x-message")
        for child in node.values():
            yield from _value_marks(child)
    elif isinstance(node, (list, tuple)):
        for child in node:
            yield from _value_marks(child)


# -- compiling ------------------------------------------------------------------------------


def _warning_keywords(document: Mapping[str, Any]) -> dict[str, Any]:
    """The schema's warning marks as jsonschema-rs custom keywords: each raises (a "Custom"
    error, read as a warning) with _soft's message."""
    from pytt_events import _soft

    def keyword(mark: str) -> type:
        class ValueMark:
            def __init__(self, parent_schema: Any, value: Any, schema_path: Any) -> None:
                self.rule = value
                self.message = parent_schema.get("x-message")

            def validate(self, instance: Any) -> None:
                problem = _soft.check_value(mark, self.rule, instance, document, self.message)
                if problem is not None:
                    raise ValueError(problem)

        return ValueMark

    class WarnUnknown:
        def __init__(self, parent_schema: Any, value: Any, schema_path: Any) -> None:
            self.known = tuple(parent_schema.get("properties", {})) if value is True else None

        def validate(self, instance: Any) -> None:
            if self.known is not None and isinstance(instance, dict):
                unknown = _soft.unknown_keys(instance, self.known)
                if unknown:
                    raise ValueError("; ".join(_soft.unknown_key_message(k) for k in unknown))

    keywords: dict[str, Any] = {mark: keyword(mark) for mark in _soft.VALUE_MARKS}
    keywords["x-warn-unknown"] = WarnUnknown
    return keywords


def _fast_check(validator: _Pair, payload: Any) -> tuple[bool, list[Problem]]:
    """(whether the jsonschema-rs validator finds an error, the warnings it reports)."""
    invalid = False
    warnings: list[Problem] = []
    for error in validator.rs.iter_errors(payload):
        if isinstance(error.kind, validator.custom):
            warnings.append(Problem(pointer(error.instance_path), error.message, "warning"))
        else:
            invalid = True
    return invalid, warnings


@functools.cache
def _reference_class() -> type[Draft202012Validator]:
    """jsonschema's validator class (the reference: its errors give the messages)."""
    from jsonschema import Draft202012Validator

    return Draft202012Validator


class _Pair:
    """A rule set's jsonschema-rs validator, which also reports the warning marks (as "Custom"
    errors), and its jsonschema one, made when first needed."""

    def __init__(self, schema: Mapping[str, Any], document: Mapping[str, Any]) -> None:
        import jsonschema_rs

        self.rs = jsonschema_rs.validator_for(
            dict(schema), validate_formats=True, keywords=_warning_keywords(document)
        )
        #: The kind of error a warning mark raises.
        self.custom: type = jsonschema_rs.ValidationErrorKind.Custom
        self.schema = schema
        self._reference: Draft202012Validator | None = None

    @property
    def reference(self) -> Draft202012Validator:
        if self._reference is None:
            validator = _reference_class()
            self._reference = validator(self.schema, format_checker=validator.FORMAT_CHECKER)
        return self._reference


_conditions_cache: dict[tuple[str, int], _Pair] = {}


def _conditions_validator(key: str, document_id: int, document: Mapping[str, Any]) -> _Pair:
    found = _conditions_cache.get((key, document_id))
    if found is None:
        if len(_conditions_cache) >= 64:  # bounded: the schemas have a handful of rule sets
            _conditions_cache.clear()
        schema = {"allOf": json.loads(key)}
        found = _Pair(schema, document)
        _conditions_cache[(key, document_id)] = found
    return found


# -- messages -------------------------------------------------------------------------------

_MAX_LISTED_VALUES = 8


def pointer(path: Any) -> str:
    """A JSON Pointer to the place a validator's error path names."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


def _values(values: Any) -> str:
    listed = [repr(value) for value in values]
    if len(listed) > _MAX_LISTED_VALUES:
        return f"one of the {len(listed)} values the schema lists ({', '.join(listed[:3])}, ...)"
    return "one of " + ", ".join(listed)


def describe(error: SchemaError) -> str:
    """A message for a jsonschema error that never repeats the offending value."""
    kind = error.validator
    if kind in ("required", "additionalProperties", "dependentRequired"):
        return str(error.message)  # names properties, not values
    if kind in ("anyOf", "oneOf") and error.context:
        reasons = dict.fromkeys(describe(sub) for sub in error.context)
        return " or ".join(reasons)
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    message = rule_message(str(kind), error.validator_value, schema)
    return message if message is not None else f"fails the schema's {kind!r} rule"


_BOUNDS = {
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


def rule_message(kind: str, rule: Any, schema: Mapping[str, Any]) -> str | None:
    """describe's message for a keyword that fails on its own (its rule, and the schema object
    it sits in, decide the message), or None."""
    custom = schema.get("x-message")
    if kind == "not" and isinstance(custom, str):
        return custom  # the schema's own words for this rule
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
    if kind in _BOUNDS:
        return _BOUNDS[kind].format(rule)
    return None
