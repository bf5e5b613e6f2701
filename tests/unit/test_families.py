"""Request families read from the schema (pytt_events.schema / _families): what each says of
itself, that taking a body apart and putting it back gives the same body (over the corpus),
detection, and the checks of request-level fields."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from pytt_events import PayloadValidationError, schema
from pytt_events.models import v1_3
from tests.codegen.test_corpus import SHAPE_OF, bodies, endpoint_family, load


def test_each_family_is_what_the_schema_says() -> None:
    document = schema.load_schema("v1.3")
    for name, family in schema.families("v1.3").items():
        node = document["$defs"][family.definition]
        assert node["x-family"] == name
        assert family.endpoint == node["x-endpoint"]
        assert family.events_key == node.get("x-events")
        assert list(family.group_by) == node["x-group-by"]
        assert family.shape == node["x-single"]
        if family.events_key is not None:
            assert family.max_events == node["properties"][family.events_key]["maxItems"]


@pytest.mark.parametrize(
    ("name", "endpoint", "events_key", "max_events", "group_by", "shape", "event_model"),
    [
        ("pixel_track", "pixel/track/", None, None, (), "pixel_track", v1_3.PixelTrackRequest),
        (
            "pixel_batch",
            "pixel/batch/",
            "batch",
            50,
            ("pixel_code", "partner_name"),
            "pixel_track",
            v1_3.PixelTrackRequest,
        ),
        (
            "event_track",
            "event/track/",
            "data",
            1000,
            ("event_source", "event_source_id", "test_event_code", "partner_name"),
            "event_track",
            v1_3.TrackEvent,
        ),
    ],
)
def test_the_v1_3_families(
    name: str,
    endpoint: str,
    events_key: str | None,
    max_events: int | None,
    group_by: tuple[str, ...],
    shape: str,
    event_model: type[Any],
) -> None:
    family = schema.family(name)
    assert (family.endpoint, family.events_key, family.max_events) == (
        endpoint,
        events_key,
        max_events,
    )
    assert (family.group_by, family.shape) == (group_by, shape)
    assert issubclass(family.event_model, event_model)


def test_the_sdk_builds_the_hand_written_event_for_1_0_events() -> None:
    from pytt_events import Event

    assert schema.family("pixel_track").event_model is Event
    assert schema.family("pixel_batch").event_model is Event


@pytest.mark.parametrize("name", bodies())
def test_join_of_split_is_the_body(name: str) -> None:
    body = load(name)
    family = schema.family(SHAPE_OF.get(name, endpoint_family(name)))
    original = copy.deepcopy(body)
    if family.events_key is not None and not isinstance(body.get(family.events_key), list):
        with pytest.raises(ValueError, match="list"):
            family.split(body)
        return
    top, events = family.split(body)
    assert family.join(top, events) == body
    assert body == original  # split and join copy; the body is not changed
    # The bytes too, once the keys are in the body's order (join puts the events last).
    joined = family.join(top, events)
    assert json.dumps({key: joined[key] for key in body}) == json.dumps(body)


@pytest.mark.parametrize("name", bodies())
def test_each_event_alone_is_a_body_of_the_single_family(name: str) -> None:
    body = load(name)
    family = schema.family(SHAPE_OF.get(name, endpoint_family(name)))
    if family.events_key is not None and not isinstance(body.get(family.events_key), list):
        return  # not a body of events (the test above)
    top, events = family.split(body)
    singles = [family.single(top, event) for event in events]
    single_family = schema.family(family.shape)
    for alone, event in zip(singles, events, strict=True):
        again_top, again = single_family.split(alone)
        if single_family.events_key is None:
            # A batch item with its request-level keys: a /pixel/track/ body, without the
            # keys only batch items have (type).
            assert {k: v for k, v in alone.items() if k not in top} == {
                k: v for k, v in event.items() if k != "type"
            }
        else:
            assert (again_top, again) == (top, [event])


def test_a_batch_item_alone_drops_only_the_keys_only_items_have() -> None:
    family = schema.family("pixel_batch")
    body = {
        "pixel_code": "P",
        "batch": [{"type": "track", "event": "ViewContent", "context": {}}],
    }
    top, (item,) = family.split(body)
    assert family.single(top, item) == {"pixel_code": "P", "event": "ViewContent", "context": {}}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"event_source": "web", "event_source_id": "P", "data": []}, "event_track"),
        ({"data": []}, "event_track"),
        ({"event_source_id": "P"}, "event_track"),
        ({"pixel_code": "P", "batch": []}, "pixel_batch"),
        ({"pixel_code": "P", "event": "ViewContent", "context": {}}, "pixel_track"),
        ({"pixel_code": "P"}, "pixel_track"),  # only keys families share: the one-event family
        ({"partner_name": "X"}, "pixel_track"),
        ({"event": "ViewContent", "event_source": "web"}, "event_track"),  # a tie: the later
        # An events key holding a list decides, whatever else the body has.
        ({"event_source_id": "P", "batch": [], "event": "X", "context": {}}, "pixel_batch"),
        ({"data": [], "event": "X", "context": {}, "timestamp": "t"}, "event_track"),
        ({}, None),
        ({"unknown": 1}, None),
        ([], None),
        ("text", None),
    ],
)
def test_detect(body: Any, expected: str | None) -> None:
    found = schema.detect(body)
    assert (found.name if found is not None else None) == expected


def test_events_of() -> None:
    assert schema.events_of({"pixel_code": "P", "batch": [{"a": 1}, {"b": 2}]}) == [
        {"a": 1},
        {"b": 2},
    ]
    assert schema.events_of({"event_source": "web", "data": []}) == []
    assert schema.events_of({"event": "X"}) == [{"event": "X"}]
    assert schema.events_of({"event_source": "web"}) == [{"event_source": "web"}]
    assert schema.events_of("text") == []


def test_check_top_gives_json_values_and_refuses_by_the_schema() -> None:
    family = schema.family("event_track")
    top = {"event_source": v1_3.EventSource.APP, "event_source_id": "1234567890"}
    assert family.check_top(top) == {"event_source": "app", "event_source_id": "1234567890"}
    with pytest.raises(PayloadValidationError) as caught:
        family.check_top({"event_source": "tv", "event_source_id": "1"}, "payloads.3.")
    assert caught.value.errors == [
        ("payloads.3.event_source", "must be one of 'web', 'app', 'offline', 'crm'")
    ]
    with pytest.raises(PayloadValidationError) as caught:
        family.check_top({"event_source": "web"})
    assert caught.value.errors == [("event_source_id", "required")]
    with pytest.raises(PayloadValidationError) as caught:  # a pixel code for an app (40002)
        family.check_top({"event_source": "app", "event_source_id": "C4PIXELCODE123456789"})
    ((path, reason),) = caught.value.errors
    assert path == "event_source_id"
    assert "is a pixel code" in reason
    assert "C4PIXELCODE123456789" not in str(caught.value)


def test_carrier_of_a_shape() -> None:
    assert schema.families()["pixel_track"] is schema.family("pixel_track")
    from pytt_events._families import carrier

    assert carrier("pixel_track", many=False).name == "pixel_track"
    assert carrier("pixel_track", many=True).name == "pixel_batch"
    assert carrier("event_track", many=False).name == "event_track"
    assert carrier("event_track", many=True).name == "event_track"


def test_family_schema_is_one_request_body() -> None:
    document = schema.family_schema("pixel_batch")
    assert document["$ref"] == "#/$defs/PixelBatchRequest"
    assert "PixelTrackRequest" in document["$defs"]


def test_checked_request_level_values_are_remembered_by_type_too() -> None:
    family = schema.family("event_track")
    good = family.check_top({"event_source": "web", "event_source_id": "1"})
    assert good == {"event_source": "web", "event_source_id": "1"}
    with pytest.raises(PayloadValidationError):  # 1 == True, but a number is not a string
        family.check_top({"event_source": "web", "event_source_id": 1})
