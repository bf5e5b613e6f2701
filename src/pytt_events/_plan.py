"""From events to planned requests, with no I/O, for every request family alike.

    prepare_events(items, family)   the whole job, in one pass over the events (and
    plan_of(prepared, auth)         step 5, the HTTP requests, when they are sent):
      1. coerce   each event to the family's event model (a mapping is validated; an Events
                  1.0 event sent through /event/track/ is converted: the one conversion step)
      2. hash     each event's personal data, by the schema's personal-data plan (x-pii), in
                  the walk that also drops what means "absent" (None, "")
      3. group    by the family's request-level keys (x-group-by), checked once per group
      4. chunk    at most the family's maximum events per request (x-events' maxItems), and
                  at most REQUEST_BYTE_BUDGET bytes of JSON per request: past it, a new
                  request starts; an event too big for a request of its own is refused
      5. build    the requests (URL, headers, compact JSON): every retry resends these bytes

The families (_families) say everything that differs between pixel_track, pixel_batch and
event_track; nothing here names one but the 1.0 -> 2.0 conversion (CONVERSIONS) and, at the
end, the helpers that build the bodies of one family (for tests, benchmarks, normalize_data).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ValidationError
from pydantic_core import to_json

from pytt_events import _families, _marks, _schema, _soft
from pytt_events._constants import DEFAULT_API_VERSION, REQUEST_BYTE_BUDGET
from pytt_events._coverage import Coverage, keys_in
from pytt_events._exceptions import ConfigurationError, PayloadValidationError
from pytt_events._families import Family
from pytt_events._hashing import PersonalDataError, PiiPlan, WireContext, clean_payload
from pytt_events._response import InvalidPayload
from pytt_events._transport import HttpRequest, build_request
from pytt_events.auth import TikTokAuth

#: What becomes of an event holding a personal-data value that cannot be a match key: "drop"
#: (the value is left out, the event sent with its other keys) or "refuse" (the event is).
InvalidMatchKeys = Literal["drop", "refuse"]


@dataclass
class Record:
    """What planning notes of each event, by input position: its event_id, and the match keys
    left out of it (values that cannot be match keys), as "path: reason". own_event_ids: an
    event without an event_id is given a new uuid4."""

    own_event_ids: bool = False
    event_ids: dict[int, str | None] = field(default_factory=dict)
    dropped: dict[int, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Top:
    """Request-level fields given by the caller (track's event_source, a stored body's own),
    and where their errors are reported. They win over what an event says."""

    fields: Mapping[str, Any]
    where: str = ""


@dataclass(frozen=True, slots=True)
class Item:
    """One event to plan: its position in the caller's input, the event (a model or a mapping
    in the shape of `given`, see plan), the prefix of its error paths, its request-level
    fields."""

    index: int
    value: Any
    where: str = ""
    top: Top | None = None


class Chunk:
    """One request body, and the positions in the caller's input of the events it carries.

    A full request made while many events are planned keeps only the body as sent (content:
    compact JSON), not its dicts: a bulk send of 100,000 events holds bytes, not millions of
    containers. `body` is then read back from those bytes when asked for (isolating a refused
    request, storing its events): a dict equal to the one serialized.
    """

    __slots__ = ("_body", "_masks", "_top", "content", "family", "indices")

    def __init__(
        self,
        indices: tuple[int, ...],
        body: dict[str, Any] | None,
        family: Family,
        content: bytes | None = None,
        top: dict[str, Any] | None = None,
        masks: tuple[int, ...] | None = None,
    ) -> None:
        if body is None and content is None:
            raise ValueError("a chunk needs its body or its content")
        self.indices = indices
        self.family = family
        #: The body as sent (compact JSON), when chunking measured it: not serialized again.
        self.content = content
        self._body = body
        self._top = top
        self._masks = masks

    @property
    def match_keys(self) -> tuple[int, ...]:
        """The match keys each of its events carries (as _coverage's bits, in the order of
        indices): worked out when the events were prepared, or else read from the body."""
        if self._masks is None:
            self._masks = self.family.match_keys(self.body)
        return self._masks

    @property
    def coverage(self) -> Coverage:
        """The match-key coverage of its events (pytt_events.coverage)."""
        return Coverage(self.match_keys)

    @property
    def top(self) -> dict[str, Any]:
        """The body's request-level fields (known when it was made: not read back from its
        bytes; a body of one event without an events key has none)."""
        if self._top is None:
            self._top = self.family.split(self.body)[0]
        return self._top

    @property
    def body(self) -> dict[str, Any]:
        if self._body is None:
            self._body = json.loads(self.content or b"{}")
        return self._body

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Chunk):
            return NotImplemented
        return (self.indices, self.family, self.body) == (other.indices, other.family, other.body)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Chunk(indices={self.indices!r}, family={self.family!r}, body={self.body!r})"

    @property
    def events_key(self) -> str | None:
        """The body's key holding its events (None: the body is one event)."""
        return self.family.events_key

    def part(self, start: int, stop: int) -> Chunk:
        """The request of the events start to stop (positions in this chunk) alone: the same
        request-level fields, those events (already hashed: hashing is not repeated)."""
        top, events = self.family.split(self.body)
        return Chunk(
            self.indices[start:stop], self.family.join(top, events[start:stop]), self.family,
            top=top, masks=self.match_keys[start:stop],
        )  # fmt: skip

    def single_payloads(self) -> list[Any]:
        """Each event of the body as a request body of its own (as sent: hashed), so it can be
        stored and sent again (see Family.single)."""
        if self.family.events_key is None:
            return [self.body]
        top, events = self.family.split(self.body)
        return [self.family.single(top, event) for event in events]


@dataclass(frozen=True)
class PlannedRequest:
    """A request ready to send, and the events (by input position) it carries."""

    chunk: Chunk
    request: HttpRequest

    @property
    def body(self) -> dict[str, Any]:
        return self.chunk.body


@dataclass(frozen=True)
class PreparedEvents:
    """Events validated and hashed, as request bodies grouped the way their family groups them
    (at most its maximum and REQUEST_BYTE_BUDGET bytes a body), with each event's id: what a
    client's prepare_* methods give and send_prepared sends. No HTTP request is built.

    requests: one Chunk per request body (`.content` the bytes to send, `.body` the dict,
    `.indices` the input positions of its events, `.family` the family, `.single_payloads()`
    each event as a body of its own). invalid: stored payloads left out as invalid
    (prepare_payloads with skip_invalid). dropped_keys and event_ids: by input position.
    """

    requests: tuple[Chunk, ...]
    caller: str
    invalid: tuple[InvalidPayload, ...] = ()
    dropped_keys: Mapping[int, tuple[str, ...]] = field(default_factory=dict)
    event_ids: Mapping[int, str | None] = field(default_factory=dict)

    @property
    def events(self) -> int:
        """How many events the bodies carry."""
        return sum(len(chunk.indices) for chunk in self.requests)

    @property
    def coverage(self) -> Coverage:
        """The match-key coverage of the events the bodies carry (pytt_events.coverage):
        each key counted as it is sent (a value left out as unusable does not count)."""
        coverage = Coverage()
        for chunk in self.requests:
            coverage += chunk.coverage
        return coverage

    def single_payloads(self) -> list[tuple[int, str | None, Any]]:
        """(input position, event_id, the event as a request body of its own) for every event,
        request by request: what a queue of one event a message keeps."""
        return [
            (index, self.event_ids.get(index), body)
            for chunk in self.requests
            for index, body in zip(chunk.indices, chunk.single_payloads(), strict=True)
        ]


@dataclass(frozen=True)
class Plan:
    """Prepared events with the HTTP request that sends each body, in order."""

    requests: tuple[PlannedRequest, ...]
    prepared: PreparedEvents

    @property
    def caller(self) -> str:
        return self.prepared.caller

    @property
    def invalid(self) -> tuple[InvalidPayload, ...]:
        """The stored payloads left out as invalid."""
        return self.prepared.invalid

    @property
    def dropped(self) -> Mapping[int, tuple[str, ...]]:
        """The events sent with match keys left out, by input position (see PreparedEvents)."""
        return self.prepared.dropped_keys

    @property
    def event_ids(self) -> Mapping[int, str | None]:
        return self.prepared.event_ids

    @property
    def events(self) -> int:
        return self.prepared.events

    @property
    def coverage(self) -> Coverage:
        return self.prepared.coverage


def prepare_events(
    items: Iterable[Item],
    family: Family,
    *,
    caller: str,
    given: Family | None = None,
    top: Top | None = None,
    hash_values: bool = True,
    invalid: Sequence[InvalidPayload] = (),
    unusable: InvalidMatchKeys = "drop",
    own_event_ids: bool = False,
) -> PreparedEvents:
    """The request bodies that send items through family (see the module docstring).

    Mappings are read in the event shape of `given` (default: family's own); model instances
    by their own class. `top`: request-level fields for every item without its own (checked
    first, even when there are no items). `unusable`: what becomes of an event with a
    personal-data value that cannot be a match key: "drop" leaves the value out (warned once
    per process, listed in dropped_keys), "refuse" refuses the event. own_event_ids: an event
    without an event_id gets a new uuid4 (a queue that may send it again needs one).

    Raises:
        PayloadValidationError: an event or a request-level field is invalid; nothing is
            prepared.
    """
    record = Record(own_event_ids=own_event_ids)
    chunks = plan_bodies(
        items, family, given=given, top=top, hash_values=hash_values, unusable=unusable,
        record=record,
    )  # fmt: skip
    return PreparedEvents(tuple(chunks), caller, tuple(invalid), record.dropped, record.event_ids)


def plan_of(prepared: PreparedEvents, auth: TikTokAuth) -> Plan:
    """The HTTP requests that send prepared bodies with auth's credentials.

    Raises:
        ConfigurationError: the bodies were prepared for another API version than auth's.
    """
    version = auth.TIKTOK_API_VERSION
    for chunk in prepared.requests:
        if chunk.family.api_version != version:
            raise ConfigurationError(
                f"these events were prepared for API version {chunk.family.api_version}, "
                f"and the credentials send to {version}: prepare them with the same version"
            )
    requests = tuple(
        PlannedRequest(
            chunk,
            build_request(
                auth,
                chunk.family.endpoint,
                None if chunk.content is not None else chunk.body,  # not read back: sent as made
                len(chunk.indices),
                content=chunk.content,
            ),
        )
        for chunk in prepared.requests
    )
    return Plan(requests, prepared)


def plan_bodies(
    items: Iterable[Item],
    family: Family,
    *,
    given: Family | None = None,
    top: Top | None = None,
    hash_values: bool = True,
    unusable: InvalidMatchKeys = "drop",
    record: Record | None = None,
) -> list[Chunk]:
    """Steps 1 to 4 of prepare_events: the request bodies, each with the positions of its events
    (`unusable` as in prepare_events; each event's id and the keys left out of it go in `record`).

    Raises:
        PayloadValidationError: an event or a request-level field is invalid, or an event is
            too big for a request of its own (REQUEST_BYTE_BUDGET), or (with
            unusable="refuse") it holds a value that cannot be a match key.
    """
    given = given or family
    if top is not None:
        family.check_top(top.fields, top.where)
    # Events by the checked values of their request-level keys; each key is checked once.
    groups: dict[tuple[Any, ...], list[tuple[int, dict[str, Any]]]] = {}
    wheres: dict[int, str] = {}  # where each event's errors are reported, by input position
    checked: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    done: dict[tuple[Any, ...], list[Chunk]] = {}  # the full requests of each group, made
    limit = family.max_events or 1
    plan = _schema.pii_plan(family.event_definition, family.api_version)
    key_plan = family.match_key_plan
    masks: dict[int, int] = {}  # the match keys each event carries, by input position
    if family.events_key is None and not family.group_by:
        # One event a body, nothing at request level: each event is its request's body.
        singles = []
        for item in items:
            item = prepare(item, family, given, top)
            body = _serialized(item, plan, hash_values, unusable, record)
            content = to_json(body)
            if may_hold_absent(content):
                body = drop_empty(body)
                content = to_json(body)
            if len(content) > REQUEST_BYTE_BUDGET:
                raise _too_big(item.where, body, len(content))
            mask = keys_in(body, key_plan)
            singles.append(Chunk((item.index,), body, family, content, top={}, masks=(mask,)))
        return singles
    for item in items:
        item = prepare(item, family, given, top)
        body = _serialized(item, plan, hash_values, unusable, record)
        masks[item.index] = keys_in(body, key_plan)
        given_top = item.top.fields if item.top is not None else {}
        values = []
        for name in family.group_by:
            value = body.pop(name, None)
            values.append(given_top.get(name, None if value == "" else value))
        key = checked.get(tuple(values))
        if key is None and not family.group_by:
            key = checked[()] = ()  # no request-level keys: nothing to check
        if key is None:
            where = item.top.where if item.top is not None else item.where
            good = family.check_top(dict(zip(family.group_by, values, strict=True)), where)
            key = checked[tuple(values)] = tuple(good.get(name) for name in family.group_by)
        group = groups.setdefault(key, [])
        group.append((item.index, body))
        wheres[item.index] = item.where
        if len(group) == limit:  # a full request: made now, its events' dicts let go
            done.setdefault(key, []).extend(
                _within_budget(
                    family, _request_level(family, key), group, wheres, keep=False, masks=masks
                )
            )
            groups[key] = []
    chunks: list[Chunk] = []
    for key, events in groups.items():  # in the order each group first appeared
        chunks += done.get(key, [])
        if events:
            chunks += _within_budget(
                family, _request_level(family, key), events, wheres, masks=masks
            )
    return chunks


def _request_level(family: Family, key: tuple[Any, ...]) -> dict[str, Any]:
    pairs = zip(family.group_by, key, strict=True)
    return {name: value for name, value in pairs if value is not None}


def _within_budget(
    family: Family,
    top: dict[str, Any],
    events: list[tuple[int, dict[str, Any]]],
    wheres: Mapping[int, str],
    *,
    keep: bool = True,
    masks: Mapping[int, int] | None = None,
) -> list[Chunk]:
    """The requests of events (at most the family's maximum) with request-level fields top,
    each within REQUEST_BYTE_BUDGET bytes, the events in order. The body is serialized once
    when it fits (the common case, and then it is sent as measured); otherwise each event is
    measured and a new request starts where the next event would not fit. keep: the chunk
    keeps the body's dicts too (False for a full request made while planning goes on: its
    bytes are enough, and its body is read back from them if asked for). masks: the match keys
    of each event by input position (None: each chunk reads them from its body when asked).

    Raises:
        PayloadValidationError: an event does not fit in a request of its own.
    """
    body = family.join(top, [event for _, event in events])
    content = to_json(body)
    if may_hold_absent(content):
        events = [(index, drop_empty(event)) for index, event in events]
        body = family.join(top, [event for _, event in events])
        content = to_json(body)
    if len(content) <= REQUEST_BYTE_BUDGET:
        indices = tuple(index for index, _ in events)
        known = tuple([masks[index] for index in indices]) if masks is not None else None
        return [Chunk(indices, body if keep else None, family, content, top, known)]
    if len(events) == 1 or not family.events_key:  # one event, measured with its request
        index, event = events[0]
        raise _too_big(wheres.get(index, ""), event, len(content))
    # The body without events, and one comma between two events.
    size = base = len(to_json(family.join(top, [])))
    parts: list[list[tuple[int, dict[str, Any]]]] = [[]]
    for index, event in events:
        cost = len(to_json(event))
        if base + cost > REQUEST_BYTE_BUDGET:
            raise _too_big(wheres.get(index, ""), event, base + cost)
        if parts[-1] and size + 1 + cost > REQUEST_BYTE_BUDGET:
            parts.append([])
            size = base
        size += cost + (1 if len(parts[-1]) else 0)
        parts[-1].append((index, event))
    return [
        Chunk(
            tuple(index for index, _ in part),
            family.join(top, [event for _, event in part]),
            family,
            top=top,
            masks=tuple([masks[index] for index, _ in part]) if masks is not None else None,
        )
        for part in parts
    ]


#: A one-event body split for joining: its family, the values of its request-level keys
#: (group_by, absent ones None) and its event.
OneEvent = tuple[Family, tuple[Any, ...], Any]


def one_event(
    body: Mapping[str, Any], version: str, carrier: Callable[[str, str], Family]
) -> OneEvent | None:
    """A body of one event, prepared before (validated and hashed: a row an EventSender kept),
    as join_events takes it: when it is a one-event body of a family that carries many events
    and that carrier(shape, version) sends through itself. None: it must be prepared again
    (a body the client would convert, or of another kind)."""
    family = _families.detect(body, version)
    if family is None or family.events_key is None or carrier(family.shape, version) is not family:
        return None
    top, events = family.split(body)
    if len(events) != 1 or not isinstance(events[0], dict):
        return None
    # The request-level fields as planning keeps them: the grouping keys, absent ones left out.
    key = tuple(None if top.get(name) in (None, "") else top.get(name) for name in family.group_by)
    try:
        hash(key)
    except TypeError:
        return None
    return family, key, events[0]


def join_events(events: Sequence[tuple[int, OneEvent]]) -> list[Chunk]:
    """The request bodies of events prepared before (one_event), by input position: grouped by
    family and request-level fields, at most the family's maximum and REQUEST_BYTE_BUDGET bytes
    a body, each serialized once; nothing is validated or hashed again (each event was
    measured with its request when it was prepared)."""
    groups: dict[tuple[Family, tuple[Any, ...]], list[tuple[int, dict[str, Any]]]] = {}
    for index, (family, key, event) in events:
        groups.setdefault((family, key), []).append((index, event))
    chunks: list[Chunk] = []
    for (family, key), grouped in groups.items():
        top = _request_level(family, key)
        limit = family.max_events or 1
        for start in range(0, len(grouped), limit):
            chunks += _within_budget(family, top, grouped[start : start + limit], {})
    return chunks


def _too_big(where: str, event: Mapping[str, Any], size: int) -> PayloadValidationError:
    """The refusal of an event too big for a request of its own, naming it (its position and
    event_id, never its content)."""
    path = where.rstrip(".")
    event_id = event.get("event_id")
    named = f"{path or 'event'}" + (
        f" (event_id {event_id!r})" if isinstance(event_id, str) and len(event_id) <= 64 else ""
    )
    reason = (
        f"too big to send: its request would be {size:,} bytes of JSON, over the "
        f"{REQUEST_BYTE_BUDGET:,}-byte budget of one request (REQUEST_BYTE_BUDGET); "
        "shorten its free-text fields or its contents"
    )
    return PayloadValidationError(f"{named}: {reason}", [(path, reason)])


def prepare(item: Item, family: Family, given: Family, top: Top | None = None) -> Item:
    """Step 1: the item with its event as an instance of family's event model, and with its
    request-level fields (its own, else top; over those a conversion gave it). A prepared item
    passes through again unchanged.

    Raises:
        PayloadValidationError: the event does not fit its model, or cannot be converted.
    """
    own = item.top or top
    converted, event = _coerce(item, family, given)
    if converted:
        own = Top(
            {**converted, **own.fields} if own else converted, own.where if own else item.where
        )
    if event is item.value and own is item.top:
        return item
    return Item(item.index, event, item.where, own)


def _coerce(item: Item, family: Family, given: Family) -> tuple[Mapping[str, Any], BaseModel]:
    """The item's event as an instance of family's event model, and the request-level fields
    a conversion gave it."""
    value = item.value
    if isinstance(value, family.event_model):
        return {}, value
    source = given
    if isinstance(value, BaseModel) and not family.holds(value):
        source = next(
            (
                other
                for other in _families.families(family.api_version).values()
                if other.holds(value)
            ),
            given,
        )
    event = coerce(value, source.event_model, item.where)
    if source.shape == family.shape:
        return {}, event
    convert = CONVERSIONS.get((source.shape, family.shape))
    if convert is None:
        raise PayloadValidationError(
            f"{item.where.rstrip('.') or 'event'}: a {source.shape} event cannot be sent "
            f"through {family.endpoint}",
            [(item.where.rstrip("."), f"cannot be sent through {family.endpoint}")],
        )
    top, fields = convert(event)
    return top, coerce(fields, family.event_model, item.where)


# -- the 1.0 -> 2.0 conversion --------------------------------------------------------------

# context.user (1.0) -> user (2.0): the fields that change name; the others keep theirs.
_USER_RENAMES = {"phone_number": "phone"}


def web_event_as_track(event: BaseModel) -> tuple[dict[str, Any], dict[str, Any]]:
    """An Events 1.0 web event as the request-level fields and the event of /event/track/.

    pixel_code           -> event_source_id (event_source "web"), request level
    test_event_code, partner_name -> the same names, request level
    timestamp            -> event_time (Unix seconds; now when the event has none)
    context.user.*       -> user.* (phone_number -> phone)
    context.ip           -> user.ip            context.user_agent -> user.user_agent
    context.ad.callback  -> user.ttclid        context.page       -> page
    properties           -> properties (content_type stays on each contents item)
    """
    source = event.model_dump(exclude_none=True)
    context: dict[str, Any] = source.get("context", {})
    user = {_USER_RENAMES.get(key, key): value for key, value in context.get("user", {}).items()}
    for key in ("ip", "user_agent"):
        if key in context:
            user[key] = context[key]
    callback = context.get("ad", {}).get("callback")
    if callback:
        user["ttclid"] = callback
    moment = getattr(event, "timestamp", None)
    fields: dict[str, Any] = {
        "event": source["event"],
        "event_time": int(moment.timestamp()) if moment is not None else int(time.time()),
    }
    if "event_id" in source:
        fields["event_id"] = source["event_id"]
    if user:
        fields["user"] = user
    if "page" in context:
        fields["page"] = context["page"]
    if "properties" in source:
        fields["properties"] = source["properties"]
    top = {
        "event_source": "web",
        "event_source_id": source.get("pixel_code", ""),
        "test_event_code": source.get("test_event_code"),
        "partner_name": source.get("partner_name"),
    }
    return top, fields


#: (event shape, family shape) -> how an event of the one becomes an event of the other.
CONVERSIONS: Mapping[
    tuple[str, str], Callable[[BaseModel], tuple[dict[str, Any], dict[str, Any]]]
] = {("pixel_track", "event_track"): web_event_as_track}


# -- bodies ---------------------------------------------------------------------------------

_CONTAINERS = (dict, list)


def drop_empty(value: Any) -> Any:
    """A copy of value without None and empty-string entries: both mean "absent" to TikTok."""
    if type(value) is dict:
        return {
            key: drop_empty(item) if type(item) in _CONTAINERS else item
            for key, item in value.items()
            if item is not None and item != ""
        }
    if type(value) is list:
        return [
            drop_empty(item) if type(item) in _CONTAINERS else item
            for item in value
            if item is not None and item != ""
        ]
    return value


def may_hold_absent(content: bytes) -> bool:
    """Whether a serialized body may hold what means "absent" (an empty string, a null in a
    list), which drop_empty removes: rare, so bodies are serialized first and walked only
    then (a false alarm, such as a "null" inside a text, costs only the walk)."""
    return b'""' in content or b"null" in content


def dump(model: BaseModel) -> dict[str, Any]:
    """The JSON-ready dict of a model, without absent values."""
    data: dict[str, Any] = drop_empty(model.model_dump(mode="json", exclude_none=True))
    return data


def validation_error(error: ValidationError, where: str = "") -> PayloadValidationError:
    """A PayloadValidationError naming each field and reason (never the input value)."""
    problems = []
    for item in error.errors(include_input=False, include_url=False):
        path = ".".join(str(part) for part in item["loc"])
        problems.append((f"{where}{path}" if path else where.rstrip("."), item["msg"]))
    text = "; ".join(f"{path or '<root>'}: {reason}" for path, reason in problems)
    return PayloadValidationError(f"invalid event: {text}", problems)


def coerce(value: Any, model: type[BaseModel], where: str = "") -> BaseModel:
    """value as an instance of model: an instance passes, a mapping is validated.

    Raises:
        PayloadValidationError: the mapping does not fit the model.
    """
    if isinstance(value, model):
        return value
    if isinstance(value, BaseModel):
        # A model of another API version (or another family's twin): validated anew, so its
        # fields must fit this one.
        value = value.model_dump(exclude_none=True)
    if isinstance(value, Mapping):
        try:
            return model.model_validate(dict(value))
        except ValidationError as error:
            refused = validation_error(error, where)
        raise refused  # outside the except block: nothing chained
    raise PayloadValidationError(
        f"{where.rstrip('.') or 'event'}: expected {model.__name__} or a dict, "
        f"got {type(value).__name__}"
    )


def _serialized(
    item: Item,
    plan: PiiPlan,
    hash_values: bool,
    unusable: InvalidMatchKeys,
    record: Record | None,
) -> Any:
    """serialize for a prepared item, and what becomes of its values that cannot be match
    keys (see prepare_events' `unusable`): looked for only when the serializer met one.

    Raises:
        PayloadValidationError: as serialize; and with unusable="refuse", the event holds a
            value that cannot be a match key (each named with its reason).
    """
    context = WireContext(hash_values)
    body = serialize(item.value, plan, hash_values, item.where, context)
    if context.dropped:
        found = _marks.unusable_values(item.value)
        if unusable == "refuse":
            problems = [(f"{item.where}{path}", reason) for path, reason in found]
            text = "; ".join(f"{path}: {reason}" for path, reason in problems)
            raise PayloadValidationError(f"invalid event: {text}", problems)
        for path, reason in found:
            field_path = ".".join(part for part in path.split(".") if not part.isdigit())
            _soft.warn_once(
                ("unusable match key", field_path, reason),
                f"{field_path}: {reason}: this match key is left out and the event is sent with "
                'its others (invalid_match_keys="refuse" refuses such an event instead)',
            )
        for path, _ in found:
            _leave_out(body, path.split("."))
        if record is not None:
            record.dropped[item.index] = tuple(f"{path}: {reason}" for path, reason in found)
    if record is not None:
        event_id = body.get("event_id")
        if event_id is None and record.own_event_ids:
            event_id = body["event_id"] = str(uuid.uuid4())
        record.event_ids[item.index] = event_id
    return body


def _leave_out(body: Any, parts: list[str]) -> None:
    """Take the field at parts (a value that cannot be a match key) out of body, and an object
    it leaves empty (a user whose only identifier it was: the event is sent without one).
    An item of a list ("user.phone.1") is already out: the others stay."""
    if parts[-1].isdigit():
        return
    chain = [body]
    for part in parts[:-1]:
        chain.append(chain[-1].get(part) if isinstance(chain[-1], dict) else None)
    if not isinstance(chain[-1], dict):
        return
    chain[-1].pop(parts[-1], None)
    for depth in range(len(parts) - 1, 0, -1):  # climb while the object left is empty
        if chain[depth] != {} or not isinstance(chain[depth - 1], dict):
            break
        chain[depth - 1].pop(parts[depth - 1], None)


def serialize(
    model: BaseModel,
    plan: PiiPlan,
    hash_values: bool,
    where: str = "",
    context: WireContext | None = None,
) -> Any:
    """Step 2 for one event: its JSON-ready dict as sent, its personal data hashed (or checked
    to be hashed), per the schema's marks. Hashed, it is one pass of pydantic's serializer:
    the personal-data fields serialize hashed under a wire context (_hashing.WireContext,
    wire_value), and the empty values left (may_hold_absent) are dropped once the body is
    serialized.

    Raises:
        PayloadValidationError: hashing is off and a personal-data value is not hashed.
    """
    serializer = model.__pydantic_serializer__
    context = context or WireContext(hash_values)
    if hash_values:
        return serializer.to_python(model, mode="json", exclude_none=True, context=context)
    data = serializer.to_python(model, mode="json", exclude_none=True, context=context)
    try:
        return clean_payload(
            data, plan, hash_values=hash_values, normalized=True, path=where.rstrip(".")
        )
    except PersonalDataError as error:
        raise PayloadValidationError(str(error), [(error.path, error.reason)]) from None


def items(events: Iterable[Any], where: str = "events.", top: Top | None = None) -> list[Item]:
    """The caller's events as Items, by position (a single model or mapping is a list of one;
    with where="", errors name fields without a position)."""
    if isinstance(events, (BaseModel, Mapping)):
        events = [events]
    return [
        Item(index, event, f"{where}{index}." if where else "", top)
        for index, event in enumerate(events)
    ]


# -- the bodies of one family, for tests, benchmarks and Event.normalize_data -----------------


def track_body(
    event: BaseModel, *, api_version: str = DEFAULT_API_VERSION, hash_values: bool = True
) -> dict[str, Any]:
    """The body of one /pixel/track/ request."""
    family = _families.family("pixel_track", api_version)
    (chunk,) = plan_bodies([Item(0, event)], family, hash_values=hash_values)
    return chunk.body


def batch_chunks(
    events: Sequence[tuple[int, BaseModel]],
    *,
    api_version: str = DEFAULT_API_VERSION,
    hash_values: bool = True,
) -> list[Chunk]:
    """The /pixel/batch/ bodies for (input position, 1.0 event) pairs."""
    family = _families.family("pixel_batch", api_version)
    return plan_bodies(
        [Item(index, event) for index, event in events], family, hash_values=hash_values
    )


def track_chunks(
    events: Sequence[tuple[int, BaseModel]],
    *,
    event_source: str,
    event_source_id: str,
    test_event_code: str | None = None,
    partner_name: str | None = None,
    api_version: str = DEFAULT_API_VERSION,
    hash_values: bool = True,
) -> list[Chunk]:
    """The /event/track/ bodies for (input position, event) pairs of one event source."""
    top = Top(
        {
            "event_source": event_source,
            "event_source_id": event_source_id,
            "test_event_code": test_event_code,
            "partner_name": partner_name,
        }
    )
    family = _families.family("event_track", api_version)
    return plan_bodies(
        [Item(index, event, top=top) for index, event in events], family, hash_values=hash_values
    )
