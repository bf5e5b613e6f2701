"""Hashing while serializing (the personal-data fields' own serializers under a WireContext,
empty values dropped after) gives the body the walk gave: pydantic's plain dump, then
clean_payload (drop what means "absent", hash by the schema's plan). Over the corpus's valid
bodies, and events holding empty values where the models let them through."""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from pytt_events import _schema
from pytt_events._families import family
from pytt_events._hashing import WireContext, clean_payload
from pytt_events._plan import Item, may_hold_absent, plan_bodies
from pytt_events.context import Context, Page, User
from pytt_events.event import Event
from pytt_events.properties import Content, Properties
from pytt_events.track import TrackEvent

CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "corpus"


def walked(model: BaseModel, definition: str) -> Any:
    """The body as the walk made it (the reference)."""
    data = model.__pydantic_serializer__.to_python(model, mode="json", exclude_none=True)
    return clean_payload(data, _schema.pii_plan(definition, "v1.3"), normalized=True)


def corpus_events() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted(CORPUS.glob("*/*.json")):
        body = json.loads(path.read_text())
        if "data" in body and isinstance(body["data"], list):
            found += [("event_track", event) for event in body["data"] if isinstance(event, dict)]
        elif "batch" in body and isinstance(body["batch"], list):
            found += [("pixel_track", event) for event in body["batch"] if isinstance(event, dict)]
        elif "pixel_code" in body:
            found.append(("pixel_track", body))
    return found


def test_corpus_events_serialize_as_the_walk_made_them() -> None:
    compared = 0
    for name, event in corpus_events():
        chosen = family(name)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = chosen.event_model.model_validate(event)
        except ValidationError:
            continue
        wire = model.__pydantic_serializer__.to_python(
            model, mode="json", exclude_none=True, context=WireContext()
        )
        assert wire == walked(model, chosen.event_definition)
        compared += 1
    assert compared >= 20


def quick_start_event(**properties: Any) -> Event:
    return Event(
        pixel_code="PIXEL",
        event="ViewContent",
        event_id="e1",
        context=Context(
            user=User(email=" Ana@Example.com ", phone_number="+55 41 99886-2934", external_id=""),
            page=Page(url="https://shop.example.com/p?email=ana%40example.com&k=v"),
        ),
        properties=Properties(
            contents=[Content(content_id="c1", content_name="null")], **properties
        ),
    )


@pytest.mark.parametrize(
    "properties",
    [
        {},
        {"content_ids": ["a", ""]},
        {"custom": ""},
        {"custom_list": ["", None, "x"], "nested": {"a": "", "b": [None]}},
        {"query": "nullable"},
    ],
)
def test_empty_values_are_dropped_as_the_walk_dropped_them(properties: dict[str, Any]) -> None:
    event = quick_start_event(**properties)
    (chunk,) = plan_bodies([Item(0, event)], family("pixel_track"))
    assert chunk.body == walked(event, "PixelTrackRequest")
    assert chunk.content == json.dumps(chunk.body, separators=(",", ":")).encode()
    assert not may_hold_absent(chunk.content) or b"null" in chunk.content  # "null" as a text


def test_without_the_wire_context_a_model_dumps_what_it_holds() -> None:
    user = User(email=" Ana@Example.com ")
    assert user.model_dump(mode="json", exclude_none=True) == {"email": "ana@example.com"}


def test_a_chinese_number_is_hashed_without_its_country_code_on_the_wire() -> None:
    user = User(phone_number="+86 138 0000 0000", email="A" * 64)
    wire = user.__pydantic_serializer__.to_python(user, mode="json", context=WireContext())
    assert wire["phone_number"] == hashlib.sha256(b"13800000000").hexdigest()
    assert wire["email"] == "a" * 64
    # Events 2.0 takes lists of them.
    event = TrackEvent(event="Purchase", event_time=1_700_000_000, user={"email": ["a@b.co"]})
    wire = event.__pydantic_serializer__.to_python(event, mode="json", context=WireContext())
    assert wire["user"]["email"] == [hashlib.sha256(b"a@b.co").hexdigest()]
