"""Models of TikTok's Events API v1.3, compiled from schema/v1.3/ (see `python -m codegen`)."""

from pytt_events._generated import v1_3 as _generated
from pytt_events._generated.v1_3 import (
    Ad,
    App,
    AttStatus,
    BatchEvent,
    BatchItemType,
    Content,
    ContentType,
    Context,
    CurrencyCode,
    DeprecatedEventName,
    Device,
    EventSource,
    EventTrackRequest,
    Lead,
    Mileage,
    Page,
    PixelBatchRequest,
    PixelTrackRequest,
    Properties,
    StandardEvent,
    SupportedCurrency,
    SupportedEvents,
    TrackAd,
    TrackEvent,
    TrackProperties,
    TrackUser,
    User,
)
from pytt_events._marks import SchemaModel

__all__ = [
    "Ad",
    "App",
    "AttStatus",
    "BatchEvent",
    "BatchItemType",
    "Content",
    "ContentType",
    "Context",
    "CurrencyCode",
    "DeprecatedEventName",
    "Device",
    "EventSource",
    "EventTrackRequest",
    "Lead",
    "Mileage",
    "Page",
    "PixelBatchRequest",
    "PixelTrackRequest",
    "Properties",
    "StandardEvent",
    "SupportedCurrency",
    "SupportedEvents",
    "TrackAd",
    "TrackEvent",
    "TrackProperties",
    "TrackUser",
    "User",
]

# The generated module uses postponed annotations: complete every model now, so subclasses
# (pytt_events.event.Event) inherit resolved fields.
for _model in vars(_generated).values():
    if isinstance(_model, type) and issubclass(_model, SchemaModel):
        _model.model_rebuild()
