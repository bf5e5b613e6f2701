"""The request byte budget through real HTTP on 127.0.0.1 (issue 20, item 3): big events are
spread over requests that each stay within REQUEST_BYTE_BUDGET, every event is accounted for
in input order (also when one request is refused and isolated), and an event too big for a
request of its own is refused before anything is sent."""

from __future__ import annotations

from typing import Any

import pytest

from pytt_events import BulkSendError, PayloadValidationError, TikTokEventsApi
from pytt_events._constants import REQUEST_BYTE_BUDGET
from pytt_events.sender import EventSender
from pytt_events.testing import SandboxServer
from tests.conftest import TOKEN, auth_for

TEXT = "é" * 60_000  # 120,000 bytes of UTF-8: eight such events fill a request


def big(event_id: str) -> dict[str, Any]:
    return {
        "event": "Purchase",
        "event_time": 1_900_000_000,
        "event_id": event_id,
        "user": {"external_id": event_id},
        "properties": {"description": TEXT, "currency": "USD", "value": 1},
    }


def sizes(server: SandboxServer) -> list[int]:
    return [int(record.headers["content-length"]) for record in server.received]


def test_big_events_go_in_requests_within_the_budget_in_order() -> None:
    with SandboxServer(access_token=TOKEN) as server, TikTokEventsApi() as api:
        result = api.track([big(f"b-{i}") for i in range(40)], auth=auth_for(server))
    assert len(server.received) == 5
    assert all(size <= REQUEST_BYTE_BUDGET for size in sizes(server))
    assert sum(sizes(server)) > 4 * REQUEST_BYTE_BUDGET  # it would not have fitted in fewer
    assert result.accepted == tuple(range(40))
    assert result.failed == ()
    # Each response covers a run of consecutive events, in input order.
    assert [i for indices in result.response_indices for i in indices] == list(range(40))
    received = sorted(str(event["event_id"]) for event in server.accepted_events())
    assert received == sorted(f"b-{i}" for i in range(40))


def test_every_event_is_accounted_for_when_a_budget_split_request_is_refused() -> None:
    with (
        SandboxServer(access_token=TOKEN, bad_events={"b-13"}) as server,
        TikTokEventsApi() as api,
        pytest.raises(BulkSendError) as caught,
    ):
        api.track([big(f"b-{i}") for i in range(24)], auth=auth_for(server))
    result = caught.value.result
    assert all(size <= REQUEST_BYTE_BUDGET for size in sizes(server))
    assert [failure.index for failure in result.failed] == [13]
    assert result.accepted == tuple(i for i in range(24) if i != 13)
    assert sorted(str(e["event_id"]) for e in server.accepted_events()) == sorted(
        f"b-{i}" for i in range(24) if i != 13
    )


def test_an_event_too_big_for_any_request_is_refused_before_anything_is_sent() -> None:
    huge = big("huge")
    huge["properties"]["contents"] = [{"content_id": str(i), "description": TEXT} for i in range(9)]
    with SandboxServer(access_token=TOKEN) as server, TikTokEventsApi() as api:
        with pytest.raises(PayloadValidationError, match=r"events\.1 \(event_id 'huge'\): too big"):
            api.track([big("small"), huge], auth=auth_for(server))
        with EventSender(auth_for(server)) as sender:
            with pytest.raises(PayloadValidationError, match="too big to send"):
                sender.track(huge)
            assert sender.outbox.pending() == 0
    assert server.received == []


def test_the_background_sender_refuses_an_over_long_event_id_and_keeps_nothing() -> None:
    with SandboxServer(access_token=TOKEN) as server, EventSender(auth_for(server)) as sender:
        with pytest.raises(PayloadValidationError, match="event_id: String should"):
            sender.track(big("x" * 1_000_000))
        assert sender.outbox.pending() == 0
        assert sender.track(big("ok-1")) == "ok-1"
        assert sender.flush(timeout=30)
    assert [str(e["event_id"]) for e in server.accepted_events()] == ["ok-1"]
