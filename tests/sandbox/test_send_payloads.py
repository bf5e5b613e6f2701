"""send_payloads and preview_payloads called directly (the CLI's `send` reaches them only in a
subprocess), by both clients, over real HTTP to the sandbox on 127.0.0.1: stored /pixel/track/,
/pixel/batch/ and /event/track/ bodies, alone and mixed (and with events_api="2.0", which sends
the 1.0 bodies to /event/track/ too). The sandbox's record is the reference: which endpoint got
how many events in how many requests, the event_ids, the regrouping into as few requests as the
schema's maximum allows, and the result's positions, which count events across payloads in
input order. Requests may arrive in any order: what they carried is compared sorted or by
request_id."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from pytt_events import (
    AsyncTikTokEventsApi,
    BulkResponse,
    BulkSendError,
    Event,
    PayloadValidationError,
    TikTokAuth,
    TikTokEventsApi,
    sha256_hex,
)
from pytt_events.testing import SandboxServer
from tests.conftest import PIXEL, RAW_PERSONAL_DATA, ROOT, TOKEN

CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "corpus"
SCHEMA = json.loads((ROOT / "schema" / "v1.3" / "events_api.schema.json").read_text("utf-8"))
PIXEL_BATCH = "/open_api/v1.3/pixel/batch/"
EVENT_TRACK = "/open_api/v1.3/event/track/"
OTHER_PIXEL = "C4OTHERPIXEL99"
EVENT_SET = "7123456789012345678"  # an event set ID, as offline and crm events take
EVENT_TIME = 1_900_000_000
RAW_EMAIL = RAW_PERSONAL_DATA[0]

Payload = dict[str, Any]


def maximum(family: str) -> int:
    """The schema's per-request maximum of a multi-event family (maxItems of its x-events)."""
    for definition in SCHEMA["$defs"].values():
        if definition.get("x-family") == family:
            return int(definition["properties"][definition["x-events"]]["maxItems"])
    raise AssertionError(f"no family {family} in the schema")


def fewest_requests(events: int, most: int) -> list[int]:
    """The sizes, sorted, of `events` events in as few requests of at most `most` as possible."""
    full, rest = divmod(events, most)
    return sorted([most] * full + ([rest] if rest else []))


def pixel_track(event: Event, event_id: str) -> Payload:
    """A stored /pixel/track/ body: one Events 1.0 event, as the SDK sends it (hashed)."""
    return event.model_copy(update={"event_id": event_id}).normalize_data()


def pixel_batch(event: Event, event_ids: list[str], pixel_code: str = PIXEL) -> Payload:
    """A stored /pixel/batch/ body: the pixel_code once at the top, items as RudderStack sends
    them (with "type": "track")."""
    items = [
        {"type": "track", **{k: v for k, v in pixel_track(event, i).items() if k != "pixel_code"}}
        for i in event_ids
    ]
    return {"pixel_code": pixel_code, "batch": items}


def event_track(
    event_ids: list[str], source: str = "web", source_id: str = PIXEL, **top: Any
) -> Payload:
    """A stored /event/track/ body of one event source."""
    data = [
        {"event": "Purchase", "event_time": EVENT_TIME, "event_id": event_id,
         "user": {"external_id": sha256_hex(event_id)}}
        for event_id in event_ids
    ]  # fmt: skip
    return {"event_source": source, "event_source_id": source_id, **top, "data": data}


def corpus(name: str) -> Payload:
    loaded: Payload = json.loads((CORPUS / name).read_text("utf-8"))
    return loaded


def send(
    mode: str,
    auth: TikTokAuth,
    payloads: list[Payload],
    *,
    skip_invalid: bool = False,
    **options: Any,
) -> BulkResponse:
    if mode == "sync":
        with TikTokEventsApi(**options) as api:
            return api.send_payloads(payloads, auth, skip_invalid=skip_invalid)

    async def run() -> BulkResponse:
        async with AsyncTikTokEventsApi(**options) as api:
            return await api.send_payloads(payloads, auth, skip_invalid=skip_invalid)

    return asyncio.run(run())


def preview(mode: str, auth: TikTokAuth, payloads: list[Payload]) -> Any:
    if mode == "sync":
        with TikTokEventsApi() as api:
            return api.preview_payloads(payloads, auth)

    async def run() -> Any:
        async with AsyncTikTokEventsApi() as api:
            return api.preview_payloads(payloads, auth)

    return asyncio.run(run())


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def ids_of(request: Any) -> list[str]:
    return [event.get("event_id") for event in request.events]


def requests_by_top(sandbox: SandboxServer) -> dict[tuple[Any, ...], list[list[str]]]:
    """Per endpoint and request-level fields (the body but its events), the event_ids of each
    request the sandbox accepted, in the request's order; requests may arrive in any order, so
    the requests of a group are sorted."""
    found: dict[tuple[Any, ...], list[list[str]]] = {}
    for request in sandbox.received:
        assert request.code == 0, request.code
        top = tuple(sorted((k, v) for k, v in request.body.items() if k not in ("batch", "data")))
        found.setdefault((request.path, *top), []).append(ids_of(request))
    return {key: sorted(lists) for key, lists in found.items()}


def assert_positions(result: BulkResponse, sandbox: SandboxServer, ids: list[str]) -> None:
    """Every event accepted, each at its position in `ids` (the event_ids of the payloads' events
    in input order): each response's positions name the events its request carried, in order."""
    assert result.accepted == tuple(range(len(ids)))
    assert result.failed == ()
    carried = {request.request_id: ids_of(request) for request in sandbox.received}
    assert len(result.responses) == len(carried)
    for indices, response in zip(result.response_indices, result.responses, strict=True):
        assert [ids[index] for index in indices] == carried[response.request_id]


# family, events per payload
REGROUPED = [("pixel_track", 1), ("pixel_batch", 7), ("event_track", 150)]


@pytest.mark.parametrize(("family", "size"), REGROUPED, ids=[family for family, _ in REGROUPED])
def test_small_payloads_go_in_as_few_requests_as_the_schema_allows(
    mode: str, auth: TikTokAuth, sandbox: SandboxServer, event: Event, family: str, size: int
) -> None:
    endpoint, most = (
        (EVENT_TRACK, maximum("event_track"))
        if family == "event_track"
        else (PIXEL_BATCH, maximum("pixel_batch"))  # 1.0 bodies are replayed as batches
    )
    count = most // size + 2  # more payloads than fit in one request
    groups = [[f"{family}-{p}-{e}" for e in range(size)] for p in range(count)]
    build = {
        "pixel_track": lambda ids: pixel_track(event, ids[0]),
        "pixel_batch": lambda ids: pixel_batch(event, ids),
        "event_track": event_track,
    }[family]
    ids = [event_id for group in groups for event_id in group]

    result = send(mode, auth, [build(group) for group in groups])

    assert [key[0] for key in requests_by_top(sandbox)] == [endpoint]  # one group only
    assert sorted(len(request.events) for request in sandbox.received) == fewest_requests(
        len(ids), most
    )
    assert sorted(i for request in sandbox.received for i in ids_of(request)) == sorted(ids)
    assert_positions(result, sandbox, ids)


def test_a_mix_is_grouped_by_endpoint_and_request_level_fields(
    mode: str, auth: TikTokAuth, sandbox: SandboxServer, event: Event
) -> None:
    rudder = corpus("pixel_track/rudder-transformer__processor-test45-empty-contents.json")
    segment = corpus("event_track/segment-action-destinations__crm-lead.json")
    payloads = [
        pixel_track(event, "m0"),
        pixel_batch(event, ["m1", "m2"], pixel_code=OTHER_PIXEL),
        event_track(["m3"]),
        rudder,
        event_track(["m5", "m6"], source="crm", source_id=EVENT_SET),
        segment,
        event_track(["m8"], test_event_code="TEST123"),
        pixel_batch(event, ["m9"]),
        event_track(["m10"]),
    ]
    ids = ["m0", "m1", "m2", "m3", rudder["event_id"], "m5", "m6",
           segment["data"][0]["event_id"], "m8", "m9", "m10"]  # fmt: skip

    result = send(mode, auth, payloads)

    assert requests_by_top(sandbox) == {
        (PIXEL_BATCH, ("pixel_code", PIXEL)): [["m0", "m9"]],
        (PIXEL_BATCH, ("pixel_code", OTHER_PIXEL)): [["m1", "m2"]],
        (PIXEL_BATCH, ("partner_name", "RudderStack"), ("pixel_code", rudder["pixel_code"])): [
            [rudder["event_id"]]
        ],
        (EVENT_TRACK, ("event_source", "web"), ("event_source_id", PIXEL)): [["m3", "m10"]],
        (EVENT_TRACK, ("event_source", "crm"), ("event_source_id", EVENT_SET)): [["m5", "m6"]],
        (EVENT_TRACK, ("event_source", "crm"), ("event_source_id", "test"),
         ("partner_name", "Segment")): [[segment["data"][0]["event_id"]]],
        (EVENT_TRACK, ("event_source", "web"), ("event_source_id", PIXEL),
         ("test_event_code", "TEST123")): [["m8"]],
    }  # fmt: skip
    assert_positions(result, sandbox, ids)
    assert result.invalid == ()


def test_stored_bodies_arrive_as_stored(
    mode: str, auth: TikTokAuth, sandbox: SandboxServer, event: Event
) -> None:
    track, batch, later = pixel_track(event, "s0"), pixel_batch(event, ["s1"]), event_track(["s2"])

    send(mode, auth, [track, batch, later])

    (sent_batch,) = (r.body for r in sandbox.received if r.path == PIXEL_BATCH)
    (sent_track,) = (r.body for r in sandbox.received if r.path == EVENT_TRACK)
    # A single-event body becomes a batch item: the same fields but the pixel_code, given once.
    assert sent_batch["batch"][0] == {k: v for k, v in track.items() if k != "pixel_code"}
    assert sent_batch["batch"][1]["context"] == batch["batch"][0]["context"]
    assert sent_track["data"] == later["data"]
    assert not any(raw in json.dumps([sent_batch, sent_track]) for raw in RAW_PERSONAL_DATA)


def test_skip_invalid_lists_the_invalid_payloads_and_sends_the_rest(
    mode: str, auth: TikTokAuth, sandbox: SandboxServer, event: Event
) -> None:
    payloads = [
        pixel_track(event, "v0"),
        {"pixel_code": PIXEL, "context": {"user": {"email": RAW_EMAIL}}},  # no event
        event_track(["v1", "v2"]),
        {"neither": "a pixel nor an event source"},
        event_track(["x"], source="television"),
        pixel_batch(event, ["v3"]),
    ]

    result = send(mode, auth, payloads, skip_invalid=True)

    assert [invalid.number for invalid in result.invalid] == [1, 3, 4]
    assert result.invalid[0].errors == (("payloads.1.event", "Field required"),)
    assert all(invalid.errors for invalid in result.invalid)
    assert RAW_EMAIL not in repr(result.invalid)
    assert_positions(result, sandbox, ["v0", "v1", "v2", "v3"])
    assert "3 invalid payload(s) not sent" in result.message


def test_an_invalid_payload_without_skip_invalid_sends_nothing(
    mode: str, auth: TikTokAuth, sandbox: SandboxServer, event: Event
) -> None:
    payloads = [
        pixel_track(event, "n0"),
        event_track(["n1"]),
        {"pixel_code": PIXEL, "batch": [{"context": {"user": {"email": RAW_EMAIL}}}]},
    ]
    with pytest.raises(PayloadValidationError) as caught:
        send(mode, auth, payloads)
    assert caught.value.errors == [("payloads.2.batch.0.event", "Field required")]
    assert RAW_EMAIL not in str(caught.value)
    assert sandbox.received == []


def test_preview_says_what_send_then_sends(
    mode: str, auth: TikTokAuth, sandbox: SandboxServer, event: Event
) -> None:
    most = maximum("pixel_batch")
    payloads = [
        *(pixel_track(event, f"p{i}") for i in range(most + 1)),
        {"event_source": "web", "data": [{"event": "Purchase"}]},  # no event_source_id
        pixel_batch(event, ["b0", "b1"], pixel_code=OTHER_PIXEL),
        event_track(["t0", "t1", "t2"]),
    ]

    planned = preview(mode, auth, payloads)
    assert sandbox.received == []  # a preview sends nothing
    result = send(mode, auth, payloads, skip_invalid=True)

    assert (planned.events, planned.requests) == (most + 6, 4)
    assert [invalid.number for invalid in planned.invalid] == [most + 1]
    assert planned.events == len(result.accepted) == len(sandbox.accepted_events())
    assert planned.requests == len(result.responses) == len(sandbox.received)
    assert planned.invalid == result.invalid


def test_a_failed_event_is_reported_at_its_position_across_payloads(
    mode: str, event: Event
) -> None:
    payloads = [
        pixel_track(event, "f0"),
        pixel_batch(event, ["f1", "f2"]),
        event_track(["f3", "f4", "f5"]),
        pixel_track(event, "f6"),
    ]
    with SandboxServer(access_token=TOKEN, bad_events={"f4"}) as sandbox:
        auth = TikTokAuth(
            TIKTOK_ACCESS_TOKEN=TOKEN, TIKTOK_PIXEL_ID=PIXEL, TIKTOK_API_BASE_URL=sandbox.base_url
        )
        with pytest.raises(BulkSendError) as caught:
            send(mode, auth, payloads)
        accepted = sorted(i for request in sandbox.received if request.code == 0
                          for i in ids_of(request))  # fmt: skip
    result = caught.value.result
    assert [failed.index for failed in result.failed] == [4]
    assert result.failed[0].payload["data"][0]["event_id"] == "f4"
    assert result.accepted == (0, 1, 2, 3, 5, 6)
    assert accepted == ["f0", "f1", "f2", "f3", "f5", "f6"]


def test_with_events_api_2_0_web_bodies_of_a_pixel_share_its_event_track_requests(
    mode: str, auth: TikTokAuth, sandbox: SandboxServer, event: Event
) -> None:
    payloads = [
        pixel_track(event, "w0"),
        pixel_batch(event, ["w1", "w2"]),
        pixel_track(event, "w3") | {"pixel_code": OTHER_PIXEL},
        event_track(["w4"]),
    ]

    result = send(mode, auth, payloads, events_api="2.0")

    assert requests_by_top(sandbox) == {
        (EVENT_TRACK, ("event_source", "web"), ("event_source_id", PIXEL)): [
            ["w0", "w1", "w2", "w4"]
        ],
        (EVENT_TRACK, ("event_source", "web"), ("event_source_id", OTHER_PIXEL)): [["w3"]],
    }
    assert_positions(result, sandbox, ["w0", "w1", "w2", "w3", "w4"])


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_an_unknown_request_level_key_is_refused_at_its_path(
    mode: str, auth: TikTokAuth, sandbox: SandboxServer, event: Event
) -> None:
    batch = {"pixel_code": PIXEL, "batch": [pixel_track(event, "u-1")], "foo": 1}
    track = {**event_track(["u-2"]), "bar": 2}
    result = send(mode, auth, [batch, track], skip_invalid=True)
    assert [(item.number, item.errors) for item in result.invalid] == [
        (0, (("payloads.0.foo", "Extra inputs are not permitted"),)),
        (1, (("payloads.1.bar", "Extra inputs are not permitted"),)),
    ]
    assert sandbox.received == []


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_stored_event_without_event_id_gets_the_same_one_on_every_resend(
    mode: str, auth: TikTokAuth, sandbox: SandboxServer, event: Event
) -> None:
    """A retried job or a replayed file sends the same event_id, so TikTok can merge them."""
    web = {k: v for k, v in pixel_track(event, "x").items() if k != "event_id"}
    track = event_track(["y"])
    del track["data"][0]["event_id"]
    kept = pixel_track(event, "kept-id")
    send(mode, auth, [web, track, kept])
    send(mode, auth, [web, track, kept])
    sent = [e["event_id"] for r in sandbox.received for e in r.events]
    assert len(sent) == 6
    first, second = sorted(sent[:3]), sorted(sent[3:])
    assert first == second  # the same ids the second time
    assert "kept-id" in first  # an event_id given is kept
    assert len(set(first)) == 3  # and events differ from each other


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_missing_event_ids_can_be_refused(
    mode: str, auth: TikTokAuth, sandbox: SandboxServer, event: Event
) -> None:
    web = {k: v for k, v in pixel_track(event, "x").items() if k != "event_id"}
    result = send(
        mode, auth, [web, pixel_track(event, "ok")], skip_invalid=True, missing_event_ids="refuse"
    )
    assert [(item.number, item.errors) for item in result.invalid] == [
        (0, (("payloads.0.event_id", "required to send a stored event again"),))
    ]
    assert [e["event_id"] for r in sandbox.received for e in r.events] == ["ok"]
