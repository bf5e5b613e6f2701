"""TikTok's standard web events (the original module path). Custom event names work too."""

from pytt_events.models.v1_3 import SupportedEvents

__all__ = ["SupportedEvents"]
