"""What both clients share, with no I/O: their configuration, and which family and request-level
fields each method prepares events with (the preparing itself is _plan's; the deliveries,
isolation and results _delivery's, the retry flow _retry's). TikTokEventsApi and
AsyncTikTokEventsApi only send and sleep.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import time
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, get_args
from urllib.parse import urlsplit

from pytt_events import _families, _plan, _schema, _stats
from pytt_events._constants import DEFAULT_CONCURRENCY, DEFAULT_TIMEOUT, STATS_ENDPOINT
from pytt_events._coverage import Coverage
from pytt_events._delivery import (
    Delivery,
    bulk_result,
    chunk_source,
    delivered_coverage,
    deliveries,
    event_counts,
    single_counts,
)
from pytt_events._exceptions import (
    BulkSendError,
    ConfigurationError,
    PayloadValidationError,
    PermissionDeniedError,
    PyttEventsError,
)
from pytt_events._families import Family
from pytt_events._hashing import set_default_phone_region
from pytt_events._plan import (
    Chunk,
    InvalidMatchKeys,
    Item,
    Plan,
    PlannedRequest,
    PreparedEvents,
    Top,
)
from pytt_events._response import BulkResponse, InvalidPayload, TikTokResponse
from pytt_events._retry import Outcome, RetryEvent, RetryPolicy, Step, attempt_flow
from pytt_events._stats import DailyCount, EventStats
from pytt_events._transport import HttpRequest, build_get_request
from pytt_events.auth import TikTokAuth
from pytt_events.stored import MissingEventIds, checked_missing_event_ids, derived_event_id
from pytt_events.telemetry import Telemetry, default_telemetry

logger = logging.getLogger("pytt_events")

EventsApiVersion = Literal["1.0", "2.0"]
#: The event shape (see _families) of the original package's Event, which post_event and
#: post_events_in_bulk take, and that of Events 2.0, which track takes and events_api="2.0"
#: sends everything through.
WEB_SHAPE = "pixel_track"
TRACK_SHAPE = "event_track"

AnyEvent = Any  # a TrackEvent, an Events 1.0 Event, or a mapping shaped like either


@dataclass(frozen=True)
class StatsPlan:
    """The requests of one event_stats call: (day, GET request), day by day."""

    advertiser_id: str
    pixel_ids: tuple[str, ...]
    days: list[dt.date]
    requests: tuple[tuple[dt.date, HttpRequest], ...]


@dataclass(frozen=True)
class PayloadPreview:
    """What sending stored payloads would do: how many events in how many requests, and which
    payloads are invalid (they would not be sent)."""

    events: int
    requests: int
    invalid: tuple[InvalidPayload, ...]
    #: The match-key coverage of the events that would be sent (pytt_events.coverage).
    coverage: Coverage = field(default_factory=Coverage)


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
        missing_event_ids: MissingEventIds = "derive",
        invalid_match_keys: InvalidMatchKeys = "drop",
        telemetry: Telemetry | None = None,
    ) -> None:
        # Process-wide: models normalize phone numbers when they are built, before any client
        # sees them.
        region = default_phone_region or os.environ.get("TIKTOK_DEFAULT_PHONE_REGION")
        if region:
            set_default_phone_region(region)
        if api_version is not None:
            _families.families(api_version)  # an unknown version fails here, listing the known
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
        self.missing_event_ids = checked_missing_event_ids(missing_event_ids)
        if invalid_match_keys not in get_args(InvalidMatchKeys):
            raise ConfigurationError(
                f"invalid_match_keys must be 'drop' or 'refuse', not {invalid_match_keys!r}"
            )
        self.invalid_match_keys: InvalidMatchKeys = invalid_match_keys
        #: Where this client records its metrics and spans (pytt_events.telemetry).
        self.telemetry = telemetry or default_telemetry()

    def warm_up(self, api_version: str | None = None) -> None:
        """Build now what the first event sent would build on first use, so that it costs
        what every later one does: every model of the API version, the validators of its
        request-level fields and of the rules between fields (jsonschema-rs and jsonschema
        are imported), its personal-data plans, and the phone metadata of every region. Call
        it once when a server starts, before it takes requests (with an EventSender:
        `sender.warm_up()`, which also starts its worker); it takes some 0.2 s.

        api_version: the version to warm up; default: the client's api_version, else every
        version of this build. Sends nothing, reads no credentials, logs nothing; a second
        call costs next to nothing.

        Raises:
            UnknownApiVersionError: this build has no schema for api_version.
        """
        version = api_version or self.api_version
        for each in [version] if version else _schema.known_versions():
            _families.warm_up(each)
            self._plan_samples(each)

    def _plan_samples(self, version: str) -> None:
        """Plan a made-up event of each shape (Events 2.0 through track, 1.0 through
        post_event), keeping nothing: the interpreter's first run of the planning code (before
        it specializes it) is paid here, not by the first event sent."""
        email, phone, page = "warm.up@example.com", "+12025550123", {"url": "https://a.example/p"}
        properties = {
            "currency": "USD",
            "value": 1.5,
            "contents": [{"content_id": "sku-1", "content_type": "product", "quantity": 1}],
        }
        now = int(time.time())
        event_2 = {
            "event": "Purchase", "event_time": now, "event_id": "warm-up", "page": page,
            "user": {"email": email, "phone": phone, "external_id": "w"},
            "properties": properties,
        }  # fmt: skip
        _plan.plan_bodies(
            _plan.items([event_2]),
            _families.family(TRACK_SHAPE, version),
            top=Top({"event_source": "web", "event_source_id": "CWARMUP0000000000000"}),
            hash_values=self.hash_personal_data,
        )
        event_1 = {
            "pixel_code": "CWARMUP0000000000000", "event": "Purchase", "event_id": "warm-up",
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
            "context": {
                "user": {"email": email, "phone_number": phone, "external_id": "w"},
                "page": page, "ip": "203.0.113.7", "user_agent": "Mozilla/5.0",
            },
            "properties": properties,
        }  # fmt: skip
        _plan.plan_bodies(
            _plan.items([event_1]),
            self.carrier(WEB_SHAPE, version, many=False),
            given=_families.family(WEB_SHAPE, version),
            hash_values=self.hash_personal_data,
        )

    def credentials(self, auth: TikTokAuth | None = None) -> TikTokAuth:
        """The credentials for a call: given, or from the environment; with the client's
        api_version, when set, instead of TIKTOK_API_VERSION. The version selects the URL, the
        models and the schema together.

        Raises:
            UnknownApiVersionError: this build has no schema for the version.
        """
        auth = auth or TikTokAuth()
        if self.api_version is not None and self.api_version != auth.TIKTOK_API_VERSION:
            auth = auth.model_copy(update={"TIKTOK_API_VERSION": self.api_version})
        _families.families(auth.TIKTOK_API_VERSION)
        return auth

    # -- planning: which family, which request-level fields; _plan does the rest ----------

    def carrier(self, shape: str, api_version: str, *, many: bool) -> Family:
        """The family this client sends events of a shape through (its events_api decides:
        with "2.0", /event/track/), of one event or many."""
        if self.events_api == "2.0":
            shape = TRACK_SHAPE
        return _families.carrier(shape, api_version, many=many)

    # -- preparing: public building blocks, no HTTP request built -------------------------

    def prepare_event(
        self, event: Any, auth: TikTokAuth | None = None, *, own_event_ids: bool = False
    ) -> PreparedEvents:
        """One event as post_event would send it: validated, hashed, its body ready (see
        PreparedEvents); nothing is sent. own_event_ids: an event without an event_id gets a
        new uuid4 (a queue that may send it again needs one, so TikTok can deduplicate).

        Raises:
            PayloadValidationError: the event is invalid.
        """
        version = self.credentials(auth).TIKTOK_API_VERSION
        family = self.carrier(WEB_SHAPE, version, many=False)
        # One event: a list given is refused by the model, not sent in part.
        items = _plan.items([event], where="")
        return self._prepare_items(
            items, family, version, "post_event", WEB_SHAPE, own_event_ids=own_event_ids
        )

    def prepare_events(
        self,
        events: Iterable[Any],
        auth: TikTokAuth | None = None,
        *,
        own_event_ids: bool = False,
    ) -> PreparedEvents:
        """Events as post_events_in_bulk would send them (see prepare_event).

        Raises:
            PayloadValidationError: an event is invalid; nothing is prepared.
        """
        version = self.credentials(auth).TIKTOK_API_VERSION
        family = self.carrier(WEB_SHAPE, version, many=True)
        return self._prepare_items(
            _plan.items(events), family, version, "post_events_in_bulk", WEB_SHAPE,
            own_event_ids=own_event_ids,
        )  # fmt: skip

    def prepare_track(
        self,
        events: AnyEvent | Iterable[AnyEvent],
        *,
        auth: TikTokAuth | None = None,
        event_source: Any = "web",
        event_source_id: str | None = None,
        test_event_code: str | None = None,
        partner_name: str | None = None,
    ) -> PreparedEvents:
        """Events as track would send them (see prepare_event; Events 2.0 events always have
        an event_id).

        Raises:
            PayloadValidationError: an event or an argument is invalid; nothing is prepared.
        """
        auth = self.credentials(auth)
        top = Top(
            {
                "event_source": event_source,
                "event_source_id": str(event_source_id or auth.TIKTOK_PIXEL_ID),
                "test_event_code": test_event_code or auth.TIKTOK_TEST_EVENT_CODE,
                "partner_name": partner_name,
            }
        )
        version = auth.TIKTOK_API_VERSION
        family = _families.family(TRACK_SHAPE, version)
        return self._prepare_items(_plan.items(events), family, version, "track", top=top)

    def prepare_payloads(
        self,
        payloads: Iterable[Any],
        auth: TikTokAuth | None = None,
        *,
        skip_invalid: bool = False,
    ) -> PreparedEvents:
        """Stored request bodies as send_payloads would send them, re-grouped into as few
        requests as allowed; with skip_invalid, an invalid payload is left out (and listed in
        `invalid`) instead of raising.

        Raises:
            PayloadValidationError: a payload is invalid (without skip_invalid).
        """
        version = self.credentials(auth).TIKTOK_API_VERSION
        by_family: dict[Family, list[Item]] = {}
        invalid: list[InvalidPayload] = []
        position = 0
        for number, payload in enumerate(payloads):
            try:
                family, items = self._payload_items(number, payload, position, version)
            except PayloadValidationError as error:
                if not skip_invalid:
                    raise
                invalid.append(InvalidPayload(number, tuple(error.errors) or (("", str(error)),)))
                continue
            by_family.setdefault(family, []).extend(items)
            position += len(items)
        chunks: list[Chunk] = []
        dropped: dict[int, tuple[str, ...]] = {}
        event_ids: dict[int, str | None] = {}
        for family, items in by_family.items():
            prepared = self._prepare_items(items, family, version, "send_payloads")
            chunks += prepared.requests
            dropped.update(prepared.dropped_keys)
            event_ids.update(prepared.event_ids)
        return PreparedEvents(tuple(chunks), "send_payloads", tuple(invalid), dropped, event_ids)

    def _prepare_items(
        self,
        items: Iterable[Item],
        family: Family,
        version: str,
        caller: str,
        given: str | None = None,
        top: Top | None = None,
        invalid: Sequence[InvalidPayload] = (),
        own_event_ids: bool = False,
    ) -> PreparedEvents:
        return _plan.prepare_events(
            items,
            family,
            caller=caller,
            given=_families.family(given, version) if given else None,
            top=top,
            hash_values=self.hash_personal_data,
            invalid=invalid,
            unusable=self.invalid_match_keys,
            own_event_ids=own_event_ids,
        )

    def _plan_event(self, event: Any, auth: TikTokAuth) -> Plan:
        return _plan.plan_of(self.prepare_event(event, auth), auth)

    def _single(self, plan: Plan, outcome: TikTokResponse | PyttEventsError) -> TikTokResponse:
        """post_event's answer, with the match keys its event was sent without, counted.

        Raises:
            PyttEventsError: outcome, when the event was not delivered.
        """
        if self.telemetry.enabled:
            self.telemetry.events(single_counts(plan, outcome))
            if isinstance(outcome, TikTokResponse):
                chunk = plan.requests[0].chunk
                self.telemetry.coverage({chunk_source(plan.requests[0]): chunk.coverage})
        if isinstance(outcome, PyttEventsError):
            raise outcome
        dropped = plan.dropped.get(0)
        return dataclasses.replace(outcome, dropped_keys=dropped) if dropped else outcome

    def _plan_bulk(self, events: Iterable[Any], auth: TikTokAuth) -> Plan:
        return _plan.plan_of(self.prepare_events(events, auth), auth)

    def _plan_track(
        self,
        events: AnyEvent | Iterable[AnyEvent],
        auth: TikTokAuth,
        event_source: Any,
        event_source_id: str | None,
        test_event_code: str | None,
        partner_name: str | None,
    ) -> Plan:
        prepared = self.prepare_track(
            events, auth=auth, event_source=event_source, event_source_id=event_source_id,
            test_event_code=test_event_code, partner_name=partner_name,
        )  # fmt: skip
        return _plan.plan_of(prepared, auth)

    def _plan_payloads(
        self, payloads: Iterable[Any], auth: TikTokAuth, skip_invalid: bool = False
    ) -> Plan:
        return _plan.plan_of(self.prepare_payloads(payloads, auth, skip_invalid=skip_invalid), auth)

    def _payload_items(
        self, number: int, payload: Any, position: int, version: str
    ) -> tuple[Family, list[Item]]:
        """The family that sends a stored payload's events, and its events, checked (each
        an instance of that family's event model), numbered from position.

        Raises:
            PayloadValidationError: the payload or one of its events is invalid.
        """
        where = f"payloads.{number}."
        source = _families.detect(payload, version)
        if source is None:
            raise PayloadValidationError(
                f"{where.rstrip('.')}: not a request body of a known family",
                [(where.rstrip("."), "unknown request family")],
            )
        key = source.events_key
        if key is not None and not isinstance(payload.get(key), list):
            raise PayloadValidationError(
                f"{where}{key}: required (a list of events)", [(f"{where}{key}", "required")]
            )
        unknown = [key for key in payload if key not in source.properties]
        if unknown:
            problems = [(f"{where}{key}", "Extra inputs are not permitted") for key in unknown]
            raise PayloadValidationError(
                "; ".join(f"{path}: {reason}" for path, reason in problems), problems
            )
        fields, events = source.events_in_shape(payload)
        events = [self._with_event_id(event, fields, where) for event in events]
        top = Top(source.check_top(fields, where), where) if fields else None
        family = self.carrier(source.shape, version, many=True)
        item_where = f"{where}{key}." if key else where
        return family, [
            _plan.prepare(
                Item(position + offset, event, f"{item_where}{offset}." if key else where, top),
                family,
                source.single_family,
            )
            for offset, event in enumerate(events)
        ]

    def _with_event_id(self, event: Any, top: Mapping[str, Any], where: str) -> Any:
        """A stored event with an event_id: its own, or (missing_event_ids="derive") one
        derived from its content and its request-level fields, the same on every resend.

        Raises:
            PayloadValidationError: it has none, and missing_event_ids is "refuse".
        """
        if not isinstance(event, Mapping) or event.get("event_id"):
            return event
        if self.missing_event_ids == "refuse":
            raise PayloadValidationError(
                f"{where}event_id: required to send a stored event again (missing_event_ids)",
                [(f"{where}event_id", "required to send a stored event again")],
            )
        return {**event, "event_id": derived_event_id(top, event)}

    def preview_payloads(
        self, payloads: Iterable[dict[str, Any]], auth: TikTokAuth | None = None
    ) -> PayloadPreview:
        """What send_payloads would send, without sending: events, requests, invalid payloads."""
        plan = self._plan_payloads(payloads, self.credentials(auth), skip_invalid=True)
        return PayloadPreview(
            events=sum(len(planned.chunk.indices) for planned in plan.requests),
            requests=len(plan.requests),
            invalid=plan.invalid,
            coverage=plan.coverage,
        )

    # -- event statistics: GET pixel/event/stats/ (see _stats) -----------------------------

    def _stats_plan(
        self,
        pixel_ids: str | Sequence[str],
        start_date: dt.date,
        end_date: dt.date | None,
        advertiser_id: str | None,
        auth: TikTokAuth | None,
    ) -> StatsPlan:
        """The requests of event_stats: one a day and group of up to 10 pixels.

        Raises:
            ConfigurationError: no advertiser id (TIKTOK_ADVERTISER_ID), no pixel id, or an
                end date before the start date.
        """
        auth = self.credentials(auth)
        advertiser = (advertiser_id or auth.TIKTOK_ADVERTISER_ID or "").strip()
        if not advertiser:
            raise ConfigurationError(
                "event statistics need the advertiser (ad account) id that owns the pixel: set "
                "TIKTOK_ADVERTISER_ID (environment variable or .env key), or pass advertiser_id"
            )
        pixels = [pixel_ids] if isinstance(pixel_ids, str) else list(pixel_ids)
        groups = _stats.pixel_groups(pixels)
        days = _stats.stats_days(start_date, end_date or start_date)
        requests = tuple(
            (day, build_get_request(auth, STATS_ENDPOINT, _stats.stats_query(advertiser, g, day)))
            for day in days
            for g in groups
        )
        return StatsPlan(advertiser, tuple(p for g in groups for p in g), days, requests)

    @staticmethod
    def _stats_result(plan: StatsPlan, answers: Sequence[TikTokResponse]) -> EventStats:
        counts: list[DailyCount] = []
        unreadable = 0
        for (day, _), answer in zip(plan.requests, answers, strict=True):
            found, skipped = _stats.parse_stats(answer.data, day)
            counts.extend(found)
            unreadable += skipped
        if unreadable:
            logger.warning(
                "event statistics: %d row(s) of TikTok's answer named no event or no count and "
                "were left out", unreadable,
            )  # fmt: skip
        return EventStats(
            plan.advertiser_id, plan.pixel_ids, plan.days[0], plan.days[-1], tuple(counts),
            tuple(a.request_id for a in answers if a.request_id), unreadable,
        )  # fmt: skip

    @staticmethod
    def _stats_refused(plan: StatsPlan, error: PermissionDeniedError) -> PermissionDeniedError:
        """TikTok's permission error, saying what the statistics need."""
        return _stats.permission_error(error, plan.advertiser_id, plan.pixel_ids)

    # -- sending: decisions ---------------------------------------------------------------

    def _flow(
        self, request: HttpRequest, retry: RetryPolicy | None
    ) -> Generator[Step, Outcome, TikTokResponse]:
        return attempt_flow(request, retry or self.retry, self.on_retry, urlsplit(request.url).path)

    def _deliveries(
        self, planned: PlannedRequest, retry: RetryPolicy | None = None
    ) -> Generator[PlannedRequest, TikTokResponse | PyttEventsError, Delivery]:
        """What to send for one planned request (see _delivery.deliveries), with this
        client's retry policy and isolation setting."""
        return deliveries(planned, retry or self.retry, self.isolate_invalid)

    def _finish(self, plan: Plan, delivered: Sequence[Delivery | None]) -> BulkResponse:
        """The result of a plan (see _delivery.bulk_result).

        Raises:
            BulkSendError: some events failed; its result lists every one.
        """
        try:
            result = bulk_result(plan, delivered)
        except BulkSendError as failed:
            self._count(plan, failed.result)
            raise
        self._count(plan, result)
        return result

    def _count(self, plan: Plan, result: BulkResponse) -> None:
        """Count a bulk send's events for telemetry (pytt_events.telemetry)."""
        if self.telemetry.enabled:
            self.telemetry.events(event_counts(plan, result))
            self.telemetry.coverage(delivered_coverage(plan, result))
