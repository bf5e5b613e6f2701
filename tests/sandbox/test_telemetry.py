"""OpenTelemetry metrics and spans (the otel extra), read back exactly from the OpenTelemetry
SDK's in-memory reader and span exporter, over real HTTP to the sandbox: 1,000 events with bad
ones through the client and through EventSender, retries, the outbox gauges, and the match
keys and grades of what TikTok got (against a hand-written reading of the requests the
sandbox accepted, tests/coverage_oracle.py)."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("opentelemetry.sdk")

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)
from opentelemetry.trace import SpanKind, StatusCode

from pytt_events import (
    AsyncTikTokEventsApi,
    BulkSendError,
    RetryPolicy,
    TikTokEventsApi,
)
from pytt_events.outbox import SQLiteOutbox
from pytt_events.sender import EventSender, ResendPolicy
from pytt_events.telemetry import Telemetry
from pytt_events.testing import Fault, FaultPlan, SandboxServer
from tests.conftest import PIXEL, TOKEN, auth_for
from tests.coverage_oracle import expected

pytestmark = pytest.mark.otel

EVENTS = 1_000
BAD = {"evt-3", "evt-500", "evt-999"}
#: Events whose phone number cannot be a match key: sent without it (accepted_keys_dropped).
DROPPED = {7, 8, 9, 10}
ENDPOINT = "/open_api/v1.3/event/track/"
FAST = RetryPolicy(max_retries=2, initial_delay=0.001, max_delay=0.001)


class Recorded:
    """A Telemetry with its own in-memory reader and exporter."""

    def __init__(self) -> None:
        self.reader = InMemoryMetricReader()
        self.exporter = InMemorySpanExporter()
        tracer_provider = TracerProvider()
        tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.tracer_provider = tracer_provider
        self.telemetry = Telemetry(
            meter_provider=MeterProvider(metric_readers=[self.reader]),
            tracer_provider=tracer_provider,
        )

    def points(self, name: str) -> list[Any]:
        data = self.reader.get_metrics_data()
        found = []
        for resource in data.resource_metrics if data else ():
            for scope in resource.scope_metrics:
                assert scope.scope.name == "pytt_events"
                for metric in scope.metrics:
                    if metric.name == name:
                        found.extend(metric.data.data_points)
        return found

    def sums(self, name: str) -> dict[frozenset[tuple[str, Any]], int]:
        return {frozenset(p.attributes.items()): p.value for p in self.points(name)}

    def unit(self, name: str) -> str:
        data = self.reader.get_metrics_data()
        for resource in data.resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name == name:
                        return str(metric.unit)
        raise AssertionError(f"no {name}")


def attrs(**values: Any) -> frozenset[tuple[str, Any]]:
    return frozenset((key.replace("__", "."), value) for key, value in values.items())


def events() -> list[dict[str, Any]]:
    found = []
    for i in range(EVENTS):
        user: dict[str, Any] = {"external_id": str(i)}
        if i % 4 == 0:
            user["ttclid"] = f"E.C.P.{i}"
        if i % 5 == 0:
            user |= {"ip": "13.57.1.2", "user_agent": "Mozilla/5.0"}
        if i % 3 == 0:
            user["email"] = f"person{i}@example.com"
        if i in DROPPED:
            user["phone"] = "+1 000"  # no phone number can be this
        found.append(
            {"event": "Purchase", "event_time": int(time.time()) - 60, "event_id": f"evt-{i}",
             "user": user}
        )  # fmt: skip
    return found


def outcome(name: str, code: int | None, error: str | None = None) -> frozenset[Any]:
    values: dict[str, Any] = {
        "tiktok.events_api.outcome": name,
        "tiktok.events_api.family": "event_track",
        "tiktok.events_api.event_source": "web",
    }
    if code is not None:
        values["tiktok.events_api.code"] = code
    if error is not None:
        values["error.type"] = error
    return frozenset(values.items())


def expected_coverage(server: SandboxServer) -> dict[str, dict[frozenset[Any], int]]:
    """What the two match-key counters must say: the events of the requests the sandbox
    accepted, read by the oracle."""
    _, keys, grades = expected([r.body for r in server.received if r.code == 0])
    common = {"tiktok.events_api.family": "event_track", "tiktok.events_api.event_source": "web"}
    return {
        "tiktok.events_api.match_keys": {
            frozenset({**common, "tiktok.events_api.match_key": key}.items()): n
            for key, n in keys.items()
            if key != "any key"
        },
        "tiktok.events_api.match_strength": {
            frozenset({**common, "tiktok.events_api.match_strength": grade}.items()): n
            for grade, n in grades.items()
        },
    }


def assert_match_keys(recorded: Recorded, server: SandboxServer, accepted: int) -> None:
    found = {name: recorded.sums(name) for name in expected_coverage(server)}
    assert found == expected_coverage(server)
    # Every event TikTok got has a grade, once; the dropped phone numbers are not counted.
    assert sum(found["tiktok.events_api.match_strength"].values()) == accepted
    assert not any(
        dict(key)["tiktok.events_api.match_key"] == "phone"
        for key in found["tiktok.events_api.match_keys"]
    )
    assert recorded.unit("tiktok.events_api.match_keys") == "{event}"
    assert recorded.unit("tiktok.events_api.match_strength") == "{event}"


def request_attrs(code: int | None, status: int, error: str | None) -> Any:
    values: dict[str, Any] = {
        "http.request.method": "POST",
        "server.address": "127.0.0.1",
        "url.template": ENDPOINT,
        "http.response.status_code": status,
    }
    if code is not None:
        values["tiktok.events_api.code"] = code
    if error is not None:
        values["error.type"] = error
    return frozenset(values.items())


def expected_requests(server: SandboxServer) -> Counter[Any]:
    """What the requests counter must say, from what the sandbox answered."""
    found: Counter[Any] = Counter()
    for request in server.received:
        if request.code == 0:
            found[request_attrs(0, 200, None)] += 1
        elif request.code == 40002:
            found[request_attrs(40002, 200, "InvalidRequestError")] += 1
        else:
            found[request_attrs(None, 500, "ServerError")] += 1
    return found


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_bulk_send_is_counted_and_traced_exactly(mode: str) -> None:
    recorded = Recorded()
    tracer = recorded.tracer_provider.get_tracer("the caller")
    # The first request meets a server error once: one retry, attempt 2.
    faults = [FaultPlan(Fault.SERVER_ERROR, first=1)]
    with SandboxServer(
        access_token=TOKEN, bad_events=BAD, name_bad_index=True, faults=faults
    ) as server:
        auth = auth_for(server)
        with tracer.start_as_current_span("checkout") as parent:
            if mode == "sync":
                with (
                    TikTokEventsApi(telemetry=recorded.telemetry, retry=FAST) as api,
                    pytest.raises(BulkSendError) as raised,
                ):
                    api.track(events(), auth=auth)
            else:

                async def run() -> Any:
                    async with AsyncTikTokEventsApi(telemetry=recorded.telemetry, retry=FAST) as a:
                        return await a.track(events(), auth=auth)

                with pytest.raises(BulkSendError) as raised:
                    asyncio.run(run())
        received = list(server.received)
        assert_match_keys(recorded, server, EVENTS - len(BAD))
    result = raised.value.result
    assert len(result.failed) == len(BAD)

    assert recorded.unit("tiktok.events_api.events") == "{event}"
    assert recorded.sums("tiktok.events_api.events") == {
        outcome("accepted", 0): EVENTS - len(BAD) - len(DROPPED),
        outcome("accepted_keys_dropped", 0): len(DROPPED),
        outcome("failed", 40002, "InvalidRequestError"): len(BAD),
    }
    assert recorded.unit("tiktok.events_api.requests") == "{request}"
    assert recorded.sums("tiktok.events_api.requests") == dict(expected_requests(server))
    assert sum(recorded.sums("tiktok.events_api.requests").values()) == len(received)
    durations = recorded.points("tiktok.events_api.request.duration")
    assert recorded.unit("tiktok.events_api.request.duration") == "s"
    assert {frozenset(p.attributes.items()): p.count for p in durations} == dict(
        expected_requests(server)
    )
    assert all(p.sum > 0 for p in durations)

    spans = [s for s in recorded.exporter.get_finished_spans() if s.name != "checkout"]
    assert len(spans) == len(received)
    for span in spans:
        assert span.name == f"POST {ENDPOINT}"
        assert span.kind is SpanKind.CLIENT
        assert span.parent is not None
        assert span.parent.span_id == parent.get_span_context().span_id
        assert span.attributes["tiktok.events_api.event_count"] >= 1
    assert sum(s.attributes["tiktok.events_api.event_count"] for s in spans) == sum(
        len(request.events) for request in received
    )
    request_ids = {r.request_id for r in received if r.code is not None}
    assert {
        s.attributes["tiktok.events_api.request_id"]
        for s in spans
        if "tiktok.events_api.request_id" in s.attributes
    } == request_ids
    retried = [s for s in spans if s.attributes["tiktok.events_api.attempt"] == 2]
    assert len(retried) == 1
    assert retried[0].attributes["http.request.resend_count"] == 1
    failed = [s for s in spans if s.status.status_code is StatusCode.ERROR]
    assert len(failed) == sum(1 for r in received if r.code != 0)
    # Nothing personal, no event id, no token in any attribute.
    for span in spans:
        text = repr(dict(span.attributes)) + repr(span.status.description)
        assert TOKEN not in text
        assert "evt-" not in text
        assert "+1 000" not in text
    # Nor in any metric point: the match-key counters carry a key's name, never its value.
    data = recorded.reader.get_metrics_data()
    text = repr([m.data.data_points for r in data.resource_metrics for s in r.scope_metrics
                 for m in s.metrics])  # fmt: skip
    for value in ("E.C.P.", "example.com", "13.57"):
        assert value not in text


def test_an_event_sender_is_counted_and_its_outbox_gauged(tmp_path: Path) -> None:
    recorded = Recorded()
    path = tmp_path / "o.sqlite3"
    stale = SQLiteOutbox(path)  # an event taken more than 48 hours ago: expired, not sent
    stale.add([({"event_source": "web", "event_source_id": PIXEL, "data": [
        {"event": "Purchase", "event_time": 1_700_000_000, "event_id": "old-1",
         "user": {"external_id": "x"}}]}, "old-1")])  # fmt: skip
    stale.close()
    database = sqlite3.connect(path)
    with database:
        database.execute("UPDATE pending SET created = created - 49 * 3600")
    database.close()
    with SandboxServer(access_token=TOKEN, bad_events=BAD, name_bad_index=True) as server:
        api = TikTokEventsApi(telemetry=recorded.telemetry, retry=FAST)
        with EventSender(auth_for(server), outbox=path, api=api, interval=0.05) as sender:
            for event in events():
                sender.track(event)
            assert sender.flush(timeout=60)
            assert sender.outbox.status().failed == len(BAD) + 1
            gauges = {
                name: recorded.sums(f"tiktok.events_api.sender.{name}")
                for name in ("pending", "failed", "oldest_pending.age")
            }
        api.close()
        assert recorded.sums("tiktok.events_api.requests") == dict(expected_requests(server))
        durations = recorded.points("tiktok.events_api.request.duration")
        assert sum(p.count for p in durations) == len(server.received)
        assert len(recorded.exporter.get_finished_spans()) == len(server.received)
        assert_match_keys(recorded, server, EVENTS - len(BAD))
    sqlite = attrs(tiktok__events_api__outbox="sqlite")
    assert gauges == {"pending": {sqlite: 0}, "failed": {sqlite: len(BAD) + 1},
                      "oldest_pending.age": {}}  # fmt: skip
    assert recorded.sums("tiktok.events_api.events") == {
        outcome("accepted", 0): EVENTS - len(BAD) - len(DROPPED),
        outcome("accepted_keys_dropped", 0): len(DROPPED),
        outcome("failed", 40002, "InvalidRequestError"): len(BAD),
        outcome("expired", None): 1,
    }


def test_events_that_wait_to_be_sent_again_are_counted_as_retried_and_gauged() -> None:
    recorded = Recorded()
    faults = [FaultPlan(Fault.SERVER_ERROR, every=1)]
    with SandboxServer(access_token=TOKEN, faults=faults) as server:
        api = TikTokEventsApi(telemetry=recorded.telemetry, retry=FAST)
        sender = EventSender(
            auth_for(server), api=api, interval=0.05, resend=ResendPolicy(first_delay=60.0)
        )
        for event in events()[:20]:
            sender.track(event)
        assert sender.flush(timeout=60) is False  # they wait out a 60 s resend delay
        pending = recorded.sums("tiktok.events_api.sender.pending")
        ages = recorded.sums("tiktok.events_api.sender.oldest_pending.age")
        sender.close(timeout=0)
        api.close()
        requests = len(server.received)  # (each batch tried 1 + FAST.max_retries times)
    memory = attrs(tiktok__events_api__outbox="memory")
    assert pending == {memory: 20}
    assert list(ages) == [memory]
    assert 0 <= ages[memory] < 60
    assert recorded.sums("tiktok.events_api.events") == {
        outcome("retried", None, "ServerError"): 20,
    }
    assert requests % (1 + FAST.max_retries) == 0
    assert recorded.sums("tiktok.events_api.requests") == {
        request_attrs(None, 500, "ServerError"): requests
    }


def test_a_telemetry_turned_off_records_nothing() -> None:
    reader = InMemoryMetricReader()
    telemetry = Telemetry(meter_provider=MeterProvider(metric_readers=[reader]), enabled=False)
    assert telemetry.enabled is False
    with SandboxServer(access_token=TOKEN) as server, TikTokEventsApi(telemetry=telemetry) as api:
        api.track(events()[:5], auth=auth_for(server))
    assert reader.get_metrics_data() is None or not reader.get_metrics_data().resource_metrics
