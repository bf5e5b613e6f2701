"""Request families: the kinds of request body an API version has (v1.3: pixel_track,
pixel_batch, event_track), as objects read from the schema's marks, never written in code.

    x-family     the family's name            x-endpoint  its path (under base URL and version)
    x-events     the array holding its events (its maxItems: the per-request maximum)
    x-group-by   its request-level keys: events sharing their values can share a request
    x-single     the family whose body carries one of its events alone, with the request-level
                 keys: a pixel_batch item becomes a pixel_track body. Families with the same
                 single family take events of the same shape (their "shape").

A Family knows its models, tells whether a body is one of its own (`detect`), takes a body
apart into its request-level fields and its events and puts it back together (`split`, `join`,
`single`), and checks request-level fields (`check_top`). Planning (_plan) is written once on
top of these, for every family.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

from pytt_events import _conditions, _coverage, _generated, _schema
from pytt_events._constants import DEFAULT_API_VERSION
from pytt_events._exceptions import PayloadValidationError

# pydantic and the warning marks (_soft, which loads the phone number metadata) are imported
# where used: `pytt_events.schema` and the CLI's help read the families without them.
if TYPE_CHECKING:
    from pydantic import BaseModel, TypeAdapter, ValidationError

#: Hand-written subclasses of generated models that the SDK builds instead of their parent
#: (v1.3: Event for PixelTrackRequest): see public_model.
_PUBLIC_MODELS: dict[type[BaseModel], type[BaseModel]] = {}


def public_model(cls: type[BaseModel]) -> type[BaseModel]:
    """Register cls, a hand-written subclass of a generated model, as the model the SDK builds
    for its parent (a class decorator), so that what the SDK gives back has its methods."""
    _PUBLIC_MODELS[cls.__mro__[1]] = cls
    return cls


@dataclass(frozen=True, eq=False)
class Family:
    """One kind of request body of one API version (see the module docstring)."""

    name: str
    api_version: str
    #: The $defs entry of the body.
    definition: str
    endpoint: str
    #: The array property holding the events, and its maxItems (None for one-event bodies).
    events_key: str | None
    max_events: int | None
    #: The $defs entry of one item of events_key.
    item_definition: str | None
    group_by: tuple[str, ...]
    #: The name of the family whose body carries one event alone (see x-single).
    shape: str
    properties: tuple[str, ...]
    required: frozenset[str]

    def __repr__(self) -> str:
        return f"Family({self.name!r}, {self.api_version!r})"

    # -- models ---------------------------------------------------------------------------

    @functools.cached_property
    def model(self) -> type[BaseModel]:
        """The generated model of the whole body."""
        model: type[BaseModel] = getattr(_schema.models_module(self.api_version), self.definition)
        return model

    @functools.cached_property
    def conditions(self) -> list[Any]:
        """The body model's rules between fields (x-conditions: codegen carries the schema's
        if/then rules there), as the model engine reads them."""
        extra = self.model.model_config.get("json_schema_extra")
        found = extra.get("x-conditions") if isinstance(extra, dict) else None
        return found if isinstance(found, list) else []

    @functools.cached_property
    def single_family(self) -> Family:
        return family(self.shape, self.api_version)

    @functools.cached_property
    def event_definition(self) -> str:
        """The $defs entry of one event as callers give it: the single family's item, or its
        whole body when it carries one event (a pixel_batch event is a pixel_track body)."""
        single = self.single_family
        return single.item_definition or single.definition

    @functools.cached_property
    def event_model(self) -> type[BaseModel]:
        """The model the SDK builds for one event of this family (a hand-written subclass
        where one is registered: v1.3's Event)."""
        generated: type[BaseModel] = getattr(
            _schema.models_module(self.api_version), self.event_definition
        )
        return _PUBLIC_MODELS.get(generated, generated)

    def holds(self, event: object) -> bool:
        """Whether event is a model of this family's event shape, of any API version (the
        generated class of the same $defs entry is in its ancestry)."""
        from pydantic import BaseModel

        return isinstance(event, BaseModel) and any(
            klass.__name__ == self.event_definition
            and klass.__module__.startswith(_generated.__name__ + ".")
            for klass in type(event).__mro__
        )

    # -- bodies ---------------------------------------------------------------------------

    def split(self, body: Mapping[str, Any]) -> tuple[dict[str, Any], list[Any]]:
        """A body as its request-level fields and its events (a one-event body: no
        request-level fields, and itself as its one event).

        Raises:
            ValueError: the body's events are not a list.
        """
        if self.events_key is None:
            return {}, [dict(body)]
        events = body.get(self.events_key)
        if not isinstance(events, list):
            raise ValueError(f"a {self.name} body holds its events in a list: {self.events_key}")
        top = {key: value for key, value in body.items() if key != self.events_key}
        return top, list(events)

    def join(self, top: Mapping[str, Any], events: Sequence[Any]) -> dict[str, Any]:
        """The body of request-level fields and events (the inverse of split)."""
        if self.events_key is None:
            if len(events) != 1:
                raise ValueError(f"a {self.name} body carries exactly one event")
            return {**top, **events[0]} if top else dict(events[0])
        return {**top, self.events_key: list(events)}

    def single(self, top: Mapping[str, Any], event: Any) -> Any:
        """One event of a body of this family as a body of its own (of the single family),
        so it can be stored and sent again: a batch item becomes a /pixel/track/ body, a 2.0
        event a one-event /event/track/ body. Keys only this family's items have (a batch
        item's `type`) are left out."""
        single = self.single_family
        if isinstance(event, Mapping) and single is not self:
            dropped = _item_only_keys(self.name, self.api_version)
            event = {key: value for key, value in event.items() if key not in dropped}
        if not isinstance(event, Mapping) and single.events_key is None:
            return event  # not an object: left for validation to refuse
        return single.join(top, [event])

    def events_in_shape(self, body: Mapping[str, Any]) -> tuple[dict[str, Any], list[Any]]:
        """A body's events in their event shape (see event_model), and the request-level
        fields they do not carry themselves: a batch's items become pixel_track bodies (which
        carry pixel_code), an /event/track/ body's events stay as they are, beside its
        request-level fields."""
        top, events = self.split(body)
        if self.single_family.events_key is None:
            return {}, [self.single(top, event) for event in events]
        return top, events

    def events_of(self, body: Mapping[str, Any]) -> list[Any]:
        """The events of a body of this family."""
        return self.split(body)[1]

    @functools.cached_property
    def match_key_plan(self) -> _coverage.KeyPlan:
        """Where the match keys (x-match-key) sit in one event of this family."""
        return _schema.match_key_plan(self.event_definition, self.api_version)

    def match_keys(self, body: Mapping[str, Any]) -> tuple[int, ...]:
        """The match keys each event of a body of this family carries, as _coverage's bits
        (an event that is not an object carries none).

        Raises:
            ValueError: the body's events are not a list.
        """
        plan = self.match_key_plan
        return tuple(_coverage.keys_in(event, plan) for event in self.split(body)[1])

    # -- request-level fields ---------------------------------------------------------------

    def check_top(self, top: Mapping[str, Any], where: str = "") -> dict[str, Any]:
        """Request-level fields checked against the body's schema (each field's type, required
        fields, the rules between fields), as JSON values (an enum member becomes its value).

        Raises:
            PayloadValidationError: a field is missing, invalid, or refused by a rule between
                fields (a pixel code as an app's event_source_id); nothing names its value.
        """
        try:
            # By type too: 1, 1.0 and True are equal, but not the same value to send.
            memo = tuple((type(value), value) for value in map(top.get, self.group_by))
            known = _CHECKED.get((self, memo))
        except TypeError:  # a value that cannot be a key: checked every time
            memo, known = None, None
        if known is not None:
            return dict(known)
        from pydantic import ValidationError

        checked: dict[str, Any] = {}
        problems: list[tuple[str, str]] = []
        for key in self.group_by:
            value = top.get(key)
            if value is None or value == "":
                if key in self.required:
                    problems.append((f"{where}{key}", "required"))
                continue
            adapter = _field_adapter(self.name, self.api_version, key)
            try:
                checked[key] = adapter.dump_python(adapter.validate_python(value), mode="json")
            except ValidationError as error:
                problems.append((f"{where}{key}", _reason(self, key, error)))
        if not problems:
            for key, reason in _conditions.condition_problems(self.model, self.conditions, checked):
                problems.append((f"{where}{key}", reason))
        if problems:
            text = "; ".join(f"{path}: {reason}" for path, reason in problems)
            raise PayloadValidationError(text, problems)
        if memo is not None:
            _forget_with_warnings()
            if len(_CHECKED) >= _MAX_CHECKED:
                _CHECKED.clear()
            _CHECKED[(self, memo)] = checked
        return dict(checked)


#: Request-level fields already checked and found good (their checked values), by family and
#: values: the same pixel or app is checked once, not once per call. Bounded; forgotten with
#: the warnings (_soft.forget_warnings), so that their warnings are logged again.
_CHECKED: dict[tuple[Family, tuple[Any, ...]], dict[str, Any]] = {}
_MAX_CHECKED = 4096


@functools.cache
def _forget_with_warnings() -> None:
    """Have _soft.forget_warnings clear _CHECKED too: registered once, before _CHECKED first
    holds anything (_soft is not imported before it is needed)."""
    from pytt_events import _soft

    _soft.on_forget(_CHECKED.clear)


def _reason(owner: Family, key: str, error: ValidationError) -> str:
    """Why a request-level value is refused: the schema's enum when it has one (the values are
    the schema's, not the caller's), else pydantic's reason."""
    document = _schema.load_schema(owner.api_version)
    node = _schema.resolve(document, document["$defs"][owner.definition]["properties"][key])
    if "enum" in node:
        return "must be one of " + ", ".join(repr(value) for value in node["enum"])
    return str(error.errors(include_input=False, include_url=False)[0]["msg"])


@functools.cache
def _field_adapter(name: str, api_version: str, key: str) -> TypeAdapter[Any]:
    """A validator of one request-level field of a family's body model."""
    from pydantic import TypeAdapter

    field = family(name, api_version).model.model_fields[key]
    # The FieldInfo as metadata carries the field's constraints (minLength, pattern, ...).
    annotation: Any = Annotated[field.annotation, field]
    return TypeAdapter(annotation)


@functools.cache
def _item_only_keys(name: str, api_version: str) -> frozenset[str]:
    """The keys of a family's item that its single family's body does not have."""
    owner = family(name, api_version)
    if owner.item_definition is None or owner.shape == name:
        return frozenset()
    document = _schema.load_schema(api_version)
    item = document["$defs"][owner.item_definition].get("properties", {})
    return frozenset(item) - frozenset(owner.single_family.properties)


def families(api_version: str = DEFAULT_API_VERSION) -> Mapping[str, Family]:
    """The request families (x-family) of an API version, by name, in schema order: the same
    objects on every call.

    Raises:
        UnknownApiVersionError: this build has no schema for api_version.
    """
    return _families_of(api_version)


@functools.cache
def _families_of(api_version: str) -> Mapping[str, Family]:
    document = _schema.load_schema(api_version)
    found: dict[str, Family] = {}
    for definition, node in document["$defs"].items():
        name = node.get("x-family")
        if not isinstance(name, str):
            continue
        properties = node.get("properties", {})
        events_key = node.get("x-events")
        max_events = item_definition = None
        if isinstance(events_key, str):
            array = properties[events_key]
            max_events = array.get("maxItems")
            item_definition = array["items"]["$ref"].removeprefix("#/$defs/")
        else:
            events_key = None
        group_by = node.get("x-group-by")
        if group_by is None:  # default: every property but the events
            group_by = [key for key in properties if key != events_key] if events_key else []
        found[name] = Family(
            name=name,
            api_version=api_version,
            definition=definition,
            endpoint=node["x-endpoint"],
            events_key=events_key,
            max_events=max_events,
            item_definition=item_definition,
            group_by=tuple(group_by),
            shape=node.get("x-single", name),
            properties=tuple(properties),
            required=frozenset(node.get("required", ())),
        )
    return found


def warm_up(api_version: str = DEFAULT_API_VERSION) -> None:
    """Build now what planning events of api_version builds on first use: the version's
    models (imported), each family's validators of request-level fields, its personal-data and
    warning plans (the marks' patterns compiled), and the validators of the models' rules
    between fields (x-conditions, see _conditions.warm_up: this imports jsonschema-rs and
    jsonschema) with their warning checks; and the phone metadata of every region (see
    _hashing.load_phone_metadata). Sends nothing, logs nothing; a second call costs next to
    nothing.

    Raises:
        UnknownApiVersionError: this build has no schema for api_version.
    """
    from pydantic import BaseModel

    from pytt_events import _hashing

    known = families(api_version)
    module = _schema.models_module(api_version)
    document = _schema.load_schema(api_version)
    models = [
        model
        for model in vars(module).values()
        if isinstance(model, type)
        and issubclass(model, BaseModel)
        and model.__module__ == module.__name__
    ]
    models += [public for generated, public in _PUBLIC_MODELS.items() if generated in models]
    for model in models:  # each built when its module was imported
        marks = getattr(model, "__marks__", None)
        if marks is not None and marks.conditions:
            _conditions.warm_up(marks.conditions, document)
    for owner in known.values():
        for key in owner.group_by:
            _field_adapter(owner.name, api_version, key)
        _schema.pii_plan(owner.event_definition, api_version)
        # Compiles every warning mark's pattern once (the models' checks share the cache).
        _schema.warning_plan(owner.definition, api_version)
        _schema.warning_plan(owner.event_definition, api_version)
        _item_only_keys(owner.name, api_version)
    _distinctive(api_version)
    _hashing.load_phone_metadata()


def family(name: str, api_version: str = DEFAULT_API_VERSION) -> Family:
    """One request family of an API version.

    Raises:
        UnknownApiVersionError: this build has no schema for api_version.
        KeyError: the schema of that version has no such family.
    """
    known = families(api_version)
    try:
        return known[name]
    except KeyError:
        raise KeyError(
            f"schema {api_version} has no request family {name!r}; known: {', '.join(known)}"
        ) from None


def carrier(shape: str, api_version: str = DEFAULT_API_VERSION, *, many: bool) -> Family:
    """The family that sends events of a shape: one at a time (the shape's own family), or
    many (the family of that shape with an events array: pixel_track -> pixel_batch)."""
    single = family(shape, api_version)
    if not many or single.events_key is not None:
        return single
    for candidate in families(api_version).values():
        if candidate.shape == shape and candidate.events_key is not None:
            return candidate
    return single


@functools.cache
def _distinctive(api_version: str) -> Mapping[str, frozenset[str]]:
    """Each family's keys that no other family of the version has."""
    known = families(api_version)
    return {
        name: frozenset(owner.properties).difference(
            *(other.properties for other in known.values() if other is not owner)
        )
        for name, owner in known.items()
    }


def detect(body: Any, api_version: str = DEFAULT_API_VERSION) -> Family | None:
    """The family a body's keys say it is, or None (not an object, or no key of any family).

    A body whose family's events key (x-events: batch, data) holds a list is of that family.
    Otherwise the family with the most keys of its own (keys no other family has: event_track's
    event_source, pixel_batch's batch, pixel_track's event) wins, the later in the schema on a
    tie; a body with only shared keys (pixel_code) is of the one-event family that has them.
    """
    if not isinstance(body, Mapping):
        return None
    known = families(api_version)
    for owner in known.values():  # a body holding events in a family's events key is its
        if owner.events_key is not None and isinstance(body.get(owner.events_key), list):
            return owner
    keys = body.keys()
    best: Family | None = None
    best_score = 0
    for name, own in _distinctive(api_version).items():
        score = len(own & keys)
        if score and score >= best_score:
            best, best_score = known[name], score
    if best is not None:
        return best
    for owner in known.values():
        if owner.events_key is None and keys & set(owner.properties):
            return owner
    return None


def events_of(body: Any, api_version: str = DEFAULT_API_VERSION) -> list[Any]:
    """The events a request body carries (see Family.split); none for what is not an object,
    the body itself for an object of no known family."""
    owner = detect(body, api_version)
    if owner is None or (owner.events_key and not isinstance(body.get(owner.events_key), list)):
        return [body] if isinstance(body, Mapping) else []
    return owner.events_of(body)
