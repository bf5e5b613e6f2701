"""The exceptions of pytt_events: one tree, and one table from TikTok's codes to its classes.

    PyttEventsError
    ├── PayloadValidationError      rejected locally: nothing was sent
    ├── ConfigurationError          a client, policy or setting got a wrong value (a ValueError)
    │   └── UnknownApiVersionError      no schema for that API version in this build
    ├── ClientClosedError           the client was closed: nothing was sent
    ├── APIConnectionError          no usable response (DNS, refused, reset, TLS, bad JSON)
    │   └── APITimeoutError
    ├── APIError                    TikTok answered code != 0 (or HTTP >= 400)
    │   ├── AuthenticationError         access token missing, invalid, expired (40102, 40104, 40105)
    │   ├── PermissionDeniedError       no permission for this pixel or advertiser (40001, 40003,
    │   │                               40130)
    │   ├── InvalidRequestError         invalid parameters (40000, 40002, 40061-40063, 40700)
    │   ├── RateLimitError              too many requests (40100, 40132, 61000)
    │   ├── RetiredError                TikTok retired the endpoint or a field (41001, 41002)
    │   └── ServerError                 TikTok internal error, maintenance (5xxxx, 60001, HTTP 5xx)
    └── BulkSendError               some events of a bulk send failed; .result says which

`str(error)` shows the code, message and request_id, never the token or the payload.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pytt_events._response import BulkResponse


class PyttEventsError(Exception):
    """Base class of every error raised by pytt_events."""

    #: How many times the request was sent before this error was final (set by the clients).
    attempts: int = 0


class PayloadValidationError(PyttEventsError, ValueError):
    """The payload was rejected locally; nothing was sent. `errors` lists (path, reason)."""

    def __init__(self, message: str, errors: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []


class ConfigurationError(PyttEventsError, ValueError):
    """A client, a retry policy, a sandbox or a setting was given a value it cannot work with
    (the message says which and why); nothing was sent."""


class UnknownApiVersionError(ConfigurationError):
    """No schema (and so no models) exists in this build for the requested API version."""


class ClientClosedError(PyttEventsError):
    """The client was closed (close(), aclose() or the end of its `with` block): nothing was
    sent. Not retryable: make a new client."""


class APIConnectionError(PyttEventsError):
    """No usable answer from the API: the connection failed, or the answer was not TikTok's.
    Retryable: TikTok deduplicates a resent event on its event_id."""

    retryable = True


class APITimeoutError(APIConnectionError):
    """The request timed out."""


class APIError(PyttEventsError):
    """TikTok answered with a non-zero code (or an HTTP error status)."""

    #: Whether sending the same request again may succeed.
    retryable = False

    def __init__(
        self,
        message: str,
        *,
        code: int | None,
        request_id: str | None = None,
        http_status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.code = code
        self.message = message
        self.request_id = request_id
        self.http_status = http_status
        #: Seconds TikTok asked to wait (a Retry-After header), if any.
        self.retry_after = retry_after
        super().__init__(self.__str__())

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled by its fields (its constructor takes keywords): results cross process
        # boundaries (multiprocessing, Spark executors) with their errors.
        fields = (self.message, self.code, self.request_id, self.http_status, self.retry_after)
        return _rebuild_api_error, (type(self), *fields), self.__dict__

    def __str__(self) -> str:
        parts = [f"TikTok code {self.code}" if self.code is not None else "TikTok error"]
        if self.http_status is not None and self.http_status != 200:
            parts.append(f"HTTP {self.http_status}")
        text = f"{', '.join(parts)}: {self.message}"
        if self.request_id:
            text += f" (request_id {self.request_id})"
        return text


class AuthenticationError(APIError):
    """The access token is missing, invalid or revoked."""


class PermissionDeniedError(APIError):
    """The token has no permission for this pixel or advertiser."""


#: Errors that every later request meets too, until the credentials or permissions are fixed:
#: a bulk send stops at the first one, and EventSender keeps the events waiting.
FATAL_ERRORS = (AuthenticationError, PermissionDeniedError)


class InvalidRequestError(APIError):
    """TikTok refused the request's parameters; sending it again will not help."""


class RateLimitError(APIError):
    """Too many requests: wait and send again."""

    retryable = True


class ServerError(APIError):
    """TikTok had an internal error: sending again later may succeed."""

    retryable = True


class BulkSendError(PyttEventsError):
    """Some requests of a bulk send failed. `result` tells, for every event, sent or failed."""

    def __init__(self, message: str, result: BulkResponse) -> None:
        super().__init__(message)
        self.result = result

    def __reduce__(self) -> tuple[Any, ...]:
        return type(self), (self.args[0], self.result), self.__dict__


def _rebuild_api_error(
    cls: type[APIError],
    message: str,
    code: int | None,
    request_id: str | None,
    http_status: int | None,
    retry_after: float | None,
) -> APIError:
    return cls(
        message, code=code, request_id=request_id, http_status=http_status, retry_after=retry_after
    )


class RetiredError(APIError):
    """TikTok retired the endpoint (41001) or a field of the request (41002): sending it again
    will not help. Move to the endpoint or field that replaces it (for Events 1.0 bodies,
    /event/track/: `TikTokEventsApi(events_api="2.0")`), or upgrade pytt-events-api."""

    def __str__(self) -> str:
        return f"{super().__str__()}; TikTok retired this endpoint or field"


@dataclass(frozen=True)
class ErrorCode:
    """One of TikTok's codes: its name in TikTok's own code table, what it means, and the
    exception it raises."""

    code: int
    name: str
    meaning: str
    error: type[APIError]


#: TikTok's codes that the SDK knows, from the code table of TikTok's own Business API SDK
#: (tiktok/tiktok-business-api-sdk, python_sdk/business_api_client/tiktok_business/
#: tiktok_code.py), with the exception each raises. The README's code table is made from it.
CODE_TABLE: tuple[ErrorCode, ...] = (
    ErrorCode(40000, "INVALID_PARAMS", "invalid parameters", InvalidRequestError),
    ErrorCode(40001, "PERMISSION_ERROR", "no permission for this pixel", PermissionDeniedError),
    ErrorCode(
        40002,
        "PARAM_ERROR",
        "invalid parameters (the message names the field)",
        InvalidRequestError,
    ),
    ErrorCode(40003, "FORBIDDEN", "forbidden", PermissionDeniedError),
    ErrorCode(
        40061,
        "INVALID_BATCH_SIZE",
        "too many or too few events in the request",
        InvalidRequestError,
    ),
    ErrorCode(40062, "PII_NOT_HASHED", "personal data was not hashed", InvalidRequestError),
    ErrorCode(
        40063, "INVALID_PARTNER_NAME", "partner_name is not a known partner", InvalidRequestError
    ),
    ErrorCode(40100, "REQUEST_TOO_FREQUENT", "too many requests", RateLimitError),
    ErrorCode(40102, "ACCESS_TOKEN_EXPIRE", "the access token has expired", AuthenticationError),
    ErrorCode(40104, "EMPTY_ACCESS_TOKEN", "no access token was given", AuthenticationError),
    ErrorCode(
        40105, "INVALID_ACCESS_TOKEN", "the access token is invalid or revoked", AuthenticationError
    ),
    ErrorCode(
        40130,
        "SCOPE_NOT_AUTHORIZED",
        "the app is not authorized for this API's permission scope",
        PermissionDeniedError,
    ),
    ErrorCode(40132, "REQUEST_FREQUENCY_LIMITED", "requests are too frequent", RateLimitError),
    ErrorCode(
        40700, "RPC_VALIDATION_ERROR", "the request failed TikTok's validation", InvalidRequestError
    ),
    ErrorCode(41001, "INTERFACE_OFFLINE", "TikTok retired this endpoint", RetiredError),
    ErrorCode(41002, "FIELDS_OFFLINE", "TikTok retired a field of the request", RetiredError),
    ErrorCode(60001, "MAINTENANCE", "TikTok is under maintenance", ServerError),
    ErrorCode(61000, "TOO_MANY_REQUESTS_BL", "too many requests", RateLimitError),
)

#: TikTok code -> exception class. Codes not listed fall back to APIError, or to ServerError for
#: 5xxxx codes.
ERROR_CODES: Mapping[int, type[APIError]] = {entry.code: entry.error for entry in CODE_TABLE}


def error_class(code: int | None, http_status: int | None = None) -> type[APIError]:
    """The exception class for a TikTok code (or, without a code, an HTTP status)."""
    if code is not None:
        if code in ERROR_CODES:
            return ERROR_CODES[code]
        if 50000 <= code < 60000:
            return ServerError
        return APIError
    if http_status == 401:
        return AuthenticationError
    if http_status == 403:
        return PermissionDeniedError
    if http_status == 429:
        return RateLimitError
    if http_status is not None and http_status >= 500:
        return ServerError
    return APIError
