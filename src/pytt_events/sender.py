"""Send from a web request without waiting: EventSender takes an event, validates and hashes
it at once (bad input raises in the request, where the developer sees it), keeps it in an
outbox and returns; a worker thread sends batches in the background.

    sender = EventSender(outbox="tiktok-outbox.sqlite3")   # credentials from TIKTOK_* / .env
    sender.track({"event": "Purchase", "event_time": now, "user": {...}})   # ~no waiting
    ...
    sender.close()            # or `with EventSender(...) as sender:`; at exit: a bounded flush

Delivery is at-least-once, with the same event_id on every resend: an event leaves the outbox
only when TikTok accepted it or failed it for good (then it waits in the outbox's failed
events). A process that dies (a crash, a deploy, SIGKILL) leaves its pending events in the
outbox file: the next EventSender on the same file sends them (its worker starts at once when
it finds any), with their original event_id, which TikTok deduplicates within 48 hours; an
event found older than that is moved to the failed ones and reported, not sent blindly. An
event reaches TikTok twice (with the same event_id, which TikTok merges) only after a kill
between TikTok's acceptance and the outbox's commit, a request that got no answer (a timeout:
TikTok may have taken it), or a lease that ran out under a worker still sending (logged). A
normal close is none of these: it waits for the batch in flight and records its answer.

What a worker meets while sending, and what becomes of the events (each reaches on_result):
  accepted by TikTok                        "accepted": gone from the outbox
  a request TikTok took as a partial        "partial": gone (TikTok names no event, and a
    success (20001)                           resend would change nothing), logged
  retryable (network, rate limit, 5xx)      "retrying": back in the outbox, sent again after
    after the client's own retries, or        a backoff (ResendPolicy: 1 s doubling to 5 min),
    credentials to fix (40102, 40003, …)      until the 48-hour window ends
  failed for good (40002, …)                "failed": moved to the failed events
  an unexpected error (a bug, a storage     "retrying" the same way; "failed" once an event
    error)                                    has been tried ResendPolicy.max_attempts times
  older than 48 hours when its turn came    "expired": moved to the failed events, not sent
A worker holds the rows it sends with a lease, renewed while it sends: no other worker sends
them meanwhile; a worker that dies frees them when its lease runs out.

Without an outbox file the events wait in memory (MemoryOutbox): bounded, never dropped (a
full one makes `track` wait up to block_timeout, then raise OutboxFullError), but lost with the
process.

One worker thread per process, started on the first event, so a sender made before a fork
(gunicorn's preload) starts its own worker in each child.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import dataclasses
import inspect
import logging
import os
import threading
import time
import uuid
import weakref
from collections import Counter
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, ClassVar, Literal

from pytt_events import _families
from pytt_events._constants import (
    ASYNC_FLUSH_POLL_SECONDS,
    CLOSE_MARGIN,
    DEDUP_WINDOW_SECONDS,
    DEFAULT_BLOCK_TIMEOUT,
    DEFAULT_EXIT_TIMEOUT,
    DEFAULT_LEASE,
    DEFAULT_MAX_PENDING,
    DEFAULT_SEND_INTERVAL,
    FLUSH_POLL_SECONDS,
    LEASE_RENEWALS,
    SENDER_BATCH,
    SENDER_LOG_EVERY,
    SENDER_MAX_ATTEMPTS,
)
from pytt_events._delivery import EventCounts, body_source
from pytt_events._exceptions import FATAL_ERRORS, BulkSendError, PyttEventsError
from pytt_events._families import Family
from pytt_events._plan import OneEvent, PreparedEvents, join_events, one_event
from pytt_events._response import BulkResponse, EventOutcome
from pytt_events._retry import ResendPolicy, RetryPolicy, Sleep
from pytt_events._stats import count_key
from pytt_events.auth import TikTokAuth
from pytt_events.outbox import MemoryOutbox, Outbox, Row, SQLiteOutbox
from pytt_events.tiktok_events_api import AsyncTikTokEventsApi, TikTokEventsApi

__all__ = ["AsyncEventSender", "EventSender", "ResendPolicy", "SendResult"]

logger = logging.getLogger("pytt_events")

#: Events claimed and sent at a time; the tries after which an event that meets an unexpected
#: error is failed by default (ResendPolicy.max_attempts); seconds between two log lines of
#: one error code (see _constants).
BATCH = SENDER_BATCH
MAX_ATTEMPTS = SENDER_MAX_ATTEMPTS
LOG_EVERY = SENDER_LOG_EVERY


@dataclass(frozen=True)
class SendResult:
    """What became of one event, as the worker learned it:

    - "accepted": TikTok accepted it.
    - "partial": its request was answered with a partial success (20001): TikTok took the
      request and may have rejected some of its events, naming none. Not sent again.
    - "retrying": a retryable failure (or credentials to fix): it waits in the outbox and is
      sent again after a backoff. `error` says why. A later result follows.
    - "failed": failed for good; it waits in the outbox's failed events. `error` says why.
    - "expired": older than TikTok's 48-hour deduplication window when its turn came: not
      sent, moved to the failed events.
    """

    event_id: str
    status: Literal["accepted", "partial", "retrying", "failed", "expired"]
    error: PyttEventsError | None = None
    #: The match keys the event is sent without (values that cannot be match keys, left out
    #: with a warning when track took it), each as "path: reason", never the value. Known for
    #: the events this process took; empty for an earlier process's.
    dropped_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class _UntilClosed(RetryPolicy):
    """The client's own retry policy, until the sender closes: from then on, no new attempt
    starts (close waits for the one in flight; what failed goes back to the outbox)."""

    policy: RetryPolicy = field(default_factory=RetryPolicy)
    closing: Callable[[], bool] = field(default=lambda: False, repr=False, compare=False)

    def stopped(self) -> bool:
        return self.closing() or self.policy.stopped()

    def should_retry(self, error: BaseException, retries_done: int) -> bool:
        return not self.stopped() and self.policy.should_retry(error, retries_done)

    def delay(self, retries_done: int, retry_after: float | None = None) -> float:
        return self.policy.delay(retries_done, retry_after)


class _SenderCore:
    """What both senders share: configuration, taking events (validated and hashed at once,
    kept in the outbox), claiming a batch, settling its outcomes in the outbox, and the
    lifecycle (flush, close) as flows each sender drives with its own I/O."""

    #: Seconds between two looks of a flush at whether the worker is done.
    _poll_seconds: ClassVar[float] = FLUSH_POLL_SECONDS

    def __init__(
        self,
        api: TikTokEventsApi | AsyncTikTokEventsApi,
        owns_api: bool,
        auth: TikTokAuth | None,
        outbox: str | os.PathLike[str] | Outbox | None,
        interval: float,
        max_pending: int,
        block_timeout: float,
        on_result: Callable[[SendResult], None] | None,
        exit_timeout: float,
        lease: float,
        resend: ResendPolicy | None,
    ) -> None:
        if lease <= 0 or interval <= 0:
            raise ValueError("lease and interval: seconds, more than 0")
        self.auth = auth or TikTokAuth()
        if outbox is None:
            self.outbox: Outbox = MemoryOutbox(max_pending)
        elif isinstance(outbox, (str, os.PathLike)):
            self.outbox = SQLiteOutbox(outbox)
        else:
            self.outbox = outbox
        # What the sender made (an outbox from a path, a client) it closes; what it was given
        # is the caller's to close.
        self._owns_outbox = outbox is None or isinstance(outbox, (str, os.PathLike))
        # Whether the outbox keeps daily accepted counts (done(..., counted=)): an outbox
        # written before they existed is settled as it was.
        self._counting = "counted" in inspect.signature(self.outbox.done).parameters
        self._owns_api = owns_api
        self._planner = api
        self.interval = interval
        self.block_timeout = block_timeout
        self.on_result = on_result
        self.exit_timeout = exit_timeout
        self.lease = lease
        #: When an event that failed for now is sent again, and when the sender gives up.
        self.resend = resend or ResendPolicy()
        self._owner = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._refusing = False  # close began: no event is taken any more
        self._closed = False  # close flushed: the worker stops after its batch
        self._flushing = 0  # flushes waiting: the worker drains even when stopping
        self._stopped = False  # the worker was stopped by close: nothing starts it again
        self._lock = threading.Lock()  # starting the worker, and stopping it for good
        self._busy = False  # a batch is claimed and not yet settled
        self._claims = 0  # batches claimed, ever (a flush tells a claim it did not see)
        self._held: list[int] = []  # the ids of the batch being sent (their lease is renewed)
        # Takes in progress: close waits for them, so none commits after close's last look.
        self._taking = threading.Condition()
        self._takes = 0
        self._taken = 0  # events taken since the last full batch
        self._logged: dict[object, float] = {}  # error code -> when it was last logged
        # The worker's retry policy: the client's, until close gives up waiting (_closing).
        self._closing = threading.Event()
        self._retry = _UntilClosed(policy=api.retry, closing=lambda: self._closing.is_set())
        # Whether the outbox marks the rows this sender took as checked (see SQLiteOutbox.add):
        # those are sent as they are; any other row is validated again before it is sent.
        self._marking = (
            self.outbox if isinstance(self.outbox, (SQLiteOutbox, MemoryOutbox)) else None
        )
        #: Events the worker validated again before sending them: rows this process did not
        #: take itself (an earlier process's, a replay's, a store that keeps no mark). The
        #: events track took are sent as they were kept, and never counted here.
        self.validated_again = 0
        # The events taken with match keys left out (rare), by event_id, until their final
        # result is told: on_result says which keys they went without.
        self._dropped: dict[str, tuple[str, ...]] = {}
        # The client's telemetry (pytt_events.telemetry): the outbox in the sender gauges, and
        # the events whose fate the sender decides without TikTok's answer in the events count.
        self.telemetry = api.telemetry
        self.telemetry.watch(self.outbox)

    def track(
        self,
        event: Any,
        *,
        event_source: str = "web",
        event_source_id: str | None = None,
        test_event_code: str | None = None,
        partner_name: str | None = None,
    ) -> str:
        """Take one Events 2.0 event (a TrackEvent, a dict, or an Events 1.0 Event): validated
        and hashed now, kept in the outbox, sent in the background. Returns its event_id.

        Raises:
            PayloadValidationError: the event is invalid (nothing was kept).
            OutboxFullError: the in-memory outbox stayed full for block_timeout.
            OutboxError: the outbox could not keep it (a locked or damaged file, a database
                that refused; nothing was kept).
        """
        prepared = self._planner.prepare_track(
            [event], auth=self.auth, event_source=event_source, event_source_id=event_source_id,
            test_event_code=test_event_code, partner_name=partner_name,
        )  # fmt: skip
        return self._keep(prepared)

    def post_event(self, event: Any) -> str:
        """Take one Events 1.0 event (an Event or a dict), as track does. Returns its event_id.

        Raises:
            PayloadValidationError: the event is invalid (nothing was kept).
            OutboxFullError: the in-memory outbox stayed full for block_timeout.
            OutboxError: the outbox could not keep it (a locked or damaged file, a database
                that refused; nothing was kept).
        """
        # Its own event_id, set once, now: every resend carries the same one.
        return self._keep(self._planner.prepare_event(event, self.auth, own_event_ids=True))

    def _keep(self, prepared: PreparedEvents) -> str:
        self._ready()  # before the event is kept: a sender that cannot send keeps nothing
        items = []
        for index, event_id, body in prepared.single_payloads():
            items.append((body, str(event_id)))
            if index in prepared.dropped_keys:
                self._dropped[str(event_id)] = prepared.dropped_keys[index]
        with self._taking:
            if self._refusing:
                raise PyttEventsError("the sender is closed: make a new one")
            self._takes += 1
        try:
            if self._marking is not None:  # validated and hashed: the worker sends them as kept
                self._marking.add(items, timeout=self.block_timeout, checked=True)
            else:
                self.outbox.add(items, timeout=self.block_timeout)
            self._start()
        finally:
            with self._taking:
                self._takes -= 1
                self._taking.notify_all()
                late = self._stopped  # close gave up waiting for this take
        if late:
            if isinstance(self.outbox, MemoryOutbox):
                raise PyttEventsError(
                    "the sender closed while this event was being taken: it will not be sent"
                )
            logger.warning("an event was taken after the sender closed: the outbox keeps it")
        self._taken += len(items)
        if self._taken >= BATCH:  # a full batch goes out now, not at the next interval
            self._taken = 0
            self._wake_now()
        return items[0][1]

    def warm_up(self) -> None:
        """Build now what the first track would build, so that it costs what every later one
        does: the client's models, validators and personal-data plans for the credentials'
        API version (see TikTokEventsApi.warm_up), and the worker (EventSender: its thread;
        AsyncEventSender: its task, when called on the event loop that sends). Call it once
        when a server starts, before it takes requests. Sends nothing, keeps nothing.

        Raises:
            UnknownApiVersionError: this build has no schema for the credentials' version.
        """
        api = self._planner
        api.warm_up(api.credentials(self.auth).TIKTOK_API_VERSION)
        self._start_early()

    def _start_early(self) -> None:
        """Start the worker before the first event, where this sender can."""
        self._start()

    def _ready(self) -> None:
        """Raise if this sender cannot send from here (the async one: outside its loop)."""

    def _start(self) -> None:
        raise NotImplementedError  # pragma: no cover - each sender starts its own worker

    def _wake_now(self) -> None:
        raise NotImplementedError  # pragma: no cover - each sender wakes its own worker

    def _running(self) -> bool:
        """Whether the worker should claim another batch."""
        return not self._closed or self._flushing > 0

    def _close_taking(self, deadline: float) -> None:
        """Take no more events, and wait (until deadline) for the takes in progress, while the
        worker goes on sending (a take may wait for room only it makes)."""
        with self._taking:
            self._refusing = True
            self._flushing += 1
            self._wake_now()
            try:
                done = self._taking.wait_for(
                    lambda: self._takes == 0, timeout=max(0.0, deadline - time.monotonic())
                )
            finally:
                self._flushing -= 1
            if not done:
                logger.warning("%d event(s) were still being taken when close stopped waiting",
                               self._takes)  # fmt: skip

    def _claim(self) -> tuple[list[Row], bool] | None:
        """The next batch to send, and whether it was a full one (None: nothing is due). Rows
        older than TikTok's 48-hour deduplication window are moved to the failed events and
        reported, not sent blindly."""
        rows = self.outbox.claim(self._owner, BATCH, self.lease)
        if not rows:
            return None
        self._taken = 0  # a batch goes out: the count toward a full one starts again
        now = time.time()
        expired = [row for row in rows if now - row.created >= DEDUP_WINDOW_SECONDS]
        fresh = [row for row in rows if now - row.created < DEDUP_WINDOW_SECONDS]
        self._held = [row.id for row in fresh]  # renewed from now on
        if expired:
            reason = (
                "older than TikTok's 48-hour deduplication window when its turn came: not sent "
                "blindly (TikTok may have it already); replay it on purpose if it must go"
            )
            self.outbox.fail(((row.id, None, reason) for row in expired), owner=self._owner)
            self._count("expired", expired)
            logger.warning("%d event(s) of the outbox were older than 48 hours", len(expired))
            self._tell(
                SendResult(row.event_id, "expired", PyttEventsError(reason)) for row in expired
            )
        return fresh, len(rows) >= BATCH

    def _renew(self) -> None:
        """Keep the lease of the batch being sent (a send with retries may outlast it). An
        error is logged: the lease keeper goes on."""
        held = self._held
        try:
            renewed = self.outbox.renew(self._owner, held, self.lease) if held else 0
        except Exception:
            logger.exception("renewing the lease of events being sent failed")
            return
        if held and renewed < len(held):
            logger.warning(
                "the lease of events being sent ran out (the worker was slower than lease=%g "
                "s): another worker may send them too, with the same event_id", self.lease,
            )  # fmt: skip

    def _drain_flow(self) -> _Flow:
        """Drain the outbox, a batch at a time: yields each batch to send and takes the
        outcome of sending it (TikTok's answer, or the exception met). Both senders drive it,
        each with its own client."""
        while self._running():
            self._busy = True
            self._claims += 1
            try:
                claimed = self._claim()
                if claimed is None:
                    return
                fresh, full = claimed
                if fresh:
                    try:
                        batch = self._batch(fresh)
                    except Exception as error:  # (a bug: the events wait in the outbox)
                        self._settle(fresh, error)
                    else:
                        outcome = yield batch
                        assert outcome is not None  # the driver sends what sending gave
                        self._settle(batch.rows, outcome)
            finally:
                self._held = []
                self._busy = False
            if not full and not self._flushing:
                # Less than a batch was due: the next one waits for the interval (or a full
                # batch, or a flush), so events go out in batches, not one request each.
                return

    def _batch(self, fresh: list[Row]) -> _Batch:
        """The requests that send a claimed batch. The rows this sender took itself (checked:
        validated and hashed by track) are grouped into requests as they are, by their
        request-level fields, and sent as kept; the others are planned as send_payloads plans
        stored bodies (validated again; an invalid one is left out and listed). The rows come
        back in the order the plan numbers them: the others first, then the checked ones."""
        api = self._planner
        version = api.credentials(self.auth).TIKTOK_API_VERSION

        def carrier(shape: str, version: str) -> Family:
            return api.carrier(shape, version, many=True)

        kept: list[tuple[Row, OneEvent]] = []
        others: list[Row] = []
        for row in fresh:
            found = one_event(row.body, version, carrier) if row.checked else None
            if found is None:
                others.append(row)
            else:
                kept.append((row, found))
        prepared = api.prepare_payloads([row.body for row in others], self.auth, skip_invalid=True)
        self.validated_again += len(others)
        first = prepared.events  # the checked rows are numbered after the others sent
        joined = join_events([(first + offset, event) for offset, (_, event) in enumerate(kept)])
        # Their event ids, and the keys track left out of them (known for this process's
        # events): the batch's outcomes say so, as a client's do.
        event_ids = dict(prepared.event_ids)
        dropped = dict(prepared.dropped_keys)
        for offset, (row, _) in enumerate(kept):
            event_ids[first + offset] = row.event_id
            if row.event_id in self._dropped:
                dropped[first + offset] = self._dropped[row.event_id]
        return _Batch(
            others + [row for row, _ in kept],
            dataclasses.replace(
                prepared, requests=prepared.requests + tuple(joined), event_ids=event_ids,
                dropped_keys=dropped,
            ),
        )  # fmt: skip

    def _settle(self, fresh: list[Row], outcome: BulkResponse | Exception) -> None:
        """Record what became of the rows sent (see the module's table), then tell on_result
        (the batch is no longer held by then: a slow callback renews no lease)."""
        if isinstance(outcome, Exception):
            results = self._settle_error(fresh, outcome)
        else:
            results = self._settle_response(fresh, outcome)
        self._held = []
        self._tell(results)

    def _settle_response(self, fresh: list[Row], result: BulkResponse) -> list[SendResult]:
        owner = self._owner
        # One event per body: positions are rows, in order (invalid bodies take none).
        invalid = {item.number for item in result.invalid}
        sent = [row for number, row in enumerate(fresh) if number not in invalid]
        refused = [
            (fresh[item.number], "; ".join(f"{p}: {r}" for p, r in item.errors))
            for item in result.invalid
        ]  # (a body an earlier version of this SDK kept, that this one finds invalid)
        if refused:
            self.outbox.fail(((row.id, None, why) for row, why in refused), owner=owner)
            self._count("failed", [row for row, _ in refused], "PayloadValidationError")
        outcomes = result.outcomes
        partial = [outcome.index for outcome in outcomes if outcome.status == "partial"]
        if partial:
            logger.warning(
                "TikTok answered %d event(s) with a partial success (20001): some may have been "
                "rejected, none named; they are not sent again", len(partial),
            )  # fmt: skip
        accepted = [sent[o.index] for o in outcomes if o.status != "failed"]
        if self._counting:
            self.outbox.done([row.id for row in accepted], counted=self._count_keys(accepted))
        else:
            self.outbox.done(row.id for row in accepted)
        failed = [(sent[o.index], o) for o in outcomes if o.status == "failed"]
        again = [(row, o.error) for row, o in failed if o.retry_later and o.error is not None]
        final = [(row, o) for row, o in failed if not o.retry_later]
        self._log_errors([why for _, why in again])
        self._release(again)
        if final:
            self.outbox.fail(((row.id, o.code, o.reason or "") for row, o in final), owner=owner)
        return [
            *(_send_result(sent[o.index].event_id, o) for o in outcomes),
            *(SendResult(row.event_id, "failed", PyttEventsError(why)) for row, why in refused),
        ]

    def _settle_error(self, fresh: list[Row], error: Exception) -> list[SendResult]:
        """An error that is not TikTok's answer: the events go back to the outbox with a
        backoff; one tried resend.max_attempts times is moved to the failed events instead."""
        logger.error(
            "sending %d event(s) met an unexpected error; they wait in the outbox",
            len(fresh), exc_info=error,
        )  # fmt: skip
        why = PyttEventsError(f"{type(error).__name__} while sending: {error}")
        gives_up = self.resend.gives_up
        final = [(row, why) for row in fresh if gives_up(row.attempts + 1)]
        again = [(row, why) for row in fresh if not gives_up(row.attempts + 1)]
        self._release(again)
        self._count("retried", [row for row, _ in again], type(error).__name__)
        self._count("failed", [row for row, _ in final], type(error).__name__)
        if final:
            reason = f"{why} (tried {self.resend.max_attempts} times)"
            self.outbox.fail(((row.id, None, reason) for row, _ in final), owner=self._owner)
        return [
            *(SendResult(row.event_id, "retrying", why) for row, why in again),
            *(SendResult(row.event_id, "failed", why) for row, why in final),
        ]

    def _count_keys(self, rows: list[Row]) -> dict[int, tuple[str, str, str]]:
        """The key each accepted row is counted under in the outbox's daily counts: its event
        source id, event and UTC day of its time (_stats.count_key, as the sandbox counts);
        worked out as rows are settled, on the worker, so taking an event costs nothing more."""
        version = self._planner.credentials(self.auth).TIKTOK_API_VERSION
        now = time.time()
        keys: dict[int, tuple[str, str, str]] = {}
        for row in rows:
            family = _families.detect(row.body, version)
            if family is None:
                continue
            try:
                top, events = family.split(row.body)
            except ValueError:
                continue
            if len(events) == 1 and isinstance(events[0], dict):
                key = count_key(top, events[0], now)
                if key is not None:
                    keys[row.id] = key
        return keys

    def _count(self, outcome: str, rows: list[Row], error_type: str | None = None) -> None:
        """Count events whose fate the sender decided without TikTok's answer (expired, found
        invalid, unexpected errors) for telemetry; the client counts those it sent."""
        if not rows or not self.telemetry.enabled:
            return
        version = self._planner.credentials(self.auth).TIKTOK_API_VERSION
        counts: EventCounts = Counter()
        for row in rows:
            family, source = body_source(row.body, version)
            counts[(outcome, family, source, None, error_type)] += 1
        self.telemetry.events(counts)

    def _release(self, again: list[tuple[Row, PyttEventsError]]) -> None:
        """Back to the outbox after a backoff, each row keeping the error it met (for
        `pytt-events outbox status`)."""
        if not again:
            return
        retry_in = self.resend.delay(max(row.attempts for row, _ in again))
        by_error: dict[tuple[int | None, str], list[int]] = {}
        for row, why in again:
            by_error.setdefault((getattr(why, "code", None), str(why)), []).append(row.id)
        for error, ids in by_error.items():
            self.outbox.release(ids, retry_in, owner=self._owner, error=error)

    def _log_errors(self, errors: list[PyttEventsError]) -> None:
        """Say that events wait because of an error: credentials to fix at ERROR (nothing will
        go out until they are), others at WARNING; each code at once, then at most once every
        LOG_EVERY seconds."""
        now = time.monotonic()
        seen: dict[object, tuple[PyttEventsError, int]] = {}
        for error in errors:
            key = getattr(error, "code", None) or type(error).__name__
            seen[key] = (error, seen.get(key, (error, 0))[1] + 1)
        for key, (error, count) in seen.items():
            last = self._logged.get(key)
            if last is not None and now - last < LOG_EVERY:
                continue
            self._logged[key] = now
            if isinstance(error, FATAL_ERRORS):
                logger.error(
                    "TikTok refused the credentials (%s): %d event(s) wait in the outbox until "
                    "they are fixed (the token, the pixel or event source id, its permissions)",
                    error, count,
                )  # fmt: skip
            else:
                logger.warning("%d event(s) wait in the outbox to be sent again: %s", count, error)

    def _tell(self, results: Iterable[SendResult]) -> None:
        if self._dropped:
            results = [self._with_dropped(result) for result in results]
        if self.on_result is None:
            return
        for result in results:
            try:
                self.on_result(result)
            except Exception:
                logger.exception("on_result raised; the sender goes on")

    def _with_dropped(self, result: SendResult) -> SendResult:
        """result with the keys its event went without (forgotten once it is final)."""
        if result.status == "retrying":
            dropped = self._dropped.get(result.event_id)
        else:
            dropped = self._dropped.pop(result.event_id, None)
        return dataclasses.replace(result, dropped_keys=dropped) if dropped else result

    def _flush_poll(self, claims_before: int) -> tuple[bool | None, bool]:
        """_flush_state, and whether to wake the worker: only while events are pending and no
        batch is being sent. (Waking it with nothing pending starts a claim of nothing, which
        changes _claims: a flush that woke it at every poll kept missing its own answer.)"""
        state = self._flush_state(claims_before)
        return state, state is None and not self._busy and self.outbox.pending() > 0

    def _flush_state(self, claims_before: int) -> bool | None:
        """What a waiting flush sees: True (nothing pending, and every result told), False
        (the worker has looked at the outbox since the flush began, and what is left waits out
        a retry delay), None (keep waiting: events are being sent, their results told, are
        due, or another worker holds them, which its lease bounds). claims_before: _claims
        when the flush began."""
        busy, claims = self._busy, self._claims  # read before the outbox: a batch settled
        if busy:  # meanwhile changes _claims, and its results are then told (or being told)
            return None
        if self.outbox.pending() == 0:
            return True if not self._busy and self._claims == claims else None
        if claims == claims_before:
            return None
        if self.outbox.due() or not self.outbox.delayed():
            return None
        if self._busy or self._claims != claims:  # a batch was claimed meanwhile: in flight
            return None
        return False

    def _in_flight_bound(self) -> float:
        """How long close waits past its deadline for the batch in flight, once no new
        request or attempt starts: the attempts in flight (sent at once, max_concurrency at a
        time: one client timeout), and, with a client the caller gave, a retry wait already
        begun (the sender's own client ends its waits when closing), plus a margin."""
        api = self._planner
        waiting = 0.0 if self._owns_api else api.retry.max_retry_after
        return api.timeout + waiting + CLOSE_MARGIN

    def _left_behind(self, in_flight: bool = False) -> None:
        """Log what a closing sender leaves pending, and where."""
        left = self.outbox.pending()
        if left:
            where = "lost" if isinstance(self.outbox, MemoryOutbox) else "kept in the outbox"
            still = (
                " (some still in a request when the sender stopped waiting)" if in_flight else ""
            )
            logger.warning("%d event(s) not sent when the sender closed%s: %s", left, still, where)

    def _flush_flow(self, timeout: float | None) -> _Lifecycle:
        """flush, written once: each sender drives it (_drive), doing its outbox work (_Call)
        and waits (Sleep) its own way. See EventSender.flush."""
        if (yield _Call(self._flush_state, self._claims)):
            return True
        if self._stopped:  # closed: its worker is gone; what is left stays in the outbox
            return False
        self._start()
        deadline = None if timeout is None else time.monotonic() + timeout
        claims_before = self._claims
        self._flushing += 1
        try:
            self._wake_now()
            while True:
                state, wake = yield _Call(self._flush_poll, claims_before)
                if state is not None:
                    return bool(state)
                if wake:
                    self._wake_now()
                if deadline is not None and time.monotonic() >= deadline:
                    return False
                yield Sleep(self._poll_seconds)
        finally:
            self._flushing -= 1

    def _close_flow(self, timeout: float | None) -> _Lifecycle:
        """close, written once (see EventSender.close): take no more events, flush, stop the
        worker, wait for it until the deadline, then for the batch in flight (no new attempt
        starts), and close what the sender made."""
        if self._refusing:
            return bool((yield _Call(self.outbox.pending)) == 0)
        wait = self.exit_timeout if timeout is None else timeout
        deadline = time.monotonic() + wait
        yield _StopTaking(deadline)  # no event is taken after this; those being taken are in
        yield from self._flush_flow(max(0.0, deadline - time.monotonic()))
        self._closed = True
        with self._lock:
            self._stopped = True
        self._wake_now()
        done = yield _Join(max(0.0, deadline - time.monotonic()))
        if not done:  # a batch in flight: no new attempt, and its answer is recorded
            self._end_waits()
            logger.info("close waits for the batch in flight to be answered")
            done = yield _Join(self._in_flight_bound())
        in_use = False
        if not done:
            in_use = yield _ABANDON
        emptied = (yield _Call(self.outbox.pending)) == 0
        if not emptied:
            yield _Call(self._left_behind, not done)
        if in_use:
            logger.warning("the sender's worker is still sending: its outbox stays open")
            return bool(emptied)
        self.telemetry.unwatch(self.outbox)
        if self._owns_api:
            yield _CLOSE_API
        if self._owns_outbox:
            yield _Call(self.outbox.close)
        return bool(emptied)

    def _end_waits(self) -> None:
        """From now on no request or attempt starts, and a retry wait of the sender's own
        client ends (_retry stops; _pause returns)."""
        self._closing.set()


class EventSender(_SenderCore):
    """A non-blocking sender: `track` and `post_event` return once the event is in the outbox;
    a worker thread sends.

    Args:
        auth: the credentials (default: from the environment or .env).
        outbox: a file path (an SQLiteOutbox), an Outbox, or None (a MemoryOutbox).
        api: the client that sends (default: TikTokEventsApi(), its retry policy and
            concurrency); it also validates and hashes what track takes. A client given is
            the caller's: close() leaves it open (as it does an Outbox given).
        interval: seconds between sends of a batch that is not full.
        max_pending: the bound of the in-memory outbox (without outbox).
        block_timeout: how long track waits for room in a full in-memory outbox.
        on_result: called (from the worker thread) with a SendResult for each event.
        exit_timeout: how long close() (and the flush at interpreter exit) waits in all; what
            is not sent by then stays in the outbox file for the next sender (in memory: it
            is lost, and logged).
        lease: seconds a claimed batch is held, renewed while it is sent; the rows of a worker
            that died are free again after that.
        resend: when an event the client could not get through is sent again, and when the
            sender gives up (default ResendPolicy(): 1 s doubling to 5 minutes; an unexpected
            error 8 times). The client's own RetryPolicy (api.retry) retries within a send.
    """

    def __init__(
        self,
        auth: TikTokAuth | None = None,
        *,
        outbox: str | os.PathLike[str] | Outbox | None = None,
        api: TikTokEventsApi | None = None,
        interval: float = DEFAULT_SEND_INTERVAL,
        max_pending: int = DEFAULT_MAX_PENDING,
        block_timeout: float = DEFAULT_BLOCK_TIMEOUT,
        on_result: Callable[[SendResult], None] | None = None,
        exit_timeout: float = DEFAULT_EXIT_TIMEOUT,
        lease: float = DEFAULT_LEASE,
        resend: ResendPolicy | None = None,
    ) -> None:
        # A client the sender makes waits between retries on _closing: close ends the wait.
        self.api = api or TikTokEventsApi(sleep=self._pause)
        super().__init__(
            self.api, api is None, auth, outbox, interval, max_pending, block_timeout,
            on_result, exit_timeout, lease, resend,
        )  # fmt: skip
        self._pid = -1
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()
        self._worker_done = threading.Event()
        atexit.register(_close_at_exit, weakref.ref(self))
        _SENDERS.add(self)
        if self.outbox.pending():  # events an earlier process left: they go out now
            self._start()

    def _after_fork_in_child(self) -> None:
        """A forked child has none of its parent's threads: no lock or take of theirs."""
        self._lock = threading.Lock()
        self._taking = threading.Condition()
        self._closing = threading.Event()
        self._takes = self._flushing = 0
        self._busy, self._held = False, []

    def _start(self) -> None:
        if self._pid == os.getpid() and self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._stopped or (
                self._pid == os.getpid() and self._thread is not None and self._thread.is_alive()
            ):
                return
            # After a fork: this process's own worker, events and lease owner.
            self._pid = os.getpid()
            self._owner = f"{self._pid}-{uuid.uuid4().hex[:8]}"
            self._busy, self._held = False, []
            self._wake = threading.Event()
            self._worker_done = threading.Event()
            self._thread = threading.Thread(
                target=self._run, args=(self._worker_done,), name="pytt-events-sender",
                daemon=True,
            )  # fmt: skip
            self._thread.start()
            threading.Thread(
                target=self._keep_leases, args=(self._worker_done,), name="pytt-events-lease",
                daemon=True,
            ).start()  # fmt: skip

    def _wake_now(self) -> None:
        self._wake.set()

    def _pause(self, seconds: float) -> None:
        """The wait between retries of the client the sender made: close ends it."""
        self._closing.wait(seconds)

    def _run(self, done: threading.Event) -> None:
        try:
            while True:
                self._drain()
                if not self._running():
                    return
                if self._wake.wait(self.interval):  # or sooner: a full batch, a flush
                    self._wake.clear()
        finally:
            done.set()

    def _keep_leases(self, worker_done: threading.Event) -> None:
        # Until the worker ends (not when close stops waiting for it: a send may outlast that).
        while not worker_done.wait(self.lease / LEASE_RENEWALS):
            self._renew()

    def _drain(self) -> None:
        """Send what the outbox holds, a batch at a time (the worker must not die: on an error
        the events stay in the outbox)."""
        flow = self._drain_flow()
        try:
            batch = _step(flow, None)
            while batch is not None:
                outcome: BulkResponse | Exception
                try:
                    outcome = self.api.send_prepared(batch.prepared, self.auth, retry=self._retry)
                except BulkSendError as refused:
                    outcome = refused.result
                except Exception as error:
                    outcome = error
                batch = _step(flow, outcome)
        except Exception:
            logger.exception("the event sender's worker met an error; it goes on")

    def _drive(self, flow: _Lifecycle) -> bool:
        """Run a lifecycle flow (flush, close) with this sender's I/O: in the calling thread."""
        value: Any = None
        try:
            while True:
                step = flow.send(value)
                value = None
                if isinstance(step, _Call):
                    value = step.function(*step.args)
                elif isinstance(step, Sleep):
                    time.sleep(step.seconds)
                elif isinstance(step, _StopTaking):
                    self._close_taking(step.deadline)
                elif isinstance(step, _Join):
                    value = self._join(step.seconds)
                elif step is _ABANDON:
                    value = True  # a thread cannot be stopped: it goes on, with the outbox
                elif step is _CLOSE_API:
                    self.api.close()
        except StopIteration as end:
            return bool(end.value)
        finally:
            flow.close()

    def _join(self, seconds: float) -> bool:
        """Wait up to seconds for the worker to end: whether it has (the worker itself cannot
        wait for itself: a close from on_result)."""
        thread = self._thread
        if thread is None:
            return True
        if thread is not threading.current_thread():
            thread.join(timeout=seconds)
        return not thread.is_alive()

    def flush(self, timeout: float | None = None) -> bool:
        """Send what is pending now, and wait: True once nothing is pending; False after
        timeout seconds, or as soon as what is left waits out a retry delay (a "retrying"
        result said why), so flush() with no timeout never hangs on, say, a revoked token.
        Events another worker holds are waited for (its lease bounds the wait). What is left
        stays in the outbox and keeps being sent. True means on_result has been told of every
        event this sender sent."""
        return self._drive(self._flush_flow(timeout))

    def close(self, timeout: float | None = None) -> bool:
        """Flush, then stop the worker, within timeout seconds (default exit_timeout). True
        when nothing was left pending; what is left stays in the outbox file for the next
        sender (in memory: lost, and logged with its count).

        A batch still being sent at the deadline is not abandoned: no new request or attempt
        starts (what was not sent goes back to the outbox), and close waits for the requests
        already in flight, so their answers are recorded (the next sender does not send them
        again) and no thread is left inside the HTTP client when the process exits. That wait
        is at most the client's timeout plus 5 s (with a client you gave, plus a retry wait it
        had begun, up to its policy's max_retry_after)."""
        return self._drive(self._close_flow(timeout))

    def __enter__(self) -> EventSender:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class AsyncEventSender(_SenderCore):
    """The asyncio twin of EventSender: `track` and `post_event` (plain calls, made from a
    coroutine on the loop that sends) return once the event is in the outbox; a task on that
    loop sends, through AsyncTikTokEventsApi. `await sender.flush()`, `await sender.aclose()`,
    or `async with AsyncEventSender(...) as sender:`; the same arguments as EventSender, except
    block_timeout, which stays 0: waiting for room would stop the event loop, and with it the
    task that makes room (a full in-memory outbox raises OutboxFullError at once).

    `track` commits the event to the outbox in the calling coroutine: with SQLite a local
    write (a fraction of a millisecond, unless another process holds the file's lock), with
    PostgreSQL a round trip to the database. The task's own outbox work (claiming, settling,
    renewing leases, a flush's checks) runs in a worker thread (`asyncio.to_thread`), off the
    loop; so does on_result, as with EventSender.

    Elsewhere than on a running loop, `track` raises, keeping nothing. Close the sender before
    its loop ends: an event loop cannot run at interpreter exit, so what is pending then stays
    in the outbox file (in memory: lost), and is logged.
    """

    _poll_seconds = ASYNC_FLUSH_POLL_SECONDS

    def __init__(
        self,
        auth: TikTokAuth | None = None,
        *,
        outbox: str | os.PathLike[str] | Outbox | None = None,
        api: AsyncTikTokEventsApi | None = None,
        interval: float = DEFAULT_SEND_INTERVAL,
        max_pending: int = DEFAULT_MAX_PENDING,
        block_timeout: float = 0.0,
        on_result: Callable[[SendResult], None] | None = None,
        exit_timeout: float = DEFAULT_EXIT_TIMEOUT,
        lease: float = DEFAULT_LEASE,
        resend: ResendPolicy | None = None,
    ) -> None:
        if block_timeout != 0:
            raise ValueError(
                "block_timeout: AsyncEventSender cannot wait for room (it would stop the event "
                "loop that makes room); use a durable outbox or a larger max_pending"
            )
        # A client the sender makes waits between retries on _closing_async: aclose ends it.
        self._closing_async: asyncio.Event | None = None
        self.api = api or AsyncTikTokEventsApi(sleep=self._pause)
        super().__init__(
            self.api, api is None, auth, outbox, interval, max_pending, 0.0, on_result,
            exit_timeout, lease, resend,
        )  # fmt: skip
        self._task: asyncio.Task[None] | None = None
        self._wake_async: asyncio.Event | None = None
        atexit.register(_report_at_exit, weakref.ref(self))
        with contextlib.suppress(RuntimeError):  # no running loop: at the first track
            asyncio.get_running_loop()
            if self.outbox.pending():  # events an earlier process left: they go out now
                self._start()

    def _ready(self) -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            raise PyttEventsError(
                "AsyncEventSender.track and post_event are called from a coroutine on the "
                "event loop that sends (nothing was kept); from a thread, use EventSender"
            ) from None

    def _start_early(self) -> None:
        with contextlib.suppress(RuntimeError):  # no running loop: the first track starts it
            asyncio.get_running_loop()
            self._start()

    def _start(self) -> None:
        if self._stopped or (self._task is not None and not self._task.done()):
            return
        loop = asyncio.get_running_loop()
        self._wake_async = asyncio.Event()
        self._closing_async = asyncio.Event()
        self._busy, self._held = False, []
        self._task = loop.create_task(self._run(), name="pytt-events-sender")

    def _wake_now(self) -> None:
        if self._wake_async is not None:
            self._wake_async.set()

    def _end_waits(self) -> None:
        super()._end_waits()
        if self._closing_async is not None:
            self._closing_async.set()

    async def _pause(self, seconds: float) -> None:
        """The wait between retries of the client the sender made: aclose ends it."""
        closing = self._closing_async
        if closing is None:
            await asyncio.sleep(seconds)
            return
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(closing.wait(), seconds)

    async def _run(self) -> None:
        assert self._wake_async is not None
        leases = asyncio.create_task(self._keep_leases(), name="pytt-events-lease")
        try:
            while True:
                await self._drain()
                if not self._running():
                    return
                with contextlib.suppress(asyncio.TimeoutError):  # or a full batch, a flush
                    await asyncio.wait_for(self._wake_async.wait(), self.interval)
                self._wake_async.clear()
        finally:
            leases.cancel()

    async def _keep_leases(self) -> None:
        while True:
            await asyncio.sleep(self.lease / LEASE_RENEWALS)
            await asyncio.to_thread(self._renew)

    async def _drain(self) -> None:
        """As EventSender's: the flow's steps (claim, settle: outbox work) run in a thread,
        the send on the loop."""
        flow = self._drain_flow()
        try:
            batch = await asyncio.to_thread(_step, flow, None)
            while batch is not None:
                outcome: BulkResponse | Exception
                try:
                    outcome = await self.api.send_prepared(
                        batch.prepared, self.auth, retry=self._retry
                    )
                except BulkSendError as refused:
                    outcome = refused.result
                except asyncio.CancelledError:
                    # The task is cancelled mid-send (its loop ends): the batch is free at once
                    # for the next sender, instead of when its lease runs out (TikTok may have
                    # taken it: the next sender sends it again, with the same event_ids).
                    flow.close()
                    ids = [row.id for row in batch.rows]
                    logger.warning(
                        "the sender's task was cancelled while sending %d event(s): they go "
                        "back to the outbox and are sent again (TikTok may have them: same "
                        "event_ids)", len(ids),
                    )  # fmt: skip
                    await asyncio.to_thread(self.outbox.release, ids, 0.0, owner=self._owner)
                    raise
                except Exception as error:
                    outcome = error
                batch = await asyncio.to_thread(_step, flow, outcome)
        except Exception:
            logger.exception("the event sender's worker met an error; it goes on")

    async def _drive(self, flow: _Lifecycle) -> bool:
        """Run a lifecycle flow (flush, aclose) on the loop: outbox work in a thread."""
        value: Any = None
        try:
            while True:
                step = flow.send(value)
                value = None
                if isinstance(step, _Call):
                    value = await asyncio.to_thread(step.function, *step.args)
                elif isinstance(step, Sleep):
                    await asyncio.sleep(step.seconds)
                elif isinstance(step, _StopTaking):
                    self._refusing = True  # (one thread, the loop's: no take is in progress)
                elif isinstance(step, _Join):
                    value = await self._join(step.seconds)
                elif step is _ABANDON:
                    value = await self._abandon()
                elif step is _CLOSE_API:
                    await self.api.aclose()
        except StopIteration as end:
            return bool(end.value)
        finally:
            flow.close()

    async def _join(self, seconds: float) -> bool:
        task = self._task
        if task is None or task.done():
            return True
        done, _ = await asyncio.wait({task}, timeout=seconds)
        return bool(done)

    async def _abandon(self) -> bool:
        """Cancel the task still sending: its batch goes back to the outbox (see _drain).
        False: nothing uses the client and outbox any more."""
        task = self._task
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        return False

    async def flush(self, timeout: float | None = None) -> bool:
        """Send what is pending now, and wait: as EventSender.flush."""
        return await self._drive(self._flush_flow(timeout))

    async def aclose(self, timeout: float | None = None) -> bool:
        """Flush, then stop the task, all within timeout seconds (default exit_timeout);
        closes the client and outbox it made. True when nothing was left pending. As
        EventSender.close, except that a task still sending past the wait for its batch in
        flight is cancelled (its batch goes back to the outbox, to be sent again)."""
        return await self._drive(self._close_flow(timeout))

    async def __aenter__(self) -> AsyncEventSender:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()


# The steps of a lifecycle flow (_SenderCore._flush_flow, _close_flow), each sender doing them
# with its own I/O (_drive): the sync one in the calling thread, the async one on its loop. A
# wait is _retry's Sleep step.


class _Call:
    """Outbox work (it may block): call function(*args) and send back what it returns."""

    __slots__ = ("args", "function")

    def __init__(self, function: Callable[..., Any], *args: Any) -> None:
        self.function = function
        self.args = args


@dataclass(frozen=True)
class _StopTaking:
    """Take no more events; wait (until deadline) for the takes in progress."""

    deadline: float


@dataclass(frozen=True)
class _Join:
    """Wait up to seconds for the worker to end; send back whether it has."""

    seconds: float


#: The worker outlasted every wait: leave it (a thread) or cancel it (a task); send back
#: whether it may still use the client and the outbox.
_ABANDON = object()
#: Close the client the sender made.
_CLOSE_API = object()

_Lifecycle = Generator["_Call | Sleep | _StopTaking | _Join | object", Any, bool]


@dataclass(frozen=True)
class _Batch:
    """A claimed batch, ready to send: its rows in the order its plan numbers them."""

    rows: list[Row]
    prepared: PreparedEvents


_Flow = Generator[_Batch, "BulkResponse | Exception | None", None]


def _send_result(event_id: str, outcome: EventOutcome) -> SendResult:
    """What on_result hears of an event sent (see BulkResponse.outcomes)."""
    if outcome.status == "accepted":
        return SendResult(event_id, "accepted")
    if outcome.status == "partial":
        why = f"{outcome.reason} (request_id {outcome.request_id})"
        return SendResult(event_id, "partial", PyttEventsError(why))
    return SendResult(event_id, "retrying" if outcome.retry_later else "failed", outcome.error)


def _step(flow: _Flow, outcome: BulkResponse | Exception | None) -> _Batch | None:
    """Run the drain flow to its next batch; None once it has ended. (A StopIteration never
    crosses a thread's future: it would be a TypeError.)"""
    try:
        return flow.send(outcome)
    except StopIteration:
        return None


#: The EventSenders of this process: a forked child renews their locks (see _after_fork_in_child).
_SENDERS: weakref.WeakSet[EventSender] = weakref.WeakSet()


def _senders_after_fork() -> None:
    for sender in list(_SENDERS):
        sender._after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_senders_after_fork)


def _close_at_exit(reference: weakref.ref[EventSender]) -> None:
    """At interpreter exit: a close bounded by the sender's exit_timeout (a sender whose worker
    runs in another process, its parent's, is that process's to close)."""
    sender = reference()
    if sender is not None and not sender._refusing and sender._pid == os.getpid():
        sender.close()


def _report_at_exit(reference: weakref.ref[AsyncEventSender]) -> None:
    """At interpreter exit, an AsyncEventSender not closed: no loop runs to send; say what is
    left and where."""
    sender = reference()
    if sender is not None and not sender._refusing:
        with contextlib.suppress(Exception):
            sender._left_behind()
