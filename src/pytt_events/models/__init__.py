"""The models compiled from the schema, one submodule per API version (`pytt_events.models.v1_3`).

Import them from here to type your own code or to load stored payloads; the generated package
behind them is private and may move.
"""

from pytt_events.models import v1_3

__all__ = ["v1_3"]
