"""The HTTP layer, and the only module that imports httpx.

Building a request and reading TikTok's answer are pure functions shared by every client; the
Sender classes only move bytes. TikTok answers HTTP 200 with a non-zero `code` for most errors,
so the envelope decides first and the HTTP status only when there is no envelope.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from importlib import metadata
from typing import Any
from urllib.parse import urlsplit

import httpx
from pydantic_core import to_json

from pytt_events._exceptions import (
    PARTIAL_SUCCESS,
    APIConnectionError,
    APITimeoutError,
    error_class,
)
from pytt_events._response import TikTokResponse
from pytt_events.auth import TikTokAuth

logger = logging.getLogger("pytt_events")

DEFAULT_TIMEOUT = 10.0
try:
    _VERSION = metadata.version("pytt-events-api")
except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
    _VERSION = "0"
USER_AGENT = f"pytt-events-api/{_VERSION}"


@dataclass(frozen=True)
class HttpRequest:
    """One request, ready to send. `events` counts the events its body carries."""

    url: str
    headers: dict[str, str]
    content: bytes
    events: int

    def __repr__(self) -> str:  # the headers hold the access token
        return f"HttpRequest(url={self.url!r}, events={self.events}, bytes={len(self.content)})"


def build_request(auth: TikTokAuth, endpoint: str, body: Any, events: int) -> HttpRequest:
    """A POST of body (as compact JSON) to endpoint, authenticated by auth's token."""
    return HttpRequest(
        url=auth.endpoint_url(endpoint),
        headers={
            "Access-Token": auth.TIKTOK_ACCESS_TOKEN,
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
        },
        content=to_json(body),
        events=events,
    )


def parse_response(status: int, content: bytes, events: int) -> TikTokResponse:
    """TikTok's answer as a TikTokResponse.

    Raises:
        APIError: (a subclass by code) the envelope's code is neither 0 nor 20001, or there is
            no envelope and the HTTP status is an error.
        APIConnectionError: the answer is not TikTok's JSON envelope.
    """
    try:
        envelope = json.loads(content) if content else None
    except ValueError:
        envelope = None
    if not isinstance(envelope, dict) or not isinstance(envelope.get("code"), int):
        if status >= 400:
            raise error_class(None, status)(
                f"HTTP {status} without a TikTok answer", code=None, http_status=status
            )
        raise APIConnectionError(f"the answer (HTTP {status}) is not TikTok's JSON envelope")
    code: int = envelope["code"]
    message = str(envelope.get("message", ""))
    request_id = envelope.get("request_id")
    request_id = str(request_id) if request_id is not None else None
    if code not in (0, PARTIAL_SUCCESS):
        raise error_class(code, status)(
            message, code=code, request_id=request_id, http_status=status
        )
    if code == PARTIAL_SUCCESS:
        logger.warning(
            "partial success: TikTok rejected some events of a request (request_id %s): %s",
            request_id,
            message,
        )
    data = envelope.get("data")
    return TikTokResponse(
        code=code,
        message=message,
        request_id=request_id,
        data=data if isinstance(data, dict) else {},
        http_status=status,
        events=events,
        _envelope=envelope,
    )


def _log(request: HttpRequest, status: int, response: TikTokResponse | None) -> None:
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug(
            "POST %s -> HTTP %s code %s request_id %s (%d events, %d bytes)",
            urlsplit(request.url).path,
            status,
            response.code if response else "-",
            response.request_id if response else "-",
            request.events,
            len(request.content),
        )


class SyncSender:
    """Sends HttpRequests over one pooled httpx.Client."""

    def __init__(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        self._client = httpx.Client(timeout=timeout)

    def send(self, request: HttpRequest) -> TikTokResponse:
        """Send one request and read TikTok's answer.

        Raises:
            APITimeoutError: the request timed out.
            APIConnectionError: no usable answer.
            APIError: TikTok refused the request.
        """
        try:
            answer = self._client.post(
                request.url, content=request.content, headers=request.headers
            )
        except httpx.TimeoutException as error:
            raise APITimeoutError(f"request to {urlsplit(request.url).path} timed out") from error
        except httpx.HTTPError as error:
            raise APIConnectionError(
                f"request to {urlsplit(request.url).path} failed: {type(error).__name__}"
            ) from error
        try:
            response = parse_response(answer.status_code, answer.content, request.events)
        except Exception:
            _log(request, answer.status_code, None)
            raise
        _log(request, answer.status_code, response)
        return response

    def close(self) -> None:
        self._client.close()
