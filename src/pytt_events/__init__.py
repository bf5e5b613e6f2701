"""pytt_events: a schema-first Python SDK for TikTok's Events API.

The original package's module paths stay public: pytt_events.auth, .event, .context,
.properties, .supported_events, .tiktok_events_api. Events 2.0 models are in pytt_events.track;
every model compiled from the schema is in pytt_events.models; the local emulator of the API is
pytt_events.testing.
"""

from pytt_events import _constants
from pytt_events._base_client import BulkProgress
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
from pytt_events._hashing import (
    hash_value,
    is_sha256_hex,
    normalize_email,
    normalize_external_id,
    normalize_phone,
    register_normalizer,
    sha256_hex,
)
from pytt_events._response import BulkResponse, FailedEvent, TikTokResponse
from pytt_events._retry import NO_RETRIES, RetryEvent, RetryPolicy
from pytt_events._schema import known_versions
from pytt_events.auth import TikTokAuth
from pytt_events.context import Ad, Context, Page, User
from pytt_events.event import Event
from pytt_events.properties import Content, ContentType, CurrencyCode, Properties
from pytt_events.supported_events import SupportedEvents
from pytt_events.tiktok_events_api import AsyncTikTokEventsApi, TikTokEventsApi
from pytt_events.track import EventSource, TrackEvent, TrackProperties, TrackUser

__version__ = _constants.VERSION

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
    "Event",
    "EventSource",
    "FailedEvent",
    "InvalidRequestError",
    "Page",
    "PayloadValidationError",
    "PermissionDeniedError",
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
    "sha256_hex",
]
