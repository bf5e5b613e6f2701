"""The HTTP layer, and the only module that imports httpx.

Building a request and reading TikTok's answer are pure functions shared by every client;
SyncHttp and AsyncHttp (a client's HTTP connection pool: "sender" names only the background
EventSender) only move bytes. TikTok answers HTTP 200 with a non-zero `code` for most errors,
so the envelope decides first and the HTTP status only when there is no envelope.
"""

from __future__ import annotations

import email.utils
import json
import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias
from urllib.parse import urlencode, urlsplit

import httpx
from pydantic_core import to_json

from pytt_events._constants import DEFAULT_TIMEOUT, PARTIAL_SUCCESS, USER_AGENT
from pytt_events._exceptions import (
    APIConnectionError,
    APITimeoutError,
    ClientClosedError,
    ConfigurationError,
    PyttEventsError,
    error_class,
)
from pytt_events._response import TikTokResponse
from pytt_events.auth import TikTokAuth
from pytt_events.telemetry import Telemetry, default_telemetry

logger = logging.getLogger("pytt_events")


@dataclass(frozen=True)
class HttpRequest:
    """One request, ready to send. `events` counts the events its body carries; `method` is
    POST (a body of events) or GET (a read, its parameters in the URL's query, no body)."""

    url: str
    headers: dict[str, str]
    content: bytes
    events: int
    method: str = "POST"

    def __repr__(self) -> str:  # the headers hold the access token
        return (
            f"HttpRequest({self.method} {self.url!r}, events={self.events}, "
            f"bytes={len(self.content)})"
        )


def build_request(
    auth: TikTokAuth, endpoint: str, body: Any, events: int, *, content: bytes | None = None
) -> HttpRequest:
    """A POST of body (as compact JSON; content: that JSON, already made) to endpoint,
    authenticated by auth's token."""
    return HttpRequest(
        url=auth.endpoint_url(endpoint),
        headers={
            "Access-Token": auth.TIKTOK_ACCESS_TOKEN,
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
        },
        content=to_json(body) if content is None else content,
        events=events,
    )


def build_get_request(auth: TikTokAuth, endpoint: str, query: Mapping[str, str]) -> HttpRequest:
    """A GET of endpoint with query parameters, authenticated by auth's token: a read, sent,
    retried and answered (TikTok's envelope, its codes) as every POST is."""
    return HttpRequest(
        url=f"{auth.endpoint_url(endpoint)}?{urlencode(query)}",
        headers={
            "Access-Token": auth.TIKTOK_ACCESS_TOKEN,
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        },
        content=b"",
        events=0,
        method="GET",
    )


def with_body(request: HttpRequest, body: Any, events: int) -> HttpRequest:
    """The same request (URL, headers) with another body: part of an isolated request."""
    return HttpRequest(
        url=request.url, headers=request.headers, content=to_json(body), events=events
    )


#: What a client may be given instead of the network (tests: httpx.MockTransport).
HttpTransport: TypeAlias = httpx.BaseTransport | httpx.AsyncBaseTransport


def retry_after_seconds(headers: Mapping[str, str], now: float) -> float | None:
    """The Retry-After header as seconds from now (a Unix time): it may be seconds or an HTTP
    date. None when absent or unreadable."""
    value = headers.get("retry-after") or headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - now)


def parse_response(
    status: int, content: bytes, events: int, headers: Mapping[str, str] | None = None
) -> TikTokResponse:
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
    retry_after = retry_after_seconds(headers, time.time()) if headers else None
    if not isinstance(envelope, dict) or not isinstance(envelope.get("code"), int):
        if status >= 400:
            raise error_class(None, status)(
                f"HTTP {status} without a TikTok answer",
                code=None,
                http_status=status,
                retry_after=retry_after,
            )
        raise APIConnectionError(f"the answer (HTTP {status}) is not TikTok's JSON envelope")
    code: int = envelope["code"]
    message = str(envelope.get("message", ""))
    request_id = envelope.get("request_id")
    request_id = str(request_id) if request_id is not None else None
    if code not in (0, PARTIAL_SUCCESS):
        raise error_class(code, status)(
            message,
            code=code,
            request_id=request_id,
            http_status=status,
            retry_after=retry_after,
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


def _log(request: HttpRequest, status: int | str, outcome: Any, attempt: int) -> None:
    if logger.isEnabledFor(logging.DEBUG):
        code: object
        if isinstance(outcome, TikTokResponse):
            code, request_id = outcome.code, outcome.request_id
        else:
            code = getattr(outcome, "code", None) or type(outcome).__name__
            request_id = getattr(outcome, "request_id", None)
        logger.debug(
            "%s %s -> HTTP %s code %s request_id %s (attempt %d, %d events, %d bytes)",
            request.method,
            urlsplit(request.url).path,
            status,
            code,
            request_id or "-",
            attempt,
            request.events,
            len(request.content),
        )


def _connection_error(request: HttpRequest, error: Exception) -> PyttEventsError:
    path = urlsplit(request.url).path
    if isinstance(error, httpx.TimeoutException):
        return APITimeoutError(f"request to {path} timed out ({type(error).__name__})")
    return APIConnectionError(f"request to {path} failed: {type(error).__name__}")


def _content(request: HttpRequest) -> bytes | None:
    """The body to send: a GET sends none."""
    return request.content if request.method != "GET" else None


def _closed(request: HttpRequest) -> str:
    return f"request to {urlsplit(request.url).path} not sent: the client was closed"


def _read(request: HttpRequest, answer: httpx.Response, attempt: int) -> TikTokResponse:
    try:
        response = parse_response(
            answer.status_code, answer.content, request.events, answer.headers
        )
    except Exception as error:
        _log(request, answer.status_code, error, attempt)
        raise
    _log(request, answer.status_code, response, attempt)
    return response


class SyncHttp:
    """Sends HttpRequests over one pooled httpx.Client (safe to share between threads, and
    across a fork: a forked process gets a pool of its own, never its parent's sockets)."""

    def __init__(
        self,
        timeout: float = DEFAULT_TIMEOUT,
        transport: HttpTransport | None = None,
        telemetry: Telemetry | None = None,
    ) -> None:
        if transport is not None and not isinstance(transport, httpx.BaseTransport):
            raise ConfigurationError("the sync client needs a sync transport (httpx.BaseTransport)")
        self._timeout, self._transport = timeout, transport
        self.telemetry = telemetry or default_telemetry()
        self._client = httpx.Client(timeout=timeout, transport=transport)
        self._pid = os.getpid()

    def _own_client(self) -> httpx.Client:
        """The pool of this process: after a fork, the connections inherited from the parent
        are shared sockets (answers would reach the wrong process), so a new pool is made."""
        if self._pid != os.getpid() and not self._client.is_closed:
            self._client = httpx.Client(timeout=self._timeout, transport=self._transport)
            self._pid = os.getpid()
        return self._client

    def send(self, request: HttpRequest, attempt: int = 1) -> TikTokResponse:
        """Send one request and read TikTok's answer (recorded: see pytt_events.telemetry).

        Raises:
            APITimeoutError: the request timed out.
            APIConnectionError: no usable answer.
            APIError: TikTok refused the request.
        """
        with self.telemetry.request(request.url, request.events, attempt, request.method) as record:
            try:
                response = self._send(request, attempt)
            except PyttEventsError as error:
                record.ended(error)
                raise
            record.ended(response)
            return response

    def _send(self, request: HttpRequest, attempt: int) -> TikTokResponse:
        if self._client.is_closed:
            raise ClientClosedError(_closed(request))
        client = self._own_client()
        try:
            answer = client.request(
                request.method, request.url, content=_content(request), headers=request.headers
            )
        except httpx.HTTPError as error:
            failure = _connection_error(request, error)
        else:
            return _read(request, answer, attempt)
        # Raised outside the except block, so no chained httpx error (whose frames hold the
        # request headers, the token among them) travels with it.
        _log(request, "-", failure, attempt)
        raise failure

    def close(self) -> None:
        self._client.close()


class AsyncHttp:
    """Sends HttpRequests over one pooled httpx.AsyncClient (a forked process gets a pool of
    its own, as SyncHttp's)."""

    def __init__(
        self,
        timeout: float = DEFAULT_TIMEOUT,
        transport: HttpTransport | None = None,
        telemetry: Telemetry | None = None,
    ) -> None:
        if transport is not None and not isinstance(transport, httpx.AsyncBaseTransport):
            raise ConfigurationError(
                "the async client needs an async transport (AsyncBaseTransport)"
            )
        self._timeout, self._transport = timeout, transport
        self.telemetry = telemetry or default_telemetry()
        self._client = httpx.AsyncClient(timeout=timeout, transport=transport)
        self._pid = os.getpid()

    def _own_client(self) -> httpx.AsyncClient:
        if self._pid != os.getpid() and not self._client.is_closed:
            self._client = httpx.AsyncClient(timeout=self._timeout, transport=self._transport)
            self._pid = os.getpid()
        return self._client

    async def send(self, request: HttpRequest, attempt: int = 1) -> TikTokResponse:
        """Send one request and read TikTok's answer (see SyncHttp.send)."""
        with self.telemetry.request(request.url, request.events, attempt, request.method) as record:
            try:
                response = await self._send(request, attempt)
            except PyttEventsError as error:
                record.ended(error)
                raise
            record.ended(response)
            return response

    async def _send(self, request: HttpRequest, attempt: int) -> TikTokResponse:
        if self._client.is_closed:
            raise ClientClosedError(_closed(request))
        client = self._own_client()
        try:
            answer = await client.request(
                request.method, request.url, content=_content(request), headers=request.headers
            )
        except httpx.HTTPError as error:
            failure = _connection_error(request, error)
        else:
            return _read(request, answer, attempt)
        _log(request, "-", failure, attempt)
        raise failure

    async def aclose(self) -> None:
        await self._client.aclose()
