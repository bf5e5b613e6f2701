"""TikTokEventsApi: send Events 1.0 web events to /pixel/track/ and /pixel/batch/."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from types import TracebackType
from typing import Any

from pytt_events import _payload, _schema
from pytt_events._exceptions import (
    AuthenticationError,
    BulkSendError,
    PermissionDeniedError,
    PyttEventsError,
)
from pytt_events._response import BulkResponse, FailedEvent, TikTokResponse
from pytt_events._transport import DEFAULT_TIMEOUT, SyncSender, build_request
from pytt_events.auth import TikTokAuth
from pytt_events.event import Event

__all__ = ["TikTokEventsApi"]

logger = logging.getLogger("pytt_events")

# Errors that every later request of a bulk send would meet too: stop sending.
_FATAL = (AuthenticationError, PermissionDeniedError)


class TikTokEventsApi:
    """Client of TikTok's Events API. One pooled HTTP connection per instance: reuse it, and
    close it (or use `with TikTokEventsApi() as api:`) when done.

    Args:
        DEBUG: kept from the original package; log at DEBUG level instead.
        timeout: seconds to wait for TikTok per request.
        hash_personal_data: True (default) normalizes and SHA-256-hashes every personal-data
            field on the way out. False sends them as given, and then each must already be a
            SHA-256 hex digest (data hashed upstream): a raw value is refused, never sent.
    """

    def __init__(
        self,
        DEBUG: bool = False,  # noqa: N803 - the original package's parameter name
        *,
        timeout: float = DEFAULT_TIMEOUT,
        hash_personal_data: bool = True,
    ) -> None:
        self.DEBUG = DEBUG
        self.hash_personal_data = hash_personal_data
        self._sender = SyncSender(timeout=timeout)

    def post_event(
        self, event: Event | dict[str, Any], auth: TikTokAuth | None = None
    ) -> TikTokResponse:
        """Send one event to /pixel/track/.

        Raises:
            PayloadValidationError: the event is invalid; nothing was sent.
            APIError: TikTok refused it (a subclass per code: AuthenticationError, ...).
            APIConnectionError: no usable answer (APITimeoutError on a timeout).
        """
        auth = auth or TikTokAuth()
        version = auth.TIKTOK_API_VERSION
        family = _schema.family("pixel_track", version)
        model = _payload.coerce(event, Event)
        body = _payload.track_body(model, api_version=version, hash_values=self.hash_personal_data)
        return self._sender.send(build_request(auth, family.endpoint, body, 1))

    def post_events_in_bulk(
        self, events: Iterable[Event | dict[str, Any]], auth: TikTokAuth | None = None
    ) -> BulkResponse:
        """Send events to /pixel/batch/, as many requests as the schema's maximum requires.

        Events are grouped by pixel_code; each request carries at most the per-request maximum
        (maxItems in the schema). An empty list sends nothing and says so in the result.

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
        family = _schema.family("pixel_batch", version)
        models = [
            _payload.coerce(event, Event, f"events.{index}.")
            for index, event in enumerate(_payload.as_list(events))
        ]
        if not models:
            logger.info("post_events_in_bulk: no events given, nothing was sent")
            return BulkResponse(responses=(), accepted=())
        chunks = _payload.batch_chunks(
            models, api_version=version, hash_values=self.hash_personal_data
        )
        responses: list[TikTokResponse] = []
        accepted: list[int] = []
        failed: list[FailedEvent] = []
        fatal: PyttEventsError | None = None
        for chunk in chunks:
            if fatal is not None:
                failed.extend(FailedEvent(index, fatal) for index in chunk.indices)
                continue
            request = build_request(auth, family.endpoint, chunk.body, len(chunk.indices))
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
