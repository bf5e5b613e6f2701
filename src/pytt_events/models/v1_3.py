"""Models of TikTok's Events API v1.3, compiled from schema/v1.3/ (see `python -m codegen`)."""

from pytt_events._generated.v1_3 import (
    Ad,
    BatchEvent,
    BatchItemType,
    Content,
    ContentType,
    Context,
    CurrencyCode,
    Page,
    PixelBatchRequest,
    PixelTrackRequest,
    Properties,
    SupportedEvents,
    User,
)

__all__ = [
    "Ad",
    "BatchEvent",
    "BatchItemType",
    "Content",
    "ContentType",
    "Context",
    "CurrencyCode",
    "Page",
    "PixelBatchRequest",
    "PixelTrackRequest",
    "Properties",
    "SupportedEvents",
    "User",
]
