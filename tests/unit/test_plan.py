"""Events -> request bodies: grouping, chunking by the schema's maximum, absent values."""

from __future__ import annotations

import json

import pytest

from pytt_events import PayloadValidationError, sha256_hex
from pytt_events._families import family
from pytt_events._plan import batch_chunks, coerce, drop_empty, track_body
from pytt_events._schema import pii_plan
from pytt_events.event import Event


def make(pixel: str = "P1", index: int = 0, **extra: object) -> Event:
    fields: dict[str, object] = {
        "pixel_code": pixel,
        "event": "AddToCart",
        "event_id": f"e{index}",
        "context": {"user": {"email": f"user{index}@example.com"}},
    }
    return Event(**{**fields, **extra})


def test_the_schema_gives_the_batch_maximum_and_endpoints() -> None:
    batch = family("pixel_batch")
    assert (batch.endpoint, batch.events_key, batch.max_events) == ("pixel/batch/", "batch", 50)
    assert family("pixel_track").endpoint == "pixel/track/"


def test_the_personal_data_plan_comes_from_the_marks() -> None:
    assert pii_plan("PixelTrackRequest") == {
        "context": {
            "user": {"external_id": "external_id", "email": "email", "phone_number": "phone"}
        }
    }


def test_chunks_follow_the_maximum_and_keep_input_order() -> None:
    events = [make(index=i) for i in range(120)]
    chunks = batch_chunks(list(enumerate(events)))
    assert [len(chunk.indices) for chunk in chunks] == [50, 50, 20]
    assert [i for chunk in chunks for i in chunk.indices] == list(range(120))
    first = chunks[0].body
    assert first["pixel_code"] == "P1"
    assert all("pixel_code" not in item for item in first["batch"])
    assert first["batch"][0]["context"]["user"]["email"] == sha256_hex("user0@example.com")


def test_events_of_different_pixels_go_to_different_requests() -> None:
    events = [make("P1", 0), make("P2", 1), make("P1", 2, partner_name="Acme")]
    chunks = batch_chunks(list(enumerate(events)))
    assert [(c.body["pixel_code"], c.body.get("partner_name"), c.indices) for c in chunks] == [
        ("P1", None, (0,)),
        ("P2", None, (1,)),
        ("P1", "Acme", (2,)),
    ]


def test_interleaved_groups_keep_their_order_when_requests_fill_up() -> None:
    # Full requests are made as they fill (their dicts let go); the order stays: every
    # request of the group seen first, then the next group's.
    events = [make("P1" if i % 2 == 0 else "P2", i) for i in range(230)]
    chunks = batch_chunks(list(enumerate(events)))
    assert [(c.body["pixel_code"], len(c.indices)) for c in chunks] == [
        ("P1", 50), ("P1", 50), ("P1", 15), ("P2", 50), ("P2", 50), ("P2", 15),
    ]  # fmt: skip
    assert [c.indices[0] for c in chunks] == [0, 100, 200, 1, 101, 201]


def test_a_planned_request_keeps_the_bytes_it_sends_and_reads_its_body_back() -> None:
    events = [make(index=i) for i in range(53)]
    chunk, rest = batch_chunks(list(enumerate(events)))  # the first made while planning
    assert chunk.content is not None
    assert rest.content is not None
    assert chunk.body == json.loads(chunk.content)
    assert chunk.body["batch"][2]["event_id"] == "e2"
    assert rest.body == json.loads(rest.content)
    assert chunk.part(1, 2).body["batch"] == [chunk.body["batch"][1]]


def test_empty_strings_and_none_mean_absent() -> None:
    body = track_body(
        make(test_event_code="", context={"ad": {"callback": ""}, "user": {"ttp": "t"}})
    )
    assert "test_event_code" not in body
    assert body["context"] == {"ad": {}, "user": {"ttp": "t"}}
    assert drop_empty({"a": ["", None, "x"], "b": None, "c": {"d": ""}}) == {"a": ["x"], "c": {}}


def test_track_body_never_changes_the_event() -> None:
    event = make()
    before = event.model_dump()
    track_body(event)
    assert event.model_dump() == before
    assert event.context.user is not None
    assert event.context.user.email == "user0@example.com"


def test_hashing_off_sends_digests_and_refuses_raw_values() -> None:
    digest = sha256_hex("a@b.co")
    body = track_body(make(context={"user": {"email": digest}}), hash_values=False)
    assert body["context"]["user"]["email"] == digest
    with pytest.raises(PayloadValidationError, match=r"context\.user\.email: must already be"):
        track_body(make(), hash_values=False)


def test_dicts_are_validated_into_models_with_named_errors() -> None:
    assert isinstance(coerce({"pixel_code": "P", "event": "X", "context": {}}, Event), Event)
    with pytest.raises(PayloadValidationError) as caught:
        coerce({"pixel_code": "P", "context": {"user": {"email": 5}}}, Event, "events.3.")
    assert caught.value.errors == [
        ("events.3.event", "Field required"),
        ("events.3.context.user.email", "Input should be a valid string"),
    ]
    with pytest.raises(PayloadValidationError, match="expected Event or a dict, got int"):
        coerce(5, Event)
