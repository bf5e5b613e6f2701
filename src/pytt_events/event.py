"""Event: one Events 1.0 web event, as sent to /pixel/track/ (the original module path)."""

from __future__ import annotations

from typing import Any

from pytt_events._families import public_model
from pytt_events.models.v1_3 import PixelTrackRequest, SupportedEvents

__all__ = ["Event", "SupportedEvents"]


@public_model
class Event(PixelTrackRequest):
    """One Events 1.0 web event: the body of POST /pixel/track/.

    `event` takes a SupportedEvents member, a standard name ("ViewContent") which becomes the
    member, or a custom event name. `timestamp` takes a datetime (naive means local time) or an
    ISO 8601 string with an offset ("2023-02-01T00:00:00-03:00", "2023-06-09 13:37:26-03:00").
    Personal data in context.user is validated and normalized here and hashed when sent.
    """

    def normalize_data(self) -> dict[str, Any]:
        """The request body this event is sent as, personal data hashed (as in the original)."""
        from pytt_events._plan import track_body

        return track_body(self)
