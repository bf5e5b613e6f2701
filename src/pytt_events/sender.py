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
outbox file: the next EventSender on the same file sends them, with their original event_id,
which TikTok deduplicates within 48 hours; an event found older than that is moved to the
failed ones and reported, not sent blindly. A kill between TikTok's acceptance and the
outbox's commit sends that batch again: the only duplicates, each with the same event_id.

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
import logging
import os
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal

from pytt_events._base_client import FATAL_ERRORS, BaseEventsApi
from pytt_events._constants import DEDUP_WINDOW_SECONDS
from pytt_events._exceptions import BulkSendError, PyttEventsError
from pytt_events._response import BulkResponse
from pytt_events.auth import TikTokAuth
from pytt_events.outbox import MemoryOutbox, Outbox, Row, SQLiteOutbox
from pytt_events.tiktok_events_api import AsyncTikTokEventsApi, TikTokEventsApi

__all__ = ["AsyncEventSender", "EventSender", "SendResult"]

logger = logging.getLogger("pytt_events")

#: Events claimed and sent at a time (one call of send_payloads, regrouped by family).
BATCH = 1000


@dataclass(frozen=True)
class SendResult:
    """What became of one event: "accepted", "failed" (for good: it waits in the outbox's
    failed events) or "expired" (older than TikTok's 48-hour deduplication window when its
    turn came: not sent, moved to the failed ones). `error` for the last two."""

    event_id: str
    status: Literal["accepted", "failed", "expired"]
    error: PyttEventsError | None = None


class _SenderCore:
    """What both senders share: configuration, taking events (validated and hashed at once,
    kept in the outbox), and settling a batch's outcomes in the outbox."""

    def __init__(
        self,
        api: BaseEventsApi,
        auth: TikTokAuth | None,
        outbox: str | os.PathLike[str] | Outbox | None,
        interval: float,
        max_pending: int,
        block_timeout: float,
        on_result: Callable[[SendResult], None] | None,
        exit_timeout: float,
        lease: float,
    ) -> None:
        self.auth = auth or TikTokAuth()
        if outbox is None:
            self.outbox: Outbox = MemoryOutbox(max_pending)
        elif isinstance(outbox, (str, os.PathLike)):
            self.outbox = SQLiteOutbox(outbox)
        else:
            self.outbox = outbox
        # An outbox made here (from a path) is closed with the sender; one given is the caller's.
        self._owns_outbox = outbox is None or isinstance(outbox, (str, os.PathLike))
        self._planner = api
        self.interval = interval
        self.block_timeout = block_timeout
        self.on_result = on_result
        self.exit_timeout = exit_timeout
        self.lease = lease
        self._owner = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._closed = False
        self._flushing = False
        self._taken = 0  # events taken since the last full batch

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
        """
        api = self._planner
        plan = api._plan_track(
            [event], api._auth(self.auth), event_source, event_source_id, test_event_code,
            partner_name,
        )  # fmt: skip
        return self._keep(plan)

    def post_event(self, event: Any) -> str:
        """Take one Events 1.0 event (an Event or a dict), as track does. Returns its event_id.

        Raises:
            PayloadValidationError: the event is invalid (nothing was kept).
            OutboxFullError: the in-memory outbox stayed full for block_timeout.
        """
        return self._keep(self._planner._plan_event(event, self._planner._auth(self.auth)))

    def _keep(self, plan: Any) -> str:
        if self._closed:
            raise PyttEventsError("the sender is closed: make a new one")
        items = []
        for planned in plan.requests:
            for body in planned.chunk.single_payloads():
                items.append((_with_own_event_id(body), _event_id_of(_with_own_event_id(body))))
        self.outbox.add(items, timeout=self.block_timeout)
        self._start()
        self._taken += len(items)
        if self._taken >= BATCH:  # a full batch goes out now, not at the next interval
            self._taken = 0
            self._wake_now()
        return items[0][1]

    def _start(self) -> None:
        raise NotImplementedError  # pragma: no cover - each sender starts its own worker

    def _wake_now(self) -> None:
        raise NotImplementedError  # pragma: no cover - each sender wakes its own worker

    def _fresh(self, rows: list[Row]) -> list[Row]:
        """The rows to send; those older than TikTok's 48-hour deduplication window are moved
        to the failed events and reported as expired, not sent blindly."""
        now = time.time()
        expired = [row for row in rows if now - row.created >= DEDUP_WINDOW_SECONDS]
        if expired:
            reason = (
                "older than TikTok's 48-hour deduplication window when its turn came: not sent "
                "blindly (TikTok may have it already); replay it on purpose if it must go"
            )
            self.outbox.fail((row.id, None, reason) for row in expired)
            logger.warning("%d event(s) of the outbox were older than 48 hours", len(expired))
            self._tell(
                SendResult(row.event_id, "expired", PyttEventsError(reason)) for row in expired
            )
        return [row for row in rows if now - row.created < DEDUP_WINDOW_SECONDS]

    def _settle(self, fresh: list[Row], result: BulkResponse) -> None:
        """Record what became of the rows sent: accepted ones leave, retryable failures (and
        credentials to fix) wait to be sent again, the others move to the failed events."""
        # One event per body: positions are rows, in order (invalid bodies take none).
        invalid = {item.number for item in result.invalid}
        sent = [row for number, row in enumerate(fresh) if number not in invalid]
        if invalid:
            self.outbox.fail(
                (fresh[item.number].id, None, "; ".join(f"{p}: {r}" for p, r in item.errors))
                for item in result.invalid
            )
        accepted = [sent[index] for index in result.accepted]
        self.outbox.done(row.id for row in accepted)
        again: list[Row] = []
        final: list[tuple[Row, PyttEventsError]] = []
        for failed in result.failed:
            row = sent[failed.index]
            if getattr(failed.error, "retryable", False) or not hasattr(failed.error, "code"):
                again.append(row)  # a connection error or a rate limit, after the retries
            elif isinstance(failed.error, FATAL_ERRORS):
                again.append(row)  # fix the credentials: the events wait
            else:
                final.append((row, failed.error))
        if again:
            worst = max(row.attempts for row in again)
            self.outbox.release((row.id for row in again), min(300.0, 2.0 ** min(worst, 8)))
        if final:
            self.outbox.fail((row.id, getattr(why, "code", None), str(why)) for row, why in final)
        self._tell(SendResult(row.event_id, "accepted") for row in accepted)
        self._tell(SendResult(row.event_id, "failed", why) for row, why in final)

    def _tell(self, results: Iterable[SendResult]) -> None:
        if self.on_result is None:
            return
        for result in results:
            try:
                self.on_result(result)
            except Exception:
                logger.exception("on_result raised; the sender goes on")

    def _left_behind(self) -> None:
        left = self.outbox.pending()
        if left:
            where = "in the outbox file" if isinstance(self.outbox, SQLiteOutbox) else "lost"
            logger.warning("%d event(s) not sent when the sender closed: %s", left, where)


class EventSender(_SenderCore):
    """A non-blocking sender: `track` and `post_event` return once the event is in the outbox;
    a worker thread sends.

    Args:
        auth: the credentials (default: from the environment or .env).
        outbox: a file path (an SQLiteOutbox), an Outbox, or None (a MemoryOutbox).
        api: the client that sends (default: TikTokEventsApi(), its retry policy and
            concurrency); it also validates and hashes what track takes.
        interval: seconds between sends of a batch that is not full.
        max_pending: the bound of the in-memory outbox (without outbox).
        block_timeout: how long track waits for room in a full in-memory outbox.
        on_result: called (from the worker thread) with a SendResult for each event.
        exit_timeout: how long the flush at interpreter exit waits; what is not sent by then
            stays in the outbox file for the next sender (or, in memory, is lost: logged).
        lease: seconds a claimed batch is held; a worker that dies frees it after that.
    """

    def __init__(
        self,
        auth: TikTokAuth | None = None,
        *,
        outbox: str | os.PathLike[str] | Outbox | None = None,
        api: TikTokEventsApi | None = None,
        interval: float = 1.0,
        max_pending: int = 10_000,
        block_timeout: float = 5.0,
        on_result: Callable[[SendResult], None] | None = None,
        exit_timeout: float = 5.0,
        lease: float = 120.0,
    ) -> None:
        self.api = api or TikTokEventsApi()
        super().__init__(
            self.api, auth, outbox, interval, max_pending, block_timeout, on_result,
            exit_timeout, lease,
        )  # fmt: skip
        self._pid = -1
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        atexit.register(_close_at_exit, weakref.ref(self))

    def _start(self) -> None:
        if self._pid == os.getpid() and self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._pid == os.getpid() and self._thread is not None and self._thread.is_alive():
                return
            # After a fork: this process's own worker, events and lease owner.
            self._pid = os.getpid()
            self._owner = f"{self._pid}-{uuid.uuid4().hex[:8]}"
            self._wake, self._stop = threading.Event(), threading.Event()
            self._thread = threading.Thread(
                target=self._run, name="pytt-events-sender", daemon=True
            )
            self._thread.start()

    def _wake_now(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        while True:
            try:
                sent = self._drain()
            except Exception:  # the worker must not die: the events stay in the outbox
                logger.exception("the event sender's worker met an error; it goes on")
                sent = 0
            if self._stop.is_set():
                return
            if self._wake.wait(self.interval if sent == 0 else 0):
                self._wake.clear()

    def _drain(self) -> int:
        """Send what the outbox holds, a batch at a time; the number of events sent."""
        total = 0
        while not self._stop.is_set() or self._flushing:
            rows = self.outbox.claim(self._owner, BATCH, self.lease)
            if not rows:
                return total
            fresh = self._fresh(rows)
            if fresh:
                try:
                    result = self.api.send_payloads(
                        [row.body for row in fresh], self.auth, skip_invalid=True
                    )
                except BulkSendError as refused:
                    result = refused.result
                self._settle(fresh, result)
            total += len(rows)
        return total

    def flush(self, timeout: float | None = None) -> bool:
        """Send what is pending now; wait until nothing is (True) or timeout seconds (False:
        the rest stays in the outbox and keeps being sent)."""
        if self.outbox.pending() == 0:
            return True
        self._start()
        deadline = None if timeout is None else time.monotonic() + timeout
        self._flushing = True
        try:
            while True:
                self._wake.set()
                if self.outbox.pending() == 0:
                    return True
                if deadline is not None and time.monotonic() >= deadline:
                    return False
                time.sleep(0.01)
        finally:
            self._flushing = False

    def close(self, timeout: float | None = None) -> bool:
        """Flush (up to timeout, default exit_timeout), then stop the worker. True when
        nothing was left pending; what is left stays in the outbox file for the next sender."""
        if self._closed:
            return self.outbox.pending() == 0
        emptied = self.flush(self.exit_timeout if timeout is None else timeout)
        self._closed = True
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread.is_alive() and thread is not threading.current_thread():
            thread.join(timeout=self.exit_timeout)
        if not emptied:
            self._left_behind()
        self.api.close()
        if self._owns_outbox:
            self.outbox.close()
        return emptied

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
    """The asyncio twin of EventSender: `track` and `post_event` (plain calls: they do no
    network I/O) return once the event is in the outbox; a task on the running event loop
    sends, through AsyncTikTokEventsApi. `await sender.flush()`, `await sender.aclose()`, or
    `async with AsyncEventSender(...) as sender:`; the same arguments as EventSender. Close it
    before its event loop ends (at loop shutdown its pending events stay in the outbox file).
    """

    def __init__(
        self,
        auth: TikTokAuth | None = None,
        *,
        outbox: str | os.PathLike[str] | Outbox | None = None,
        api: AsyncTikTokEventsApi | None = None,
        interval: float = 1.0,
        max_pending: int = 10_000,
        block_timeout: float = 0.0,
        on_result: Callable[[SendResult], None] | None = None,
        exit_timeout: float = 5.0,
        lease: float = 120.0,
    ) -> None:
        self.api = api or AsyncTikTokEventsApi()
        super().__init__(
            self.api, auth, outbox, interval, max_pending, block_timeout, on_result,
            exit_timeout, lease,
        )  # fmt: skip
        self._task: asyncio.Task[None] | None = None
        self._wake_async: asyncio.Event | None = None

    def _start(self) -> None:
        if self._task is not None and not self._task.done():
            return
        loop = asyncio.get_running_loop()  # track is called from a coroutine
        self._wake_async = asyncio.Event()
        self._task = loop.create_task(self._run(), name="pytt-events-sender")

    def _wake_now(self) -> None:
        if self._wake_async is not None:
            self._wake_async.set()

    async def _run(self) -> None:
        assert self._wake_async is not None
        while not self._closed or self._flushing:
            try:
                sent = await self._drain()
            except Exception:  # the worker must not die: the events stay in the outbox
                logger.exception("the event sender's worker met an error; it goes on")
                sent = 0
            if self._closed and not self._flushing:
                return
            if sent == 0:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wake_async.wait(), self.interval)
                self._wake_async.clear()

    async def _drain(self) -> int:
        total = 0
        while True:
            rows = self.outbox.claim(self._owner, BATCH, self.lease)
            if not rows:
                return total
            fresh = self._fresh(rows)
            if fresh:
                try:
                    result = await self.api.send_payloads(
                        [row.body for row in fresh], self.auth, skip_invalid=True
                    )
                except BulkSendError as refused:
                    result = refused.result
                self._settle(fresh, result)
            total += len(rows)

    async def flush(self, timeout: float | None = None) -> bool:
        """Send what is pending now; wait until nothing is (True) or timeout seconds (False)."""
        if self.outbox.pending() == 0:
            return True
        self._start()
        deadline = None if timeout is None else time.monotonic() + timeout
        self._flushing = True
        try:
            while self.outbox.pending():
                if self._wake_async is not None:
                    self._wake_async.set()
                if deadline is not None and time.monotonic() >= deadline:
                    return False
                await asyncio.sleep(0.01)
            return True
        finally:
            self._flushing = False

    async def aclose(self, timeout: float | None = None) -> bool:
        """Flush (up to timeout, default exit_timeout), then stop the task and the client."""
        if self._closed:
            return self.outbox.pending() == 0
        emptied = await self.flush(self.exit_timeout if timeout is None else timeout)
        self._closed = True
        if self._task is not None:
            if self._wake_async is not None:
                self._wake_async.set()
            try:
                await asyncio.wait_for(self._task, self.exit_timeout)
            except asyncio.TimeoutError:
                self._task.cancel()
        if not emptied:
            self._left_behind()
        await self.api.aclose()
        if self._owns_outbox:
            self.outbox.close()
        return emptied

    async def __aenter__(self) -> AsyncEventSender:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()


def _with_own_event_id(body: dict[str, Any]) -> dict[str, Any]:
    """A one-event body whose event has an event_id: its own, or a new uuid4, set once, when
    the event is taken, so every resend carries the same one."""
    events = body.get("data")
    event = events[0] if isinstance(events, list) and events else body
    if event.get("event_id"):
        return body
    event["event_id"] = str(uuid.uuid4())
    return body


def _event_id_of(body: dict[str, Any]) -> str:
    events = body.get("data")
    event = events[0] if isinstance(events, list) and events else body
    return str(event.get("event_id"))


def _close_at_exit(reference: weakref.ref[EventSender]) -> None:
    """At interpreter exit: a flush bounded by the sender's exit_timeout."""
    sender = reference()
    if sender is not None and not sender._closed and sender._pid == os.getpid():
        sender.close()
