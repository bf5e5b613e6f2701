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

import time
from typing import Any

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

# context.user (1.0) -> user (2.0): the fields that change name; the others keep theirs.
_USER_RENAMES = {"phone_number": "phone"}


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
    source = event.model_dump(exclude_none=True)
    context: dict[str, Any] = source.get("context", {})
    user = {_USER_RENAMES.get(key, key): value for key, value in context.get("user", {}).items()}
    for key in ("ip", "user_agent"):
        if key in context:
            user[key] = context[key]
    callback = context.get("ad", {}).get("callback")
    if callback:
        user["ttclid"] = callback
    moment = event.timestamp
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
    return TrackEvent.model_validate(fields)
