"""TikTokEventsApi: send events to TikTok's Events API.

Events 1.0 (the original package's API): post_event -> /pixel/track/, post_events_in_bulk ->
/pixel/batch/. Events 2.0: track -> /event/track/ for web, app, offline and CRM events. With
`TikTokEventsApi(events_api="2.0")`, post_event and post_events_in_bulk send the same 1.0
`Event`s through /event/track/ instead.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import Any, Literal

from pydantic import BaseModel

from pytt_events import _payload, _schema
from pytt_events._exceptions import (
    AuthenticationError,
    BulkSendError,
    PayloadValidationError,
    PermissionDeniedError,
    PyttEventsError,
)
from pytt_events._response import BulkResponse, FailedEvent, TikTokResponse
from pytt_events._transport import DEFAULT_TIMEOUT, SyncSender, build_request
from pytt_events.auth import TikTokAuth
from pytt_events.event import Event
from pytt_events.models.v1_3 import EventSource, PixelTrackRequest, TrackEvent
from pytt_events.track import track_event_from

__all__ = ["TikTokEventsApi"]

logger = logging.getLogger("pytt_events")

# Errors that every later request of a bulk send would meet too: stop sending.
_FATAL = (AuthenticationError, PermissionDeniedError)

EventsApiVersion = Literal["1.0", "2.0"]


class TikTokEventsApi:
    """Client of TikTok's Events API. One pooled HTTP connection per instance: reuse it, and
    close it (or use `with TikTokEventsApi() as api:`) when done.

    Args:
        DEBUG: kept from the original package; log at DEBUG level instead.
        timeout: seconds to wait for TikTok per request.
        hash_personal_data: True (default) normalizes and SHA-256-hashes every personal-data
            field on the way out. False sends them as given, and then each must already be a
            SHA-256 hex digest (data hashed upstream): a raw value is refused, never sent.
        events_api: "1.0" (default) sends post_event / post_events_in_bulk to /pixel/track/
            and /pixel/batch/; "2.0" converts those Events and sends them to /event/track/
            (event_source "web", event_source_id = the event's pixel_code).
    """

    def __init__(
        self,
        DEBUG: bool = False,  # noqa: N803 - the original package's parameter name
        *,
        timeout: float = DEFAULT_TIMEOUT,
        hash_personal_data: bool = True,
        events_api: EventsApiVersion = "1.0",
    ) -> None:
        if events_api not in ("1.0", "2.0"):
            raise ValueError(f"events_api must be '1.0' or '2.0', not {events_api!r}")
        self.DEBUG = DEBUG
        self.hash_personal_data = hash_personal_data
        self.events_api = events_api
        self._sender = SyncSender(timeout=timeout)

    # -- Events 1.0 -----------------------------------------------------------------------

    def post_event(
        self, event: Event | dict[str, Any], auth: TikTokAuth | None = None
    ) -> TikTokResponse:
        """Send one event to /pixel/track/ (or /event/track/ with events_api="2.0").

        Raises:
            PayloadValidationError: the event is invalid; nothing was sent.
            APIError: TikTok refused it (a subclass per code: AuthenticationError, ...).
            APIConnectionError: no usable answer (APITimeoutError on a timeout).
        """
        auth = auth or TikTokAuth()
        version = auth.TIKTOK_API_VERSION
        model = _payload.coerce(event, Event)
        if self.events_api == "2.0":
            assert isinstance(model, PixelTrackRequest)
            (chunk,) = self._track_chunks_of_events([(0, model)], version)
            endpoint = _schema.family("event_track", version).endpoint
            return self._sender.send(build_request(auth, endpoint, chunk.body, 1))
        family = _schema.family("pixel_track", version)
        body = _payload.track_body(model, api_version=version, hash_values=self.hash_personal_data)
        return self._sender.send(build_request(auth, family.endpoint, body, 1))

    def post_events_in_bulk(
        self, events: Iterable[Event | dict[str, Any]], auth: TikTokAuth | None = None
    ) -> BulkResponse:
        """Send events to /pixel/batch/ (or /event/track/ with events_api="2.0"), in as many
        requests as the schema's per-request maximum requires.

        Events are grouped by pixel_code. An empty list sends nothing and says so.

        Returns:
            BulkResponse: one TikTokResponse per request; every event's position is in
            `accepted`.

        Raises:
            PayloadValidationError: an event is invalid; nothing was sent.
            BulkSendError: some requests failed; `error.result` lists the accepted events and,
                for each failed one, why (an authentication or permission error stops the
                remaining requests, which are listed as failed with it).
        """
        auth = auth or TikTokAuth()
        version = auth.TIKTOK_API_VERSION
        models = [
            _payload.coerce(event, Event, f"events.{index}.")
            for index, event in enumerate(_payload.as_list(events))
        ]
        if self.events_api == "2.0":
            pairs = list(enumerate(models))
            chunks = self._track_chunks_of_events(pairs, version)
            family = _schema.family("event_track", version)
        else:
            family = _schema.family("pixel_batch", version)
            chunks = _payload.batch_chunks(
                models, api_version=version, hash_values=self.hash_personal_data
            )
        return self._send_chunks(auth, family.endpoint, chunks, "post_events_in_bulk")

    # -- Events 2.0 -----------------------------------------------------------------------

    def track(
        self,
        events: TrackEvent | Event | dict[str, Any] | Iterable[TrackEvent | Event | dict[str, Any]],
        *,
        auth: TikTokAuth | None = None,
        event_source: EventSource | str = EventSource.WEB,
        event_source_id: str | None = None,
        test_event_code: str | None = None,
        partner_name: str | None = None,
    ) -> BulkResponse:
        """Send one event or a list to /event/track/ (Events 2.0).

        Each event is a TrackEvent, a dict shaped like one (a stored payload's `data` item), or
        an Events 1.0 `Event` (converted with `track_event_from`). Lists beyond the schema's
        per-request maximum (1,000) go in several requests. The caller's objects are never
        changed; events without event_id get one when they are built.

        Args:
            auth: credentials; None reads them from the environment.
            event_source: "web", "app", "offline" or "crm".
            event_source_id: pixel code, app ID or event set ID; None uses TIKTOK_PIXEL_ID.
            test_event_code: None uses TIKTOK_TEST_EVENT_CODE (if set).
            partner_name: sent as partner_name when given.

        Returns:
            BulkResponse: one TikTokResponse per request, and every event's position in
            `accepted` (the same result as post_events_in_bulk).

        Raises:
            PayloadValidationError: an event or an argument is invalid; nothing was sent.
            BulkSendError: some requests failed; `error.result` says which events.
        """
        auth = auth or TikTokAuth()
        version = auth.TIKTOK_API_VERSION
        try:
            source = EventSource(event_source)
        except ValueError:
            allowed = ", ".join(repr(member.value) for member in EventSource)
            raise PayloadValidationError(
                f"event_source: must be one of {allowed}", [("event_source", "not allowed")]
            ) from None
        items = [
            (index, self._as_track_event(event, f"events.{index}."))
            for index, event in enumerate(_payload.as_list(events))
        ]
        chunks = _payload.track_chunks(
            items,
            event_source=source.value,
            event_source_id=event_source_id or auth.TIKTOK_PIXEL_ID,
            test_event_code=test_event_code or auth.TIKTOK_TEST_EVENT_CODE,
            partner_name=partner_name,
            api_version=version,
            hash_values=self.hash_personal_data,
        )
        endpoint = _schema.family("event_track", version).endpoint
        return self._send_chunks(auth, endpoint, chunks, "track")

    # -- shared -----------------------------------------------------------------------------

    @staticmethod
    def _as_track_event(event: Any, where: str) -> BaseModel:
        if isinstance(event, PixelTrackRequest):
            return track_event_from(event)
        return _payload.coerce(event, TrackEvent, where)

    def _track_chunks_of_events(
        self, events: Sequence[tuple[int, BaseModel]], version: str
    ) -> list[_payload.Chunk]:
        """1.0 Events as /event/track/ bodies: grouped by pixel, test code and partner."""
        groups: dict[tuple[str, str | None, str | None], list[tuple[int, BaseModel]]] = {}
        for index, event in events:
            assert isinstance(event, PixelTrackRequest)
            key = (event.pixel_code, event.test_event_code, event.partner_name)
            groups.setdefault(key, []).append((index, track_event_from(event)))
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

    def _send_chunks(
        self, auth: TikTokAuth, endpoint: str, chunks: list[_payload.Chunk], caller: str
    ) -> BulkResponse:
        if not chunks:
            logger.info("%s: no events given, nothing was sent", caller)
            return BulkResponse(responses=(), accepted=())
        responses: list[TikTokResponse] = []
        accepted: list[int] = []
        failed: list[FailedEvent] = []
        fatal: PyttEventsError | None = None
        for chunk in chunks:
            if fatal is not None:
                failed.extend(FailedEvent(index, fatal) for index in chunk.indices)
                continue
            request = build_request(auth, endpoint, chunk.body, len(chunk.indices))
            try:
                responses.append(self._sender.send(request))
            except PyttEventsError as error:
                failed.extend(FailedEvent(index, error) for index in chunk.indices)
                if isinstance(error, _FATAL):
                    fatal = error
                continue
            accepted.extend(chunk.indices)
        result = BulkResponse(
            responses=tuple(responses), accepted=tuple(accepted), failed=tuple(failed)
        )
        if failed:
            first = failed[0].error
            raise BulkSendError(f"{result.message}; first failure: {first}", result) from first
        return result

    def close(self) -> None:
        """Close the pooled connection."""
        self._sender.close()

    def __del__(self) -> None:
        # The original package had no close(): its Quick Start never closes the client. Release
        # the pooled sockets when the client is garbage-collected instead of leaking them.
        sender = getattr(self, "_sender", None)
        if sender is not None:
            sender.close()

    def __enter__(self) -> TikTokEventsApi:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
