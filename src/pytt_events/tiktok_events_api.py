"""The clients: TikTokEventsApi (sync) and AsyncTikTokEventsApi, mirror images.

Events 1.0 (the original package's API): post_event -> /pixel/track/, post_events_in_bulk ->
/pixel/batch/. Events 2.0: track -> /event/track/ for web, app, offline and CRM events.
send_payloads sends stored request bodies of any of them again. With events_api="2.0",
post_event and post_events_in_bulk send the same 1.0 Events through /event/track/.

Everything but I/O (planning, retry decisions, results) lives in _base_client.BaseEventsApi; each
twin here only sends, sleeps and runs requests concurrently (threads / asyncio).
"""

from __future__ import annotations

import asyncio
import contextvars
import datetime as dt
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import TYPE_CHECKING, Any

from pytt_events import _plan
from pytt_events._base_client import AnyEvent, BaseEventsApi, EventsApiVersion
from pytt_events._constants import DEFAULT_CONCURRENCY, DEFAULT_TIMEOUT
from pytt_events._delivery import BulkProgress, Delivery, ProgressTracker
from pytt_events._exceptions import FATAL_ERRORS, PermissionDeniedError, PyttEventsError
from pytt_events._plan import InvalidMatchKeys, Plan, PlannedRequest, PreparedEvents
from pytt_events._response import BulkResponse, TikTokResponse
from pytt_events._retry import Outcome, RetryEvent, RetryPolicy, Sleep
from pytt_events._stats import EventStats
from pytt_events._transport import AsyncHttp, HttpRequest, HttpTransport, SyncHttp
from pytt_events.auth import TikTokAuth
from pytt_events.event import Event
from pytt_events.stored import MissingEventIds
from pytt_events.telemetry import Telemetry

if TYPE_CHECKING:
    from pytt_events.models.v1_3 import EventSource

__all__ = ["AsyncTikTokEventsApi", "TikTokEventsApi"]


class TikTokEventsApi(BaseEventsApi):
    """Client of TikTok's Events API. One pooled HTTP connection per instance: reuse it, and
    close it (or use `with TikTokEventsApi() as api:`) when done.

    Args:
        DEBUG: kept from the original package; configure the `pytt_events` logger instead.
        timeout: seconds to wait for TikTok per attempt.
        hash_personal_data: True (default) normalizes and SHA-256-hashes every personal-data
            field on the way out. False sends them as given, and then each must already be a
            SHA-256 hex digest (data hashed upstream): a raw value is refused, never sent.
        events_api: "1.0" (default) sends post_event / post_events_in_bulk to /pixel/track/
            and /pixel/batch/; "2.0" converts those Events and sends them to /event/track/.
        retry: the RetryPolicy (default: 3 retries, exponential backoff, full jitter).
        max_concurrency: requests of one bulk send in flight at once (default 4).
        on_retry: called before each wait with a RetryEvent (for logging or metrics).
        api_version: the API version to use instead of TIKTOK_API_VERSION; it selects the URL,
            the models and the schema together (an unknown one raises UnknownApiVersionError).
        isolate_invalid: True (default): when TikTok refuses a multi-event request for its
            parameters (40002, which it does for one bad event), send its events again in
            parts until only the bad events fail (at most about 2·k·log2(n) extra requests for
            k bad events among n); False: the whole request fails.
        default_phone_region: read phone numbers without a country code as numbers of this
            region (ISO 3166-1 alpha-2, e.g. "BR"), process-wide; default: the environment
            variable TIKTOK_DEFAULT_PHONE_REGION, or none (then such a number cannot be a match
            key: see invalid_match_keys).
        missing_event_ids: what send_payloads does with a stored event that has no event_id:
            "derive" (default) gives it one derived from its content, the same on every
            resend (a retried job, a replayed file), so TikTok can deduplicate it; "refuse"
            leaves its payload out as invalid. New events (post_event, track) get a uuid4.
        invalid_match_keys: what becomes of an event with a personal-data value that cannot be
            a match key (a phone number that cannot exist, a text that is no e-mail address, a
            national number without default_phone_region): "drop" (default) leaves that value
            out, with a warning naming the field and the reason (never the value), and sends
            the event with its other keys (BulkResponse.dropped_keys lists them); "refuse"
            refuses the event, as PayloadValidationError.
        telemetry: where to record OpenTelemetry metrics and spans (pytt_events.telemetry;
            default: OpenTelemetry's global providers, when opentelemetry-api is installed).
        transport: an httpx transport to use instead of the network (tests).
        sleep: how to wait between attempts (tests inject a recorder).
    """

    def __init__(
        self,
        DEBUG: bool = False,  # noqa: N803 - the original package's parameter name
        *,
        timeout: float = DEFAULT_TIMEOUT,
        hash_personal_data: bool = True,
        events_api: EventsApiVersion = "1.0",
        retry: RetryPolicy | None = None,
        max_concurrency: int = DEFAULT_CONCURRENCY,
        on_retry: Callable[[RetryEvent], None] | None = None,
        api_version: str | None = None,
        isolate_invalid: bool = True,
        default_phone_region: str | None = None,
        missing_event_ids: MissingEventIds = "derive",
        invalid_match_keys: InvalidMatchKeys = "drop",
        telemetry: Telemetry | None = None,
        transport: HttpTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(
            DEBUG,
            timeout=timeout,
            hash_personal_data=hash_personal_data,
            events_api=events_api,
            retry=retry,
            max_concurrency=max_concurrency,
            on_retry=on_retry,
            api_version=api_version,
            isolate_invalid=isolate_invalid,
            default_phone_region=default_phone_region,
            missing_event_ids=missing_event_ids,
            invalid_match_keys=invalid_match_keys,
            telemetry=telemetry,
        )
        self._http = SyncHttp(timeout=timeout, transport=transport, telemetry=self.telemetry)
        self._sleep = sleep

    def post_event(
        self,
        event: Event | dict[str, Any],
        auth: TikTokAuth | None = None,
        *,
        retry: RetryPolicy | None = None,
    ) -> TikTokResponse:
        """Send one event to /pixel/track/ (or /event/track/ with events_api="2.0").

        Raises:
            PayloadValidationError: the event is invalid; nothing was sent.
            APIError: TikTok refused it, finally (a subclass per code: AuthenticationError, ...).
            APIConnectionError: no usable answer, finally (APITimeoutError on a timeout).
        """
        plan = self._plan_event(event, self.credentials(auth))
        outcome: TikTokResponse | PyttEventsError
        try:
            outcome = self._send(plan.requests[0].request, retry)
        except PyttEventsError as error:
            outcome = error
        return self._single(plan, outcome)

    def post_events_in_bulk(
        self,
        events: Iterable[Event | dict[str, Any]],
        auth: TikTokAuth | None = None,
        *,
        retry: RetryPolicy | None = None,
        on_progress: Callable[[BulkProgress], None] | None = None,
    ) -> BulkResponse:
        """Send events to /pixel/batch/ (or /event/track/ with events_api="2.0"), in as many
        requests as the schema's per-request maximum requires, max_concurrency at a time.

        Args:
            on_progress: called after each request with a BulkProgress (events and requests
                done of the total), from the thread or task that sent it.

        Returns:
            BulkResponse: every event's position in `accepted`; one TikTokResponse per request.
            An empty list sends nothing and says so.

        Raises:
            PayloadValidationError: an event is invalid; nothing was sent.
            BulkSendError: some events finally failed; `error.result.failed` lists each one
                with its error and its payload (see `write_failed`).
        """
        return self._send_plan(self._plan_bulk(events, self.credentials(auth)), retry, on_progress)

    def track(
        self,
        events: AnyEvent | Iterable[AnyEvent],
        *,
        auth: TikTokAuth | None = None,
        event_source: EventSource | str = "web",
        event_source_id: str | None = None,
        test_event_code: str | None = None,
        partner_name: str | None = None,
        retry: RetryPolicy | None = None,
        on_progress: Callable[[BulkProgress], None] | None = None,
    ) -> BulkResponse:
        """Send one event or a list to /event/track/ (Events 2.0).

        Each event is a TrackEvent, a dict shaped like one, or an Events 1.0 `Event`. Lists
        beyond the per-request maximum (1,000) go in several requests. event_source_id defaults
        to TIKTOK_PIXEL_ID and test_event_code to TIKTOK_TEST_EVENT_CODE. on_progress is
        called after each request (see post_events_in_bulk).

        Raises:
            PayloadValidationError: an event or an argument is invalid; nothing was sent.
            BulkSendError: some events finally failed; `error.result` says which and why.
        """
        plan = self._plan_track(
            events,
            self.credentials(auth),
            event_source,
            event_source_id,
            test_event_code,
            partner_name,
        )
        return self._send_plan(plan, retry, on_progress)

    def send_payloads(
        self,
        payloads: Iterable[dict[str, Any]],
        auth: TikTokAuth | None = None,
        *,
        retry: RetryPolicy | None = None,
        skip_invalid: bool = False,
        on_progress: Callable[[BulkProgress], None] | None = None,
    ) -> BulkResponse:
        """Send stored request bodies again (any family; e.g. the lines `write_failed` wrote),
        regrouped into as few requests as allowed. Positions count events across payloads.

        Args:
            skip_invalid: leave invalid payloads out (listed in `result.invalid`) instead of
                raising before anything is sent.
            on_progress: called after each request (see post_events_in_bulk).

        Raises:
            PayloadValidationError: a payload is invalid (without skip_invalid); nothing sent.
            BulkSendError: some events finally failed.
        """
        plan = self._plan_payloads(payloads, self.credentials(auth), skip_invalid)
        return self._send_plan(plan, retry, on_progress)

    def send_prepared(
        self,
        prepared: PreparedEvents,
        auth: TikTokAuth | None = None,
        *,
        retry: RetryPolicy | None = None,
        on_progress: Callable[[BulkProgress], None] | None = None,
    ) -> BulkResponse:
        """Send events a prepare_* method prepared (their bodies as prepared: nothing is
        validated or hashed again), max_concurrency requests at a time, with retries and
        isolation of bad events, as post_events_in_bulk does. Positions are the prepared ones.

        Raises:
            ConfigurationError: they were prepared for another API version than auth's.
            BulkSendError: some events finally failed; `error.result` says which and why.
        """
        plan = _plan.plan_of(prepared, self.credentials(auth))
        return self._send_plan(plan, retry, on_progress)

    def event_stats(
        self,
        pixel_ids: str | Sequence[str],
        start_date: dt.date,
        end_date: dt.date | None = None,
        *,
        advertiser_id: str | None = None,
        auth: TikTokAuth | None = None,
        retry: RetryPolicy | None = None,
    ) -> EventStats:
        """TikTok's count of the events it received, per pixel (or event set), event and UTC
        day from start_date to end_date (default: start_date alone), read back from GET
        pixel/event/stats/: one request a day (TikTok counts over a whole range) and group of
        up to 10 pixels, each retried as a POST is. advertiser_id defaults to
        TIKTOK_ADVERTISER_ID.

        Raises:
            ConfigurationError: no advertiser id (set TIKTOK_ADVERTISER_ID), no pixel id, or
                end_date before start_date; nothing was sent.
            PermissionDeniedError: TikTok refused (40001, 40003, 40130); the message says which
                advertiser and permission the token needs.
            APIError: TikTok refused otherwise, finally (AuthenticationError, ...).
            APIConnectionError: no usable answer, finally.
        """
        plan = self._stats_plan(pixel_ids, start_date, end_date, advertiser_id, auth)
        answers = []
        for _, request in plan.requests:
            try:
                answers.append(self._send(request, retry))
            except PermissionDeniedError as error:
                raise self._stats_refused(plan, error) from None
        return self._stats_result(plan, answers)

    # -- I/O --------------------------------------------------------------------------------

    def _send(self, request: HttpRequest, retry: RetryPolicy | None) -> TikTokResponse:
        flow = self._flow(request, retry)
        try:
            step = next(flow)
            attempt = 0
            while True:
                outcome: Outcome = None
                if isinstance(step, Sleep):
                    self._sleep(step.seconds)
                else:
                    attempt += 1
                    try:
                        outcome = self._http.send(step.request, attempt)
                    except PyttEventsError as error:
                        outcome = error
                try:
                    step = flow.send(outcome)
                except StopIteration as done:
                    response: TikTokResponse = done.value
                    return response
        finally:
            flow.close()  # as httpx closes its auth flow: an interrupted flow is finished

    def _send_plan(
        self,
        plan: Plan,
        retry: RetryPolicy | None,
        on_progress: Callable[[BulkProgress], None] | None = None,
    ) -> BulkResponse:
        deliveries: list[Delivery | None] = [None] * len(plan.requests)
        stop = threading.Event()
        progress = ProgressTracker(plan, on_progress)

        def deliver(planned: PlannedRequest) -> Delivery:
            flow = self._deliveries(planned, retry)
            try:
                try:
                    part = next(flow)
                except StopIteration as nothing:  # nothing to send (a policy that stopped)
                    undelivered: Delivery = nothing.value
                    return undelivered
                while True:
                    outcome: TikTokResponse | PyttEventsError
                    try:
                        outcome = self._send(part.request, retry)
                    except PyttEventsError as error:
                        outcome = error
                        if isinstance(error, FATAL_ERRORS):
                            stop.set()
                    try:
                        part = flow.send(outcome)
                    except StopIteration as done:
                        delivery: Delivery = done.value
                        return delivery
            finally:
                flow.close()

        def run(position: int) -> None:
            if not stop.is_set():
                deliveries[position] = deliver(plan.requests[position])
                progress.finished(plan.requests[position])

        workers = min(self.max_concurrency, len(plan.requests))
        if workers <= 1:
            for position in range(len(plan.requests)):
                run(position)
        else:
            # Each request runs in the caller's context (a copy each): its span is a child of
            # the caller's current span, as it is in the sequential and async sends.
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pytt-events") as pool:
                futures = [
                    pool.submit(contextvars.copy_context().run, run, position)
                    for position in range(len(plan.requests))
                ]
                for future in futures:
                    future.result()
        return self._finish(plan, deliveries)

    def close(self) -> None:
        """Close the pooled connection."""
        self._http.close()

    def __del__(self) -> None:
        # The original package had no close(): its Quick Start never closes the client. Release
        # the pooled sockets when the client is garbage-collected instead of leaking them.
        http = getattr(self, "_http", None)
        if http is not None:
            http.close()

    def __enter__(self) -> TikTokEventsApi:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class AsyncTikTokEventsApi(BaseEventsApi):
    """The asyncio twin of TikTokEventsApi: the same methods and arguments, awaitable.

    Use `async with AsyncTikTokEventsApi() as api:` or call `await api.aclose()` when done.
    `sleep` defaults to asyncio.sleep; `transport` takes an async httpx transport.
    """

    def __init__(
        self,
        DEBUG: bool = False,  # noqa: N803 - the original package's parameter name
        *,
        timeout: float = DEFAULT_TIMEOUT,
        hash_personal_data: bool = True,
        events_api: EventsApiVersion = "1.0",
        retry: RetryPolicy | None = None,
        max_concurrency: int = DEFAULT_CONCURRENCY,
        on_retry: Callable[[RetryEvent], None] | None = None,
        api_version: str | None = None,
        isolate_invalid: bool = True,
        default_phone_region: str | None = None,
        missing_event_ids: MissingEventIds = "derive",
        invalid_match_keys: InvalidMatchKeys = "drop",
        telemetry: Telemetry | None = None,
        transport: HttpTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        super().__init__(
            DEBUG,
            timeout=timeout,
            hash_personal_data=hash_personal_data,
            events_api=events_api,
            retry=retry,
            max_concurrency=max_concurrency,
            on_retry=on_retry,
            api_version=api_version,
            isolate_invalid=isolate_invalid,
            default_phone_region=default_phone_region,
            missing_event_ids=missing_event_ids,
            invalid_match_keys=invalid_match_keys,
            telemetry=telemetry,
        )
        self._http = AsyncHttp(timeout=timeout, transport=transport, telemetry=self.telemetry)
        self._sleep = sleep

    async def post_event(
        self,
        event: Event | dict[str, Any],
        auth: TikTokAuth | None = None,
        *,
        retry: RetryPolicy | None = None,
    ) -> TikTokResponse:
        """See TikTokEventsApi.post_event."""
        plan = self._plan_event(event, self.credentials(auth))
        outcome: TikTokResponse | PyttEventsError
        try:
            outcome = await self._send(plan.requests[0].request, retry)
        except PyttEventsError as error:
            outcome = error
        return self._single(plan, outcome)

    async def post_events_in_bulk(
        self,
        events: Iterable[Event | dict[str, Any]],
        auth: TikTokAuth | None = None,
        *,
        retry: RetryPolicy | None = None,
        on_progress: Callable[[BulkProgress], None] | None = None,
    ) -> BulkResponse:
        """See TikTokEventsApi.post_events_in_bulk."""
        return await self._send_plan(
            self._plan_bulk(events, self.credentials(auth)), retry, on_progress
        )

    async def track(
        self,
        events: AnyEvent | Iterable[AnyEvent],
        *,
        auth: TikTokAuth | None = None,
        event_source: EventSource | str = "web",
        event_source_id: str | None = None,
        test_event_code: str | None = None,
        partner_name: str | None = None,
        retry: RetryPolicy | None = None,
        on_progress: Callable[[BulkProgress], None] | None = None,
    ) -> BulkResponse:
        """See TikTokEventsApi.track."""
        plan = self._plan_track(
            events,
            self.credentials(auth),
            event_source,
            event_source_id,
            test_event_code,
            partner_name,
        )
        return await self._send_plan(plan, retry, on_progress)

    async def send_payloads(
        self,
        payloads: Iterable[dict[str, Any]],
        auth: TikTokAuth | None = None,
        *,
        retry: RetryPolicy | None = None,
        skip_invalid: bool = False,
        on_progress: Callable[[BulkProgress], None] | None = None,
    ) -> BulkResponse:
        """See TikTokEventsApi.send_payloads."""
        plan = self._plan_payloads(payloads, self.credentials(auth), skip_invalid)
        return await self._send_plan(plan, retry, on_progress)

    async def send_prepared(
        self,
        prepared: PreparedEvents,
        auth: TikTokAuth | None = None,
        *,
        retry: RetryPolicy | None = None,
        on_progress: Callable[[BulkProgress], None] | None = None,
    ) -> BulkResponse:
        """See TikTokEventsApi.send_prepared."""
        plan = _plan.plan_of(prepared, self.credentials(auth))
        return await self._send_plan(plan, retry, on_progress)

    async def event_stats(
        self,
        pixel_ids: str | Sequence[str],
        start_date: dt.date,
        end_date: dt.date | None = None,
        *,
        advertiser_id: str | None = None,
        auth: TikTokAuth | None = None,
        retry: RetryPolicy | None = None,
    ) -> EventStats:
        """See TikTokEventsApi.event_stats."""
        plan = self._stats_plan(pixel_ids, start_date, end_date, advertiser_id, auth)
        answers = []
        for _, request in plan.requests:
            try:
                answers.append(await self._send(request, retry))
            except PermissionDeniedError as error:
                raise self._stats_refused(plan, error) from None
        return self._stats_result(plan, answers)

    # -- I/O --------------------------------------------------------------------------------

    async def _send(self, request: HttpRequest, retry: RetryPolicy | None) -> TikTokResponse:
        flow = self._flow(request, retry)
        try:
            step = next(flow)
            attempt = 0
            while True:
                outcome: Outcome = None
                if isinstance(step, Sleep):
                    await self._sleep(step.seconds)
                else:
                    attempt += 1
                    try:
                        outcome = await self._http.send(step.request, attempt)
                    except PyttEventsError as error:
                        outcome = error
                try:
                    step = flow.send(outcome)
                except StopIteration as done:
                    response: TikTokResponse = done.value
                    return response
        finally:
            flow.close()  # as httpx closes its auth flow: an interrupted flow is finished

    async def _send_plan(
        self,
        plan: Plan,
        retry: RetryPolicy | None,
        on_progress: Callable[[BulkProgress], None] | None = None,
    ) -> BulkResponse:
        deliveries: list[Delivery | None] = [None] * len(plan.requests)
        stop = asyncio.Event()
        progress = ProgressTracker(plan, on_progress)

        async def deliver(planned: PlannedRequest) -> Delivery:
            flow = self._deliveries(planned, retry)
            try:
                try:
                    part = next(flow)
                except StopIteration as nothing:  # nothing to send (a policy that stopped)
                    undelivered: Delivery = nothing.value
                    return undelivered
                while True:
                    outcome: TikTokResponse | PyttEventsError
                    try:
                        outcome = await self._send(part.request, retry)
                    except PyttEventsError as error:
                        outcome = error
                        if isinstance(error, FATAL_ERRORS):
                            stop.set()
                    try:
                        part = flow.send(outcome)
                    except StopIteration as done:
                        delivery: Delivery = done.value
                        return delivery
            finally:
                flow.close()

        # max_concurrency workers take the requests in order, as the sync twin's threads do
        # (one task a worker, not one a request waiting on a semaphore).
        positions = iter(range(len(plan.requests)))

        async def work() -> None:
            for position in positions:
                if stop.is_set():
                    return
                deliveries[position] = await deliver(plan.requests[position])
                progress.finished(plan.requests[position])

        workers = min(self.max_concurrency, len(plan.requests))
        if workers <= 1:
            await work()
        else:
            await asyncio.gather(*(work() for _ in range(workers)))
        return self._finish(plan, deliveries)

    async def aclose(self) -> None:
        """Close the pooled connection."""
        await self._http.aclose()

    async def __aenter__(self) -> AsyncTikTokEventsApi:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()
