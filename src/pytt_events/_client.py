"""What both clients share, with no I/O: turning events into planned requests (bodies built and
hashed once, so every retry resends the same bytes and event_ids), the retry flow, and turning
outcomes into results. TikTokEventsApi and AsyncTikTokEventsApi only send and sleep.
"""

from __future__ import annotations

import logging
import math
import os
import re
import threading
from collections.abc import Callable, Generator, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel

from pytt_events import _payload, _schema
from pytt_events._base import check_fields
from pytt_events._exceptions import (
    AuthenticationError,
    BulkSendError,
    ConfigurationError,
    InvalidRequestError,
    PayloadValidationError,
    PermissionDeniedError,
    PyttEventsError,
)
from pytt_events._hashing import set_default_phone_region
from pytt_events._response import BulkResponse, FailedEvent, InvalidPayload, TikTokResponse
from pytt_events._retry import Outcome, RetryEvent, RetryPolicy, Step, attempt_flow
from pytt_events._transport import DEFAULT_TIMEOUT, HttpRequest, build_request, with_body
from pytt_events.auth import TikTokAuth
from pytt_events.event import Event
from pytt_events.models.v1_3 import EventSource, PixelTrackRequest, TrackEvent
from pytt_events.track import track_event_from

logger = logging.getLogger("pytt_events")

EventsApiVersion = Literal["1.0", "2.0"]
DEFAULT_CONCURRENCY = 4
# Errors that every later request would meet too: a bulk send stops at the first one.
FATAL_ERRORS = (AuthenticationError, PermissionDeniedError)

AnyEvent = TrackEvent | Event | dict[str, Any]


@dataclass(frozen=True)
class PlannedRequest:
    """A request ready to send, and the events (by input position) it carries."""

    chunk: _payload.Chunk
    request: HttpRequest


_NAMED_INDEX = re.compile(r"^\s*(?:batch|data)[.\[](\d+)", re.IGNORECASE)
#: The codes a multi-event request may be refused with because of one of its events (40002,
#: 40700), or because it is too big (40061): worth sending again in parts. Others (a wrong
#: partner_name, unhashed data everywhere) are about the request: every part would fail too.
ISOLATED_CODES = frozenset({40002, 40061, 40700})
#: How many bad events per request isolation looks for before it gives up on the rest: the
#: extra requests stay within 2·k·log2(n) for k up to this many.
MAX_ISOLATED = 8


def isolate(planned: PlannedRequest, error: PyttEventsError) -> list[PlannedRequest] | None:
    """What to send instead of a multi-event request TikTok refused whole for its parameters
    (TikTok refuses a whole request with 40002 when one event is bad), so that one bad event
    does not cost the others: None when there is nothing to isolate.

    When TikTok's message names an event ("data.3.event_id: ...", "Batch.0.properties..."),
    that event alone and the others together; otherwise the two halves.
    """
    chunk = planned.chunk
    count = len(chunk.indices)
    if (
        count < 2
        or chunk.events_key is None
        or not isinstance(error, InvalidRequestError)
        or error.code not in ISOLATED_CODES
    ):
        return None
    match = _NAMED_INDEX.match(getattr(error, "message", "") or "")
    named = int(match.group(1)) if match else None
    if named is not None and 0 <= named < count:
        cuts = [(named, named + 1), (0, named), (named + 1, count)]
    else:
        half = count // 2
        cuts = [(0, half), (half, count)]
    parts = []
    for start, stop in cuts:
        if start < stop:
            part = chunk.part(start, stop)
            parts.append(
                PlannedRequest(part, with_body(planned.request, part.body, len(part.indices)))
            )
    return parts


def isolation_budget(events: int) -> int:
    """The most extra requests isolation sends for one refused request of `events` events."""
    return 2 * MAX_ISOLATED * max(1, math.ceil(math.log2(max(events, 2))))


#: What became of the events of one planned request: each request actually sent (the planned
#: one, or the parts it was split into) with its outcome (None: not sent, after a fatal error).
Delivery = list[tuple[PlannedRequest, "TikTokResponse | PyttEventsError | None"]]


@dataclass(frozen=True)
class BulkProgress:
    """How far a bulk send is, after each request: events and requests done of the total
    (a request split to isolate bad events counts once, when all its parts are done)."""

    events_done: int
    events_total: int
    requests_done: int
    requests_total: int


class ProgressTracker:
    """Counts the finished requests of a plan and tells on_progress (from any thread)."""

    def __init__(self, plan: Plan, on_progress: Callable[[BulkProgress], None] | None) -> None:
        self._on_progress = on_progress
        self._lock = threading.Lock()
        self._events = 0
        self._requests = 0
        self._events_total = sum(len(planned.chunk.indices) for planned in plan.requests)
        self._requests_total = len(plan.requests)

    def finished(self, planned: PlannedRequest) -> None:
        if self._on_progress is None:
            return
        with self._lock:
            self._events += len(planned.chunk.indices)
            self._requests += 1
            progress = BulkProgress(
                self._events, self._events_total, self._requests, self._requests_total
            )
        self._on_progress(progress)


@dataclass(frozen=True)
class Plan:
    requests: tuple[PlannedRequest, ...]
    caller: str
    invalid: tuple[InvalidPayload, ...] = ()


@dataclass(frozen=True)
class PayloadPreview:
    """What sending stored payloads would do: how many events in how many requests, and which
    payloads are invalid (they would not be sent)."""

    events: int
    requests: int
    invalid: tuple[InvalidPayload, ...]


class BaseEventsApi:
    """Configuration, request planning and result building shared by both clients."""

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
    ) -> None:
        # Process-wide: models normalize phone numbers when they are built, before any client
        # sees them.
        region = default_phone_region or os.environ.get("TIKTOK_DEFAULT_PHONE_REGION")
        if region:
            set_default_phone_region(region)
        if api_version is not None:
            _schema.families(api_version)  # an unknown version fails here, listing the known
        if events_api not in ("1.0", "2.0"):
            raise ConfigurationError(f"events_api must be '1.0' or '2.0', not {events_api!r}")
        if max_concurrency < 1:
            raise ConfigurationError("max_concurrency must be at least 1")
        self.DEBUG = DEBUG
        self.timeout = timeout
        self.hash_personal_data = hash_personal_data
        self.events_api = events_api
        self.retry = retry or RetryPolicy()
        self.max_concurrency = max_concurrency
        self.on_retry = on_retry
        self.api_version = api_version
        self.isolate_invalid = isolate_invalid

    def _auth(self, auth: TikTokAuth | None) -> TikTokAuth:
        """The credentials for a call: given, or from the environment; with the client's
        api_version, when set, instead of TIKTOK_API_VERSION. The version selects the URL, the
        models and the schema together.

        Raises:
            UnknownApiVersionError: this build has no schema for the version.
        """
        auth = auth or TikTokAuth()
        if self.api_version is not None and self.api_version != auth.TIKTOK_API_VERSION:
            auth = auth.model_copy(update={"TIKTOK_API_VERSION": self.api_version})
        _schema.families(auth.TIKTOK_API_VERSION)
        return auth

    # -- planning -------------------------------------------------------------------------

    def _plan(
        self, auth: TikTokAuth, chunks: Sequence[_payload.Chunk], family: str, caller: str
    ) -> Plan:
        endpoint = _schema.family(family, auth.TIKTOK_API_VERSION).endpoint
        return Plan(
            tuple(
                PlannedRequest(chunk, build_request(auth, endpoint, chunk.body, len(chunk.indices)))
                for chunk in chunks
            ),
            caller,
        )

    def _plan_event(self, event: Event | dict[str, Any], auth: TikTokAuth) -> Plan:
        version = auth.TIKTOK_API_VERSION
        model = _payload.coerce(event, _web_model(version))
        if self.events_api == "2.0":
            return self._plan(
                auth,
                self._track_chunks_of_events([(0, model)], version),
                "event_track",
                "post_event",
            )
        body = _payload.track_body(model, api_version=version, hash_values=self.hash_personal_data)
        return self._plan(auth, [_payload.Chunk((0,), body)], "pixel_track", "post_event")

    def _plan_bulk(self, events: Iterable[Event | dict[str, Any]], auth: TikTokAuth) -> Plan:
        version = auth.TIKTOK_API_VERSION
        pairs = [
            (index, _payload.coerce(event, _web_model(version), f"events.{index}."))
            for index, event in enumerate(_payload.as_list(events))
        ]
        return self._plan_bulk_pairs(pairs, auth, "post_events_in_bulk")

    def _plan_track(
        self,
        events: AnyEvent | Iterable[AnyEvent],
        auth: TikTokAuth,
        event_source: EventSource | str,
        event_source_id: str | None,
        test_event_code: str | None,
        partner_name: str | None,
    ) -> Plan:
        try:
            source = EventSource(event_source)
        except ValueError:
            allowed = ", ".join(repr(member.value) for member in EventSource)
            raise PayloadValidationError(
                f"event_source: must be one of {allowed}", [("event_source", "not allowed")]
            ) from None
        version = auth.TIKTOK_API_VERSION
        source_id = str(event_source_id or auth.TIKTOK_PIXEL_ID)
        _check_source(source.value, source_id, version)
        items = [
            (index, _as_track_event(event, f"events.{index}.", version))
            for index, event in enumerate(_payload.as_list(events))
        ]
        chunks = _payload.track_chunks(
            items,
            event_source=source.value,
            event_source_id=source_id,
            test_event_code=test_event_code or auth.TIKTOK_TEST_EVENT_CODE,
            partner_name=partner_name,
            api_version=auth.TIKTOK_API_VERSION,
            hash_values=self.hash_personal_data,
        )
        return self._plan(auth, chunks, "event_track", "track")

    def _plan_payloads(
        self, payloads: Iterable[dict[str, Any]], auth: TikTokAuth, skip_invalid: bool = False
    ) -> Plan:
        """Stored request bodies of any family, re-grouped into as few requests as allowed.
        Positions in the result count events, in input order, across all payloads. With
        skip_invalid, an invalid payload is left out (and listed) instead of raising."""
        web: list[tuple[int, BaseModel]] = []
        sources: dict[tuple[str, str, str | None, str | None], list[tuple[int, BaseModel]]] = {}
        invalid: list[InvalidPayload] = []
        position = 0
        for number, payload in enumerate(payloads):
            try:
                events = self._events_of_payload(number, payload, auth.TIKTOK_API_VERSION)
            except PayloadValidationError as error:
                if not skip_invalid:
                    raise
                invalid.append(InvalidPayload(number, tuple(error.errors) or (("", str(error)),)))
                continue
            for key, event in events:
                if key is None:
                    web.append((position, event))
                else:
                    sources.setdefault(key, []).append((position, event))
                position += 1
        requests: list[PlannedRequest] = []
        if web:
            requests += self._plan_bulk_pairs(web, auth, "send_payloads").requests
        for (source, source_id, test_code, partner), items in sources.items():
            chunks = _payload.track_chunks(
                items,
                event_source=source,
                event_source_id=source_id,
                test_event_code=test_code,
                partner_name=partner,
                api_version=auth.TIKTOK_API_VERSION,
                hash_values=self.hash_personal_data,
            )
            requests += self._plan(auth, chunks, "event_track", "send_payloads").requests
        return Plan(tuple(requests), "send_payloads", tuple(invalid))

    def _events_of_payload(
        self, number: int, payload: Any, version: str
    ) -> list[tuple[tuple[str, str, str | None, str | None] | None, BaseModel]]:
        """The events of one stored payload, each with its /event/track/ request key (None for
        1.0 web events).

        Raises:
            PayloadValidationError: the payload or one of its events is invalid.
        """
        # Imported here: `import pytt_events` does not load the schema validators.
        from pytt_events.validation import detect_family

        where = f"payloads.{number}."
        family = detect_family(payload)
        found: list[tuple[tuple[str, str, str | None, str | None] | None, BaseModel]] = []
        if family == "event_track" and isinstance(payload.get("data"), list):
            source = payload.get("event_source")
            try:
                event_source = EventSource(source).value
            except ValueError:
                raise PayloadValidationError(
                    f"{where}event_source: must be one of web, app, offline, crm",
                    [(f"{where}event_source", "not allowed")],
                ) from None
            key = (
                event_source,
                str(payload.get("event_source_id") or ""),
                payload.get("test_event_code"),
                payload.get("partner_name"),
            )
            if not key[1]:
                raise PayloadValidationError(
                    f"{where}event_source_id: required", [(f"{where}event_source_id", "required")]
                )
            _check_source(key[0], key[1], version, where)
            for item_number, item in enumerate(payload["data"]):
                event = _payload.coerce(item, _track_model(version), f"{where}data.{item_number}.")
                found.append((key, event))
        elif family == "pixel_batch" and isinstance(payload.get("batch"), list):
            top = {k: payload[k] for k in ("pixel_code", "partner_name") if k in payload}
            for item_number, item in enumerate(payload["batch"]):
                fields = (
                    {k: v for k, v in item.items() if k != "type"}
                    if isinstance(item, dict)
                    else item
                )
                merged = {**top, **fields} if isinstance(fields, dict) else fields
                model = _payload.coerce(merged, _web_model(version), f"{where}batch.{item_number}.")
                found.append((None, model))
        elif family == "pixel_track":
            found.append((None, _payload.coerce(payload, _web_model(version), where)))
        else:
            raise PayloadValidationError(
                f"{where.rstrip('.')}: not a request body of a known family",
                [(where.rstrip("."), "unknown request family")],
            )
        return found

    def _plan_bulk_pairs(
        self, pairs: Sequence[tuple[int, BaseModel]], auth: TikTokAuth, caller: str
    ) -> Plan:
        """1.0 events (by input position) as /pixel/batch/ requests, or as /event/track/ ones
        with events_api="2.0"."""
        version = auth.TIKTOK_API_VERSION
        if self.events_api == "2.0":
            chunks = self._track_chunks_of_events(pairs, version)
            return self._plan(auth, chunks, "event_track", caller)
        chunks = _payload.batch_chunks(
            pairs, api_version=version, hash_values=self.hash_personal_data
        )
        return self._plan(auth, chunks, "pixel_batch", caller)

    def _track_chunks_of_events(
        self, events: Sequence[tuple[int, BaseModel]], version: str
    ) -> list[_payload.Chunk]:
        """1.0 Events as /event/track/ bodies: grouped by pixel, test code and partner."""
        groups: dict[tuple[str, str | None, str | None], list[tuple[int, BaseModel]]] = {}
        for index, event in events:
            assert isinstance(event, _web_model(version))
            key = (
                getattr(event, "pixel_code", ""),
                getattr(event, "test_event_code", None),
                getattr(event, "partner_name", None),
            )
            converted = _payload.coerce(track_event_from(event), _track_model(version))
            groups.setdefault(key, []).append((index, converted))
        chunks: list[_payload.Chunk] = []
        for (pixel_code, test_event_code, partner_name), items in groups.items():
            chunks += _payload.track_chunks(
                items,
                event_source=EventSource.WEB.value,
                event_source_id=pixel_code,
                test_event_code=test_event_code,
                partner_name=partner_name,
                api_version=version,
                hash_values=self.hash_personal_data,
            )
        return chunks

    def preview_payloads(
        self, payloads: Iterable[dict[str, Any]], auth: TikTokAuth | None = None
    ) -> PayloadPreview:
        """What send_payloads would send, without sending: events, requests, invalid payloads."""
        plan = self._plan_payloads(payloads, self._auth(auth), skip_invalid=True)
        return PayloadPreview(
            events=sum(len(planned.chunk.indices) for planned in plan.requests),
            requests=len(plan.requests),
            invalid=plan.invalid,
        )

    # -- sending: decisions ---------------------------------------------------------------

    def _flow(
        self, request: HttpRequest, retry: RetryPolicy | None
    ) -> Generator[Step, Outcome, TikTokResponse]:
        return attempt_flow(request, retry or self.retry, self.on_retry, urlsplit(request.url).path)

    def _deliveries(
        self, planned: PlannedRequest
    ) -> Generator[PlannedRequest, TikTokResponse | PyttEventsError, Delivery]:
        """What to send for one planned request, and what became of its events: sent, then,
        when TikTok refuses it whole for one bad event, its parts (see isolate), one at a time,
        within isolation_budget. Each twin drives it: it is sent each part's outcome.
        A fatal error (authentication, permission) stops the parts not yet sent."""
        delivery: Delivery = []
        pending = [planned]
        budget = isolation_budget(len(planned.chunk.indices))
        while pending:
            part = pending.pop(0)
            outcome = yield part
            parts = None
            if isinstance(outcome, PyttEventsError) and self.isolate_invalid:
                parts = isolate(part, outcome)
                if parts is not None and len(parts) > budget:
                    parts = None  # past the budget: the rest fail with TikTok's answer
            if parts is None:
                delivery.append((part, outcome))
                if isinstance(outcome, FATAL_ERRORS):
                    delivery.extend((rest, None) for rest in pending)  # not sent
                    break
                continue
            if part is planned:
                logger.info(
                    "TikTok refused a request of %d events (code %s); sending it again in "
                    "parts to isolate the bad events",
                    len(part.chunk.indices),
                    getattr(outcome, "code", None),
                )
            budget -= len(parts)
            pending[0:0] = parts  # depth first: the parts of a part go next, in order
        return delivery

    def _finish(self, plan: Plan, deliveries: Sequence[Delivery | None]) -> BulkResponse:
        """The result of a plan from what became of each planned request (None: not sent,
        after a fatal error, which then counts for it too).

        Raises:
            BulkSendError: some events failed; its result lists every one.
        """
        if not plan.requests:
            if not plan.invalid:
                logger.info("%s: no events given, nothing was sent", plan.caller)
            return BulkResponse(responses=(), accepted=(), invalid=plan.invalid)
        pairs: list[tuple[PlannedRequest, TikTokResponse | PyttEventsError | None]] = []
        for planned, delivery in zip(plan.requests, deliveries, strict=True):
            pairs.extend(delivery if delivery is not None else [(planned, None)])
        fatal = next((o for _, o in pairs if isinstance(o, FATAL_ERRORS)), None)
        responses: list[TikTokResponse] = []
        response_indices: list[tuple[int, ...]] = []
        accepted: list[int] = []
        failed: list[FailedEvent] = []
        for planned, outcome in pairs:
            chunk = planned.chunk
            if isinstance(outcome, TikTokResponse):
                responses.append(outcome)
                response_indices.append(chunk.indices)
                accepted.extend(chunk.indices)
                continue
            error = outcome if outcome is not None else fatal
            assert error is not None
            failed.extend(
                FailedEvent(index, error, payload)
                for index, payload in zip(chunk.indices, chunk.single_payloads(), strict=True)
            )
        failed.sort(key=lambda item: item.index)
        result = BulkResponse(
            responses=tuple(responses),
            accepted=tuple(sorted(accepted)),
            failed=tuple(failed),
            response_indices=tuple(response_indices),
            invalid=plan.invalid,
        )
        logger.debug("%s: %s", plan.caller, result.message)
        if failed:
            first = failed[0].error
            raise BulkSendError(f"{result.message}; first failure: {first}", result) from first
        return result


def _check_source(source: str, source_id: str, version: str, where: str = "") -> None:
    """The request-level rules of /event/track/ (its schema's if/then rules): a pixel code for
    an app, offline or CRM event is refused; an ID of neither kind earns a warning.

    Raises:
        PayloadValidationError: the event_source_id does not fit the event_source.
    """
    model = _schema.model_class("event_track", version)
    try:
        check_fields(model, {"event_source": source, "event_source_id": source_id})
    except ValueError as error:
        reason = str(error).removeprefix("event_source_id: ")
        raise PayloadValidationError(
            f"{where}event_source_id: {reason}", [(f"{where}event_source_id", reason)]
        ) from None


def _web_model(version: str) -> type[BaseModel]:
    """The Events 1.0 event model of an API version (the original `Event` for v1.3)."""
    model: type[BaseModel] = _schema.model_class("pixel_track", version)
    return Event if model is PixelTrackRequest else model


def _track_model(version: str) -> type[BaseModel]:
    """The Events 2.0 event model of an API version."""
    model: type[BaseModel] = _schema.model_class("event_track", version, item=True)
    return model


def _as_track_event(event: Any, where: str, version: str) -> BaseModel:
    if isinstance(event, BaseModel) and hasattr(event, "pixel_code") and hasattr(event, "context"):
        return _payload.coerce(track_event_from(event), _track_model(version), where)
    return _payload.coerce(event, _track_model(version), where)
