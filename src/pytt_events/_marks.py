"""SchemaModel: the hand-written base class of every generated model.

The generator (see codegen/) emits one class per schema object, all deriving from SchemaModel.
SchemaModel turns the schema's extension marks, which the generator carries into
`json_schema_extra`, into behaviour, so a new schema brings its own rules with no code change:

    x-pii               personal data: validated and normalized by its normalizer (_hashing),
                        hidden from repr; hashed on the way out by the hashing hook
    x-normalize         normalized by its normalizer and sent raw (city, state, country);
                        "url": query parameters carrying raw personal data are removed, with
                        a warning naming the field (page.url, page.referrer)
    x-coerce            "string": a whole number becomes its string; "upper": upper case
    x-known-values      a string field whose standard values form an enum: they become members
    x-convert           "unix-seconds": a datetime, an ISO 8601 string with an offset, or a
                        time in milliseconds becomes whole Unix seconds
    x-default           "uuid4": a missing value is generated once, when the model is built
    x-check             "ip": the string must be an IPv4 or IPv6 address (kept as a string)
    x-min-properties    the object needs at least this many fields (JSON Schema minProperties)
    x-forbidden-properties  fields that must not appear (JSON Schema not/required)
    x-conditions        rules between fields (JSON Schema if/then): refusals raise, warnings
                        are logged (event_source_id must fit event_source; event_source app)
    x-expected-pattern, x-expected-values, x-deprecated-values, x-max-age, x-max-ahead,
    x-warn-given, x-warn-unknown
                        what TikTok takes but probably wastes: accepted, with a warning logged
                        once per process (see _soft)

It also hides input values from validation errors, reads naive datetimes as local time (as
Python does), treats an empty string given for personal data as absent, and applies the
compatibility fixes of _compat.
"""

from __future__ import annotations

import datetime as dt
import functools
import ipaddress
import logging
import math
import re
import sys
import uuid
from collections.abc import Callable, Iterator, Mapping
from enum import Enum
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    GetCoreSchemaHandler,
    TypeAdapter,
    ValidationError,
)
from pydantic_core import CoreSchema, InitErrorDetails, PydanticCustomError, core_schema

from pytt_events import _compat, _conditions, _hashing, _schema, _soft
from pytt_events._mark_registry import STRING_MARKS

if TYPE_CHECKING:
    from typing_extensions import Self

logger = logging.getLogger("pytt_events")

_HIDDEN = "<hidden>"


class _Marks:
    """What SchemaModel needs to know of one class, read once from its fields' marks."""

    __slots__ = (
        "after",
        "before",
        "checks",
        "coerce",
        "conditions",
        "convert",
        "datetimes",
        "defaults",
        "enums",
        "forbidden",
        "input_level",
        "known",
        "legacy",
        "messages",
        "min_properties",
        "model_level",
        "normalize",
        "pii",
        "soft",
        "soft_checks",
        "warn_unknown",
    )

    def __init__(self, model: type[SchemaModel]) -> None:
        self.pii: dict[str, str] = {}
        self.normalize: dict[str, str] = {}
        self.coerce: dict[str, str] = {}
        self.known: dict[str, str] = {}
        # field -> [(warning mark, its rule)], and the field's x-message
        self.soft: dict[str, list[tuple[str, Any]]] = {}
        # The compiled checks of soft, made on first use (the schema is loaded lazily).
        self.soft_checks: tuple[tuple[str, str, _soft.Check], ...] | None = None
        self.messages: dict[str, str] = {}
        self.convert: dict[str, str] = {}
        self.defaults: dict[str, str] = {}
        self.checks: dict[str, str] = {}
        self.enums: dict[str, type[Enum] | None] = {}
        self.datetimes: tuple[str, ...] = tuple(
            name
            for name, field in model.model_fields.items()
            if "datetime" in str(field.annotation).lower()
        )
        for name, field in model.model_fields.items():
            extra = field.json_schema_extra
            if not isinstance(extra, dict):
                continue
            for mark, attribute in STRING_MARKS.items():
                if isinstance(value := extra.get(mark), str):
                    getattr(self, attribute)[name] = value
            # x-normalize acts on the input (_normalize_raw); the other warning marks on values.
            soft = [
                (mark, extra[mark])
                for mark in _soft.VALUE_MARKS
                if mark in extra and mark != "x-normalize"
            ]
            if soft:
                self.soft[name] = soft
        config_extra = model.model_config.get("json_schema_extra")
        config_extra = config_extra if isinstance(config_extra, dict) else {}
        min_properties = config_extra.get("x-min-properties")
        self.min_properties = min_properties if isinstance(min_properties, int) else 0
        forbidden = config_extra.get("x-forbidden-properties")
        self.forbidden: tuple[str, ...] = (
            tuple(str(name) for name in forbidden) if isinstance(forbidden, list) else ()
        )
        self.warn_unknown = config_extra.get("x-warn-unknown") is True
        conditions = config_extra.get("x-conditions")
        self.conditions: list[Any] = conditions if isinstance(conditions, list) else []
        # Whether the model validators have anything to do for this class (most have not).
        self.before = bool(
            model.__name__ in _compat.LEGACY_INPUT
            or self.forbidden
            or self.datetimes
            or self.pii
            or self.normalize
            or self.coerce
            or self.convert
            or self.defaults
            or self.checks
        )
        self.after = bool(
            self.min_properties or self.known or self.soft or self.warn_unknown or self.conditions
        )
        self.legacy = _compat.LEGACY_INPUT.get(model.__name__)
        # Rules on the whole object: on the input (compatibility fixes, forbidden fields), by
        # one validator before the model; on the model built (minimum fields, unknown keys,
        # rules between fields), after it is built from input (see MarkedModel).
        self.input_level = bool(self.legacy or self.forbidden)
        self.model_level = bool(self.min_properties or self.warn_unknown or self.conditions)


class SchemaModel(BaseModel):
    """Base of every generated model: input values never appear in validation errors (not in
    their text, nor in `errors()`, `json()` or a chained exception), non-finite numbers (inf,
    NaN: not JSON) are refused, and personal data (x-pii) never shows in repr."""

    model_config = ConfigDict(hide_input_in_errors=True, allow_inf_nan=False)

    __marks__: ClassVar[_Marks]

    # Each raises the scrubbed error outside its except block (no __context__ holding the
    # input) and drops its own reference to the input first: tools that record the frames of
    # a traceback (pytest --showlocals, error trackers) find no raw value in ours.
    def __init__(self, /, **data: Any) -> None:
        try:
            # BaseModel.__init__'s own work, without its frame (a model returns itself).
            self.__pydantic_validator__.validate_python(data, self_instance=self)
        except ValidationError as error:
            scrubbed = scrub(error)
        else:
            return
        del data
        raise scrubbed

    # Not a custom __init__ to pydantic: a model given as a dict inside another is built by
    # pydantic-core directly, not through this method (its errors reach the outer call,
    # which scrubs them).
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]

    @classmethod
    def model_validate(cls, obj: Any, *args: Any, **kwargs: Any) -> Self:
        try:
            return super().model_validate(obj, *args, **kwargs)
        except ValidationError as error:
            scrubbed = scrub(error)
        del obj, args, kwargs
        raise scrubbed

    @classmethod
    def model_validate_json(cls, json_data: Any, *args: Any, **kwargs: Any) -> Self:
        try:
            return super().model_validate_json(json_data, *args, **kwargs)
        except ValidationError as error:
            scrubbed = scrub(error)
        del json_data, args, kwargs
        raise scrubbed

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls.__marks__ = _Marks(cls)

    def _check_model_rules(self, context: Any, /) -> None:
        """The rules on the whole model (MarkedModel), called by pydantic-core once the model
        is built from input (the core schema's post_init)."""
        _check_model(self)

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        pii = type(self).__marks__.pii
        for name, value in super().__repr_args__():
            yield name, (_HIDDEN if name in pii and value is not None else value)


def _model_schema_of(schema: Any) -> Any:
    """The "model" schema inside schema (under validator functions or definitions)."""
    while isinstance(schema, dict):
        if schema.get("type") == "model":
            return schema
        if schema.get("type") == "definitions":
            schema = schema.get("schema")
            continue
        schema = schema.get("schema")
    return None


def _field_before(cls: type[SchemaModel], name: str) -> Callable[[Any], Any] | None:
    """The before-validator of one field: its marks' steps on the raw input, in order
    (coerce, local time for a naive datetime, convert, default, check, personal data,
    normalize raw); None when it has none.

    Raises (the validator):
        ValidationError / ValueError: a check or a normalizer refused the value (located at
            the field, and the item of a list; the value hidden).
    """
    marks = cls.__marks__
    steps: list[Callable[[Any], Any]] = []
    if name in marks.coerce:
        steps.append(_COERCIONS[marks.coerce[name]])
    if name in marks.datetimes:
        steps.append(_local_time)
    if name in marks.convert:
        steps.append(_CONVERTERS[marks.convert[name]])
    if name in marks.defaults:
        steps.append(functools.partial(_default_if_none, _DEFAULTS[marks.defaults[name]]))
    if name in marks.checks:
        check, message = _CHECKS[marks.checks[name]], _CHECK_MESSAGES[marks.checks[name]]

        def checked(value: Any) -> Any:
            if isinstance(value, str) and not check(value):
                raise ValueError(message)
            return value

        steps.append(checked)
    if name in marks.normalize:
        mark = marks.normalize[name]
        steps.append(functools.partial(_normalize_raw, cls.__name__, name, mark))
    if not steps:
        return None
    if len(steps) == 1:
        return steps[0]
    if len(steps) == 2:  # the common pair (coerce, then personal data): one call less
        first, second = steps

        def pair(value: Any) -> Any:
            return second(first(value))

        return pair

    def before(value: Any) -> Any:
        for step in steps:
            value = step(value)
        return value

    return before


def _default_if_none(make: Callable[[], Any], value: Any) -> Any:
    return make() if value is None else value


def _local_time(value: Any) -> Any:
    """A naive datetime means local time, as everywhere in Python."""
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.astimezone()
    return value


def _field_after(cls: type[SchemaModel], name: str) -> Callable[[Any], Any] | None:
    """The after-validator of one field: a string that is one of the field's known values
    becomes its enum member (x-known-values), and what TikTok takes but probably wastes is
    logged as a warning, once per process (the warning marks); None when it has none."""
    marks = cls.__marks__
    known = marks.known.get(name)
    rules = marks.soft.get(name, [])
    if known is None and not rules:
        return None
    compiled: list[tuple[str, _soft.Check]] | None = None

    def after(value: Any) -> Any:
        nonlocal compiled
        if value is None or type(value) is _hashing.UnusableValue:
            return value
        if known is not None and isinstance(value, str) and not isinstance(value, Enum):
            value = _known_member(cls, name, known, value)
        if rules:
            if compiled is None:  # the schema is loaded on first use
                document = _schema.document_of(cls)
                text = marks.messages.get(name)
                compiled = [
                    (mark, _soft.compile_check(mark, rule, document, text)) for mark, rule in rules
                ]
            for mark, check in compiled:
                problem = check(value, None)
                if problem is not None:
                    # Deprecated names warn once each (the schema's constants); others once.
                    shown = getattr(value, "value", value) if mark == "x-deprecated-values" else ""
                    _soft.warn_once(
                        (cls.__name__, name, mark, str(shown)), f"{cls.__name__}.{name} {problem}"
                    )
        return value

    return after


def _input_rules(cls: type[SchemaModel]) -> Callable[[Any], Any]:
    """The validator before a model with rules on its input: compatibility fixes and
    forbidden fields, on a dict (an instance passes: it was validated when it was built).

    Raises (the validator):
        ValueError: a forbidden field is given.
    """
    marks = cls.__marks__

    def validate(data: Any) -> Any:
        if isinstance(data, dict):
            if marks.legacy is not None:
                data = marks.legacy(data)
            for name in marks.forbidden:
                if name in data:
                    raise ValueError(f"{name!r} is not allowed in {cls.__name__}")
        return data

    return validate


def _checked(model: SchemaModel) -> SchemaModel:
    _check_model(model)
    return model


def _check_model(model: SchemaModel) -> None:
    """The rules on a whole model built from input: minimum fields, unknown keys, rules
    between fields.

    Raises:
        ValueError: fewer fields than the schema's minProperties, a non-finite custom value,
            or a rule between fields (x-conditions) refuses the model.
    """
    cls = type(model)
    marks = cls.__marks__
    extra = model.__pydantic_extra__
    if marks.min_properties:
        needed = marks.min_properties - len(extra or ())
        if needed > 0:
            values = model.__dict__
            for name in model.__pydantic_fields_set__:
                if values.get(name) is not None:
                    needed -= 1
                    if not needed:
                        break
            else:
                names = ", ".join(cls.model_fields)
                raise ValueError(f"needs at least {marks.min_properties} of: {names}")
    if marks.warn_unknown and extra:
        for key, extra_value in extra.items():
            if not _finite(extra_value):
                raise ValueError(f"{key}: must be a finite number (inf and NaN are not JSON)")
        for key in _soft.unknown_keys(extra, cls.model_fields):
            _soft.warn_once(
                (cls.__name__, "x-warn-unknown", key),
                f"{cls.__name__}: {_soft.unknown_key_message(key)}",
            )
    if marks.conditions:
        _check_conditions(model)


def _coerce_string(value: Any) -> Any:
    """x-coerce "string": what a program naturally passes, as TikTok takes it: a whole number
    becomes its string, in lists too."""
    if type(value) is int:
        return str(value)
    if type(value) is list and any(type(item) is int for item in value):
        return [str(item) if type(item) is int else item for item in value]
    return value


def _coerce_upper(value: Any) -> Any:
    """x-coerce "upper": a string in upper case (without surrounding whitespace)."""
    if isinstance(value, str):
        upper = value.strip().upper()
        return upper if upper != value else value
    return value


_COERCIONS: dict[str, Callable[[Any], Any]] = {"string": _coerce_string, "upper": _coerce_upper}


def _normalize_raw(model: str, name: str, mark: str, value: Any) -> Any:
    """x-normalize: the value TikTok's code would send (None: absent); a country that is not
    a known code or name is kept, with a warning. Never refused."""
    if not isinstance(value, str):
        return value  # the field's own type check refuses it
    if _hashing.is_sha256_hex(value.strip()):
        _soft.warn_once(
            (model, name, "hashed"),
            f"{model}.{name} looks like a SHA-256 digest, but TikTok takes this field raw "
            "(normalized, not hashed): it will probably not match",
        )
    # The normalizer itself, not the memo of personal data: URLs hardly repeat, and would
    # push the customers' phone numbers out of it.
    normalized = _hashing.normalizer_for(mark)(value)
    if mark == "url":
        if not value:
            return value  # an empty URL stays, for its minLength to refuse
        if normalized != value:  # parts carrying raw personal data were removed (or all)
            _soft.warn_once(
                (model, name, "personal-query"), f"{model}.{name} {_soft.url_message()}"
            )
    if not normalized:
        return None  # emptied by normalization: absent
    if mark == "country" and not _hashing.is_known_country(normalized):
        _soft.warn_once(
            (model, name, "unknown-country"), f"{model}.{name} {_soft.unknown_country_message()}"
        )
    return normalized


def _check_conditions(model: SchemaModel) -> None:
    """x-conditions: the model's rules between fields, checked as JSON Schema on its fields.

    Raises:
        ValueError: a rule refuses the model (the message names the field and the rule).
    """
    cls = type(model)
    fields = model.model_dump(mode="json", exclude_none=True, include=_condition_fields(cls))
    check_fields(cls, fields)


def check_fields(cls: type[SchemaModel], fields: Mapping[str, Any]) -> None:
    """Check fields of a model of class cls (given as JSON values, e.g. the request-level
    fields of a request being planned) against the class's rules between fields
    (x-conditions): refusals raise, warnings are logged once per process.

    Raises:
        ValueError: a rule refuses the fields (the message names the field and the rule).
    """
    errors = _conditions.condition_problems(cls, cls.__marks__.conditions, fields)
    if errors:
        raise ValueError("; ".join(f"{path}: {message}" for path, message in errors))


def _condition_fields(model: type[SchemaModel]) -> set[str]:
    """The fields the model's x-conditions read (only those are dumped to check them)."""
    return set(_conditions.fields_read(model.__marks__.conditions)) & set(model.model_fields)


def _finite(value: Any) -> bool:
    """False for a float that is inf or NaN, anywhere in value (custom properties)."""
    if type(value) is float:
        return math.isfinite(value)
    if type(value) is dict:
        return all(_finite(item) for item in value.values())
    if type(value) is list:
        return all(_finite(item) for item in value)
    return True


def scrub(error: ValidationError) -> ValidationError:
    """The same validation error (types, locations, messages) without the input values, which
    pydantic keeps in `errors()` and `json()` even when it hides them from the text: frameworks
    log `errors()`, and error trackers record chained exceptions."""
    details: list[InitErrorDetails] = [
        InitErrorDetails(
            type=PydanticCustomError(item["type"], item["msg"]),
            loc=tuple(item["loc"]),
            input=None,
        )
        for item in error.errors(include_url=False, include_input=False, include_context=False)
    ]
    return ValidationError.from_exception_data(error.title, details, hide_input=True)


_AWARE = TypeAdapter(AwareDatetime)
_MAX_SECONDS = 9_999_999_999  # ten digits: beyond it, a time is in ms (or smaller units)


def _unix_seconds(value: Any) -> Any:
    """Whole Unix seconds from a datetime, an ISO 8601 string with an offset, a number of
    seconds or milliseconds; anything else is left for validation to refuse."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            value = int(text)
        else:
            try:
                value = _AWARE.validate_python(text)
            except ValidationError:
                return value
    if isinstance(value, dt.datetime):
        moment = value if value.tzinfo is not None else value.astimezone()
        return int(moment.timestamp())
    if isinstance(value, float) and value == value and abs(value) != float("inf"):
        value = int(value)
    if isinstance(value, int):
        while value > _MAX_SECONDS:
            value //= 1000
    return value


_CONVERTERS: dict[str, Any] = {"unix-seconds": _unix_seconds}
_DEFAULTS: dict[str, Any] = {"uuid4": lambda: str(uuid.uuid4())}


def _personal_data(mark: str, value: Any, handler: Any) -> Any:
    """The validator of a personal-data field (x-pii) around its own: an empty value is absent
    (None; an empty item of a list is left out), the rest is checked by the field's steps and
    type, then normalized (_normalize_pii). A value a model already found unusable (an Events
    1.0 event converted for /event/track/) stays as it is."""
    kind = type(value)
    if kind is str:  # the common case, first
        return None if _hashing.is_absent(value) else _normalize_pii(mark, handler(value))
    if kind is list:
        given = [
            (index, item)
            for index, item in enumerate(value)
            if not (isinstance(item, str) and _hashing.is_absent(item))
        ]
        if not given:
            return None
        return _normalize_pii(
            mark, handler([item for _, item in given]), [index for index, _ in given]
        )
    if kind is _hashing.UnusableValue or kind is _hashing.PartlyUsable:
        return value
    return _normalize_pii(mark, handler(value))


def _normalize_pii(mark: str, value: Any, positions: list[int] | None = None) -> Any:
    """The normalized form of a personal-data value (a string or a list of them). A value the
    normalizer refuses cannot be a match key: it becomes an UnusableValue (a string) and is
    left out of a list (PartlyUsable), with the reason, never the value; the planner leaves it
    out of the event with a warning (or refuses the event, with invalid_match_keys="refuse").
    positions: the place of each item of a list in the list given."""
    if type(value) is str:
        try:
            return _hashing.normalize(mark, value)
        except ValueError as error:
            return _hashing.UnusableValue(str(error))
    if type(value) is list:
        normalized: list[str] = []
        reasons: list[tuple[int, str]] = []
        for index, item in enumerate(value):
            try:
                normalized.append(_hashing.normalize(mark, item))
            except ValueError as error:
                reasons.append((positions[index] if positions else index, str(error)))
        if not reasons:
            return normalized
        if not normalized:
            return _hashing.UnusableValue("; ".join(f"item {i}: {why}" for i, why in reasons))
        return _hashing.PartlyUsable(normalized, tuple(reasons))
    return value  # None


def unusable_values(model: BaseModel, path: str = "") -> list[tuple[str, str]]:
    """(path, reason) of each personal-data value in model (and the models in it) that cannot
    be a match key, in field order: a list's item is located by its position in the list
    given ("user.phone.1")."""
    found: list[tuple[str, str]] = []
    for name in type(model).model_fields:
        value = getattr(model, name)
        where = f"{path}{name}"
        if type(value) is _hashing.UnusableValue:
            found.append((where, value.reason))
        elif type(value) is _hashing.PartlyUsable:
            found += [(f"{where}.{index}", reason) for index, reason in value.reasons]
        elif isinstance(value, BaseModel):
            found += unusable_values(value, f"{where}.")
        elif type(value) is list:
            for index, item in enumerate(value):
                if isinstance(item, BaseModel):
                    found += unusable_values(item, f"{where}.{index}.")
    return found


def _known_member(model: type[SchemaModel], field: str, enum_name: str, value: str) -> Any:
    enums = model.__marks__.enums
    if field not in enums:
        # The enum sits in the generated module that defined the field (a subclass may live
        # elsewhere, e.g. pytt_events.event.Event): found once, then remembered.
        enums[field] = None
        for klass in model.__mro__:
            enum = getattr(sys.modules.get(klass.__module__), enum_name, None)
            if isinstance(enum, type) and issubclass(enum, Enum):
                enums[field] = enum
                break
    enum = enums[field]
    if enum is None:
        return value
    member = enum._value2member_map_.get(value)
    return member if member is not None else value


_IPV4 = re.compile(
    r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}"
)


def _is_ip(value: str) -> bool:
    """IPv4 (dotted, no leading zeros) or IPv6 without a zone, as JSON Schema's formats say."""
    if ":" not in value:
        return _IPV4.fullmatch(value) is not None
    try:
        return not ipaddress.IPv6Address(value).scope_id
    except ValueError:
        return False


_CHECKS: dict[str, Any] = {"ip": _is_ip}
_CHECK_MESSAGES = {"ip": "not a valid IPv4 or IPv6 address"}


_COMPILED = "pytt_events_marks_compiled"


# Last: building the class calls its __get_pydantic_core_schema__, which uses the functions above.
class MarkedModel(SchemaModel):
    """Base of the generated models whose schema carries marks (codegen picks it per model):
    the marks become validation and compatibility fixes. Models without marks stay on
    SchemaModel and pay nothing for these validators.

    The marks are compiled into the model's core schema when pydantic builds it: each marked
    field gets a validator of its own (before: coerce, convert, default, check, normalize the
    personal data; after: known values, warnings), run only when the field is given, and a
    model with rules on the whole object (compatibility fixes, forbidden or minimum fields,
    unknown keys, rules between fields) gets one validator around it. An instance given as a
    field of another model is taken as it is: it was validated when it was built.
    """

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: type[BaseModel], handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        schema = handler(source)
        marks = cls.__dict__.get("__marks__")
        if not isinstance(marks, _Marks):
            marks = _Marks(cls)
            cls.__marks__ = marks
        model_schema = _model_schema_of(schema)
        if model_schema is None:  # pragma: no cover - pydantic always builds one for a model
            return schema
        metadata = model_schema.setdefault("metadata", {})
        if metadata.get(_COMPILED) is cls:
            # The class's schema, already compiled, given again for a field of another
            # model: compiled once (its validators would otherwise run twice there).
            return schema
        metadata[_COMPILED] = cls
        fields = model_schema["schema"].get("fields", {})
        for name, field in fields.items():
            # A field with a default: its validators go inside the default, which stays
            # outermost (a field not given takes its default, unvalidated, as in pydantic).
            holder = field["schema"] if field["schema"].get("type") == "default" else field
            if holder is not field and name in marks.defaults:
                # x-default: a missing field gets a generated value too, not only a None.
                holder.pop("default", None)
                holder["default_factory"] = _DEFAULTS[marks.defaults[name]]
            before = _field_before(cls, name)
            if before is not None:
                holder["schema"] = core_schema.no_info_before_validator_function(
                    before, holder["schema"]
                )
            if name in marks.pii:
                holder["schema"] = core_schema.no_info_wrap_validator_function(
                    functools.partial(_personal_data, marks.pii[name]), holder["schema"]
                )
            after = _field_after(cls, name)
            if after is not None:
                holder["schema"] = core_schema.no_info_after_validator_function(
                    after, holder["schema"]
                )
            if name in marks.pii:
                # Hashed as it is serialized for the wire (_hashing.WireContext): no walk after.
                holder["schema"] = {
                    **holder["schema"],
                    "serialization": core_schema.plain_serializer_function_ser_schema(
                        functools.partial(_hashing.wire_value, marks.pii[name]),
                        info_arg=True,
                        when_used="unless-none",
                    ),
                }
        if marks.model_level:
            if model_schema.get("post_init") is None:
                # Called by pydantic-core on a model built from input only: an instance given
                # as a field of another model is not checked again.
                model_schema["post_init"] = "_check_model_rules"
            else:  # a subclass with a model_post_init of its own: checked after it
                schema = core_schema.no_info_after_validator_function(_checked, schema)
        if marks.input_level:
            schema = core_schema.no_info_before_validator_function(_input_rules(cls), schema)
        return schema
