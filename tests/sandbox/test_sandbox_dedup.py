"""The sandbox deduplicates as TikTok does (../shared/TIKTOK-API-NOTES.md, "Deduplication"), over
real HTTP on 127.0.0.1: the key is pixel (or event set) + event + event_id, or the `_ttp` cookie
without an event_id; a copy within 48 hours of the first counted copy is a duplicate. So a
resend by the client or by EventSender, with the same event_id, counts once.

Time is a ManualClock: no test waits 48 hours, and none depends on timing or on the order of
concurrent requests."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from pytt_events import (
    AsyncTikTokEventsApi,
    ConfigurationError,
    InvalidRequestError,
    RetryPolicy,
    TikTokEventsApi,
)
from pytt_events.auth import TikTokAuth
from pytt_events.event import Event
from pytt_events.sender import EventSender, SendResult
from pytt_events.testing import DedupKey, Fault, FaultPlan, ManualClock, SandboxServer
from tests.conftest import PIXEL, TOKEN, auth_for

HOUR = 3600.0
WINDOW = 48 * HOUR
OTHER_PIXEL = "C4OTHERPIXEL456"
QUICK = RetryPolicy(max_retries=1, initial_delay=0.001, max_delay=0.001)
TRACK_PATH = "/open_api/v1.3/event/track/"


def purchase(event_id: str | None, **user: Any) -> dict[str, Any]:
    """An Events 2.0 event (event_time: the sandbox's clock does not bear on it)."""
    event: dict[str, Any] = {"event": "Purchase", "event_time": int(time.time()), "user": user}
    if event_id is not None:
        event["event_id"] = event_id
    return event


def key(event_id: str, event: str = "ViewContent", source: str = PIXEL) -> DedupKey:
    return DedupKey(source, event, event_id)


def post_raw(sandbox: SandboxServer, path: str, body: Any, token: str = TOKEN) -> int:
    """A body as any integration would send it (the SDK gives every 2.0 event an event_id):
    over HTTP, without the client. Returns TikTok's code."""
    answer = httpx.post(
        sandbox.base_url.removesuffix("/open_api/") + path,
        json=body,
        headers={"Access-Token": token},
        timeout=10,
    )
    code: int = answer.json()["code"]
    return code


# -- a resend is harmless -------------------------------------------------------------------------


def test_a_resend_by_the_client_with_the_same_event_id_counts_once(
    api: TikTokEventsApi, auth: TikTokAuth, sandbox: SandboxServer, event: Event
) -> None:
    first = api.post_event(event, auth)
    again = api.post_event(event, auth)  # the same event_id, as a resend carries
    assert (first.code, again.code) == (0, 0)  # TikTok answers a duplicate like any event
    assert [request.counted for request in sandbox.received] == [(True,), (False,)]
    assert sandbox.received[1].duplicate_events == sandbox.received[1].events
    assert sandbox.received[1].counted_events == []
    assert sandbox.counted_by_key() == {key("123456789"): [sandbox.received[0].body]}
    assert sandbox.counted_events() == [sandbox.received[0].body]
    assert (sandbox.events_accepted, sandbox.events_counted, sandbox.duplicates) == (2, 1, 1)


@pytest.mark.parametrize("client_cls", [TikTokEventsApi, AsyncTikTokEventsApi])
def test_a_retry_after_an_answer_lost_counts_once(client_cls: type[Any]) -> None:
    # MALFORMED processes the request, then answers with a body that is not JSON: TikTok took
    # the events, the client could not know and sends them again with the same event_ids.
    lost = FaultPlan(Fault.MALFORMED, attempts=1)
    events = [purchase(f"m-{i}", email=f"m{i}@example.com") for i in range(5)]
    with SandboxServer(access_token=TOKEN, faults=lost) as sandbox:
        auth = auth_for(sandbox)
        if client_cls is TikTokEventsApi:
            with TikTokEventsApi(retry=QUICK) as api:
                result = api.track(events, auth=auth)
        else:

            async def run() -> Any:
                async with AsyncTikTokEventsApi(retry=QUICK) as api:
                    return await api.track(events, auth=auth)

            result = asyncio.run(run())
        assert result.accepted == (0, 1, 2, 3, 4)
        assert sandbox.deliveries() == Counter({f"m-{i}": 2 for i in range(5)})
        assert [request.fault for request in sandbox.received] == [Fault.MALFORMED, None]
        assert [request.counted for request in sandbox.received] == [(True,) * 5, (False,) * 5]
        counted = sandbox.counted_by_key()
    assert counted.keys() == {key(f"m-{i}", "Purchase") for i in range(5)}
    assert all(len(copies) == 1 for copies in counted.values())


@pytest.mark.parametrize(
    "fault",
    [Fault.RATE_LIMIT, Fault.SERVER_ERROR, Fault.DROP, Fault.TIMEOUT],
    ids=lambda fault: fault.value,
)
def test_a_request_a_fault_kept_from_tiktok_counts_nothing_and_its_retry_counts(
    fault: Fault, event: Event
) -> None:
    plan = FaultPlan(fault, attempts=1, delay=0.0)  # TIMEOUT: closed unanswered, at once
    with SandboxServer(access_token=TOKEN, faults=plan) as sb:
        with TikTokEventsApi(retry=QUICK) as api:
            assert api.post_event(event, auth_for(sb)).code == 0
        assert [request.fault for request in sb.received] == [fault, None]
        assert [request.counted for request in sb.received] == [(), (True,)]
        assert sb.received[0].dedup_keys == ()
        assert sb.counted_by_key() == {key("123456789"): [sb.received[1].body]}
        assert (sb.events_accepted, sb.events_counted, sb.duplicates) == (1, 1, 0)


@pytest.mark.parametrize(
    "fault", [Fault.DELAY, Fault.MALFORMED, Fault.PARTIAL], ids=lambda fault: fault.value
)
def test_a_request_a_fault_lets_through_counts(fault: Fault, event: Event) -> None:
    # These faults process the request (DELAY and MALFORMED only change the answer; PARTIAL's
    # 20001 names no rejected event, so its events are taken as the sandbox accepts them).
    plan = FaultPlan(fault, first=1, delay=0.0)
    with SandboxServer(access_token=TOKEN, faults=plan) as sandbox:
        with TikTokEventsApi(retry=QUICK) as api:
            api.post_event(event, auth_for(sandbox))
            api.post_event(event, auth_for(sandbox))
        first, *later = sandbox.received  # MALFORMED: the client's retry, then the second
        assert (first.fault, first.counted) == (fault, (True,))
        assert [request.counted for request in later] == [(False,)] * len(later)
        assert sandbox.events_counted == 1


def test_event_sender_sending_again_after_a_lost_answer_counts_once(tmp_path: Path) -> None:
    # No retry in the client: the sender puts the events back in its outbox and sends them
    # again after its backoff, with their event_ids. Its one worker sends one request at a
    # time, so "the first request" is exact (which events it carries depends on when the
    # worker woke; what is asserted does not).
    results: list[SendResult] = []
    lost = FaultPlan(Fault.MALFORMED, first=1)
    with SandboxServer(access_token=TOKEN, faults=lost) as sandbox:
        api = TikTokEventsApi(retry=RetryPolicy(max_retries=0))
        outbox = tmp_path / "outbox.sqlite3"
        with EventSender(auth_for(sandbox), api=api, outbox=outbox, on_result=results.append) as s:
            ids = [s.track(purchase(f"s-{i}", email=f"s{i}@example.com")) for i in range(3)]
            deadline = time.monotonic() + 60
            # flush returns early while the events wait out the sender's backoff (1 s)
            while not s.flush(timeout=10):
                assert time.monotonic() < deadline, "the sender did not send again"
        api.close()
        first = sandbox.received[0]
        assert first.fault is Fault.MALFORMED
        lost_ids = {e["event_id"] for e in first.events}
        assert all(first.counted)  # TikTok took them; the answer was lost
        deliveries = sandbox.deliveries()
        assert deliveries == Counter({i: 2 if i in lost_ids else 1 for i in ids})
        assert sandbox.duplicates == len(lost_ids)
        counted = sandbox.counted_by_key()
    assert {k: len(v) for k, v in counted.items()} == {key(i, "Purchase"): 1 for i in ids}
    for event_id in lost_ids:
        assert [r.status for r in results if r.event_id == event_id] == ["retrying", "accepted"]


# -- the window -----------------------------------------------------------------------------------


def test_copies_within_48_hours_of_the_first_counted_copy_are_duplicates(
    api: TikTokEventsApi, event: Event
) -> None:
    clock = ManualClock(start=1_700_000_000)
    with SandboxServer(access_token=TOKEN, clock=clock) as sandbox:
        auth = auth_for(sandbox)

        def send_at(hours: float) -> bool:
            clock.advance(hours * HOUR - (clock() - 1_700_000_000))
            api.post_event(event, auth)
            (counted,) = sandbox.received[-1].counted
            return counted

        # The window opens at the first counted copy; a duplicate does not move it.
        assert send_at(0) is True
        assert send_at(24) is False
        assert send_at(47.99) is False
        assert send_at(48) is True  # 48 hours after the first: counts, and opens a new window
        assert send_at(72) is False  # 24 hours into the new window (not 48 after the last copy)
        assert send_at(95.99) is False
        assert send_at(96) is True
        copies = sandbox.counted_by_key()[key("123456789")]
    assert len(copies) == 3


def test_a_manual_clock_moves_forward_only() -> None:
    clock = ManualClock(start=100)
    assert (clock(), clock.advance(WINDOW), clock()) == (100, 100 + WINDOW, 100 + WINDOW)
    with pytest.raises(ConfigurationError, match="forward only"):
        clock.advance(-1)


def test_request_ids_follow_the_sandbox_clock(api: TikTokEventsApi, event: Event) -> None:
    with SandboxServer(access_token=TOKEN, clock=ManualClock(start=1_700_000_000)) as sandbox:
        api.post_event(event, auth_for(sandbox))
    assert sandbox.received[0].request_id.startswith("20231114221320")


def test_reset_forgets_what_counted(api: TikTokEventsApi, event: Event) -> None:
    with SandboxServer(access_token=TOKEN) as sandbox:
        api.post_event(event, auth_for(sandbox))
        sandbox.reset()
        api.post_event(event, auth_for(sandbox))
        assert sandbox.received[0].counted == (True,)
        assert (sandbox.events_counted, sandbox.duplicates) == (1, 0)


# -- the key --------------------------------------------------------------------------------------


def test_another_event_name_or_pixel_is_another_key(api: TikTokEventsApi, event: Event) -> None:
    with SandboxServer(access_token=TOKEN) as sandbox:
        auth = auth_for(sandbox)
        api.post_event(event, auth)
        api.post_event(event.model_copy(update={"event": "AddToCart"}), auth)
        api.post_event(event.model_copy(update={"pixel_code": OTHER_PIXEL}), auth)
        api.post_event(event.model_copy(update={"event_id": "another-id"}), auth)
        assert [request.counted for request in sandbox.received] == [(True,)] * 4
        assert set(sandbox.counted_by_key()) == {
            key("123456789"),
            key("123456789", "AddToCart"),
            key("123456789", source=OTHER_PIXEL),
            key("another-id"),
        }


def test_events_1_0_batch_keys_on_the_batch_pixel_code_and_copies_inside_are_duplicates(
    api: TikTokEventsApi, auth: TikTokAuth, sandbox: SandboxServer, event: Event
) -> None:
    other = event.model_copy(update={"event_id": "other"})
    result = api.post_events_in_bulk([event, other, event, event, other], auth)
    assert result.accepted == (0, 1, 2, 3, 4)
    (request,) = sandbox.received
    assert request.path == "/open_api/v1.3/pixel/batch/"
    assert request.counted == (True, True, False, False, False)
    assert request.dedup_keys == (key("123456789"), key("other"), *[key("123456789")] * 2,
                                  key("other"))  # fmt: skip
    assert [e["event_id"] for e in request.duplicate_events] == ["123456789", "123456789", "other"]
    counted = sandbox.counted_by_key()
    assert {k: len(v) for k, v in counted.items()} == {key("123456789"): 1, key("other"): 1}


def test_events_2_0_key_on_event_source_id(api: TikTokEventsApi, sandbox: SandboxServer) -> None:
    auth = auth_for(sandbox)
    offline_set = "7123456789012345678"
    api.track([purchase("t-1"), purchase("t-1"), purchase("t-2")], auth=auth)
    api.track([purchase("t-1")], auth=auth, event_source="offline", event_source_id=offline_set)
    api.track([purchase("t-1")], auth=auth, event_source="offline", event_source_id=offline_set)
    assert [request.counted for request in sandbox.received] == [
        (True, False, True),
        (True,),  # another event set: another key
        (False,),
    ]
    assert set(sandbox.counted_by_key()) == {
        key("t-1", "Purchase"),
        key("t-2", "Purchase"),
        key("t-1", "Purchase", source=offline_set),
    }


def test_a_web_event_through_events_1_0_and_2_0_for_one_pixel_has_one_key(
    api: TikTokEventsApi, auth: TikTokAuth, sandbox: SandboxServer, event: Event
) -> None:
    # TikTok keys on the pixel, whichever Events API version carried the event.
    api.post_event(event, auth)
    api.track([event], auth=auth)  # the same Event, converted to 2.0 (same pixel, same id)
    assert [request.path for request in sandbox.received] == [
        "/open_api/v1.3/pixel/track/",
        TRACK_PATH,
    ]
    assert sandbox.received[1].dedup_keys == (key("123456789"),)
    assert [request.counted for request in sandbox.received] == [(True,), (False,)]


def test_without_an_event_id_events_1_0_key_on_the_ttp_cookie(
    api: TikTokEventsApi, auth: TikTokAuth, sandbox: SandboxServer
) -> None:
    def page_view(ttp: str | None) -> dict[str, Any]:
        user = {"ttp": ttp} if ttp else {"external_id": "u-1"}
        return {"pixel_code": PIXEL, "event": "ViewContent", "context": {"user": user}}

    for ttp in ("ttp-a", "ttp-a", "ttp-b", None, None):
        api.post_event(page_view(ttp), auth)
    assert [request.counted for request in sandbox.received] == [
        (True,), (False,), (True,), (True,), (True,),  # no event_id, no ttp: always counted
    ]  # fmt: skip
    assert sandbox.received[0].dedup_keys == (DedupKey(PIXEL, "ViewContent", None, "ttp-a"),)
    assert sandbox.received[3].dedup_keys == (None,)
    assert set(sandbox.counted_by_key()) == {
        DedupKey(PIXEL, "ViewContent", None, "ttp-a"),
        DedupKey(PIXEL, "ViewContent", None, "ttp-b"),
    }
    assert len(sandbox.counted_events()) == 4  # the keyless ones too


def test_without_an_event_id_events_2_0_key_on_the_ttp_cookie(sandbox: SandboxServer) -> None:
    body = {
        "event_source": "web",
        "event_source_id": PIXEL,
        "data": [purchase(None, ttp="ttp-a"), purchase(None, ttp="ttp-a"), purchase(None),
                 purchase(None), purchase("with-id", ttp="ttp-a")],
    }  # fmt: skip
    assert post_raw(sandbox, TRACK_PATH, body) == 0
    (request,) = sandbox.received
    assert request.counted == (True, False, True, True, True)
    assert request.dedup_keys == (
        DedupKey(PIXEL, "Purchase", None, "ttp-a"),
        DedupKey(PIXEL, "Purchase", None, "ttp-a"),
        None,
        None,
        key("with-id", "Purchase"),  # an event_id wins over the cookie
    )


# -- what TikTok refuses counts nothing ----------------------------------------------------------


def test_refused_requests_count_nothing(
    api: TikTokEventsApi, auth: TikTokAuth, event: Event
) -> None:
    with SandboxServer(access_token=TOKEN, bad_events={"123456789"}) as refusing:
        with pytest.raises(InvalidRequestError):
            api.post_event(event, auth_for(refusing))
        assert refusing.received[0].code == 40002
        assert refusing.received[0].counted == ()
    with SandboxServer(access_token=TOKEN) as sandbox:
        wrong_token = {"event_source": "web", "event_source_id": PIXEL, "data": [purchase("r-1")]}
        assert post_raw(sandbox, TRACK_PATH, wrong_token, token="wrong") == 40105
        invalid = {**wrong_token, "data": [{**purchase("r-1"), "event_time": "yesterday"}]}
        assert post_raw(sandbox, TRACK_PATH, invalid) == 40002
        assert [request.counted for request in sandbox.received] == [(), ()]
        # Neither opened a window: the first copy TikTok takes counts.
        assert post_raw(sandbox, TRACK_PATH, wrong_token) == 0
        assert sandbox.received[-1].counted == (True,)
        assert [e["event_id"] for e in sandbox.counted_events()] == ["r-1"]
        assert (sandbox.events_accepted, sandbox.events_counted) == (1, 1)


def test_counts_survive_keep_zero(api: TikTokEventsApi, event: Event) -> None:
    with SandboxServer(access_token=TOKEN, keep=0) as sandbox:
        for _ in range(3):
            api.post_event(event, auth_for(sandbox))
        assert list(sandbox.received) == []
        assert sandbox.counted_by_key() == {}  # nothing kept to show
        assert (sandbox.events_accepted, sandbox.events_counted, sandbox.duplicates) == (3, 1, 2)


# -- the command ----------------------------------------------------------------------------------


def test_the_sandbox_command_prints_counted_and_duplicates(event: Event) -> None:
    command = str(Path(sys.executable).with_name("pytt-events"))
    process = subprocess.Popen(
        [command, "sandbox", "--port", "0", "--token", "cli-token"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip().split("=", 1)[1]
        process.stdout.readline()  # the token
        process.stdout.readline()  # the advertiser whose statistics it serves
        auth = TikTokAuth(
            TIKTOK_ACCESS_TOKEN="cli-token", TIKTOK_PIXEL_ID="P", TIKTOK_API_BASE_URL=base_url
        )
        with TikTokEventsApi() as api:
            api.post_event(event, auth)
            api.post_events_in_bulk([event, event.model_copy(update={"event_id": "x"})], auth)
        first, second = process.stdout.readline(), process.stdout.readline()
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
    assert first.startswith("/open_api/v1.3/pixel/track/ -> code 0 (1 event(s))")
    assert first.rstrip().endswith(": 1 counted, 0 duplicate(s)")
    assert second.rstrip().endswith(": 1 counted, 1 duplicate(s)")
