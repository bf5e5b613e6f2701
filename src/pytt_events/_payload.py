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


def drop_empty(value: Any) -> Any:
    """A copy of value without None and empty-string entries: both mean "absent" to TikTok."""
    if isinstance(value, dict):
        return {
            key: drop_empty(item) for key, item in value.items() if item is not None and item != ""
        }
    if isinstance(value, list):
        return [drop_empty(item) for item in value if item is not None and item != ""]
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
    if isinstance(value, Mapping):
        try:
            return model.model_validate(dict(value))
        except ValidationError as error:
            raise validation_error(error, where) from None
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


def batch_chunks(
    events: Sequence[BaseModel],
    *,
    api_version: str = _schema.DEFAULT_API_VERSION,
    hash_values: bool = True,
) -> list[Chunk]:
    """The /pixel/batch/ bodies for events: grouped by pixel_code (and partner_name), each
    at most the schema's maximum, items without pixel_code, input order kept in each group."""
    family = _schema.family("pixel_batch", api_version)
    events_key = family.events_key or "batch"
    limit = family.max_events or len(events) or 1
    groups: dict[tuple[Any, Any], list[tuple[int, dict[str, Any]]]] = {}
    for index, event in enumerate(events):
        item = dump(event)
        key = (item.pop("pixel_code", None), item.pop("partner_name", None))
        groups.setdefault(key, []).append((index, item))
    chunks = []
    for (pixel_code, partner_name), items in groups.items():
        for start in range(0, len(items), limit):
            part = items[start : start + limit]
            body: dict[str, Any] = {"pixel_code": pixel_code}
            if partner_name is not None:
                body["partner_name"] = partner_name
            body[events_key] = [item for _, item in part]
            chunks.append(
                Chunk(
                    indices=tuple(index for index, _ in part),
                    body=hashed(body, family.definition, api_version, hash_values),
                )
            )
    return chunks


def as_list(events: Iterable[Any]) -> list[Any]:
    """The caller's events as a list (a single model or mapping is a list of one)."""
    if isinstance(events, (BaseModel, Mapping)):
        return [events]
    return list(events)
