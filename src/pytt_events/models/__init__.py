"""The models compiled from the schema, one submodule per API version (`pytt_events.models.v1_3`).

Import them from here to type your own code or to load stored payloads; the generated package
behind them is private and may move. `for_version("v1.4")` returns the models of any version
this build was compiled with, including ones added to schema/ after this module was written.
"""

from types import ModuleType

from pytt_events import _schema
from pytt_events.models import v1_3


def for_version(api_version: str) -> ModuleType:
    """The module of models of an API version.

    Raises:
        UnknownApiVersionError: this build has no schema for it (the message lists those it has).
    """
    return _schema.models_module(api_version)


__all__ = ["for_version", "v1_3"]
