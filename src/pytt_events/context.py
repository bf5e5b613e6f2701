"""Context of an Events 1.0 event: user, page, ad click, browser (the original module path)."""

from pytt_events.models.v1_3 import Ad, Context, Page, User

__all__ = ["Ad", "Context", "Page", "User"]
