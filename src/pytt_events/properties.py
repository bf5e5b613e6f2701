"""Properties of an Events 1.0 event and its Content items (the original module path).

`content_type` belongs to each Content item. `Properties(content_type=...)`, the original
package's placement, still works: it is moved onto every item that has none, with a
DeprecationWarning, and never leaves the SDK on Properties.
"""

from pytt_events.models.v1_3 import Content, ContentType, CurrencyCode, Properties

__all__ = ["Content", "ContentType", "CurrencyCode", "Properties"]
