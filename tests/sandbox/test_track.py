"""Events 2.0 round trips over real HTTP to the sandbox: web, app, offline and CRM."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytt_events import BulkSendError, PayloadValidationError, sha256_hex
from pytt_events.auth import TikTokAuth
from pytt_events.event import Event
from pytt_events.testing import SandboxServer
from pytt_events.tiktok_events_api import TikTokEventsApi
from pytt_events.track import EventSource, TrackEvent, TrackUser
from pytt_events.validation import validate_payload
from tests.conftest import PIXEL, QUICK_START_DIGESTS, RAW_PERSONAL_DATA, errors

CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "corpus" / "event_track"
RAW = ("ana.silva@example.com", "+5541998862934", "cust-42", "Silva", "80010-000")


def purchase(**changes: Any) -> TrackEvent:
    fields: dict[str, Any] = {
        "event": "Purchase",
        "event_time": "2024-03-01T12:00:00+00:00",
        "user": TrackUser(
            email=RAW[0],
            phone=[RAW[1]],
            external_id=RAW[2],
            last_name=RAW[3],
            zip_code=RAW[4],
            ip="13.57.97.131",
            user_agent="Mozilla/5.0",
        ),
        "properties": {"currency": "BRL", "value": 99.9, "contents": [{"content_id": "sku-1"}]},
    }
    fields.update(changes)
    return TrackEvent(**fields)


def assert_received_cleanly(sandbox: SandboxServer) -> list[dict[str, Any]]:
    bodies = [request.body for request in sandbox.received]
    for request in sandbox.received:
        assert request.path == "/open_api/v1.3/event/track/"
        assert request.code == 0
        assert errors(validate_payload(request.body, "event_track", require_hashed=True)) == []
        assert not any(raw in json.dumps(request.body) for raw in RAW)
    return bodies


@pytest.mark.parametrize(
    ("source", "extra"),
    [
        (EventSource.WEB, {"page": {"url": "https://shop.example.com/checkout"}}),
        (EventSource.APP, {"app": {"app_id": "1234567", "app_name": "Shop", "app_version": "2.1"}}),
        (EventSource.OFFLINE, {"properties": {"order_id": "o-1", "value": 5.0, "currency": "USD"}}),
        (EventSource.CRM, {"lead": {"lead_id": "7123", "lead_event_source": "HubSpot"}}),
    ],
)  # fmt: skip
def test_each_event_source_round_trips(
    api: TikTokEventsApi,
    auth: TikTokAuth,
    sandbox: SandboxServer,
    source: EventSource,
    extra: dict[str, Any],
) -> None:
    event = purchase(**extra)
    before = event.model_dump()
    result = api.track(event, auth=auth, event_source=source, event_source_id="SOURCE-ID")
    assert result.accepted == (0,)
    assert result.json()["code"] == 0
    (body,) = assert_received_cleanly(sandbox)
    assert (body["event_source"], body["event_source_id"]) == (source.value, "SOURCE-ID")
    sent = body["data"][0]
    assert sent["event_time"] == 1709294400
    assert sent["event_id"] == event.event_id
    assert sent["user"]["email"] == sha256_hex(RAW[0])
    assert sent["user"]["phone"] == [sha256_hex(RAW[1])]
    assert sent["user"]["last_name"] == sha256_hex("silva")
    assert sent["user"]["zip_code"] == sha256_hex("80010-000")
    assert sent["user"]["ip"] == "13.57.97.131"
    for key in extra:
        assert sent[key] == extra[key]
    assert event.model_dump() == before


def test_defaults_come_from_auth(api: TikTokEventsApi, sandbox: SandboxServer) -> None:
    auth = TikTokAuth(
        TIKTOK_ACCESS_TOKEN="test-token-7f3a9c1e5b",
        TIKTOK_PIXEL_ID=PIXEL,
        TIKTOK_TEST_EVENT_CODE="TEST42",
        TIKTOK_API_BASE_URL=sandbox.base_url,
    )
    api.track([purchase(), purchase()], auth=auth)
    (body,) = assert_received_cleanly(sandbox)
    assert body["event_source"] == "web"
    assert body["event_source_id"] == PIXEL
    assert body["test_event_code"] == "TEST42"
    assert len(body["data"]) == 2


def test_2500_events_go_in_three_requests(
    api: TikTokEventsApi, auth: TikTokAuth, sandbox: SandboxServer
) -> None:
    events = [
        {"event": "ViewContent", "event_time": 1709294400, "event_id": f"e{i}"} for i in range(2500)
    ]
    result = api.track(events, auth=auth)
    # Requests run concurrently: they may arrive in any order.
    assert sorted(len(request.events) for request in sandbox.received) == [500, 1000, 1000]
    assert result.accepted == tuple(range(2500))
    received = sorted(event["event_id"] for event in sandbox.accepted_events())
    assert received == sorted(f"e{i}" for i in range(2500))


def test_stored_payloads_replay_as_dicts(
    api: TikTokEventsApi, auth: TikTokAuth, sandbox: SandboxServer
) -> None:
    stored = json.loads((CORPUS / "segment-action-destinations__offline-contact.json").read_text())
    result = api.track(
        stored["data"], auth=auth, event_source=stored["event_source"], event_source_id="SET-1"
    )
    assert result.accepted == tuple(range(len(stored["data"])))
    (body,) = assert_received_cleanly(sandbox)
    assert body["data"][0]["user"]["email"] == stored["data"][0]["user"]["email"]


def test_invalid_arguments_send_nothing(
    api: TikTokEventsApi, auth: TikTokAuth, sandbox: SandboxServer
) -> None:
    with pytest.raises(PayloadValidationError, match="event_source: must be one of"):
        api.track(purchase(), auth=auth, event_source="website")
    with pytest.raises(PayloadValidationError) as caught:
        api.track([purchase(), {"event": "X", "event_time": "soon"}], auth=auth)
    assert caught.value.errors[0][0] == "events.1.event_time"
    assert sandbox.received == []


def test_wrong_token_reports_every_event(
    api: TikTokEventsApi, auth: TikTokAuth, sandbox: SandboxServer
) -> None:
    wrong = auth.model_copy(update={"TIKTOK_ACCESS_TOKEN": "nope"})
    with pytest.raises(BulkSendError) as caught:
        api.track([purchase()] * 3, auth=wrong)
    assert [failed.index for failed in caught.value.result.failed] == [0, 1, 2]


def test_original_events_go_through_event_track_with_one_switch(
    auth: TikTokAuth, sandbox: SandboxServer, event: Event
) -> None:
    with TikTokEventsApi(events_api="2.0") as api:
        response = api.post_event(event=event, auth=auth)
        bulk = api.post_events_in_bulk(events=[event, event, event], auth=auth)
    assert response.code == 0
    assert bulk.accepted == (0, 1, 2)
    bodies = [request.body for request in sandbox.received]
    assert all(request.path == "/open_api/v1.3/event/track/" for request in sandbox.received)
    assert [len(body["data"]) for body in bodies] == [1, 3]
    single = bodies[0]
    assert (single["event_source"], single["event_source_id"]) == ("web", PIXEL)
    user = single["data"][0]["user"]
    assert user["email"] == QUICK_START_DIGESTS["email"]
    assert user["phone"] == QUICK_START_DIGESTS["phone_number"]
    assert user["ttclid"].startswith("E.C.P.")
    assert single["data"][0]["properties"]["contents"][0]["content_type"] == "product"
    for body in bodies:
        assert errors(validate_payload(body, "event_track", require_hashed=True)) == []
        assert not any(raw in json.dumps(body) for raw in RAW_PERSONAL_DATA)


def test_track_accepts_original_events_too(
    api: TikTokEventsApi, auth: TikTokAuth, sandbox: SandboxServer, event: Event
) -> None:
    api.track([event, purchase()], auth=auth)
    (body,) = assert_received_cleanly(sandbox)
    assert [item["event"] for item in body["data"]] == ["ViewContent", "Purchase"]


@pytest.mark.parametrize(
    "name",
    ["web-purchase", "app-purchase-ios", "offline-complete-payment", "crm-lead", "web-travel",
     "web-vehicle"],
)  # fmt: skip
def test_bodies_in_the_shape_of_tiktoks_code_replay_through_track(
    name: str, auth: TikTokAuth, sandbox: SandboxServer
) -> None:
    body = json.loads((CORPUS / f"segment-shape__{name}.json").read_text())
    assert errors(validate_payload(body, "event_track", require_hashed=True)) == []
    with TikTokEventsApi() as api:
        result = api.track(
            body["data"],
            auth=auth,
            event_source=body["event_source"],
            event_source_id=body["event_source_id"],
            partner_name=body.get("partner_name"),
        )
    assert result.accepted == (0,)
    (sent,) = assert_received_cleanly(sandbox)
    original, replayed = body["data"][0], sent["data"][0]
    assert replayed["user"] == original["user"]  # digests pass through; location stays raw
    assert replayed["properties"] == original["properties"]
