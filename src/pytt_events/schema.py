"""The schema this build was compiled from, at run time: its API versions, the request families
of each (endpoint, per-request maximum, request-level keys), and the JSON Schema documents.

    from pytt_events import schema

    schema.known_versions()                      # ("v1.3",)
    for family in schema.families("v1.3").values():
        print(family.name, family.endpoint, family.max_events)
    schema.family_schema("event_track")          # the JSON Schema of one request body
    schema.detect(body)                          # the Family a stored body is, or None
"""

from __future__ import annotations

import copy
from typing import Any

from pytt_events import _schema
from pytt_events._constants import DEFAULT_API_VERSION
from pytt_events._families import Family, detect, events_of, families, family
from pytt_events._schema import known_versions

__all__ = [
    "DEFAULT_API_VERSION",
    "Family",
    "detect",
    "events_of",
    "families",
    "family",
    "family_schema",
    "known_versions",
    "load_schema",
]


def load_schema(api_version: str = DEFAULT_API_VERSION) -> dict[str, Any]:
    """The JSON Schema document of an API version: a copy of its own, to change at will.

    Raises:
        UnknownApiVersionError: this build has no schema for api_version.
    """
    return copy.deepcopy(dict(_schema.load_schema(api_version)))


def family_schema(name: str, api_version: str = DEFAULT_API_VERSION) -> dict[str, Any]:
    """The JSON Schema of one request family's body: the version's definitions, and a
    reference to the family's (a copy of its own).

    Raises:
        UnknownApiVersionError: this build has no schema for api_version.
        KeyError: the schema of that version has no such family.
    """
    document = load_schema(api_version)
    definition = family(name, api_version).definition
    return {
        "$schema": document.get("$schema"),
        "title": definition,
        "$ref": f"#/$defs/{definition}",
        "$defs": document["$defs"],
    }
