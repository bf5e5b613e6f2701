"""One bad event does not cost the batch: TikTok refuses a whole multi-event request with 40002
for one bad event, often without naming it. Over real HTTP to the sandbox (bad_events), both
clients deliver every good event and report only the bad ones, within the documented bound of
extra requests (about 2·k·log2(n) for k bad events among n)."""

from __future__ import annotations

import asyncio
import json
import math
from typing import Any

import pytest

from pytt_events import (
    AsyncTikTokEventsApi,
    BulkResponse,
    BulkSendError,
    InvalidRequestError,
    TikTokEventsApi,
)
from pytt_events._delivery import isolation_budget
from pytt_events.auth import TikTokAuth
from pytt_events.event import Event
from pytt_events.testing import SandboxServer
from tests.conftest import PIXEL, TOKEN

EVENTS = 1_000
BAD = {"evt-3", "evt-500", "evt-999"}


def events() -> list[dict[str, Any]]:
    return [
        {"event": "Purchase", "event_time": 1_900_000_000, "event_id": f"evt-{i}",
         "user": {"external_id": str(i)}}
        for i in range(EVENTS)
    ]  # fmt: skip


def send(
    mode: str, sandbox: SandboxServer, method: str, items: Any, **options: Any
) -> BulkResponse:
    auth = TikTokAuth(
        TIKTOK_ACCESS_TOKEN=TOKEN, TIKTOK_PIXEL_ID=PIXEL, TIKTOK_API_BASE_URL=sandbox.base_url
    )
    try:
        if mode == "sync":
            with TikTokEventsApi(**options) as api:
                return getattr(api, method)(items, auth=auth)  # type: ignore[no-any-return]

        async def run() -> BulkResponse:
            async with AsyncTikTokEventsApi(**options) as api:
                return await getattr(api, method)(items, auth=auth)  # type: ignore[no-any-return]

        return asyncio.run(run())
    except BulkSendError as error:
        return error.result


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def bad_indexes() -> set[int]:
    return {int(event_id.removeprefix("evt-")) for event_id in BAD}


@pytest.mark.parametrize("named", [False, True], ids=["unnamed", "named"])
def test_only_the_bad_events_fail(mode: str, named: bool) -> None:
    with SandboxServer(access_token=TOKEN, bad_events=BAD, name_bad_index=named) as sandbox:
        result = send(mode, sandbox, "track", events())
        delivered = {event["event_id"] for event in sandbox.accepted_events()}
        requests = len(sandbox.received)
    assert {item.index for item in result.failed} == bad_indexes()
    assert set(result.accepted) == set(range(EVENTS)) - bad_indexes()
    assert delivered == {f"evt-{i}" for i in range(EVENTS)} - BAD  # every good event, once
    for item in result.failed:
        assert isinstance(item.error, InvalidRequestError)
        assert "Invalid value (sandbox bad_events)" in item.reason
        assert item.payload["data"][0]["event_id"] in BAD  # each failure can be stored alone
    bound = 1 + 2 * len(BAD) * math.ceil(math.log2(EVENTS))
    assert requests <= bound
    if named:
        # TikTok named the event: each bad one costs a refused request and one split.
        assert requests <= 1 + 3 * len(BAD)


def test_isolation_can_be_turned_off(mode: str) -> None:
    with SandboxServer(access_token=TOKEN, bad_events=BAD) as sandbox:
        result = send(mode, sandbox, "track", events(), isolate_invalid=False)
        assert len(sandbox.received) == 1
    assert result.accepted == ()
    assert len(result.failed) == EVENTS


def test_the_original_bulk_api_isolates_too(mode: str) -> None:
    batch = [
        Event(pixel_code=PIXEL, event="AddToCart", event_id=f"evt-{i}",
              context={"user": {"external_id": str(i)}})
        for i in range(120)
    ]  # fmt: skip
    with SandboxServer(access_token=TOKEN, bad_events={"evt-7"}) as sandbox:
        result = send(mode, sandbox, "post_events_in_bulk", batch)
    assert [item.index for item in result.failed] == [7]
    assert len(result.accepted) == 119
    assert result.failed[0].payload["event_id"] == "evt-7"  # a /pixel/track/ body of its own


def test_bulk_sends_report_progress_per_request(mode: str) -> None:
    seen: list[Any] = []
    items = [
        event | {"event_id": f"{event['event_id']}-{n}"} for n in range(3) for event in events()
    ]
    with SandboxServer(access_token=TOKEN) as sandbox:
        auth = TikTokAuth(
            TIKTOK_ACCESS_TOKEN=TOKEN, TIKTOK_PIXEL_ID=PIXEL, TIKTOK_API_BASE_URL=sandbox.base_url
        )
        if mode == "sync":
            with TikTokEventsApi() as api:
                result = api.track(items, auth=auth, on_progress=seen.append)
        else:

            async def run() -> BulkResponse:
                async with AsyncTikTokEventsApi() as api:
                    return await api.track(items, auth=auth, on_progress=seen.append)

            result = asyncio.run(run())
    assert len(result.accepted) == 3 * EVENTS
    # Requests finish in any order; the counts only grow, one request at a time.
    assert [(p.requests_done, p.requests_total) for p in seen] == [(1, 3), (2, 3), (3, 3)]
    assert [p.events_done for p in seen] == [1000, 2000, 3000]
    assert {p.events_total for p in seen} == {3000}


@pytest.mark.parametrize("named", [False, True], ids=["unnamed", "named"])
@pytest.mark.parametrize("every", [1, 2], ids=["all-bad", "every-second-bad"])
def test_many_bad_events_stay_within_the_budget(mode: str, named: bool, every: int) -> None:
    count = 200
    bad = {f"evt-{i}" for i in range(0, count, every)}
    with SandboxServer(access_token=TOKEN, bad_events=bad, name_bad_index=named) as sandbox:
        result = send(mode, sandbox, "track", events()[:count])
        delivered = {event["event_id"] for event in sandbox.accepted_events()}
        requests = len(sandbox.received)
    assert requests <= 1 + isolation_budget(count)  # never 2n-1 requests, never a recursion
    failed = {f"evt-{item.index}" for item in result.failed}
    assert failed >= bad  # every bad event is reported failed
    assert delivered.isdisjoint(bad)
    assert delivered | failed == {f"evt-{i}" for i in range(count)}  # each: sent or failed
    assert set(result.accepted).isdisjoint(item.index for item in result.failed)


def sandbox_answering(code: int, after: int | None = None, then: int | None = None) -> Any:
    """An in-process transport answering `code` to every request (or, after `after`
    requests, `then`), as TikTok would, counting the events of each request."""
    from pytt_events._mock_transport import mock_transport

    sizes: list[int] = []

    def handler(method: str, path: str, headers: Any, body: bytes) -> Any:
        sizes.append(len(json.loads(body)["data"]))
        answer = then if after is not None and len(sizes) > after else code
        envelope = {"code": answer, "message": "refused", "request_id": "r", "data": {}}
        return 200, {"Content-Type": "application/json"}, json.dumps(envelope).encode()

    return mock_transport(handler), sizes


@pytest.mark.parametrize("code", [40063, 40062, 40000])
def test_request_level_refusals_are_not_split(code: int) -> None:
    transport, sizes = sandbox_answering(code)
    auth = TikTokAuth(TIKTOK_ACCESS_TOKEN=TOKEN, TIKTOK_PIXEL_ID=PIXEL)
    with TikTokEventsApi(transport=transport) as api, pytest.raises(BulkSendError) as caught:
        api.track(events(), auth=auth)
    assert sizes == [EVENTS]
    assert len(caught.value.result.failed) == EVENTS


def test_a_fatal_error_during_isolation_stops_the_parts_left() -> None:
    transport, sizes = sandbox_answering(40002, after=3, then=40105)
    auth = TikTokAuth(TIKTOK_ACCESS_TOKEN=TOKEN, TIKTOK_PIXEL_ID=PIXEL)
    with TikTokEventsApi(transport=transport) as api, pytest.raises(BulkSendError) as caught:
        api.track(events(), auth=auth)
    assert len(sizes) == 4  # three refusals split the request; the 40105 stops the rest
    result = caught.value.result
    assert result.accepted == ()
    assert {item.index for item in result.failed} == set(range(EVENTS))
