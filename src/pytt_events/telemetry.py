"""OpenTelemetry metrics and traces of what the SDK sends (the `otel` extra: opentelemetry-api).

Every client and sender records through a Telemetry: by default the process's own, which uses
OpenTelemetry's global meter and tracer providers (what the application configured with the
OpenTelemetry SDK, or a no-op until it does). Without opentelemetry-api installed nothing is
imported and nothing is recorded, at no cost.

    from pytt_events.telemetry import Telemetry
    api = TikTokEventsApi(telemetry=Telemetry(meter_provider=provider, tracer_provider=tracer))

Instruments (meter "pytt_events"; names and units after OpenTelemetry's semantic conventions:
dotted lower-case names in the `tiktok.events_api` namespace, UCUM units, no `_total`):

  tiktok.events_api.events            Counter {event}: each event the SDK reports the fate of,
                                      by `tiktok.events_api.outcome` (see OUTCOMES), with
                                      `tiktok.events_api.family`, `tiktok.events_api.event_source`,
                                      and for failed and retried events TikTok's code
                                      (`tiktok.events_api.code`) and `error.type`
  tiktok.events_api.match_keys        Counter {event}: each event TikTok got (accepted, or in a
                                      request answered 20001) carrying a match key, by
                                      `tiktok.events_api.match_key` (see MATCH_KEYS: a key of
                                      pytt_events.coverage, or the pairs ip+user_agent and
                                      idfa|gaid), with the family and the event source
  tiktok.events_api.match_strength    Counter {event}: each event TikTok got, by its grade,
                                      `tiktok.events_api.match_strength` (strong, medium, weak,
                                      none: a heuristic, see pytt_events.coverage), with the
                                      family and the event source; a key's count over the
                                      grades' sum is its share
  tiktok.events_api.requests          Counter {request}: each HTTP request (every attempt)
  tiktok.events_api.request.duration  Histogram s: how long each took, until TikTok's answer
                                      was read (or the failure)
      both with `http.request.method`, `server.address`, `url.template` (the endpoint's path),
      `http.response.status_code` (when an answer came), `tiktok.events_api.code` (TikTok's
      envelope code) and `error.type` (when it failed: the error's class)
  tiktok.events_api.sender.pending    Gauge {event}: events in an EventSender's outbox
  tiktok.events_api.sender.failed     Gauge {event}: events failed for good, kept in it
  tiktok.events_api.sender.oldest_pending.age
                                      Gauge s: the age of the oldest pending event
      each with `tiktok.events_api.outbox` (its kind: sqlite, memory, postgresql)

A span per HTTP request (kind CLIENT, named "POST {url.template}", under the caller's current
span; the concurrent requests of a bulk send too): `tiktok.events_api.request_id`,
`tiktok.events_api.event_count`, `tiktok.events_api.attempt`, `http.request.resend_count`
(from the second attempt), the status code, TikTok's code, and an error status with the
error's message when it failed. No attribute carries personal data, an event id or the token.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from pytt_events._coverage import Coverage
    from pytt_events._exceptions import PyttEventsError
    from pytt_events._response import TikTokResponse

__all__ = ["MATCH_KEYS", "OUTCOMES", "RequestRecord", "Telemetry", "default_telemetry"]

logger = logging.getLogger("pytt_events")

#: The values of `tiktok.events_api.outcome`: what became of an event, as the SDK reports it.
#: A client reports each event it sent (BulkResponse.outcomes; post_event's answer or error);
#: an EventSender adds what it decides without an answer from TikTok (expired events, stored
#: bodies found invalid, unexpected errors).
OUTCOMES = (
    "accepted",  # TikTok accepted it
    "accepted_keys_dropped",  # accepted, sent without match keys that could not be used
    "partial",  # its request was answered 20001: TikTok may have rejected some, naming none
    "failed",  # failed for good (TikTok refused it, or it cannot be sent)
    "retried",  # failed for now: a later attempt may deliver it (EventOutcome.retry_later)
    "expired",  # older than TikTok's 48-hour deduplication window: not sent (EventSender)
)

#: The values of `tiktok.events_api.match_key`: the rows of pytt_events.coverage's table but
#: "any key" (the grades count every event).
MATCH_KEYS = (
    "email", "phone", "external_id", "ttclid", "ttp", "ip", "user_agent", "ip+user_agent",
    "idfa", "gaid", "idfa|gaid",
)  # fmt: skip

#: The histogram's bucket boundaries, in seconds: OpenTelemetry's advice for HTTP durations.
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)

#: What an events counter is given: (outcome, family, event source, code, error type) -> count.
EventCounts = Mapping[tuple[str, str, str, "int | None", "str | None"], int]


class _Watched(Protocol):
    """What the sender gauges read: an EventSender's outbox (pytt_events.outbox)."""

    def status(self) -> Any: ...


def outbox_kind(outbox: object) -> str:
    """The `tiktok.events_api.outbox` attribute of an outbox: its kind, from its class
    (SQLiteOutbox: "sqlite", MemoryOutbox: "memory", PostgresOutbox: "postgres")."""
    return type(outbox).__name__.removesuffix("Outbox").lower() or "outbox"


def gauge_values(status: Any, now: float) -> tuple[int, int, float | None]:
    """An outbox status as the sender gauges report it: pending, failed, and the age of the
    oldest pending event in seconds (None: none pending)."""
    oldest = getattr(status, "oldest_pending", None)
    age = None if oldest is None else max(0.0, now - oldest)
    return int(status.pending), int(status.failed), age


class _Instruments:
    """The instruments of one meter and tracer (created once per Telemetry)."""

    def __init__(self, meter: Any, tracer: Any, trace: Any) -> None:
        from opentelemetry.metrics import Observation

        self._observation = Observation
        self.tracer = tracer
        self.client_kind = trace.SpanKind.CLIENT
        self.status = trace.Status
        self.error_code = trace.StatusCode.ERROR
        self.events = meter.create_counter(
            "tiktok.events_api.events", unit="{event}",
            description="Events by what became of them (tiktok.events_api.outcome)",
        )  # fmt: skip
        self.match_keys = meter.create_counter(
            "tiktok.events_api.match_keys", unit="{event}",
            description="Events TikTok got carrying each match key (tiktok.events_api.match_key)",
        )  # fmt: skip
        self.match_strength = meter.create_counter(
            "tiktok.events_api.match_strength", unit="{event}",
            description="Events TikTok got by match-strength grade (a heuristic)",
        )  # fmt: skip
        self.requests = meter.create_counter(
            "tiktok.events_api.requests", unit="{request}",
            description="HTTP requests to TikTok's Events API, every attempt",
        )  # fmt: skip
        self.duration = meter.create_histogram(
            "tiktok.events_api.request.duration", unit="s",
            description="Duration of HTTP requests to TikTok's Events API",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )  # fmt: skip
        self.watched: weakref.WeakSet[Any] = weakref.WeakSet()
        gauges = (
            ("pending", "{event}", "Events waiting in an EventSender's outbox", 0),
            ("failed", "{event}", "Events failed for good, kept in an EventSender's outbox", 1),
            ("oldest_pending.age", "s", "Age of the oldest event waiting in the outbox", 2),
        )
        for name, unit, description, position in gauges:
            meter.create_observable_gauge(
                f"tiktok.events_api.sender.{name}", callbacks=[self._observer(position)],
                unit=unit, description=description,
            )  # fmt: skip

    def _observer(self, position: int) -> Callable[[Any], Iterable[Any]]:
        def observe(options: Any) -> Iterable[Any]:
            for outbox in list(self.watched):
                try:
                    values = gauge_values(outbox.status(), time.time())
                except Exception:  # an outbox that cannot answer now: no value this time
                    logger.debug("an outbox could not be read for its gauges", exc_info=True)
                    continue
                value = values[position]
                if value is not None:
                    kind = outbox_kind(outbox)
                    yield self._observation(value, {"tiktok.events_api.outbox": kind})

        return observe


class Telemetry:
    """Where the SDK records its metrics and spans: OpenTelemetry's global providers (None), or
    the ones given. Without opentelemetry-api installed, or with enabled=False, it records
    nothing. Share one between clients and senders: instruments are made once, at first use.

    Args:
        meter_provider: an opentelemetry MeterProvider (default: the global one).
        tracer_provider: an opentelemetry TracerProvider (default: the global one).
        enabled: False records nothing (default: whether opentelemetry-api is installed).
    """

    def __init__(
        self,
        *,
        meter_provider: Any = None,
        tracer_provider: Any = None,
        enabled: bool | None = None,
    ) -> None:
        self.meter_provider = meter_provider
        self.tracer_provider = tracer_provider
        self._enabled = enabled
        self._instruments: _Instruments | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Telemetry(enabled={self.enabled})"

    @property
    def enabled(self) -> bool:
        if self._enabled is None:
            self._enabled = self._load() is not None
        return self._enabled

    def _load(self) -> _Instruments | None:
        if self._instruments is not None or self._enabled is False:
            return self._instruments
        with self._lock:
            if self._instruments is None:
                try:
                    from opentelemetry import metrics, trace
                except ImportError:
                    self._enabled = False
                    return None
                from pytt_events import __version__

                meter = metrics.get_meter("pytt_events", __version__, self.meter_provider)
                tracer = trace.get_tracer("pytt_events", __version__, self.tracer_provider)
                self._instruments = _Instruments(meter, tracer, trace)
        return self._instruments

    def request(
        self, url: str, events: int, attempt: int, method: str = "POST"
    ) -> AbstractContextManager[RequestRecord]:
        """Around one HTTP request (method url with events events, attempt 1, 2, ...): a span,
        current while it is sent, then the request counter and duration. The block tells the
        record it is given what came of it (RequestRecord.ended)."""
        instruments = self._load()
        if instruments is None:
            return _NOT_RECORDING
        return self._recorded(instruments, url, events, attempt, method)

    @contextlib.contextmanager
    def _recorded(
        self, instruments: _Instruments, url: str, events: int, attempt: int, method: str
    ) -> Iterator[RequestRecord]:
        parts = urlsplit(url)
        attributes: dict[str, Any] = {
            "http.request.method": method,
            "server.address": parts.hostname or "",
            "url.template": parts.path,
        }
        span_attributes = {
            **attributes,
            "tiktok.events_api.event_count": events,
            "tiktok.events_api.attempt": attempt,
        }
        if parts.port is not None:
            span_attributes["server.port"] = parts.port
        if attempt > 1:
            span_attributes["http.request.resend_count"] = attempt - 1
        record = RequestRecord(attributes)
        started = time.perf_counter()
        with instruments.tracer.start_as_current_span(
            f"{method} {parts.path}", kind=instruments.client_kind, attributes=span_attributes,
            record_exception=False, set_status_on_exception=False,
        ) as span:  # fmt: skip
            try:
                yield record
            finally:
                elapsed = time.perf_counter() - started
                for key, value in record.span_attributes.items():
                    span.set_attribute(key, value)
                if record.error is not None:
                    span.set_status(instruments.status(instruments.error_code, record.error))
                instruments.requests.add(1, record.attributes)
                instruments.duration.record(elapsed, record.attributes)

    def events(self, counts: EventCounts) -> None:
        """Count events by (outcome, family, event source, TikTok's code, error type); an
        empty family or source, a None code or error type, is left out of the attributes."""
        instruments = self._load()
        if instruments is None:
            return
        for (outcome, family, source, code, error_type), count in counts.items():
            if not count:
                continue
            attributes: dict[str, Any] = {"tiktok.events_api.outcome": outcome}
            if family:
                attributes["tiktok.events_api.family"] = family
            if source:
                attributes["tiktok.events_api.event_source"] = source
            if code is not None:
                attributes["tiktok.events_api.code"] = code
            if error_type is not None:
                attributes["error.type"] = error_type
            instruments.events.add(count, attributes)

    def coverage(self, found: Mapping[tuple[str, str], Coverage]) -> None:
        """Count the match keys and grades of events TikTok got, by (family, event source)
        (see pytt_events.coverage); nothing of an event's values is recorded."""
        instruments = self._load()
        if instruments is None:
            return
        for (family, source), coverage in found.items():
            base: dict[str, Any] = {}
            if family:
                base["tiktok.events_api.family"] = family
            if source:
                base["tiktok.events_api.event_source"] = source
            for key in MATCH_KEYS:
                count = coverage.count(key)
                if count:
                    instruments.match_keys.add(count, {**base, "tiktok.events_api.match_key": key})
            for grade, count in coverage.grades.items():
                if count:
                    attributes = {**base, "tiktok.events_api.match_strength": grade}
                    instruments.match_strength.add(count, attributes)

    def watch(self, outbox: _Watched) -> None:
        """Report an EventSender's outbox in the sender gauges (until unwatch, or until it is
        garbage-collected)."""
        instruments = self._load()
        if instruments is not None:
            instruments.watched.add(outbox)

    def unwatch(self, outbox: _Watched) -> None:
        instruments = self._instruments
        if instruments is not None:
            instruments.watched.discard(outbox)


class RequestRecord:
    """What a request came to, as the transport tells it (see Telemetry.request)."""

    __slots__ = ("attributes", "error", "span_attributes")

    def __init__(self, attributes: dict[str, Any]) -> None:
        self.attributes = attributes
        self.span_attributes: dict[str, Any] = {}
        self.error: str | None = None

    def ended(self, outcome: TikTokResponse | PyttEventsError) -> None:
        """TikTok's answer, or the error the request failed with (TikTok's refusal, a timeout,
        no usable answer)."""
        status = getattr(outcome, "http_status", None)
        code = getattr(outcome, "code", None)
        request_id = getattr(outcome, "request_id", None)
        if isinstance(status, int) and status > 0:
            self.attributes["http.response.status_code"] = status
        if isinstance(code, int):
            self.attributes["tiktok.events_api.code"] = code
        if isinstance(outcome, Exception):
            self.attributes["error.type"] = type(outcome).__name__
            self.error = str(outcome)
        self.span_attributes.update(self.attributes)
        if request_id:
            self.span_attributes["tiktok.events_api.request_id"] = str(request_id)


class _NotRecording(RequestRecord):
    """The record of a Telemetry that records nothing, and its context manager."""

    def __init__(self) -> None:
        super().__init__({})

    def ended(self, outcome: TikTokResponse | PyttEventsError) -> None:
        pass

    def __enter__(self) -> RequestRecord:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None


_NOT_RECORDING = _NotRecording()


_DEFAULT = Telemetry()


def default_telemetry() -> Telemetry:
    """The process's Telemetry: OpenTelemetry's global providers (what a client or sender
    records through unless given another)."""
    return _DEFAULT
