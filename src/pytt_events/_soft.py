"""What TikTok takes but probably wastes: one check per warning mark of the schema, shared by
the models (which log each warning once per process) and stored-payload validation (which
reports each one, with severity "warning"). A warning never stops an event.

    x-expected-pattern   a documented shape              (ttclid, event_source_id by source)
    x-expected-values    names the enum of supported values       (SupportedCurrency)
    x-deprecated-values  names the enum of deprecated values, and its x-replacements
    x-max-age            seconds: an older Unix time is outside TikTok's match window
    x-max-ahead          seconds: a later time (Unix time, datetime or ISO 8601 string) is in
                         the future by more than clock skew explains  (event_time, timestamp)
    x-warn-given         any value given here warns; inside a rule between fields (if/then),
                         whose `if` says when                  (event_source "app")
    x-warn-unknown       an open object: keys it does not list      (custom properties)
    x-normalize          a raw value TikTok's code normalizes        (city, state, country),
                         a URL whose query carries raw personal data (page.url, referrer)

`x-message`, beside a mark, replaces the default message. Messages never repeat the value of a
field, except a deprecated event name (one of the schema's own constants).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from typing import Any

from pytt_events import _hashing
from pytt_events._constants import MAX_WARNINGS
from pytt_events._mark_registry import WARNING_MARKS

logger = logging.getLogger("pytt_events")

#: The marks this module checks on a value (x-warn-unknown is checked on an object).
VALUE_MARKS = WARNING_MARKS

#: The marks whose verdict moves with the clock (measured from `now`): no static schema can
#: state them, so stored-payload validation checks them in Python on every payload.
CLOCK_MARKS = ("x-max-age", "x-max-ahead")

#: The clock marks' checks, as a fast path inlines them for a whole number of seconds:
#: (sign, seconds, message): a problem when sign * (value - now) > seconds (-1: older than,
#: x-max-age; 1: further ahead than, x-max-ahead).
CLOCK_RULES: dict[Check, tuple[int, float, str]] = {}

_warned: set[tuple[str, ...]] = set()
_lock = threading.Lock()


def warn_once(key: tuple[str, ...], message: str) -> None:
    """Log message as a warning the first time key is seen in this process."""
    if key in _warned:  # the common case, without the lock (set membership is atomic)
        return
    with _lock:
        if key in _warned or len(_warned) > MAX_WARNINGS:
            return
        _warned.add(key)
        if len(_warned) > MAX_WARNINGS:
            message = f"{MAX_WARNINGS} different warnings were logged: no more will be"
    logger.warning("%s (this warning is logged once per process)", message)


#: What else remembers that it checked (and so warned about) something: cleared with _warned.
_forgetters: list[Callable[[], None]] = []


def on_forget(forget: Callable[[], None]) -> None:
    """Have forget_warnings call forget too (a cache of values already checked)."""
    _forgetters.append(forget)


def forget_warnings() -> None:
    """Forget which warnings were logged, so that each is logged again (tests)."""
    with _lock:
        _warned.clear()
    for forget in _forgetters:
        forget()


@lru_cache(maxsize=256)
def _pattern(text: str) -> re.Pattern[str]:
    return re.compile(text)


def _enum(document: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    definition: Mapping[str, Any] = document["$defs"][name]
    return definition


Check = Callable[[Any, "float | None"], "str | None"]


def check_value(
    mark: str,
    rule: Any,
    value: Any,
    document: Mapping[str, Any],
    message: str | None = None,
    now: float | None = None,
) -> str | None:
    """The warning a value earns under one mark (None: no warning). `message` is the
    x-message beside the mark, if any; `document` is the schema, for marks that name an enum.
    Values of a type the mark is not about earn nothing: type rules are the schema's."""
    key = (mark, rule, message, id(document))
    check = _compiled.get(key)
    if check is None:
        check = _compiled[key] = compile_check(mark, rule, document, message)
    return check(value, now)


# The schema documents are loaded once per API version and kept (functools.cache), so their
# ids stay valid; the marks of a schema are few.
_compiled: dict[tuple[str, Any, str | None, int], Check] = {}


def compile_check(
    mark: str, rule: Any, document: Mapping[str, Any], message: str | None = None
) -> Check:
    """check_value for one mark, its rule and message fixed: a function of (value, now), made
    once per place in the schema (stored-payload validation calls it for every value)."""
    if mark == "x-expected-pattern":
        match = _pattern(rule).match
        shape = message or f"does not have the documented shape {rule}; it is sent as given"

        def expected_pattern(value: Any, now: float | None) -> str | None:
            return shape if type(value) is str and value and not match(value) else None

        return expected_pattern
    if mark == "x-expected-values":
        allowed = frozenset(_enum(document, rule)["enum"])
        outside = message or (
            f"is not one of the {len(allowed)} values TikTok supports ({rule}); it is sent as given"
        )

        def expected_values(value: Any, now: float | None) -> str | None:
            value = getattr(value, "value", value)
            return outside if isinstance(value, str) and value and value not in allowed else None

        return expected_values
    if mark == "x-deprecated-values":
        replacements: Mapping[str, str] = _enum(document, rule).get("x-replacements", {})

        def deprecated_values(value: Any, now: float | None) -> str | None:
            value = getattr(value, "value", value)
            if isinstance(value, str) and value in replacements:
                return f"{value!r} is {replacements[value]}"
            return None

        return deprecated_values
    if mark == "x-max-age":
        days = rule // 86400
        old = message or (
            f"is more than {days} days old: TikTok matches events within {days} days, so it "
            "will probably not be matched; it is sent as given"
        )

        def max_age(value: Any, now: float | None) -> str | None:
            if type(value) in (int, float) and (now or time.time()) - value > rule:
                return old
            return None

        CLOCK_RULES[max_age] = (-1, rule, old)
        return max_age
    if mark == "x-max-ahead":
        ahead = message or (
            f"is more than {rule // 60} minutes in the future: an event cannot have happened "
            "yet, so this is probably a wrong clock, time zone or unit, and TikTok will probably "
            "not use it as intended; it is sent as given"
        )

        def max_ahead(value: Any, now: float | None) -> str | None:
            kind = type(value)
            if kind is int:  # the models' event_time, first: no call
                moment: float | None = value
            elif kind is dt.datetime and value.tzinfo is not None:  # the models' timestamp
                moment = value.timestamp()
            else:
                moment = _unix_time(value)
            if moment is not None and moment - (now or time.time()) > rule:
                return ahead
            return None

        CLOCK_RULES[max_ahead] = (1, rule, ahead)
        return max_ahead
    if mark == "x-warn-given":
        given = message or "is a value TikTok takes only in some cases; it is sent as given"
        return lambda value, now: given if rule is True and value is not None else None
    if mark == "x-normalize":
        return lambda value, now: _check_normalized(rule, value, message)
    return lambda value, now: None


def _unix_time(value: Any) -> float | None:
    """The Unix time of a moment as the schema's time fields carry it: a number of seconds,
    an aware datetime (the models), an ISO 8601 string with an offset (stored payloads); None
    for anything else (a naive or unreadable time earns no warning: the type and format rules
    are the schema's)."""
    kind = type(value)
    if kind is int or kind is float:
        return float(value)
    if isinstance(value, dt.datetime):
        return value.timestamp() if value.tzinfo is not None else None
    if kind is str:
        text = value.strip()
        if text[-1:] in ("Z", "z"):  # RFC 3339's UTC, which fromisoformat reads from 3.11 only
            text = text[:-1] + "+00:00"
        try:
            moment = dt.datetime.fromisoformat(text)
        except ValueError:
            return None
        return moment.timestamp() if moment.tzinfo is not None else None
    return None


def _check_normalized(kind: str, value: Any, message: str | None) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    if _hashing.is_sha256_hex(value):
        return (
            "looks like a SHA-256 digest, but TikTok takes this field raw (normalized, not "
            "hashed): it will probably not match"
        )
    normalized = _hashing.normalizer_for(kind)(value)
    if kind == "url":
        return (message or url_message()) if normalized != value else None
    if normalized != value:
        return message or (
            "is not normalized as TikTok's code does it (ASCII letters and digits only, "
            "lowercase); it is sent as given"
        )
    if kind == "country" and not _hashing.is_known_country(normalized):
        return unknown_country_message()
    return None


def url_message() -> str:
    """The warning for a URL whose query carries raw personal data (x-normalize: url)."""
    return (
        "has query parameters or other parts that carry raw personal data (an e-mail address "
        "or phone number, or a parameter named like one): the SDK removes them before anything "
        "is stored or sent (TikTok takes personal data only hashed, in user); the event is "
        "sent without them (a URL of nothing else, without its URL)"
    )


def unknown_country_message() -> str:
    return (
        "is neither an ISO 3166-1 alpha-2 code nor a country name; it is sent normalized "
        "(TikTok may not match it)"
    )


def unknown_keys(keys: Iterable[str], known: Iterable[str]) -> list[str]:
    """The keys of an open object (x-warn-unknown) that its schema does not list."""
    listed = set(known)
    return [key for key in keys if key not in listed]


def unknown_key_message(key: str) -> str:
    return f"{key!r} is not a field TikTok documents here; it is sent, but TikTok may ignore it"


#: A SHA-256 hex digest, as a JSON Schema pattern (is_sha256_hex).
SHA256_PATTERN = "^[0-9a-fA-F]{64}$"


def _strings(then: Mapping[str, Any]) -> dict[str, Any]:
    """A schema that holds a non-empty string to `then` (other values pass)."""
    return {"if": {"type": "string", "minLength": 1}, "then": dict(then)}


def quiet_schema(mark: str, rule: Any, document: Mapping[str, Any]) -> Any:
    """A JSON Schema that a value meets only if its check (compile_check) says nothing: a
    native validator decides the common case, and only a value that fails it is checked here.
    It may be stricter than the check (a value it refuses is merely checked in Python), never
    looser. False (always checked) for a mark with no static schema: the CLOCK_MARKS (their
    verdict moves with the clock), and x-normalize under a normalizer someone registered in
    place of the default one."""
    if mark == "x-expected-pattern":
        # re.match anchors at the start only; JSON Schema searches. Rust's `$` is stricter
        # than Python's (no final newline), which only sends more values to the check.
        return _strings({"pattern": f"^(?:{rule})"})
    if mark == "x-expected-values":
        allowed = [value for value in _enum(document, rule)["enum"] if isinstance(value, str)]
        return {"if": {"type": "string"}, "then": {"enum": [*allowed, ""]}}
    if mark == "x-deprecated-values":
        replaced = list(_enum(document, rule).get("x-replacements", {}))
        return {"not": {"enum": replaced}} if replaced else True
    if mark == "x-normalize":
        return _normalized_schema(rule)
    if mark == "x-warn-given":
        return {"type": "null"} if rule is True else True
    return False


def _normalized_schema(kind: str) -> Any:
    try:
        registered = _hashing.normalizer_for(kind)
    except KeyError:
        return False
    if registered is not _hashing.DEFAULT_NORMALIZERS.get(kind):
        return False
    not_digest = {"not": {"pattern": SHA256_PATTERN}}
    if kind == "url":
        # No query, fragment, "@", "+" or "%": nothing for without_personal_query to remove.
        return _strings({"pattern": "^[^@+?#%]*$", **not_digest})
    if kind == "location":
        return _strings({"pattern": "^[a-z0-9]*$", **not_digest})
    if kind == "country":
        letters = "abcdefghijklmnopqrstuvwxyz"
        codes = [a + b for a in letters for b in letters if _hashing.is_known_country(a + b)]
        return _strings({"enum": codes})
    return False
