"""pytt_events: a schema-first Python SDK for TikTok's Events API.

The original package's module paths stay public: pytt_events.auth, .event, .context,
.properties, .supported_events, .tiktok_events_api. Events 2.0 models are in pytt_events.track;
every model compiled from the schema is in pytt_events.models; the local emulator of the API is
pytt_events.testing.

`import pytt_events` loads only the exceptions: every other name here (the clients, the
models, the hashing helpers) and every submodule is imported the first time it is used, so a
command or a process that needs little starts fast. A server warms up at start with
`TikTokEventsApi().warm_up()` (see BaseEventsApi.warm_up): the first event it sends then builds
nothing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from pytt_events._exceptions import (
    CODE_TABLE,
    ERROR_CODES,
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BulkSendError,
    ClientClosedError,
    ConfigurationError,
    InvalidRequestError,
    PayloadValidationError,
    PermissionDeniedError,
    PyttEventsError,
    RateLimitError,
    RetiredError,
    ServerError,
    UnknownApiVersionError,
)

if TYPE_CHECKING:
    from pytt_events._delivery import BulkProgress
    from pytt_events._hashing import (
        hash_value,
        is_sha256_hex,
        normalize_email,
        normalize_external_id,
        normalize_phone,
        register_normalizer,
        set_default_phone_region,
        sha256_hex,
    )
    from pytt_events._plan import PreparedEvents
    from pytt_events._response import BulkResponse, EventOutcome, FailedEvent, TikTokResponse
    from pytt_events._retry import NO_RETRIES, RetryEvent, RetryPolicy
    from pytt_events._schema import known_versions
    from pytt_events._stats import DailyCount, EventStats
    from pytt_events.auth import TikTokAuth
    from pytt_events.context import Ad, Context, Page, User
    from pytt_events.event import Event
    from pytt_events.properties import Content, ContentType, CurrencyCode, Properties
    from pytt_events.supported_events import SupportedEvents
    from pytt_events.tiktok_events_api import AsyncTikTokEventsApi, TikTokEventsApi
    from pytt_events.track import EventSource, TrackEvent, TrackProperties, TrackUser

    __version__: str

#: The module each name of __all__ not imported above comes from (imported on first use).
_LAZY = {
    "BulkProgress": "pytt_events._delivery",
    "hash_value": "pytt_events._hashing",
    "is_sha256_hex": "pytt_events._hashing",
    "normalize_email": "pytt_events._hashing",
    "normalize_external_id": "pytt_events._hashing",
    "normalize_phone": "pytt_events._hashing",
    "register_normalizer": "pytt_events._hashing",
    "set_default_phone_region": "pytt_events._hashing",
    "sha256_hex": "pytt_events._hashing",
    "BulkResponse": "pytt_events._response",
    "EventOutcome": "pytt_events._response",
    "PreparedEvents": "pytt_events._plan",
    "FailedEvent": "pytt_events._response",
    "TikTokResponse": "pytt_events._response",
    "NO_RETRIES": "pytt_events._retry",
    "RetryEvent": "pytt_events._retry",
    "RetryPolicy": "pytt_events._retry",
    "known_versions": "pytt_events._schema",
    "DailyCount": "pytt_events._stats",
    "EventStats": "pytt_events._stats",
    "TikTokAuth": "pytt_events.auth",
    "Ad": "pytt_events.context",
    "Context": "pytt_events.context",
    "Page": "pytt_events.context",
    "User": "pytt_events.context",
    "Event": "pytt_events.event",
    "Content": "pytt_events.properties",
    "ContentType": "pytt_events.properties",
    "CurrencyCode": "pytt_events.properties",
    "Properties": "pytt_events.properties",
    "SupportedEvents": "pytt_events.supported_events",
    "AsyncTikTokEventsApi": "pytt_events.tiktok_events_api",
    "TikTokEventsApi": "pytt_events.tiktok_events_api",
    "EventSource": "pytt_events.track",
    "TrackEvent": "pytt_events.track",
    "TrackProperties": "pytt_events.track",
    "TrackUser": "pytt_events.track",
}


def __getattr__(name: str) -> Any:
    """A name of __all__ or a submodule (pytt_events.event, ...), imported on first use and
    kept in the package's namespace."""
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
    elif name == "__version__":
        value = importlib.import_module("pytt_events._constants").VERSION
    elif not name.startswith("__"):
        try:  # a submodule not imported yet: `import pytt_events; pytt_events.event.Event`
            value = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as error:
            if error.name != f"{__name__}.{name}":
                raise  # the submodule exists and failed to import something of its own
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


__all__ = [
    "CODE_TABLE",
    "ERROR_CODES",
    "NO_RETRIES",
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "Ad",
    "AsyncTikTokEventsApi",
    "AuthenticationError",
    "BulkProgress",
    "BulkResponse",
    "BulkSendError",
    "ClientClosedError",
    "ConfigurationError",
    "Content",
    "ContentType",
    "Context",
    "CurrencyCode",
    "DailyCount",
    "Event",
    "EventOutcome",
    "EventSource",
    "EventStats",
    "FailedEvent",
    "InvalidRequestError",
    "Page",
    "PayloadValidationError",
    "PermissionDeniedError",
    "PreparedEvents",
    "Properties",
    "PyttEventsError",
    "RateLimitError",
    "RetiredError",
    "RetryEvent",
    "RetryPolicy",
    "ServerError",
    "SupportedEvents",
    "TikTokAuth",
    "TikTokEventsApi",
    "TikTokResponse",
    "TrackEvent",
    "TrackProperties",
    "TrackUser",
    "UnknownApiVersionError",
    "User",
    "__version__",
    "hash_value",
    "is_sha256_hex",
    "known_versions",
    "normalize_email",
    "normalize_external_id",
    "normalize_phone",
    "register_normalizer",
    "set_default_phone_region",
    "sha256_hex",
]
