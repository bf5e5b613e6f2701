"""The bytes on the wire for fixed inputs, pinned: optimizations must not change them."""

from __future__ import annotations

import hashlib

from pydantic_core import to_json

from pytt_events._plan import batch_chunks, track_body, track_chunks
from pytt_events.event import Event
from pytt_events.track import TrackEvent, track_event_from


def fingerprint(body: object) -> str:
    return hashlib.sha256(to_json(body)).hexdigest()


def test_quick_start_bodies_are_byte_for_byte_stable(event: Event) -> None:
    assert to_json(track_body(event)).startswith(
        b'{"pixel_code":"C4PIXELCODE123","event":"ViewContent","event_id":"123456789",'
        b'"timestamp":"2023-02-01T00:00:00-03:00","context":{"user_agent":"Mozilla/5.0'
    )
    assert fingerprint(track_body(event)) == PINNED["track"]
    (batch,) = batch_chunks([(0, event), (1, event)])
    assert fingerprint(batch.body) == PINNED["batch"]
    converted = track_event_from(event)
    (chunk,) = track_chunks([(0, converted)], event_source="web", event_source_id="P")
    assert fingerprint(chunk.body) == PINNED["event_track"]


def test_events_2_0_body_is_stable() -> None:
    event = TrackEvent(
        event="Purchase",
        event_time="2024-03-01T12:00:00Z",
        event_id="fixed",
        user={
            "email": [" Ana@Example.com", "b@example.com"],
            "phone": "+55 (41)9.9886-2934",
            "external_id": " 42 ",
            "first_name": "Ana",
            "last_name": "Silva",
            "city": "São Paulo",
            "state": "SP",
            "country": "BR",
            "zip_code": "01310 100",
            "idfa": "6D92078A-8246-4BA4-AE5B-76104861E7DC",
            "ip": "2001:db8::1",
        },
        properties={"currency": "BRL", "value": 10.5, "contents": [{"content_id": "1"}]},
    )
    (chunk,) = track_chunks([(0, event)], event_source="app", event_source_id="A")
    user = chunk.body["data"][0]["user"]
    # Changed on purpose by the rule "location fields are not hashed": sent normalized, raw.
    assert (user["city"], user["state"], user["country"]) == ("sopaulo", "sp", "br")
    assert fingerprint(chunk.body) == PINNED["event_track_full"]


PINNED: dict[str, str] = {
    "track": "0f5ceea5fb61a65b59dc3f43cd54592d59aae1950fd61cf2bd26bf0fbfb03617",
    "batch": "1112183d3cf0d623df4389d7133525116e9a890a1d05283c278ee6f0f46223e6",
    "event_track": "844d9ecc4ab7592aac14e07c506831db61a0e85ab1e2ccd6e0c2130d756f4c86",
    "event_track_full": "5d06097ecd086e2e1facb00530ba0487398377cdd24e637de83928de7b239e54",
}
