"""From events to request bodies: dump, drop what means "absent", hash, group and chunk.

Knows the schema only through _schema (families, maximums, personal-data plans).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from pytt_events import _schema
from pytt_events._exceptions import PayloadValidationError
from pytt_events._hashing import PersonalDataError, apply_plan


@dataclass(frozen=True)
class Chunk:
    """One request body, and the positions in the caller's input of the events it carries."""

    indices: tuple[int, ...]
    body: dict[str, Any]
    #: The body's key holding its events (None: the body is one event).
    events_key: str | None = None

    def part(self, start: int, stop: int) -> Chunk:
        """The request of the events start to stop (positions in this chunk) alone: the same
        request-level fields, those events (already hashed: hashing is not repeated)."""
        assert self.events_key is not None
        body = {**self.body, self.events_key: self.body[self.events_key][start:stop]}
        return Chunk(self.indices[start:stop], body, self.events_key)

    def single_payloads(self) -> list[dict[str, Any]]:
        """Each event of the body as a request body of its own (as sent: hashed), so it can be
        stored and sent again: a batch item becomes a /pixel/track/ body, a 2.0 event a
        one-event /event/track/ body."""
        if self.events_key is None:
            return [self.body]
        top = {key: value for key, value in self.body.items() if key != self.events_key}
        items = self.body[self.events_key]
        if self.events_key == "batch":
            return [{**top, **item} for item in items]
        return [{**top, self.events_key: [item]} for item in items]


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


def hashed(body: dict[str, Any], definition: str, api_version: str, hash_values: bool) -> Any:
    """body with its personal data hashed (or checked to be hashed), per the schema's marks.

    Raises:
        PayloadValidationError: a personal-data value is refused by its normalizer.
    """
    try:
        return apply_plan(body, _schema.pii_plan(definition, api_version), hash_values=hash_values)
    except PersonalDataError as error:
        raise PayloadValidationError(str(error), [(error.path, error.reason)]) from None


def track_body(
    event: BaseModel, *, api_version: str = _schema.DEFAULT_API_VERSION, hash_values: bool = True
) -> dict[str, Any]:
    """The body of one /pixel/track/ request."""
    family = _schema.family("pixel_track", api_version)
    body: dict[str, Any] = hashed(dump(event), family.definition, api_version, hash_values)
    return body


def _chunks(
    family: _schema.Family,
    groups: Mapping[tuple[tuple[str, Any], ...], list[tuple[int, dict[str, Any]]]],
    api_version: str,
    hash_values: bool,
) -> list[Chunk]:
    """Request bodies for groups of events: each group's top-level fields (absent when None)
    and at most the family's maximum events per body, input order kept."""
    events_key = family.events_key
    if events_key is None:
        raise ValueError(f"request family {family.name!r} carries a single event")
    chunks = []
    for top, items in groups.items():
        limit = family.max_events or len(items) or 1
        for start in range(0, len(items), limit):
            part = items[start : start + limit]
            body: dict[str, Any] = {key: value for key, value in top if value is not None}
            body[events_key] = [item for _, item in part]
            chunks.append(
                Chunk(
                    indices=tuple(index for index, _ in part),
                    body=hashed(body, family.definition, api_version, hash_values),
                    events_key=events_key,
                )
            )
    return chunks


def batch_chunks(
    events: Sequence[tuple[int, BaseModel]],
    *,
    api_version: str = _schema.DEFAULT_API_VERSION,
    hash_values: bool = True,
) -> list[Chunk]:
    """The /pixel/batch/ bodies for (input position, event) pairs: grouped by pixel_code (and
    partner_name), each at most the schema's maximum, items without pixel_code, input order
    kept in each group."""
    groups: dict[tuple[tuple[str, Any], ...], list[tuple[int, dict[str, Any]]]] = {}
    for index, event in events:
        item = dump(event)
        top = (
            ("pixel_code", item.pop("pixel_code", None)),
            ("partner_name", item.pop("partner_name", None)),
        )
        groups.setdefault(top, []).append((index, item))
    return _chunks(_schema.family("pixel_batch", api_version), groups, api_version, hash_values)


def track_chunks(
    events: Sequence[tuple[int, BaseModel]],
    *,
    event_source: str,
    event_source_id: str,
    test_event_code: str | None = None,
    partner_name: str | None = None,
    api_version: str = _schema.DEFAULT_API_VERSION,
    hash_values: bool = True,
) -> list[Chunk]:
    """The /event/track/ bodies for (input position, event) pairs of one event source, each
    at most the schema's maximum (maxItems of data)."""
    top = (
        ("event_source", event_source),
        ("event_source_id", event_source_id),
        ("test_event_code", test_event_code or None),
        ("partner_name", partner_name or None),
    )
    items = [(index, dump(event)) for index, event in events]
    family = _schema.family("event_track", api_version)
    return _chunks(family, {top: items}, api_version, hash_values)


def as_list(events: Iterable[Any]) -> list[Any]:
    """The caller's events as a list (a single model or mapping is a list of one)."""
    if isinstance(events, (BaseModel, Mapping)):
        return [events]
    return list(events)
