"""From Events 1.0 to 2.0: every field of the original Event, where it lands."""

from __future__ import annotations

import datetime as dt

from pytt_events._plan import track_chunks
from pytt_events.event import Event
from pytt_events.track import ContentType, StandardEvent, track_event_from
from tests.conftest import QUICK_START_DIGESTS


def test_quick_start_event_maps_field_by_field(event: Event) -> None:
    before = event.model_dump()
    converted = track_event_from(event)
    assert event.model_dump() == before  # the 1.0 event is untouched

    assert converted.event is StandardEvent.VIEW_CONTENT
    assert converted.event_id == "123456789"
    # timestamp '2023-02-01T00:00:00-03:00' -> Unix seconds
    assert converted.event_time == int(
        dt.datetime(2023, 2, 1, 3, 0, tzinfo=dt.timezone.utc).timestamp()
    )
    user = converted.user
    assert user is not None
    assert user.ttclid == "E.C.P.v3fQ2RHacdkfKfofPmlyuStIIHJ4Af1tKYxF9zz2c2PLx1Oaw15oHpcfl5AH"
    assert user.phone == "+5541998862934"  # context.user.phone_number -> user.phone
    assert user.email == "test@test.com"
    assert user.external_id == "123456"
    assert user.ttp == "94e2a4j9-h3ss-k2h5-98cc-c84a745mk098"
    assert str(user.ip) == "13.57.97.131"  # context.ip -> user.ip
    assert user.user_agent is not None
    assert user.user_agent.startswith("Mozilla/5.0")
    assert converted.page is not None
    assert (converted.page.url, converted.page.referrer) == (
        "https://www.example.com",
        "https://www.google.com",
    )
    properties = converted.properties
    assert properties is not None
    assert properties.currency == "BRL"
    assert properties.value == 1.0
    assert properties.content_type is None  # stays on each item
    assert properties.contents is not None
    assert properties.contents[0].content_type is ContentType.PRODUCT
    assert properties.model_extra == {"status": "mock status"}  # kept as a custom property


def test_converted_event_is_hashed_like_any_other(event: Event) -> None:
    (chunk,) = track_chunks([(0, track_event_from(event))], event_source="web", event_source_id="P")
    user = chunk.body["data"][0]["user"]
    assert user["email"] == QUICK_START_DIGESTS["email"]
    assert user["phone"] == QUICK_START_DIGESTS["phone_number"]
    assert user["external_id"] == QUICK_START_DIGESTS["external_id"]


def test_event_without_timestamp_gets_the_current_time() -> None:
    bare = Event(pixel_code="P", event="Search", context={"user": {"ttp": "t"}})
    now = int(dt.datetime.now(dt.timezone.utc).timestamp())
    converted = track_event_from(bare)
    assert now - 5 <= converted.event_time <= now + 5
    assert converted.page is None
    assert converted.properties is None
