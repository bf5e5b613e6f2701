"""The public surface is pinned: `pytt_events.__all__` is exactly the names listed here, each
one importable, and the original package's module paths still give the same objects."""

from __future__ import annotations

import pytt_events

PUBLIC = {
    "CODE_TABLE", "ERROR_CODES", "RetiredError", "ClientClosedError", "ConfigurationError",
    "NO_RETRIES",
    "APIConnectionError", "APIError",
    "APITimeoutError", "Ad", "AsyncTikTokEventsApi", "RetryEvent", "RetryPolicy",
    "AuthenticationError", "BulkProgress", "BulkResponse", "BulkSendError", "Content",
    "ContentType", "Context",
    "CurrencyCode", "DailyCount", "Event", "EventOutcome", "EventSource", "EventStats",
    "FailedEvent",
    "InvalidRequestError", "Page",
    "PayloadValidationError", "PermissionDeniedError", "PreparedEvents", "Properties",
    "PyttEventsError",
    "RateLimitError", "ServerError", "SupportedEvents", "TikTokAuth", "TikTokEventsApi",
    "TikTokResponse", "TrackEvent", "TrackProperties", "TrackUser", "UnknownApiVersionError",
    "User", "__version__", "hash_value",
    "is_sha256_hex", "known_versions", "normalize_email", "normalize_external_id",
    "normalize_phone", "register_normalizer", "set_default_phone_region", "sha256_hex",
}  # fmt: skip


def test_public_surface_is_pinned() -> None:
    assert len(pytt_events.__all__) == len(set(pytt_events.__all__))
    assert set(pytt_events.__all__) == PUBLIC
    for name in pytt_events.__all__:
        assert hasattr(pytt_events, name), name


def test_original_module_paths_stay_public() -> None:
    from pytt_events.auth import TikTokAuth
    from pytt_events.context import Ad, Context, Page, User
    from pytt_events.event import Event
    from pytt_events.properties import Content, ContentType, Properties
    from pytt_events.supported_events import SupportedEvents
    from pytt_events.tiktok_events_api import TikTokEventsApi

    assert (Ad, Context, Page, User, Content, ContentType, Properties) == (
        pytt_events.Ad, pytt_events.Context, pytt_events.Page, pytt_events.User,
        pytt_events.Content, pytt_events.ContentType, pytt_events.Properties,
    )  # fmt: skip
    assert (TikTokAuth, Event, SupportedEvents, TikTokEventsApi) == (
        pytt_events.TikTokAuth, pytt_events.Event, pytt_events.SupportedEvents,
        pytt_events.TikTokEventsApi,
    )  # fmt: skip


MODULES = {
    "pytt_events.schema": {
        "DEFAULT_API_VERSION", "Family", "detect", "events_of", "families", "family",
        "family_schema", "known_versions", "load_schema",
    },
    "pytt_events.replay": {
        "DEDUP_WINDOW_SECONDS", "DEFAULT_BATCH_SIZE", "DEFAULT_CONCURRENCY", "FailedOutError",
        "SendIssue",
        "SendReport", "event_ids_of", "send_file", "unsent_name",
    },
    "pytt_events.stored": {"StoredPayload", "parse_line", "read_payloads"},
    "pytt_events.sender": {"AsyncEventSender", "EventSender", "ResendPolicy", "SendResult"},
    "pytt_events.outbox": {
        "OUTBOX_APPLICATION_ID", "OUTBOX_SCHEMA_VERSION", "AcceptedKey", "FailedRow",
        "MemoryOutbox", "Outbox",
        "OutboxError", "OutboxFullError", "OutboxStatus", "PostgresOutbox", "ReasonCount", "Row",
        "SQLiteOutbox",
    },
    "pytt_events.validation": {
        "FileResult", "Problem", "Severity", "ValidationSummary", "check_conditions",
        "detect_family", "problem_text", "validate_file", "validate_payload", "validate_stored",
    },
    "pytt_events.testing": {
        "DEFAULT_ACCESS_TOKEN", "SANDBOX_ADVERTISER_ID", "DedupKey", "Fault", "FaultPlan",
        "ManualClock", "ReceivedRequest",
        "Sandbox",
        "SandboxServer", "quick_start_event", "request_key",
    },
}  # fmt: skip


def test_public_modules_are_pinned() -> None:
    import importlib

    for name, expected in MODULES.items():
        module = importlib.import_module(name)
        assert set(module.__all__) == expected, name
        for member in module.__all__:
            assert hasattr(module, member), f"{name}.{member}"
