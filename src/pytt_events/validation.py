"""Check payloads against the schema (draft 2020-12, formats checked), one at a time or
streamed from files of any size.

The same schema files the models are compiled from. Each problem has a severity: an "error" is
something TikTok refuses; a "warning" is something TikTok takes but that is probably wrong or
wasted (the schema's warning marks, checked by _soft: a deprecated event name, a currency
TikTok does not support, an event older than TikTok's match window or in the future, an event
source TikTok enables only on request, an unknown key on an open object, an unexpected shape),
found by walking a plan of the schema's warning marks. jsonschema is the reference for errors:
its errors become the messages, which name the field (as a JSON Pointer) and the rule, never
the value, so they are safe to log for personal data. jsonschema-rs answers first, ~100 times
faster; only payloads it finds invalid go through jsonschema for the messages.
A test proves both give the same verdicts on the whole test corpus and on generated payloads.

The fast path (see _fast_path): one jsonschema-rs validator per family holds the family's
schema, the require-hashed rule and the warning marks, all built at run time from the loaded
schema, so that one native call decides a payload with nothing to report. Python then adds
only what a static schema cannot say (the rules between fields, memoized, and event times,
whose warnings move with the clock), and any other payload takes the rule-by-rule path above, which
gives the messages. When every error jsonschema-rs finds is a keyword that fails on its own,
its errors give the messages (_native_problems); others go to jsonschema. Tests prove the fast
path gives the same problems, messages and order (tests/unit/test_validation_fast.py).
"""

from __future__ import annotations

import functools
import logging
import os
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, Any

import jsonschema_rs
from jsonschema import Draft202012Validator

from pytt_events import _conditions, _families, _hashing, _schema, _soft
from pytt_events._conditions import Problem, Severity, check_conditions, describe
from pytt_events._constants import DEFAULT_API_VERSION
from pytt_events._counts import PayloadCounts
from pytt_events._coverage import Coverage
from pytt_events._hashing import EMPTY_SHA256, is_sha256_hex
from pytt_events.stored import StoredPayload, read_payloads

__all__ = [
    "FileResult",
    "Problem",
    "Severity",
    "ValidationSummary",
    "check_conditions",
    "detect_family",
    "problem_text",
    "validate_file",
    "validate_payload",
    "validate_stored",
]

logger = logging.getLogger("pytt_events")


def problem_text(problem: Problem) -> str:
    """How `pytt-events validate` and `send` both tell a problem of a stored payload, after
    its `file:line: `: `/json/pointer: message` ("/" for the whole payload), with `warning: `
    first for a warning."""
    kind = "warning: " if problem.severity == "warning" else ""
    return f"{kind}{problem.path or '/'}: {problem.message}"


def detect_family(payload: Any, api_version: str = DEFAULT_API_VERSION) -> str | None:
    """The request family a payload's keys say it is (see _families.detect), or None."""
    found = _families.detect(payload, api_version)
    return found.name if found is not None else None


def _family_document(family: str, api_version: str) -> dict[str, Any]:
    """The schema of one family's body, for the validators (the shared document's $defs)."""
    document = _schema.load_schema(api_version)
    definition = _families.family(family, api_version).definition
    return {
        "$schema": document.get("$schema"),
        "$ref": f"#/$defs/{definition}",
        "$defs": document["$defs"],
    }


def _family_argument(family: str | None, schema: str | None) -> str | None:
    """family, or the deprecated `schema=` it replaces (with a DeprecationWarning)."""
    if schema is None:
        return family
    if family is not None and family != schema:
        raise TypeError(f"family={family!r} and its old name schema={schema!r} disagree")
    warnings.warn(
        "the schema= argument is deprecated: it names a request family, so pass family=",
        DeprecationWarning,
        stacklevel=3,
    )
    return family or schema


@functools.cache
def _validator(family: str, api_version: str) -> Draft202012Validator:
    """The reference validator (jsonschema): verdicts and messages."""
    return Draft202012Validator(
        _family_document(family, api_version), format_checker=Draft202012Validator.FORMAT_CHECKER
    )


@functools.cache
def _fast_validator(family: str, api_version: str) -> Any:
    """The fast path (jsonschema-rs, pure Rust): the verdict on errors."""
    return jsonschema_rs.validator_for(_family_document(family, api_version), validate_formats=True)


def _soft_problems(
    value: Any, plan: _schema.WarningPlan, path: str, now: float | None, out: list[Problem]
) -> None:
    """The warnings of a value under a warning plan, appended to out."""
    for check in plan.checks:
        problem = check(value, now)
        if problem is not None:
            out.append(Problem(path, problem, "warning"))
    if plan.children or plan.known is not None:
        _soft_below(value, plan, path, now, out)


def _soft_below(
    value: Any, plan: _schema.WarningPlan, path: str, now: float | None, out: list[Problem]
) -> None:
    if type(value) is list:
        for index, item in enumerate(value):
            _soft_below(item, plan, f"{path}/{index}", now, out)
        return
    if type(value) is not dict:
        return
    if plan.known is not None:
        unknown = _soft.unknown_keys(value, plan.known)
        if unknown:
            message = "; ".join(_soft.unknown_key_message(key) for key in unknown)
            out.append(Problem(path, message, "warning"))
    for key, child in plan.children.items():
        if key in value:
            _soft_problems(value[key], child, f"{path}/{key}", now, out)


# The fast path of validate_payload. One jsonschema-rs validator per family holds the family's
# schema, and, built from the same schema's marks, the rules whose breach validate_payload
# reports: with require_hashed, each personal-data field (x-pii) a SHA-256 hex digest (the
# mirror of _unhashed), and with warnings, a schema each warning mark's value meets when its
# check says nothing (_soft.quiet_schema, laid out like the warning plan that _soft_problems
# walks). A payload that passes it has no error and no warning but those the schema cannot
# state: the rules between fields (memoized, see _conditions.payload_warnings) and event times
# (_soft.CLOCK_MARKS, x-max-age and x-max-ahead, whose verdicts move with the clock: a walk
# of their few places). Any other payload takes
# the slow path, which gives the messages; the fast one only ever decides "nothing to say".


@dataclass(frozen=True)
class _FastPath:
    validator: Any
    #: The warnings of the rules between fields (_conditions.payload_warnings, memoized).
    conditions: _Conditions
    #: The warning plan of the clock marks alone (None: the family has none).
    ages: _schema.WarningPlan | None
    #: What the family's schema says of a payload it accepts (see _Base).
    base: _Base


_Walk = Callable[[Any, str, "float | None", list[Problem]], None]
_Quick = Callable[[Any], "tuple[Problem, ...] | None"]


class _Conditions:
    """_conditions.payload_warnings, memoized on the values of the fields the rules read when
    they are all strings (or absent): no other value equals a string, so a hit is the same
    input. The fast path looks the memo up itself (names, memo)."""

    def __init__(self, definition: str, api_version: str) -> None:
        self.definition = definition
        self.api_version = api_version
        self.names = _conditions.names_read(definition, api_version)
        self.memo: dict[tuple[Any, ...], tuple[Problem, ...]] = {}

    def __call__(self, payload: Any) -> tuple[Problem, ...]:
        if not self.names:
            return ()
        key = tuple(map(payload.get, self.names))
        try:
            found = self.memo.get(key)
        except TypeError:  # a list or an object among the values: not memoized
            found = None
        if found is not None:
            return found
        problems = tuple(_conditions.payload_warnings(payload, self.definition, self.api_version))
        if all(value is None or type(value) is str for value in key):
            if len(self.memo) >= 4096:  # bounded: request-level fields repeat across a file
                self.memo.clear()
            self.memo[key] = problems
        return problems


_warnings: dict[tuple[str, str], Problem] = {}


def _warning(path: str, message: str) -> Problem:
    """Problem(path, message, "warning"), one shared instance (they are immutable): the same
    warning repeats at the same place across a file."""
    found = _warnings.get((path, message))
    if found is None:
        if len(_warnings) >= 4096:
            _warnings.clear()
        found = _warnings[(path, message)] = Problem(path, message, "warning")
    return found


def _walker(plan: _schema.WarningPlan) -> _Walk:
    """_soft_problems(value, plan, path, now, out) for a plan without x-warn-unknown, as a
    function made once: fewer calls and tests per value (a node without checks is walked
    through directly)."""
    checks = plan.checks
    below = tuple((key, "/" + key, _walker(child)) for key, child in plan.children.items())

    def walk_below(value: Any, path: str, now: float | None, out: list[Problem]) -> None:
        if type(value) is dict:
            for key, suffix, walk in below:
                if key in value:
                    walk(value[key], path + suffix, now, out)
        elif type(value) is list:
            for index, item in enumerate(value):
                walk_below(item, f"{path}/{index}", now, out)

    def walk(value: Any, path: str, now: float | None, out: list[Problem]) -> None:
        for check in checks:
            problem = check(value, now)
            if problem is not None:
                out.append(_warning(path, problem))
        if below:
            walk_below(value, path, now, out)

    if not checks:
        return walk_below if below else _nothing
    return walk


def _compiled_quick(
    is_valid: Callable[[Any], bool],
    conditions: _Conditions,
    ages: _schema.WarningPlan,
    base: _Base,
    now: float | None,
) -> _Quick | None:
    """The fast path of a family as one function of straight-line code: the validator's verdict,
    then the warnings it cannot give (the rules between fields, memoized, and the walk of the
    clock marks, in _soft_problems' order, through lists only where the family's schema
    allows one: the payload is one it accepts). None where the schema does not say what a
    list holds (the generic walker then serves). The code is made from the schema's keys,
    quoted with repr."""
    lines = [
        "def quick(payload):",
        "    if not is_valid(payload):",
        "        return None",
        "    out = []",
        "    now_ = now or time()",
    ]
    if conditions.names:
        key = "".join(f"payload.get({name!r}), " for name in conditions.names)
        lines += [
            "    try:",
            f"        found = memo_get(({key}))",
            "    except TypeError:",
            "        found = None",
            "    if found is None:",
            "        found = conditions(payload)",
        ]
    else:
        lines.append("    found = ()")
    checks: list[_soft.Check] = []
    names = iter(range(1_000_000))

    def full(plan: _schema.WarningPlan, base: _Base, var: str, path: str, depth: int) -> bool:
        pad = "    " * depth
        for check in plan.checks:
            checks.append(check)
            number = len(checks) - 1
            clock = _soft.CLOCK_RULES.get(check)
            if clock is not None:  # a whole number of seconds, inline (the same test)
                sign, seconds, _ = clock
                lines.append(f"{pad}if type({var}) is int:")
                lines.append(f"{pad}    if {sign} * ({var} - now_) > {seconds!r}:")
                lines.append(
                    f"{pad}        out.append(warning({path or repr('')}, messages[{number}]))"
                )
                lines.append(f"{pad}else:")
                pad += "    "
            lines.append(f"{pad}problem = checks[{number}]({var}, now)")
            lines.append(f"{pad}if problem is not None:")
            lines.append(f"{pad}    out.append(warning({path or repr('')}, problem))")
            if clock is not None:
                pad = pad[:-4]
        return below(plan, base, var, path, depth) if plan.children else True

    def below(plan: _schema.WarningPlan, base: _Base, var: str, path: str, depth: int) -> bool:
        if not base.known or plan.known is not None:
            return False
        pad = "    " * depth
        if base.may_be("object"):
            lines.append(f"{pad}if type({var}) is dict:")
            for key, child in plan.children.items():
                value = f"v{next(names)}"
                lines.append(f"{pad}    if {key!r} in {var}:")
                lines.append(f"{pad}        {value} = {var}[{key!r}]")
                spot = f"{path} {'/' + key!r}"  # literals side by side: made only for a warning
                if not full(child, base.field(key), value, spot, depth + 2):
                    return False
        if base.may_be("array"):
            item, index = f"v{next(names)}", f"i{next(names)}"
            lines.append(f"{pad}if type({var}) is list:")
            lines.append(f"{pad}    for {index}, {item} in enumerate({var}):")
            if not below(plan, base.items(), item, f"{path} '/' f'{{{index}}}'", depth + 2):
                return False
        lines.append(f"{pad}pass")
        return True

    if not full(ages, base, "payload", "", 1):
        return None
    lines.append("    return found + tuple(out) if out else found")
    namespace: dict[str, Any] = {
        "is_valid": is_valid,
        "conditions": conditions,
        "memo_get": conditions.memo.get,
        "checks": tuple(checks),
        "warning": _warning,
        "now": now,
        "time": time.time,
        "messages": tuple(_soft.CLOCK_RULES.get(check, (0, 0, ""))[2] for check in checks),
    }
    exec(compile("\n".join(lines), "<pytt_events.validation fast path>", "exec"), namespace)  # noqa: S102
    quick: _Quick = namespace["quick"]
    return quick


def _nothing(value: Any, path: str, now: float | None, out: list[Problem]) -> None:
    return None


def _normalizers() -> tuple[Any, ...]:
    """The normalizers of the x-normalize marks in use: the quiet schemas of those marks hold
    only for the default ones, so the fast path is rebuilt if one is registered."""
    return tuple(_hashing.normalizer_for(kind) for kind in _NORMALIZE_KINDS)


_NORMALIZE_KINDS = ("url", "location", "country")


@functools.lru_cache(maxsize=64)
def _fast_path(
    family: str, api_version: str, require_hashed: bool, warn: bool, normalizers: tuple[Any, ...]
) -> _FastPath:
    document = _schema.load_schema(api_version)
    definition = _families.family(family, api_version).definition
    defs: dict[str, Any] = {}
    rules: list[Any] = [{"$ref": f"#/$defs/{definition}"}]
    base = _Base(document, rules[:1])
    if require_hashed or warn:
        # With warnings (and not require_hashed): a payload with raw personal data is left to
        # the rule-by-rule path, which tells a value that cannot be a match key (_unusable).
        rules.append(_hashed_schema(_schema.pii_plan(definition, api_version), defs, base))
    ages = None
    if warn:
        plan = _schema.warning_plan(definition, api_version)
        rules.append(_quiet_schema(plan, document, defs, base))
        ages = _ages(plan)
    combined = {
        "$schema": document.get("$schema"),
        "allOf": rules,
        "$defs": {**document["$defs"], **defs},
    }
    validator = jsonschema_rs.validator_for(combined, validate_formats=True)
    return _FastPath(
        validator,
        _Conditions(definition, api_version),
        None if ages is None or ages.empty else ages,
        _Base(document, rules[:1]),
    )


def _name(defs: dict[str, Any], schema: Any) -> dict[str, str]:
    """A reference to a new $defs entry of the fast path's own (it may refer to itself)."""
    name = f"pytt-fast-{len(defs)}"
    defs[name] = schema
    return {"$ref": f"#/$defs/{name}"}


_EMPTY_DIGEST = "".join(f"[{c}{c.upper()}]" if c.isalpha() else c for c in EMPTY_SHA256)
#: A non-empty string must be a SHA-256 hex digest, and not the one of the empty string.
_HASHED = {
    "if": {"type": "string", "minLength": 1},
    "then": {"pattern": _soft.SHA256_PATTERN, "not": {"pattern": f"^{_EMPTY_DIGEST}$"}},
}


class _Base:
    """The family's own schema objects that surely apply to a value at one place of a payload
    that the family's schema accepts (the fast path's validator requires it): those reached
    through $ref, allOf, properties and items, never a branch of anyOf or oneOf. They tell
    where the value cannot be a list, so that the fast path's rules need not walk lists there
    (the Python walks go through lists anywhere). Nothing known: a list is possible anywhere
    below."""

    def __init__(self, document: Mapping[str, Any], nodes: list[Any]) -> None:
        self.document = document
        self.nodes: list[Mapping[str, Any]] = []
        pending = list(nodes)
        while pending:
            node = pending.pop()
            if not isinstance(node, Mapping):
                continue
            self.nodes.append(node)
            if isinstance(node.get("$ref"), str):
                pending.append(_schema.resolve(document, node))
            pending.extend(node.get("allOf", ()))

    @property
    def known(self) -> bool:
        return bool(self.nodes)

    def may_be(self, kind: str) -> bool:
        """Whether the value may be of a JSON type ("array", "object")."""
        for node in self.nodes:
            types = node.get("type")
            if types is not None and kind not in ([types] if isinstance(types, str) else types):
                return False
        return True

    def field(self, key: str) -> _Base:
        return _Base(
            self.document,
            [node["properties"][key] for node in self.nodes if key in node.get("properties", {})],
        )

    def items(self) -> _Base:
        return _Base(self.document, [node.get("items") for node in self.nodes])


def _hashed_schema(plan: Mapping[str, Any], defs: dict[str, Any], base: _Base) -> dict[str, Any]:
    """What _unhashed finds nothing in: lists are walked through (where the schema allows one),
    a field's value may be a list of values (one level)."""

    def below(base: _Base) -> dict[str, Any]:
        properties: dict[str, Any] = {}
        for key, rule in plan.items():
            if isinstance(rule, str):
                properties[key] = {"allOf": [_HASHED], "items": _HASHED}
            else:
                properties[key] = _hashed_schema(rule, defs, base.field(key))
        return {"properties": properties}

    return _listed(below, defs, base)


def _listed(
    below: Callable[[_Base], dict[str, Any]], defs: dict[str, Any], base: _Base
) -> dict[str, Any]:
    """below(base) for a value, and for each item of a list value, at any depth (where the
    family's schema allows a list)."""
    if not base.known:  # a list of lists of ... is possible: one rule that refers to itself
        reference = _name(defs, {})
        defs[reference["$ref"].rsplit("/", 1)[1]] = {"items": reference, **below(base)}
        return reference
    schema = below(base) if base.may_be("object") else {}
    if base.may_be("array"):
        schema["items"] = _listed(below, defs, base.items())
    return schema


def _quiet_schema(
    plan: _schema.WarningPlan, document: Mapping[str, Any], defs: dict[str, Any], base: _Base
) -> dict[str, Any]:
    """What _soft_problems finds nothing in, the clock marks aside (see _ages)."""
    checks = [
        _soft.quiet_schema(mark, rule, document)
        for mark, rule, _ in plan.marks
        if mark not in _soft.CLOCK_MARKS
    ]
    if plan.children or plan.known is not None:

        def below(base: _Base) -> dict[str, Any]:
            schema: dict[str, Any] = {
                "properties": {
                    key: _quiet_schema(child, document, defs, base.field(key))
                    for key, child in plan.children.items()
                }
            }
            if plan.known is not None:
                listed = {"properties": dict.fromkeys(plan.known, True)}
                schema["allOf"] = [{**listed, "additionalProperties": False}]
            return schema

        checks.append(_listed(below, defs, base))
    return {"allOf": checks} if checks else {}


def _ages(plan: _schema.WarningPlan) -> _schema.WarningPlan:
    """The warning plan of the clock marks alone (x-max-age, x-max-ahead)."""
    kept = [index for index, (mark, _, _) in enumerate(plan.marks) if mark in _soft.CLOCK_MARKS]
    children = {key: _ages(child) for key, child in plan.children.items()}
    return _schema.WarningPlan(
        marks=tuple(plan.marks[index] for index in kept),
        children={key: child for key, child in children.items() if not child.empty},
        checks=tuple(plan.checks[index] for index in kept),
    )


def _fast_verdict(family: str, api_version: str, payload: Any) -> bool:
    """Whether jsonschema-rs finds the payload free of errors (its warnings aside)."""
    return bool(_fast_validator(family, api_version).is_valid(payload))


#: Where an error jsonschema-rs reports may sit for _native_problems to tell it: keywords
#: followed by a name, by an index, or by a schema. Anything else (anyOf, oneOf, not, if,
#: dependentSchemas...) is left to jsonschema, whose error tree decides those messages.
_NAMED = frozenset({"properties"})
_INDEXED = frozenset({"allOf"})
_THROUGH = frozenset({"items", "then", "else"})


def _native_problems(family: str, api_version: str, payload: Any) -> list[Problem] | None:
    """validate_payload's errors from jsonschema-rs (no jsonschema run: ~100 times faster),
    when each error is a keyword that fails on its own (_conditions.rule_message tells it),
    alone at its place in the payload, reached through properties, items, allOf and
    if/then/else only: there, jsonschema reports the same errors, and their messages depend on
    nothing else.
    None otherwise."""
    document = _schema.load_schema(api_version)
    found: list[tuple[list[str], Problem]] = []
    seen: set[str] = set()
    for error in _fast_validator(family, api_version).iter_errors(payload):
        place = _schema_at(document, list(error.schema_path))
        if place is None:
            return None
        schema, keyword = place
        message = _conditions.rule_message(keyword, schema[keyword], schema)
        pointer = _conditions.pointer(error.instance_path)
        if message is None or pointer in seen:
            return None
        seen.add(pointer)
        found.append((list(map(str, error.instance_path)), Problem(pointer, message)))
    return [problem for _, problem in sorted(found, key=lambda item: item[0])] or None


def _schema_at(
    document: Mapping[str, Any], path: list[Any]
) -> tuple[Mapping[str, Any], str] | None:
    """The schema object and keyword an error's schema path (canonical: from $defs) names, if
    the path goes through _NAMED, _INDEXED and _THROUGH keywords only."""
    if len(path) < 3 or path[0] != "$defs":
        return None
    try:
        node = document["$defs"][path[1]]
        index = 2
        while index < len(path) - 1:
            keyword = path[index]
            if keyword in _NAMED or keyword in _INDEXED:
                node, index = node[keyword][path[index + 1]], index + 2
            elif keyword in _THROUGH:
                node, index = node[keyword], index + 1
            else:
                return None
    except (KeyError, IndexError, TypeError):
        return None
    keyword = path[-1]
    if not isinstance(node, Mapping) or not isinstance(keyword, str) or keyword not in node:
        return None
    return node, keyword


def _personal_values(
    payload: Any, plan: Mapping[str, Any], path: str
) -> Iterator[tuple[str, str, str]]:
    """(JSON pointer, mark, value) of each non-empty string of a personal-data field (x-pii)
    in payload, by the family's personal-data plan; an item of a list value is located by its
    position."""
    if isinstance(payload, list):
        for index, item in enumerate(payload):
            yield from _personal_values(item, plan, f"{path}/{index}")
        return
    if not isinstance(payload, Mapping):
        return
    for key, rule in plan.items():
        if key not in payload:
            continue
        where = f"{path}/{key}"
        value = payload[key]
        if not isinstance(rule, str):
            yield from _personal_values(value, rule, where)
            continue
        values = value if isinstance(value, list) else [value]
        for index, item in enumerate(values):
            if isinstance(item, str) and item:
                yield (f"{where}/{index}" if isinstance(value, list) else where), rule, item


def _unhashed(payload: Any, plan: Mapping[str, Any], path: str) -> Iterator[Problem]:
    for spot, rule, item in _personal_values(payload, plan, path):
        if not is_sha256_hex(item):
            yield Problem(spot, f"personal data ({rule}) is not a SHA-256 hex digest")
        elif item.lower() == EMPTY_SHA256:
            yield Problem(spot, "is the SHA-256 of an empty string: it matches nobody")


def _unusable(payload: Any, plan: Mapping[str, Any], path: str) -> Iterator[Problem]:
    """A warning for each raw (not hashed) personal-data value that cannot be a match key (a
    phone number that cannot exist, a text that is no e-mail address, a national number
    without a default phone region): TikTok takes its hash, which matches nobody; sent
    through this SDK, it is left out and the event goes with its other keys."""
    for spot, rule, item in _personal_values(payload, plan, path):
        if _hashing.is_absent(item) or is_sha256_hex(item):
            continue
        try:
            _hashing.normalize(rule, item)
        except ValueError as error:
            yield Problem(
                spot,
                f"personal data ({rule}) that cannot be a match key: {error}; its hash matches "
                "nobody (sent through this SDK, it is left out and the event goes with its "
                "other keys)",
                "warning",
            )


def validate_payload(
    payload: Any,
    family: str | None = None,
    api_version: str = DEFAULT_API_VERSION,
    require_hashed: bool = False,
    *,
    now: float | None = None,
    warn: bool = False,
    schema: str | None = None,
) -> list[Problem]:
    """The problems of a request body: its errors (what TikTok refuses; none: it is valid),
    and with warn=True its warnings after them (TikTok takes it, but part of it is probably
    wrong or wasted).

    Args:
        payload: a parsed JSON request body.
        family: the request family ("pixel_track", "pixel_batch", ...); None detects it
            from the payload's keys. `schema=` is its deprecated old name.
        api_version: the schema version to check against.
        require_hashed: also report (as errors) every personal-data field (x-pii) whose value
            is not a SHA-256 hex digest.
        now: the Unix time that event ages are measured from (default: now).
        warn: also report warnings (validate_file and the CLI do).

    Raises:
        UnknownApiVersionError: no schema for api_version in this build.
    """
    family = _family_argument(family, schema) or detect_family(payload, api_version)
    return list(_Checker(api_version, require_hashed, warn, now).problems(payload, family))


#: The fast paths made, by their _FastPath (kept alive here, so its id stays its own), whether
#: they warn, and the time event ages are measured from.
_quicks: dict[tuple[int, bool, float | None], tuple[_FastPath, _Quick]] = {}


class _Checker:
    """validate_payload for one API version and set of options, with what it looked up kept
    for the next payload (validate_stored makes one per run)."""

    def __init__(self, api_version: str, require_hashed: bool, warn: bool, now: float | None):
        self.api_version = api_version
        self.require_hashed = require_hashed
        self.warn = warn
        self.now = now
        self.known = _families.families(api_version)
        self.normalizers = _normalizers()
        #: The fast path of each family met: its problems, or None for the slow path.
        self.quick: dict[str | None, _Quick] = {}
        #: detect_family's answers by payload shape (see shape).
        self.detected: dict[tuple[Any, ...], str | None] = {}
        self.events_keys = tuple(
            found.events_key for found in self.known.values() if found.events_key is not None
        )

    def shape(self, payload: dict[str, Any]) -> tuple[Any, ...]:
        """All that detect_family reads of an object: its keys, and the types of the values
        of the families' events keys (whether they hold a list)."""
        return (tuple(payload), tuple(map(type, map(payload.get, self.events_keys))))

    def family_of(self, payload: Any) -> str | None:
        """detect_family(payload), memoized on its shape (a file's payloads have a few)."""
        if type(payload) is not dict:
            return detect_family(payload, self.api_version)
        key = self.shape(payload)
        try:
            return self.detected[key]
        except KeyError:
            if len(self.detected) >= 1024:
                self.detected.clear()
            found = self.detected[key] = detect_family(payload, self.api_version)
            return found

    def problems(self, payload: Any, family: str | None) -> tuple[Problem, ...]:
        quick = self.quick.get(family)
        if quick is not None:
            found = quick(payload)
            if found is not None:
                return found
            return self._slow(payload, family, self.known[family].definition)  # type: ignore[index,arg-type]
        api_version, known = self.api_version, self.known
        if family is None:
            return (
                Problem(
                    "",
                    "cannot tell which request this is: it has none of the keys of "
                    + ", ".join(known),
                ),
            )
        if family not in known:
            return (Problem("", f"schema {api_version} has no request family {family!r}"),)
        quick = self.quick_for(family)
        if quick is not None:
            found = quick(payload)
            if found is not None:
                return found
        return self._slow(payload, family, known[family].definition)

    def quick_for(self, family: str | None) -> _Quick | None:
        """The fast path of a family (None: no such family, or nothing for it to decide)."""
        quick = self.quick.get(family)
        wanted = self.warn or self.require_hashed
        if quick is None and wanted and family is not None and family in self.known:
            fast = _fast_path(
                family, self.api_version, self.require_hashed, self.warn, self.normalizers
            )
            key = (id(fast), self.warn, self.now)
            made = _quicks.get(key)
            if made is None:  # made once, not per validate_payload call
                if len(_quicks) >= 256:
                    _quicks.clear()
                made = _quicks[key] = (fast, self._quick(fast))
            quick = self.quick[family] = made[1]
        return quick

    def keys_decide(self, family: str) -> bool:
        """Whether detect_family gives the same family for all payloads with the same keys
        that the family's schema accepts: it does when that schema requires each events key
        (x-events, of any family) to hold a list, or refuses it."""
        document = _schema.load_schema(self.api_version)
        base = _Base(document, [{"$ref": f"#/$defs/{self.known[family].definition}"}])
        closed = any(node.get("additionalProperties") is False for node in base.nodes)
        for name in self.events_keys:
            field = base.field(name)
            if field.known:
                if not any(node.get("type") in ("array", ["array"]) for node in field.nodes):
                    return False
            elif not closed or any("patternProperties" in node for node in base.nodes):
                return False
        return True

    def _quick(self, fast: _FastPath) -> _Quick:
        is_valid = fast.validator.is_valid
        if not self.warn:
            return lambda payload: () if is_valid(payload) else None
        conditions, plan, now = fast.conditions, fast.ages, self.now
        if plan is None:
            return lambda payload: conditions(payload) if is_valid(payload) else None
        compiled = _compiled_quick(is_valid, conditions, plan, fast.base, now)
        if compiled is not None:
            return compiled
        ages = _walker(plan)

        def quick(payload: Any) -> tuple[Problem, ...] | None:
            if not is_valid(payload):
                return None
            found = conditions(payload)
            old: list[Problem] = []
            ages(payload, "", now, old)
            return found + tuple(old) if old else found

        return quick

    def _slow(self, payload: Any, family: str, definition: str) -> tuple[Problem, ...]:
        """Every rule checked one by one, with the messages."""
        api_version, now = self.api_version, self.now
        problems: list[Problem] = []
        invalid = not _fast_validator(family, api_version).is_valid(payload)
        warnings: list[Problem] = []
        if self.warn:
            soft = _schema.warning_plan(definition, api_version)
            _soft_problems(payload, soft, "", now, warnings)
            warnings = _conditions.payload_warnings(payload, definition, api_version) + warnings
        if invalid:
            problems = _native_problems(family, api_version, payload) or self._reference(
                payload, family
            )
        if self.require_hashed:
            plan = _schema.pii_plan(definition, api_version)
            problems.extend(_unhashed(payload, plan, ""))
        elif self.warn:
            warnings.extend(_unusable(payload, _schema.pii_plan(definition, api_version), ""))
        return (*problems, *warnings)

    def _reference(self, payload: Any, family: str) -> list[Problem]:
        """The errors as jsonschema reports them."""
        validator = _validator(family, self.api_version)
        problems = [
            Problem(_conditions.pointer(error.absolute_path), describe(error))
            for error in sorted(
                validator.iter_errors(payload), key=lambda e: list(map(str, e.path))
            )
        ]
        if not problems:  # pragma: no cover - the parity tests keep this from happening
            logger.debug("the fast validator refused a payload jsonschema accepts")
        return problems


@dataclass(frozen=True)
class FileResult:
    """The verdict on one payload of a file: where it is, and its problems (none: valid).
    `unreadable` is set when the line or element could not be read as JSON at all. `coverage`:
    the match-key coverage of its events, as stored (validate_file(coverage=True): a payload of
    a known request family, valid or not; else None)."""

    source: str
    line: int
    problems: tuple[Problem, ...]
    unreadable: bool = False
    coverage: Coverage | None = None

    @property
    def valid(self) -> bool:
        """No error (warnings may remain: see `warnings`)."""
        # Asked of every payload of a file: a loop, half the time of all() over a generator.
        for problem in self.problems:  # noqa: SIM110
            if problem.severity == "error":
                return False
        return True

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple([problem for problem in self.problems if problem.severity == "error"])

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple([problem for problem in self.problems if problem.severity == "warning"])


@dataclass
class ValidationSummary(PayloadCounts):
    """Counts over everything validated: payloads, valid, invalid, unreadable (invalid and
    unreadable as every reading of stored payloads counts them, see PayloadCounts); files
    that could not be read at all; payloads with warnings, and warnings."""

    payloads: int = 0
    valid: int = 0
    unreadable_files: int = 0
    #: Payloads with at least one warning (valid or not).
    warned: int = 0
    warnings: int = 0
    #: The match-key coverage of the payloads' events, valid or not: what the data carries
    #: (results validated with coverage=True; pytt_events.coverage).
    coverage: Coverage = field(default_factory=Coverage)

    def add(self, result: FileResult) -> None:
        self.payloads += 1
        if result.unreadable:
            self.unreadable += 1
        elif result.valid:
            self.valid += 1
        else:
            self.invalid += 1
        warnings = len(result.warnings)
        if warnings:
            self.warned += 1
            self.warnings += warnings
        if result.coverage is not None:
            self.coverage += result.coverage


def validate_file(
    path: str | os.PathLike[str] | IO[bytes],
    family: str | None = None,
    api_version: str = DEFAULT_API_VERSION,
    require_hashed: bool = False,
    *,
    source: str | None = None,
    now: float | None = None,
    on_progress: Callable[[int], None] | None = None,
    schema: str | None = None,
    coverage: bool = False,
) -> Iterator[FileResult]:
    """Validate every payload of a stored file (or an open binary stream, with the name its
    results carry as `source`), streaming, in constant memory.

    Reads .json (one object or an array), .ndjson and .jsonl, each optionally .gz, and yields
    one FileResult per payload, in order, with its line number. A line that is not JSON is an
    unreadable result, not an exception. on_progress is told the bytes read of the input (see
    read_payloads); `schema=` is the deprecated old name of family. coverage: each payload's
    result also carries the match-key coverage of its events (FileResult.coverage,
    summed by ValidationSummary.add).

    Raises:
        OSError: the file cannot be opened, or (gzip) it is not a gzip file at all.
    """
    family = _family_argument(family, schema)
    payloads = read_payloads(path, source=source, on_progress=on_progress)
    return validate_stored(
        payloads, family, api_version, require_hashed, now=now, coverage=coverage
    )


def validate_stored(
    payloads: Iterable[StoredPayload],
    family: str | None = None,
    api_version: str = DEFAULT_API_VERSION,
    require_hashed: bool = False,
    *,
    now: float | None = None,
    schema: str | None = None,
    coverage: bool = False,
) -> Iterator[FileResult]:
    """Validate stored payloads as read by pytt_events.stored.read_payloads: errors and
    warnings (event ages measured from `now`, default: now). `schema=` is the deprecated old
    name of family; coverage as in validate_file."""
    family = _family_argument(family, schema)  # warns now, not at the first payload
    return _validated(payloads, family, api_version, require_hashed, now, coverage)


def _validated(
    payloads: Iterable[StoredPayload],
    family: str | None,
    api_version: str,
    require_hashed: bool,
    now: float | None,
    coverage: bool = False,
) -> Iterator[FileResult]:
    checker = _Checker(api_version, require_hashed, True, now)
    # The fast path by a payload's keys, for the families whose schema makes the keys decide
    # detect_family (keys_decide): set from a payload it accepted, used for those it accepts.
    by_keys: dict[tuple[str, ...], _Quick] = {}
    decides: dict[str, bool] = {}
    new = object.__new__
    for stored in payloads:
        if stored.error is not None:
            yield FileResult(stored.source, stored.line, (Problem("", stored.error),), True)
            continue
        payload = stored.payload
        found = None
        if family is not None:
            quick = checker.quick_for(family)
            if quick is not None:
                found = quick(payload)
        elif type(payload) is dict:
            quick = by_keys.get(keys := tuple(payload))
            if quick is not None:
                found = quick(payload)
            else:
                detected = checker.family_of(payload)
                quick = checker.quick_for(detected)
                if detected is not None and quick is not None:
                    found = quick(payload)
                    if detected not in decides:
                        decides[detected] = checker.keys_decide(detected)
                    if found is not None and decides[detected] and len(by_keys) < 1024:
                        by_keys[keys] = quick
        if found is None:
            found = checker.problems(payload, family or checker.family_of(payload))
        # FileResult(...) without the frozen dataclass's field-by-field __init__ (the same
        # object): it is made for every payload of a file.
        result = new(FileResult)
        fields = result.__dict__
        fields["source"], fields["line"], fields["problems"] = stored.source, stored.line, found
        fields["unreadable"] = False
        fields["coverage"] = _coverage_of(payload, family, checker) if coverage else None
        yield result


def _coverage_of(payload: Any, family: str | None, checker: _Checker) -> Coverage | None:
    """The match-key coverage of a payload's events (None: it is of no request family, or its
    events are not a list)."""
    name = family or checker.family_of(payload)
    if name is None or type(payload) is not dict:
        return None
    try:
        return Coverage(_families.family(name, checker.api_version).match_keys(payload))
    except (KeyError, ValueError):
        return None
