"""EventSender's guarantees under faults, against the sandbox on 127.0.0.1: a wrong token is
an ERROR at once (then at most once a minute), tells on_result and stays on the pending events
for `pytt-events outbox status`; flush returns only once on_result has heard of every event it
covers; close under a slow API waits for the batch in flight, so a restarted sender neither
waits out a lease nor sends anything twice, the count it logs is the count lost, and a process
that exits right after close exits cleanly, every time."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import textwrap
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from pytt_events.cli import main
from pytt_events.outbox import SQLiteOutbox
from pytt_events.sender import LOG_EVERY, EventSender, SendResult
from pytt_events.testing import Fault, FaultPlan, SandboxServer
from tests.conftest import TOKEN, auth_for


def event(event_id: str) -> dict[str, Any]:
    return {
        "event": "Purchase",
        "event_time": int(time.time()),
        "event_id": event_id,
        "user": {"external_id": f"customer-{event_id}"},
    }


def test_a_revoked_token_is_an_error_at_once_and_stays_on_the_pending_events(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="pytt_events")
    path = tmp_path / "outbox.sqlite3"
    results: list[SendResult] = []
    with SandboxServer(access_token=TOKEN) as server:
        sender = EventSender(
            auth_for(server, "a-revoked-token"), outbox=path, on_result=results.append
        )
        sender.track(event("k-1"))
        assert sender.flush() is False  # tried, and waits out its retry delay
        time.sleep(1.1)  # the delay (1 s) ends: the second try meets the same error
        sender.track(event("k-2"))
        assert sender.flush() is False
        assert sender.close(timeout=0.5) is False
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1, [r.getMessage() for r in caplog.records]  # once, not per batch
    assert "40105" in errors[0].getMessage()
    assert "a-revoked-token" not in caplog.text
    assert LOG_EVERY == 60.0
    assert [r.status for r in results] == ["retrying"] * len(results)
    assert {r.event_id for r in results} == {"k-1", "k-2"}
    status = CliRunner().invoke(main, ["outbox", str(path), "status"]).output.splitlines()
    assert status[:2] == ["2 pending, 0 failed", "pending, by the last error met:"]
    count, rest = status[2].split(maxsplit=1)
    assert count == "2"
    assert re.fullmatch(
        r"code 40105, last at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ: .*revoked.*", rest
    ), rest


def test_flush_returns_once_on_result_has_heard_of_every_event() -> None:
    heard: list[str] = []

    def slow(result: SendResult) -> None:  # a callback that takes its time
        time.sleep(0.05)
        heard.append(result.event_id)

    with (
        SandboxServer(access_token=TOKEN) as server,
        EventSender(auth_for(server), on_result=slow, interval=0.01) as sender,
    ):
        for attempt in range(3):
            ids = [sender.track(event(f"f-{attempt}-{i}")) for i in range(5)]
            assert sender.flush(timeout=30)
            assert sorted(heard) == sorted(ids)  # not 1 of 5
            heard.clear()


#: A child process: `enqueue` tracks N events, closes with a short timeout while the slow
#: API holds a request, and exits; `finish` sends what is left.
CHILD = textwrap.dedent(
    """
    import logging, sys, time
    from pytt_events import TikTokAuth
    from pytt_events.sender import EventSender

    path, token, url, mode, count = sys.argv[1:6]
    logging.basicConfig(level=logging.WARNING)
    auth = TikTokAuth(TIKTOK_ACCESS_TOKEN=token, TIKTOK_PIXEL_ID="C4PIXELCODE123",
                      TIKTOK_API_BASE_URL=url)
    sender = EventSender(auth, outbox=path, interval=0.05)
    if mode == "enqueue":
        for i in range(int(count)):
            sender.track({"event": "Purchase", "event_time": int(time.time()),
                          "event_id": f"s-{i}", "user": {"external_id": f"c-{i}"}})
        sender.flush(timeout=0.3)  # the worker is in a slow request now
        began = time.monotonic()
        sender.close(timeout=0.1)
        print(f"closed after {time.monotonic() - began:.2f}", flush=True)
    else:
        began = time.monotonic()
        print("finished" if sender.flush(timeout=60) else "left", flush=True)
        print(f"took {time.monotonic() - began:.2f}", flush=True)
        sender.close()
    """
)


def test_close_under_a_slow_api_loses_nothing_resends_nothing_and_exits_cleanly(
    tmp_path: Path,
) -> None:
    script = tmp_path / "child.py"
    script.write_text(CHILD, "utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}

    def run(number: int) -> None:
        """One run: a child closes under the slow API; a second child sends what is left to a
        sandbox that answers at once (the slow one only made the close meet a request in
        flight; what is left is sent the same way to either)."""
        path = tmp_path / f"outbox-{number}.sqlite3"
        slow = FaultPlan(Fault.DELAY, every=1, delay=1.0)  # every request answered after 1 s
        with (
            SandboxServer(access_token=TOKEN, faults=[slow]) as server,
            SandboxServer(access_token=TOKEN) as quick,
        ):
            args = [sys.executable, str(script), str(path), TOKEN]
            closed = subprocess.run(
                [*args, server.base_url, "enqueue", "2500"], capture_output=True, text=True,
                env=env, timeout=120, check=False,
            )  # fmt: skip
            assert closed.returncode == 0, closed.stderr  # no SIGABRT, no SIGSEGV at exit
            assert "Fatal Python error" not in closed.stderr
            assert closed.stdout.startswith("closed after"), closed.stderr
            # The batch in flight at close was answered and recorded: nothing is left leased.
            outbox = SQLiteOutbox(path, read_only=True)
            leased = outbox.pending() - outbox.due() - outbox.delayed()
            outbox.close()
            assert leased == 0
            finished = subprocess.run(
                [*args, quick.base_url, "finish", "0"], capture_output=True, text=True,
                env=env, timeout=120, check=False,
            )  # fmt: skip
            assert finished.stdout.splitlines()[0] == "finished", finished.stderr
            took = float(finished.stdout.splitlines()[1].split()[1])
            assert took < 30  # not the 120 s of a lease left behind
            accepted = Counter(str(e["event_id"]) for e in server.accepted_events())
            accepted.update(str(e["event_id"]) for e in quick.accepted_events())
            assert accepted == Counter(f"s-{i}" for i in range(2500))  # each once: none twice

    # The crash at exit came in 1 run of 4. The runs share nothing (each its own outbox and
    # sandboxes) and spend their time waiting on the slow API: they run side by side.
    with ThreadPoolExecutor(4) as pool:
        for done in [pool.submit(run, number) for number in range(4)]:
            done.result()


def test_the_count_close_logs_is_the_count_lost(caplog: pytest.LogCaptureFixture) -> None:
    slow = FaultPlan(Fault.DELAY, every=1, delay=1.0)
    with SandboxServer(access_token=TOKEN, faults=[slow]) as server:
        sender = EventSender(auth_for(server), interval=0.05)  # in memory: lost at close
        for i in range(3000):
            sender.track(event(f"m-{i}"))
        time.sleep(0.3)  # a batch is in flight
        assert sender.close(timeout=0.1) is False
        delivered = server.events_accepted
    (line,) = [r.getMessage() for r in caplog.records if "not sent when" in r.getMessage()]
    lost = int(line.split()[0])
    assert lost == 3000 - delivered
    assert lost > 0
    assert line.endswith(": lost")


def test_aclose_under_a_slow_api_records_the_batch_in_flight(tmp_path: Path) -> None:
    import asyncio

    from pytt_events.sender import AsyncEventSender

    path = tmp_path / "outbox.sqlite3"
    heard: list[SendResult] = []

    async def close_while_sending(server: SandboxServer) -> bool:
        sender = AsyncEventSender(auth_for(server), outbox=path, on_result=heard.append)
        for i in range(1500):
            sender.track(event(f"a-{i}"))
        await sender.flush(timeout=0.3)  # the task is in a slow request now
        return await sender.aclose(timeout=0.1)

    slow = FaultPlan(Fault.DELAY, every=1, delay=1.0)
    # What is left goes to a sandbox that answers at once: the slow one only made the close
    # meet a request in flight.
    with (
        SandboxServer(access_token=TOKEN, faults=[slow]) as server,
        SandboxServer(access_token=TOKEN) as quick,
    ):
        assert asyncio.run(close_while_sending(server)) is False
        first = server.events_accepted
        assert first == len([r for r in heard if r.status == "accepted"]) > 0  # recorded
        outbox = SQLiteOutbox(path, read_only=True)
        assert outbox.pending() == outbox.due() + outbox.delayed() == 1500 - first  # none leased
        outbox.close()
        with EventSender(auth_for(quick), outbox=path) as sender:
            began = time.monotonic()
            assert sender.flush(timeout=60)
            assert time.monotonic() - began < 30  # no lease to wait out
        accepted = Counter(str(e["event_id"]) for e in server.accepted_events())
        accepted.update(str(e["event_id"]) for e in quick.accepted_events())
    assert accepted == Counter(f"a-{i}" for i in range(1500))  # each once


def test_close_starts_no_attempt_after_a_retry_after_wait(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    limited = FaultPlan(Fault.RATE_LIMIT, every=1, retry_after=30)  # "come back in 30 s"
    with SandboxServer(access_token=TOKEN, faults=[limited]) as server:
        sender = EventSender(auth_for(server), outbox=path, interval=0.05)
        sender.track(event("r-1"))
        deadline = time.monotonic() + 30
        while server.requests_received == 0 and time.monotonic() < deadline:
            time.sleep(0.01)  # the worker met the rate limit and waits out its Retry-After
        began = time.monotonic()
        assert sender.close(timeout=0.1) is False
        assert time.monotonic() - began < 10  # the wait ends at once
        time.sleep(0.2)
        assert server.requests_received == 1  # and no attempt starts after it
    outbox = SQLiteOutbox(path, read_only=True)
    assert (outbox.pending(), outbox.pending() - outbox.due() - outbox.delayed()) == (1, 0)
    assert outbox.status().pending_reasons[0].code == 40100  # kept, with why
    outbox.close()


def test_close_stops_isolating_a_refused_batch_and_waits_only_for_what_is_in_flight(
    tmp_path: Path,
) -> None:
    path = tmp_path / "outbox.sqlite3"
    slow = FaultPlan(Fault.DELAY, every=1, delay=0.5)
    with SandboxServer(access_token=TOKEN, faults=[slow], bad_events={"i-17"}) as server:
        sender = EventSender(auth_for(server), outbox=path, interval=0.05)
        for i in range(400):  # one request, refused whole for i-17: then isolated in parts
            sender.track(event(f"i-{i}"))
        deadline = time.monotonic() + 30
        while server.requests_received < 2 and time.monotonic() < deadline:
            time.sleep(0.01)  # isolating: parts go out one at a time
        began = time.monotonic()
        sender.close(timeout=0.1)
        took = time.monotonic() - began
        after = server.requests_received
        time.sleep(1.0)
        assert server.requests_received == after  # nothing is sent after close returned
        accepted = Counter(str(e["event_id"]) for e in server.accepted_events())
    assert took < 10 + 5 + 1  # the client's timeout (10 s) plus 5 s, at most
    outbox = SQLiteOutbox(path, read_only=True)
    failed = {row.event_id for row in outbox.failed()}
    assert outbox.pending() - outbox.due() - outbox.delayed() == 0  # nothing left leased
    assert outbox.pending() + len(failed) + sum(accepted.values()) == 400  # each accounted once
    assert max(accepted.values()) == 1
    outbox.close()
