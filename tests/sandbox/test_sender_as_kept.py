"""The worker sends what track kept as it was kept: a row this process's track validated and
hashed is grouped into a request without being validated again (`validated_again` stays 0),
and the sandbox receives the very bytes that validating it again would have made. Rows from
elsewhere (added to the outbox directly, left by an earlier process, replayed) are validated
again, and an invalid one is failed, never sent."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from pytt_events import TikTokAuth, TikTokEventsApi
from pytt_events.outbox import MemoryOutbox, SQLiteOutbox
from pytt_events.sender import BATCH, EventSender, SendResult
from pytt_events.testing import SandboxServer
from tests.conftest import PIXEL, TOKEN, auth_for


def event(event_id: str | None, number: int) -> dict[str, Any]:
    made: dict[str, Any] = {
        "event": "Purchase",
        "event_time": int(time.time()),
        "user": {"email": f"Person.{number}@Example.com ", "phone": "+1 415 555 0100"},
        "properties": {"currency": "EUR", "value": number + 0.5, "description": "café ☕"},
    }
    if event_id is not None:
        made["event_id"] = event_id
    return made


def web_event(event_id: str) -> dict[str, Any]:
    return {
        "pixel_code": PIXEL,
        "event": "CompletePayment",
        "event_id": event_id,
        "timestamp": "2026-03-01T12:00:00-03:00",
        "context": {"user": {"email": f"{event_id}@example.com"}, "ip": "203.0.113.9"},
        "properties": {"currency": "USD", "value": 3.5},
    }


def accepted_ids(server: SandboxServer) -> Counter[str]:
    return Counter(str(e["event_id"]) for e in server.accepted_events())


@pytest.mark.parametrize("durable", [False, True], ids=["memory", "sqlite"])
def test_what_track_kept_is_sent_without_being_validated_again(
    durable: bool, tmp_path: Path
) -> None:
    results: list[SendResult] = []
    with SandboxServer(access_token=TOKEN) as server:
        outbox = tmp_path / "outbox.sqlite3" if durable else None
        with EventSender(auth_for(server), outbox=outbox, on_result=results.append) as sender:
            ids = [sender.track(event(f"k-{i}" if i % 3 else None, i)) for i in range(30)]
            ids += [sender.track(event(f"c-{i}", i), test_event_code="TEST1") for i in range(5)]
            assert sender.flush(timeout=30)
            assert sender.validated_again == 0
        assert accepted_ids(server) == Counter(ids)
        assert not [r for r in server.received if r.raw_personal_data]
    assert sorted(r.event_id for r in results) == sorted(ids)
    assert {r.status for r in results} == {"accepted"}


def test_the_requests_of_kept_rows_are_the_bytes_validating_them_again_makes() -> None:
    auth = TikTokAuth(TIKTOK_ACCESS_TOKEN=TOKEN, TIKTOK_PIXEL_ID=PIXEL)
    for events_api in ("1.0", "2.0"):
        outbox = MemoryOutbox(max_pending=BATCH)
        api = TikTokEventsApi(events_api=events_api)
        sender = EventSender(auth, outbox=outbox, api=api)  # (no event yet: no worker)
        bodies = []
        for number in range(40):
            prepared = api.prepare_track(
                [event(f"b-{number}" if number % 4 else None, number)], auth=auth,
                test_event_code="TEST1" if number % 5 == 0 else None,
            )  # fmt: skip
            bodies += [body for _, _, body in prepared.single_payloads()]
        for number in range(6):  # Events 1.0 (pixel_track bodies with "1.0": validated again)
            prepared = api.prepare_event(web_event(f"w-{number}"), auth)
            bodies += [body for _, _, body in prepared.single_payloads()]
        outbox.add([(body, str(n)) for n, body in enumerate(bodies)], checked=True)
        batch = sender._batch(outbox.claim("me", BATCH, 60))
        again = api.prepare_payloads([row.body for row in batch.rows], auth, skip_invalid=True)
        assert sorted(c.content or b"" for c in batch.prepared.requests) == sorted(
            c.content or b"" for c in again.requests
        )
        assert sorted(c.indices for c in batch.prepared.requests) == sorted(
            c.indices for c in again.requests
        )
        assert sender.validated_again == (6 if events_api == "1.0" else 0)
        api.close()


def test_rows_from_elsewhere_are_validated_again_and_an_invalid_one_is_failed(
    tmp_path: Path,
) -> None:
    path = tmp_path / "outbox.sqlite3"
    good = {"event_source": "web", "event_source_id": PIXEL, "data": [event("e-1", 1)]}
    bad = {"event_source": "web", "event_source_id": PIXEL, "data": [{"event_id": "e-2"}]}
    SQLiteOutbox(path).add([(good, "e-1"), (bad, "e-2")])  # another process's rows
    results: list[SendResult] = []
    with SandboxServer(access_token=TOKEN) as server:
        with EventSender(auth_for(server), outbox=path, on_result=results.append) as sender:
            sender.track(event("e-3", 3))
            assert sender.flush(timeout=30)
            assert sender.validated_again == 2  # the two rows it did not take, not e-3
            assert [row.event_id for row in sender.outbox.failed()] == ["e-2"]
        assert accepted_ids(server) == Counter(["e-1", "e-3"])
    assert sorted((r.event_id, r.status) for r in results) == [
        ("e-1", "accepted"), ("e-2", "failed"), ("e-3", "accepted"),
    ]  # fmt: skip


def test_an_outbox_marks_only_what_was_added_checked_in_this_process(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    for outbox in (SQLiteOutbox(path), MemoryOutbox()):
        outbox.add([({"event_id": "a"}, "a")], timeout=0)
        outbox.add([({"event_id": "b"}, "b"), ({"event_id": "c"}, "c")], timeout=0, checked=True)
        rows = outbox.claim("me", 10, 60)
        assert [(row.event_id, row.checked) for row in rows] == [
            ("a", False), ("b", True), ("c", True),
        ]  # fmt: skip
        assert rows[1].body == {"event_id": "b"}
        outbox.release([row.id for row in rows], 0, owner="me")  # still marked when claimed
        assert [(r.event_id, r.checked) for r in outbox.claim("me", 10, 60)][1:] == [
            ("b", True), ("c", True),
        ]  # fmt: skip
    # Another handle on the file (as another process has): nothing is marked there.
    SQLiteOutbox(path).release([1, 2, 3], 0)
    assert [(r.event_id, r.checked) for r in SQLiteOutbox(path).claim("other", 10, 60)] == [
        ("a", False), ("b", False), ("c", False),
    ]  # fmt: skip


def test_a_batch_beyond_one_claim_slice_is_claimed_whole_and_in_order(tmp_path: Path) -> None:
    outbox = SQLiteOutbox(tmp_path / "outbox.sqlite3")
    outbox.add([({"event_id": str(i)}, str(i)) for i in range(BATCH + 7)], checked=True)
    first = outbox.claim("me", BATCH, 60)
    assert [row.event_id for row in first] == [str(i) for i in range(BATCH)]
    assert all(row.checked for row in first)
    rest = outbox.claim("me", BATCH, 60)
    assert [row.event_id for row in rest] == [str(i) for i in range(BATCH, BATCH + 7)]
    outbox.done(row.id for row in first + rest)
    assert outbox.pending() == 0
    assert outbox._checked == {}  # settled rows are forgotten
