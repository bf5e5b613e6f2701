"""Bounds (issue 20, item 3): over-long strings are refused naming the field and the limit,
never truncated, by the models, stored-payload validation and the sandbox alike (one
maxLength in the schema); every limit says where it comes from; the planner keeps each
request within REQUEST_BYTE_BUDGET and refuses, naming it, an event too big for one."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from pydantic_core import to_json

from pytt_events import PayloadValidationError, TikTokAuth, TikTokEventsApi, _plan
from pytt_events._constants import REQUEST_BYTE_BUDGET
from pytt_events.models import v1_3
from pytt_events.schema import load_schema
from pytt_events.testing import DEFAULT_ACCESS_TOKEN, Sandbox
from pytt_events.validation import validate_payload

PIXEL = "C4PIXELCODE123ABCDEF"
NOW = 1_700_000_000


def track_event(**fields: Any) -> dict[str, Any]:
    return {"event": "Purchase", "event_time": NOW, "event_id": "e-1", **fields}


def test_a_million_character_event_id_is_refused_naming_the_field_and_the_limit() -> None:
    api = TikTokEventsApi()
    auth = TikTokAuth(TIKTOK_ACCESS_TOKEN="t", TIKTOK_PIXEL_ID=PIXEL)
    with pytest.raises(PayloadValidationError) as caught:
        api._plan_track([track_event(event_id="x" * 1_000_000)], auth, "web", None, None, None)
    assert caught.value.errors[0][0] == "events.0.event_id"
    assert "at most 1024 characters" in str(caught.value)
    assert "xxxx" not in str(caught.value)
    with pytest.raises(PayloadValidationError, match="event_id: String should have at most 1024"):
        api._plan_event(
            {"pixel_code": PIXEL, "event": "ViewContent", "event_id": "x" * 1025, "context": {}},
            auth,
        )


def test_a_megabyte_description_is_refused_and_a_long_real_one_is_taken() -> None:
    with pytest.raises(ValueError, match="at most 65536 characters"):
        v1_3.TrackEvent(**track_event(properties={"description": "d" * 1_000_000}))
    taken = v1_3.TrackEvent(**track_event(properties={"description": "d" * 20_000}))
    assert taken.properties is not None
    assert taken.properties.description == "d" * 20_000  # nothing is ever truncated


def body(**event: Any) -> dict[str, Any]:
    return {"event_source": "web", "event_source_id": PIXEL, "data": [track_event(**event)]}


def test_stored_payload_validation_and_the_sandbox_agree_with_the_models() -> None:
    long = body(event_id="x" * 1025, page={"url": "https://s.example/" + "p" * 9000})
    problems = validate_payload(long, "event_track")
    assert [(p.path, p.message) for p in problems] == [
        ("/data/0/event_id", "must have at most 1024 character(s)"),
        ("/data/0/page/url", "must have at most 8192 character(s)"),
    ]
    answer = Sandbox().respond(
        "POST",
        "/open_api/v1.3/event/track/",
        {"Access-Token": DEFAULT_ACCESS_TOKEN},
        json.dumps(long).encode(),
    )
    envelope = json.loads(answer.content)
    assert envelope["code"] == 40002
    assert "data.0.event_id: must have at most 1024 character(s)" in envelope["message"]
    assert validate_payload(body(event_id="x" * 1024), "event_track") == []


def limits(node: Any, path: str = "") -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(path, the schema node holding its description) of every maxLength the schema sets
    on a field (a field's own, or its $defs entry's)."""
    if isinstance(node, Mapping):
        if "maxLength" in node and "description" in node:
            yield path, node
        for key, child in node.items():
            if key not in ("if", "then", "not", "allOf"):
                yield from limits(child, f"{path}/{key}")
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from limits(child, f"{path}/{index}")


def test_every_limit_says_where_it_comes_from() -> None:
    found = list(limits(load_schema("v1.3")["$defs"]))
    assert len(found) >= 30
    for path, node in found:
        text = node["description"]
        assert f"At most {node['maxLength']:,} characters" in text, path
        assert "chosen by this SDK; TikTok states none" in text, path


def track_items(events: list[Any]) -> list[_plan.Item]:
    top = _plan.Top({"event_source": "web", "event_source_id": PIXEL})
    return [_plan.Item(i, event, f"events.{i}.", top) for i, event in enumerate(events)]


def event_track() -> Any:
    from pytt_events import _families

    return _families.family("event_track", "v1.3")


def test_the_planner_starts_a_new_request_at_the_byte_budget_keeping_the_order() -> None:
    text = "é" * 60_000  # 120,000 bytes of UTF-8
    events = [track_event(event_id=f"b-{i}", properties={"description": text}) for i in range(30)]
    chunks = _plan.plan_bodies(track_items(events), event_track())
    assert len(chunks) == 4
    assert [i for chunk in chunks for i in chunk.indices] == list(range(30))
    for chunk in chunks:
        assert len(to_json(chunk.body)) <= REQUEST_BYTE_BUDGET
        assert [e["event_id"] for e in chunk.body["data"]] == [f"b-{i}" for i in chunk.indices]
    # The next event would not have fit: each request is as full as the budget allows.
    first, second = chunks[0], chunks[1]
    assert len(to_json(first.body)) + len(to_json(second.body["data"][0])) > REQUEST_BYTE_BUDGET


def test_requests_that_fit_are_serialized_once_and_sent_as_measured() -> None:
    auth = TikTokAuth(TIKTOK_ACCESS_TOKEN="t", TIKTOK_PIXEL_ID=PIXEL)
    plan = TikTokEventsApi()._plan_track(
        [track_event(event_id=f"s-{i}") for i in range(3)], auth, "web", None, None, None
    )
    (planned,) = plan.requests
    assert planned.chunk.content is not None
    assert planned.request.content == planned.chunk.content == to_json(planned.body)


def test_an_event_too_big_for_a_request_of_its_own_is_refused_naming_it() -> None:
    contents = [{"content_id": str(i), "description": "é" * 60_000} for i in range(9)]
    events = [
        track_event(event_id="small"),
        track_event(event_id="huge", properties={"contents": contents}),
    ]
    with pytest.raises(PayloadValidationError) as caught:
        _plan.plan_bodies(track_items(events), event_track())
    message = str(caught.value)
    assert message.startswith("events.1 (event_id 'huge'): too big to send")
    assert f"{REQUEST_BYTE_BUDGET:,}-byte budget" in message
    assert caught.value.errors[0][0] == "events.1"
    assert "éé" not in message


def test_a_single_event_body_over_the_budget_is_refused_too() -> None:
    from pytt_events import _families

    contents = [{"content_id": str(i), "description": "é" * 60_000} for i in range(9)]
    event = {
        "pixel_code": PIXEL,
        "event": "ViewContent",
        "event_id": "big-1",
        "context": {},
        "properties": {"contents": contents},
    }
    family = _families.family("pixel_track", "v1.3")
    with pytest.raises(PayloadValidationError, match=r"^event \(event_id 'big-1'\): too big"):
        _plan.plan_bodies([_plan.Item(0, event)], family)
