"""No event lost under faults: 10,000 events through each of the sandbox's fault modes, over
real HTTP on 127.0.0.1, with the sync and the async client. Every event ends up accepted or
failed, every accepted one reached the sandbox, and none was sent more often than the retry
policy allows.

Every fault is keyed to the content of a request, never to the order in which concurrent
requests arrive, so each test has one outcome, asserted exactly."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytt_events import (
    AsyncTikTokEventsApi,
    BulkResponse,
    BulkSendError,
    RetryPolicy,
    TikTokEventsApi,
)
from pytt_events.auth import TikTokAuth
from pytt_events.testing import Fault, FaultPlan, SandboxServer
from tests.conftest import PIXEL, TOKEN

EVENTS = 10_000
RETRY = RetryPolicy(max_retries=3, initial_delay=0.001, max_delay=0.01)
TIMEOUT = 10.0  # the client's, per attempt
# For DELAY and TIMEOUT faults, which wait longer than this. The requests without the fault
# must be answered within it too, while the whole suite runs beside them on two cores (a
# 1,000-event request takes the sandbox up to about a second then): 2.5 s leaves room.
SHORT_TIMEOUT = 2.5


@pytest.fixture(scope="module")
def events() -> list[dict[str, Any]]:
    return [
        {
            "event": "Purchase",
            "event_time": 1709294400 + i,
            "event_id": f"evt-{i}",
            "user": {"email": f"customer{i}@example.com", "external_id": str(i)},
            "properties": {"currency": "USD", "value": 1.0 + i % 7},
        }
        for i in range(EVENTS)
    ]


# Faults are keyed to each request's content (its event_ids), never to arrival order: the same
# requests meet the same faults in every run, however the concurrent requests interleave.
# Passing requests meet the fault on max_retries deliveries and then go through; failing ones
# meet it on every attempt the policy allows, so their events fail. DELAY and TIMEOUT cost a
# client timeout per attempt, so they run with one retry.
SLOW_FAULTS = (Fault.DELAY, Fault.TIMEOUT)
SLOW_RETRY = RetryPolicy(max_retries=1, initial_delay=0.001, max_delay=0.01)
OPTIONS = {
    Fault.RATE_LIMIT: {"retry_after": 0.01},
    Fault.SERVER_ERROR: {},
    Fault.DELAY: {"delay": 3.5},
    Fault.TIMEOUT: {"delay": 3.5},
    Fault.DROP: {},
    Fault.MALFORMED: {},
    Fault.PARTIAL: {},  # a partial success is a success: no request fails for good
}


def retry_for(fault: Fault) -> RetryPolicy:
    return SLOW_RETRY if fault in SLOW_FAULTS else RETRY


def plans(fault: Fault) -> list[FaultPlan]:
    retries = retry_for(fault).max_retries
    chosen = [FaultPlan(fault, attempts=retries, share=0.5, seed=1, **OPTIONS[fault])]
    if fault is not Fault.PARTIAL:
        chosen.append(FaultPlan(fault, attempts=1 + retries, share=0.3, seed=2, **OPTIONS[fault]))
    return chosen


def picked(plan: FaultPlan, sandbox: SandboxServer) -> set[int]:
    """The indexes of the events in the requests that `plan` picks."""
    return {
        int(event["event_id"].removeprefix("evt-"))
        for request in sandbox.received
        if plan.selects(request.body)
        for event in request.events
    }


def send(
    mode: str, sandbox: SandboxServer, events: list[dict[str, Any]], **options: Any
) -> BulkResponse:
    auth = TikTokAuth(
        TIKTOK_ACCESS_TOKEN=TOKEN, TIKTOK_PIXEL_ID=PIXEL, TIKTOK_API_BASE_URL=sandbox.base_url
    )
    options = {"retry": RETRY, "timeout": TIMEOUT, **options}
    try:
        if mode == "sync":
            with TikTokEventsApi(**options) as api:
                return api.track(events, auth=auth)

        async def run() -> BulkResponse:
            async with AsyncTikTokEventsApi(**options) as api:
                return await api.track(events, auth=auth)

        return asyncio.run(run())
    except BulkSendError as error:
        return error.result


def assert_accounted(result: BulkResponse, sandbox: SandboxServer, max_retries: int) -> None:
    accepted = set(result.accepted)
    failed = {item.index for item in result.failed}
    assert accepted.isdisjoint(failed)
    assert accepted | failed == set(range(EVENTS))  # every event: accepted or failed
    received = {event["event_id"] for event in sandbox.accepted_events()}
    assert {f"evt-{i}" for i in accepted} <= received  # every accepted one reached it
    deliveries = sandbox.deliveries()
    assert max(deliveries.values()) <= 1 + max_retries  # never more than the policy allows


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> Iterator[str]:
    return request.param


@pytest.mark.parametrize("fault", list(OPTIONS), ids=[fault.value for fault in OPTIONS])
def test_ten_thousand_events_under_each_fault(
    mode: str, fault: Fault, events: list[dict[str, Any]]
) -> None:
    timeout = SHORT_TIMEOUT if fault in SLOW_FAULTS else TIMEOUT
    retry = retry_for(fault)
    with SandboxServer(access_token=TOKEN, faults=plans(fault)) as sandbox:
        # All ten requests at once, so the slow faults' timeouts overlap rather than add up.
        result = send(mode, sandbox, events, timeout=timeout, retry=retry, max_concurrency=10)
        assert_accounted(result, sandbox, retry.max_retries)
        assert any(request.fault is fault for request in sandbox.received)
        passing, *failing = plans(fault)
        assert picked(passing, sandbox), "some requests meet the fault and then go through"
        # Exactly the events of the requests that meet the fault on every attempt fail, each
        # with the fault's error after every retry; all the others are accepted.
        expected_failed = picked(failing[0], sandbox) if failing else set()
        assert {item.index for item in result.failed} == expected_failed
        assert len(result.accepted) == EVENTS - len(expected_failed) > 0
        for item in result.failed:
            assert item.error.attempts == 1 + retry.max_retries
        if fault is Fault.PARTIAL:
            assert result.partial_successes
        else:
            assert expected_failed


def test_final_failures_are_reported_written_and_sent_again(
    mode: str, events: list[dict[str, Any]], tmp_path: Path
) -> None:
    retry = RetryPolicy(max_retries=1, initial_delay=0.001, max_delay=0.001)
    plan = FaultPlan(Fault.SERVER_ERROR, attempts=2, share=0.3, seed=5)
    with SandboxServer(access_token=TOKEN, faults=plan) as sandbox:
        result = send(mode, sandbox, events, retry=retry, max_concurrency=2)
        assert_accounted(result, sandbox, retry.max_retries)
        expected_failed = picked(plan, sandbox)
    assert expected_failed, "the picked requests exhaust their retries"
    assert {item.index for item in result.failed} == expected_failed
    assert all("HTTP 500" in item.reason for item in result.failed)
    failed_file = tmp_path / "failed.ndjson"
    assert result.write_failed(failed_file) == len(result.failed)
    lines = [json.loads(line) for line in failed_file.read_text().splitlines()]
    assert {line["data"][0]["event_id"] for line in lines} == {
        f"evt-{item.index}" for item in result.failed
    }
    # Sent again (they are already hashed: the digests pass through unchanged).
    with SandboxServer(access_token=TOKEN) as clean, TikTokEventsApi(retry=RETRY) as api:
        auth = TikTokAuth(
            TIKTOK_ACCESS_TOKEN=TOKEN, TIKTOK_PIXEL_ID=PIXEL, TIKTOK_API_BASE_URL=clean.base_url
        )
        again = api.send_payloads(lines, auth)
        assert again.accepted == tuple(range(len(lines)))
        resent = {event["event_id"]: event for event in clean.accepted_events()}
    original = {f"evt-{item.index}": item.payload["data"][0] for item in result.failed}
    assert resent == original  # byte-for-byte the same events, hashed once


def test_original_bulk_api_under_faults(mode: str, events: list[dict[str, Any]]) -> None:
    """The 1.0 path (/pixel/batch/, 50 per request) under rate limits and dropped connections."""
    from pytt_events.event import Event

    batch = [
        Event(
            pixel_code=PIXEL,
            event="AddToCart",
            event_id=f"evt-{i}",
            context={"user": {"email": f"customer{i}@example.com"}},
        )
        for i in range(1_000)
    ]
    # Keyed to content: a request meets at most 2 faults (2 rate limits, or 1 drop, or a rate
    # limit and then a drop), fewer than the 3 retries, whatever order the 20 requests arrive in.
    faults = [
        FaultPlan(Fault.RATE_LIMIT, attempts=1, share=0.5, seed=3),
        FaultPlan(Fault.DROP, attempts=2, share=0.3, seed=4),
    ]
    with SandboxServer(access_token=TOKEN, faults=faults) as sandbox:
        auth = TikTokAuth(
            TIKTOK_ACCESS_TOKEN=TOKEN, TIKTOK_PIXEL_ID=PIXEL, TIKTOK_API_BASE_URL=sandbox.base_url
        )
        if mode == "sync":
            with TikTokEventsApi(retry=RETRY) as api:
                result = api.post_events_in_bulk(batch, auth)
        else:

            async def run() -> BulkResponse:
                async with AsyncTikTokEventsApi(retry=RETRY) as api:
                    return await api.post_events_in_bulk(batch, auth)

            result = asyncio.run(run())
        assert {request.fault for request in sandbox.received} == {
            Fault.RATE_LIMIT,
            Fault.DROP,
            None,
        }
        assert result.accepted == tuple(range(1_000))
        assert len({event["event_id"] for event in sandbox.accepted_events()}) == 1_000
        assert max(sandbox.deliveries().values()) <= 1 + RETRY.max_retries
