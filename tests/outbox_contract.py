"""The Outbox contract, checked against every outbox the project ships (SQLiteOutbox and
MemoryOutbox in tests/unit/test_outbox.py, PostgresOutbox against a real server in
tests/sandbox/test_postgres_outbox.py): claims and leases, owner checks, renewal, due counts,
failing, replaying and purging, the last error kept on a pending event and the counts by
error that `status` gives."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def check_contract(first: Any, second: Any, sleep: Callable[[float], None] = time.sleep) -> None:
    """`first` and `second` are two handles on one store (two processes' views of a file, or
    the same in-memory outbox twice)."""
    first.add([({"event_id": f"p-{i}"}, f"p-{i}") for i in range(5)], timeout=0)
    assert (first.pending(), first.due()) == (5, 5)
    mine = first.claim("w1", 3, lease=600)
    theirs = second.claim("w2", 10, lease=600)
    assert [r.event_id for r in mine] == ["p-0", "p-1", "p-2"]  # oldest first
    assert [r.event_id for r in theirs] == ["p-3", "p-4"]
    assert second.claim("w2", 10, lease=600) == []  # every row is leased
    assert first.due() == 0
    # Only a row's holder releases or fails it; anybody may mark it done (TikTok took it).
    first.release([theirs[0].id], retry_in=0, owner="w1")
    first.fail([(theirs[1].id, 40002, "not mine")], owner="w1")
    assert (first.due(), first.failed()) == (0, [])
    assert first.renew("w1", [r.id for r in theirs], lease=600) == 0
    assert second.renew("w2", [r.id for r in theirs], lease=600) == 2
    first.done([mine[0].id])
    first.release([mine[1].id], retry_in=0, owner="w1")
    first.fail([(mine[2].id, 40002, "refused")], owner="w1")
    (again,) = second.claim("w2", 10, lease=600)
    assert (again.event_id, again.attempts) == ("p-1", 1)
    assert [(f.event_id, f.code, f.reason) for f in first.failed()] == [("p-2", 40002, "refused")]
    # A retry delay keeps a released row from being claimed until it ends.
    assert first.delayed() == 0  # leased rows are not delayed
    second.release([again.id], retry_in=600, owner="w2")
    assert (second.due(), second.claim("w3", 10, lease=600)) == (0, [])
    assert first.delayed() == 1
    assert first.replay_failed() == 1
    assert first.failed() == []
    assert first.pending() == 4  # p-1 (waiting), p-3 and p-4 (leased), p-2 (back)
    (back,) = first.claim("w3", 10, lease=600)
    assert back.event_id == "p-2"
    assert first.purge_failed() == 0
    # A released row keeps the error it met; status counts pending and failed rows by code.
    first.release([back.id], retry_in=600, owner="w3", error=(40105, "token revoked"))
    first.fail([(theirs[0].id, None, "gone")], owner="w2")
    first.fail([(theirs[1].id, 40002, "bad value")], owner="w2")
    status = second.status()
    assert (status.pending, status.failed) == (2, 2)
    assert [(r.code, r.count, r.last_reason) for r in status.pending_reasons] == [
        (40105, 1, "token revoked")
    ]
    assert sorted((str(r.code), r.count, r.last_reason) for r in status.failed_reasons) == [
        ("40002", 1, "bad value"),
        ("None", 1, "gone"),
    ]
    assert all(r.last_at > 0 for r in (*status.pending_reasons, *status.failed_reasons))
    assert first.purge_failed() == 2
    # A lease that runs out frees its rows for another worker; the old holder's release is
    # then refused, so the new holder keeps them.
    first.add([({"event_id": "p-5"}, "p-5")], timeout=0)
    (short,) = first.claim("w4", 10, lease=0.05)
    sleep(0.2)
    (taken,) = second.claim("w5", 10, lease=600)
    assert taken.id == short.id
    first.release([short.id], retry_in=0, owner="w4")
    assert second.claim("w6", 10, lease=600) == []


def check_accepted_counts(outbox: Any) -> None:
    """The daily accepted counts: done(ids, counted=) counts each row once, in the transaction
    that removes it; a row no longer pending (settled before) is not counted again; rows
    settled without a key count nothing; accepted_counts reads them by day range."""
    import datetime as dt

    outbox.add([({"event_id": f"a-{i}"}, f"a-{i}") for i in range(6)], timeout=0)
    rows = outbox.claim("w", 6, lease=600)
    keys = {
        rows[0].id: ("PIXEL", "Purchase", "2026-12-01"),
        rows[1].id: ("PIXEL", "Purchase", "2026-12-01"),
        rows[2].id: ("PIXEL", "ViewContent", "2026-12-02"),
        rows[3].id: ("OTHER", "Purchase", "2026-12-03"),
    }
    outbox.done([row.id for row in rows[:4]], counted=keys)
    outbox.done([rows[0].id, rows[1].id], counted=keys)  # settled already: not counted again
    outbox.done([rows[4].id])  # accepted without a key: removed, not counted
    assert outbox.pending() == 1
    day = dt.date.fromisoformat
    assert outbox.accepted_counts() == {
        ("PIXEL", "Purchase", day("2026-12-01")): 2,
        ("PIXEL", "ViewContent", day("2026-12-02")): 1,
        ("OTHER", "Purchase", day("2026-12-03")): 1,
    }
    assert outbox.accepted_counts(day("2026-12-02"), day("2026-12-02")) == {
        ("PIXEL", "ViewContent", day("2026-12-02")): 1
    }
    assert outbox.accepted_counts(day("2026-12-04")) == {}
    outbox.done([rows[5].id], counted={rows[5].id: ("PIXEL", "Purchase", "2026-12-01")})
    assert outbox.accepted_counts(end=day("2026-12-01")) == {
        ("PIXEL", "Purchase", day("2026-12-01")): 3
    }
