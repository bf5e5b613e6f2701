"""TikTok's event statistics read back, end to end over 127.0.0.1: events sent through
EventSender (with resends TikTok deduplicates) to the sandbox, then `pytt-events stats
--outbox` run as users run it, a real process; the clients' event_stats, sync and async; what
the command says when the advertiser id or the permission is missing."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pytt_events import (
    AsyncTikTokEventsApi,
    ConfigurationError,
    EventStats,
    PermissionDeniedError,
    TikTokAuth,
    TikTokEventsApi,
)
from pytt_events.outbox import SQLiteOutbox
from pytt_events.sender import EventSender
from pytt_events.testing import SANDBOX_ADVERTISER_ID, Fault, FaultPlan, SandboxServer
from tests.conftest import TOKEN

COMMAND = str(Path(sys.executable).with_name("pytt-events"))
PIXEL = "C4STATSPIXEL12345678"
OTHER = "C4OTHERPIXEL12345678"
DAY = 86_400


def settings(server: SandboxServer, **more: str) -> dict[str, str]:
    return {
        "TIKTOK_ACCESS_TOKEN": TOKEN, "TIKTOK_PIXEL_ID": PIXEL,
        "TIKTOK_API_BASE_URL": server.base_url, **more,
    }  # fmt: skip


def run(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TIKTOK_")}
    return subprocess.run(
        [COMMAND, "stats", *args], capture_output=True, text=True, timeout=120,
        env={**clean, **env, "PYTHONUNBUFFERED": "1"}, cwd=cwd, check=False,
    )  # fmt: skip


def table(output: str) -> dict[tuple[str, str, str], tuple[int, ...]]:
    """The command's rows: (day, pixel, event) -> its numbers."""
    rows = {}
    for line in output.splitlines():
        parts = line.split()
        if len(parts) >= 5 and parts[0][:2] == "20" and parts[0][4] == "-":
            rows[(parts[0], parts[1], parts[2])] = tuple(int(n) for n in parts[3:])
    return rows


def send_with_resends(server: SandboxServer, outbox: Path, now: int) -> None:
    """60 events over three UTC days, two events and two pixels; a by-content fault processes
    a share of the requests and then garbles the answer, so the sender sends them again:
    TikTok (the sandbox) sees duplicates, which it does not count."""
    auth = TikTokAuth(**settings(server))
    with EventSender(auth, outbox=outbox, interval=0.05) as sender:
        for i in range(60):
            sender.track(
                {"event": "Purchase" if (i // 3) % 2 else "SignUpForNewsletter",
                 "event_time": now - DAY * (i % 3), "event_id": f"s-{i}"},
                event_source_id=OTHER if (i // 6) % 2 else PIXEL,
            )  # fmt: skip
            if i % 20 == 19:
                assert sender.flush(timeout=60)
        assert sender.flush(timeout=60)


def test_stats_shows_tiktok_counts_equal_to_the_outbox_accepted_counts(tmp_path: Path) -> None:
    now = int(time.time())
    garble = FaultPlan(Fault.MALFORMED, attempts=1, share=0.6, seed=7)
    with SandboxServer(access_token=TOKEN, faults=garble) as server:
        outbox = tmp_path / "outbox.sqlite3"
        send_with_resends(server, outbox, now)
        assert server.duplicates > 0, "some events reached TikTok twice"
        counted = server.daily_counts()
        env = settings(server, TIKTOK_ADVERTISER_ID=SANDBOX_ADVERTISER_ID)
        done = run(tmp_path, env, "--pixel", PIXEL, "--pixel", OTHER, "--outbox", str(outbox))
    assert done.returncode == 0, done.stderr
    rows = table(done.stdout)
    today = dt.datetime.fromtimestamp(now, dt.timezone.utc).date()
    assert len(rows) == len(counted) == 2 * 2 * 3  # two pixels, two events, three days
    for (source, event, day), count in counted.items():
        # tiktok (total), server, outbox, difference
        assert rows[(day.isoformat(), source, event)] == (count, count, count, 0)
        assert today - dt.timedelta(days=2) <= day <= today
    assert set(counted.values()) == {5}  # every event once, resends deduplicated
    box = SQLiteOutbox(outbox, read_only=True)
    assert box.accepted_counts() == counted
    box.close()
    assert "TikTok's server counts equal the outbox's accepted counts" in done.stdout
    assert TOKEN not in done.stdout + done.stderr


def test_stats_without_the_outbox_and_a_difference(tmp_path: Path) -> None:
    """Without --outbox, TikTok's columns only; an event tracked twice with one event_id is
    accepted twice (the outbox counts both) and counted once by TikTok: the difference says so."""
    now = int(time.time())
    with SandboxServer(access_token=TOKEN) as server:
        auth = TikTokAuth(**settings(server))
        outbox = tmp_path / "outbox.sqlite3"
        with EventSender(auth, outbox=outbox) as sender:
            for _ in range(2):
                sender.track({"event": "Purchase", "event_time": now, "event_id": "twice"})
                assert sender.flush(timeout=60)
        env = settings(server, TIKTOK_ADVERTISER_ID=SANDBOX_ADVERTISER_ID)
        alone = run(tmp_path, env)
        beside = run(tmp_path, env, "--outbox", str(outbox))
    day = dt.datetime.fromtimestamp(now, dt.timezone.utc).date().isoformat()
    assert alone.returncode == beside.returncode == 0, alone.stderr + beside.stderr
    assert table(alone.stdout) == {(day, PIXEL, "Purchase"): (1, 1)}
    assert table(beside.stdout) == {(day, PIXEL, "Purchase"): (1, 1, 2, -1)}
    assert "1 row(s) differ" in beside.stdout


def test_stats_without_an_advertiser_id_says_to_set_it(tmp_path: Path) -> None:
    with SandboxServer(access_token=TOKEN) as server:
        done = run(tmp_path, settings(server))
        assert server.requests_received == 0  # nothing was asked
    assert done.returncode == 2
    assert "set TIKTOK_ADVERTISER_ID" in done.stderr
    assert "Traceback" not in done.stderr


def test_stats_without_the_permission_says_which_is_needed(tmp_path: Path) -> None:
    with SandboxServer(access_token=TOKEN, deny_stats=True) as server:
        env = settings(server, TIKTOK_ADVERTISER_ID=SANDBOX_ADVERTISER_ID)
        done = run(tmp_path, env)
    assert done.returncode == 1
    assert "TikTok code 40001" in done.stderr
    assert f"authorized for advertiser {SANDBOX_ADVERTISER_ID}" in done.stderr
    assert "Measurement permission scope" in done.stderr
    assert "Traceback" not in done.stderr
    assert TOKEN not in done.stderr


def test_stats_of_another_advertiser_is_refused_as_tiktok_does(tmp_path: Path) -> None:
    with SandboxServer(access_token=TOKEN) as server:
        done = run(tmp_path, settings(server, TIKTOK_ADVERTISER_ID="123"), "--advertiser", "456")
    assert done.returncode == 1
    assert "authorized for advertiser 456" in done.stderr


def test_stats_options_problems_exit_2(tmp_path: Path) -> None:
    with SandboxServer(access_token=TOKEN) as server:
        env = settings(server, TIKTOK_ADVERTISER_ID=SANDBOX_ADVERTISER_ID)
        backwards = run(tmp_path, env, "--from", "2026-12-05", "--to", "2026-12-01")
        no_file = run(tmp_path, env, "--outbox", str(tmp_path / "missing.sqlite3"))
        no_token = run(tmp_path, {"TIKTOK_PIXEL_ID": PIXEL})
    assert backwards.returncode == 2
    assert "is before --from" in backwards.stderr
    assert no_file.returncode == 1
    assert "no outbox file at" in no_file.stderr
    assert no_token.returncode == 2
    assert "TIKTOK_ACCESS_TOKEN" in no_token.stderr


def track_days(server: SandboxServer, now: int) -> TikTokAuth:
    auth = TikTokAuth(**settings(server, TIKTOK_ADVERTISER_ID=SANDBOX_ADVERTISER_ID))
    events = [
        {"event": "ViewContent", "event_time": now - DAY * (i % 2), "event_id": f"v-{i % 7}"}
        for i in range(10)
    ]  # v-0, v-1, v-2 twice: the copies are duplicates
    with TikTokEventsApi() as api:
        api.track(events, auth=auth)
    return auth


def test_the_clients_read_the_same_statistics(tmp_path: Path) -> None:
    now = int(time.time())
    today = dt.datetime.fromtimestamp(now, dt.timezone.utc).date()
    with SandboxServer(access_token=TOKEN) as server:
        auth = track_days(server, now)
        with TikTokEventsApi() as api:
            found = api.event_stats([PIXEL], today - dt.timedelta(days=1), today, auth=auth)

        async def read() -> EventStats:
            async with AsyncTikTokEventsApi() as api:
                return await api.event_stats(PIXEL, today - dt.timedelta(days=1), today, auth=auth)

        import asyncio

        awaited = asyncio.run(read())
        counted = server.daily_counts()
    assert found.counts == awaited.counts
    assert found.by_key() == counted
    assert sum(counted.values()) == 7  # ten events, three copies
    assert (found.start, found.end, found.unreadable) == (today - dt.timedelta(days=1), today, 0)
    assert len(found.request_ids) == 2  # one a day
    assert {row.server for row in found.counts} == {row.count for row in found.counts}


def test_the_clients_need_an_advertiser_and_say_what_permission(tmp_path: Path) -> None:
    today = dt.datetime.now(dt.timezone.utc).date()
    with SandboxServer(access_token=TOKEN, deny_stats=True) as server:
        auth = TikTokAuth(**settings(server))
        with TikTokEventsApi() as api:
            with pytest.raises(ConfigurationError, match="TIKTOK_ADVERTISER_ID"):
                api.event_stats(PIXEL, today, auth=auth)
            with pytest.raises(PermissionDeniedError, match="Measurement permission") as refused:
                api.event_stats(PIXEL, today, advertiser_id=SANDBOX_ADVERTISER_ID, auth=auth)
        assert refused.value.code == 40001
        assert refused.value.request_id

        async def denied() -> None:
            async with AsyncTikTokEventsApi() as api:
                await api.event_stats(PIXEL, today, advertiser_id=SANDBOX_ADVERTISER_ID, auth=auth)

        import asyncio

        with pytest.raises(PermissionDeniedError, match=SANDBOX_ADVERTISER_ID):
            asyncio.run(denied())


def test_a_statistics_request_is_retried_as_a_post_is(tmp_path: Path) -> None:
    """TikTok's rate limit (40100), then an HTTP 500, on a read: the client's retry policy
    sends it again (its waits recorded, not slept), as it does a POST."""
    now = int(time.time())
    today = dt.datetime.fromtimestamp(now, dt.timezone.utc).date()
    # By content, every read has the same (no body): its first delivery meets the rate
    # limit, its second the server error, its third passes.
    faults = (
        FaultPlan(Fault.RATE_LIMIT, attempts=1, share=1.0, seed=0),
        FaultPlan(Fault.SERVER_ERROR, attempts=2, share=1.0, seed=0),
    )
    with SandboxServer(access_token=TOKEN) as server:
        auth = track_days(server, now)
        server.faults = faults  # the events are in: only the read meets them
        waits: list[float] = []
        with TikTokEventsApi(sleep=waits.append) as api:
            found = api.event_stats(PIXEL, today, auth=auth)
        faulty = [(r.code, r.fault) for r in server.received if r.family is None]
        counted = server.daily_counts()
    assert faulty == [(40100, Fault.RATE_LIMIT), (None, Fault.SERVER_ERROR)]
    assert len(waits) == 2
    assert found.counts
    assert found.by_key() == {key: n for key, n in counted.items() if key[2] == today}


@pytest.mark.otel
def test_a_statistics_request_is_recorded_as_a_get(tmp_path: Path) -> None:
    pytest.importorskip("opentelemetry.sdk")
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from pytt_events.telemetry import Telemetry

    reader, exporter = InMemoryMetricReader(), InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    telemetry = Telemetry(
        meter_provider=MeterProvider(metric_readers=[reader]), tracer_provider=tracer_provider
    )
    today = dt.datetime.now(dt.timezone.utc).date()
    with SandboxServer(access_token=TOKEN) as server:
        auth = TikTokAuth(**settings(server, TIKTOK_ADVERTISER_ID=SANDBOX_ADVERTISER_ID))
        with TikTokEventsApi(telemetry=telemetry) as api:
            api.event_stats(PIXEL, today - dt.timedelta(days=1), today, auth=auth)
    (span_name,) = {span.name for span in exporter.get_finished_spans()}
    assert span_name == "GET /open_api/v1.3/pixel/event/stats/"
    data = reader.get_metrics_data()
    requests = [
        point
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == "tiktok.events_api.requests"
        for point in metric.data.data_points
    ]
    assert [(p.attributes["http.request.method"], p.value) for p in requests] == [("GET", 2)]
    assert all(SANDBOX_ADVERTISER_ID not in str(p.attributes) for p in requests)
