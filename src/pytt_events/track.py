"""Events 2.0: the models of POST /event/track/ (web, app, offline and CRM events), and the
conversion of an Events 1.0 `Event` into one.

    from pytt_events.track import TrackEvent, TrackUser, EventSource

    event = TrackEvent(
        event="Purchase",
        event_time="2023-10-20T06:23:28+00:00",   # or a datetime, or Unix seconds
        user=TrackUser(email="ana@example.com", phone=["+55 41 99886-2934"]),
        properties={"currency": "BRL", "value": 120.0, "contents": [{"content_id": "sku-1"}]},
    )
    TikTokEventsApi().track(event, event_source=EventSource.WEB)
"""

from __future__ import annotations

from typing import Any

from pytt_events._plan import web_event_as_track
from pytt_events.models.v1_3 import (
    App,
    AttStatus,
    Content,
    ContentType,
    CurrencyCode,
    Device,
    EventSource,
    EventTrackRequest,
    Lead,
    Page,
    PixelTrackRequest,
    StandardEvent,
    TrackAd,
    TrackEvent,
    TrackProperties,
    TrackUser,
)

__all__ = [
    "App",
    "AttStatus",
    "Content",
    "ContentType",
    "CurrencyCode",
    "Device",
    "EventSource",
    "EventTrackRequest",
    "Lead",
    "Page",
    "StandardEvent",
    "TrackAd",
    "TrackEvent",
    "TrackProperties",
    "TrackUser",
    "track_event_from",
]


def track_event_from(event: PixelTrackRequest | Any) -> TrackEvent:
    """The Events 2.0 form of an Events 1.0 event (what `/event/track/` expects).

    pixel_code becomes the request's event_source_id and test_event_code its own field (both
    at request level, so they are not part of the returned event). The mapping:

        timestamp            -> event_time (Unix seconds; now when the event has none)
        context.user.*       -> user.* (phone_number -> phone)
        context.ip           -> user.ip            context.user_agent -> user.user_agent
        context.ad.callback  -> user.ttclid        context.page       -> page
        properties           -> properties (content_type stays on each contents item)

    The caller's event is not changed.
    """
    _, fields = web_event_as_track(event)
    return TrackEvent.model_validate(fields)
