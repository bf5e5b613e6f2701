"""The validator (pytt_events.validation) on single request bodies: a stored payload is checked
as it is, never coerced as the models coerce, and what TikTok takes but probably wastes is a
warning, not an error."""

from __future__ import annotations

from pytt_events.validation import validate_payload
from tests.conftest import errors

EVENT = {"event": "Purchase", "event_time": 1_900_000_000, "event_id": "e1"}


def test_stored_payloads_with_numbers_for_strings_are_still_refused() -> None:
    body = {"event_source": "web", "event_source_id": "COQDA8RC77U2TMR44LI0",
            "data": [EVENT | {"event_id": 273196}]}  # fmt: skip
    assert [str(p) for p in errors(validate_payload(body))] == [
        "/data/0/event_id: must be of type string"
    ]
    lower = body | {"data": [EVENT | {"properties": {"currency": "usd"}}]}
    assert errors(validate_payload(lower))


def test_an_id_of_neither_shape_earns_a_warning() -> None:
    body = {"event_source": "offline", "event_source_id": "test", "data": [EVENT]}
    now = EVENT["event_time"]  # the event's own time: neither old nor in the future
    assert [(p.path, p.severity) for p in validate_payload(body, warn=True, now=now)] == [
        ("/event_source_id", "warning")
    ]
