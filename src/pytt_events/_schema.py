"""The JSON Schema at run time: which request families an API version has, their endpoints and
per-request maximums, and which paths carry personal data. Everything here is read from the
schema file shipped in the package (a byte copy of schema/<version>/), never written in code.
"""

from __future__ import annotations

import functools
import importlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from types import ModuleType
from typing import Any

from pytt_events import _generated
from pytt_events._hashing import PiiPlan

DEFAULT_API_VERSION = "v1.3"


class UnknownApiVersionError(ValueError):
    """No schema (and so no models) exists in this build for the requested API version."""


@dataclass(frozen=True)
class Family:
    """One kind of request body: its name, $defs entry, endpoint and per-request maximum."""

    name: str
    definition: str
    endpoint: str
    # The array property holding the events, and its maxItems (None for single-event bodies).
    events_key: str | None
    max_events: int | None
    # The $defs entry of one event inside events_key.
    item_definition: str | None


def known_versions() -> tuple[str, ...]:
    """The API versions this build has schemas and models for."""
    return tuple(_generated.VERSIONS)


def _require(api_version: str) -> tuple[str, str]:
    try:
        return _generated.VERSIONS[api_version]
    except KeyError:
        raise UnknownApiVersionError(
            f"API version {api_version!r} has no schema in this build; "
            f"known versions: {', '.join(known_versions())}"
        ) from None


@functools.cache
def load_schema(api_version: str = DEFAULT_API_VERSION) -> Mapping[str, Any]:
    """The parsed JSON Schema document of an API version.

    Raises:
        UnknownApiVersionError: this build has no schema for api_version.
    """
    _, relative = _require(api_version)
    text = resources.files(_generated).joinpath(relative).read_text("utf-8")
    document: Mapping[str, Any] = json.loads(text)
    return document


@functools.cache
def models_module(api_version: str = DEFAULT_API_VERSION) -> ModuleType:
    """The generated models module of an API version.

    Raises:
        UnknownApiVersionError: this build has no models for api_version.
    """
    module, _ = _require(api_version)
    return importlib.import_module(f"{_generated.__name__}.{module}")


def _resolve(document: Mapping[str, Any], node: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = node.get("$ref")
    while isinstance(ref, str):
        if not ref.startswith("#/$defs/"):
            raise ValueError(f"only local $defs references are supported, got {ref!r}")
        node = document["$defs"][ref.removeprefix("#/$defs/")]
        ref = node.get("$ref")
    return node


@functools.cache
def families(api_version: str = DEFAULT_API_VERSION) -> Mapping[str, Family]:
    """The request families (x-family) of an API version, by name."""
    document = load_schema(api_version)
    found: dict[str, Family] = {}
    for definition, node in document["$defs"].items():
        name = node.get("x-family")
        if not isinstance(name, str):
            continue
        events_key = node.get("x-events")
        max_events = item_definition = None
        if isinstance(events_key, str):
            array = node["properties"][events_key]
            max_events = array.get("maxItems")
            item_ref = array["items"]["$ref"]
            item_definition = item_ref.removeprefix("#/$defs/")
        found[name] = Family(
            name=name,
            definition=definition,
            endpoint=node["x-endpoint"],
            events_key=events_key if isinstance(events_key, str) else None,
            max_events=max_events,
            item_definition=item_definition,
        )
    return found


def family(name: str, api_version: str = DEFAULT_API_VERSION) -> Family:
    """One request family of an API version.

    Raises:
        KeyError: the schema of that version has no such family.
    """
    known = families(api_version)
    try:
        return known[name]
    except KeyError:
        raise KeyError(
            f"schema {api_version} has no request family {name!r}; known: {', '.join(known)}"
        ) from None


@functools.cache
def pii_plan(definition: str, api_version: str = DEFAULT_API_VERSION) -> PiiPlan:
    """Where personal data sits below a $defs entry: {key: mark or plan of the object below}."""
    document = load_schema(api_version)
    return _plan_of(document, document["$defs"][definition], frozenset())


def _plan_of(
    document: Mapping[str, Any], node: Mapping[str, Any], seen: frozenset[int]
) -> dict[str, Any]:
    node = _resolve(document, node)
    if id(node) in seen:
        return {}
    seen = seen | {id(node)}
    plan: dict[str, Any] = {}
    for branch in (*node.get("anyOf", ()), *node.get("oneOf", ()), *node.get("allOf", ())):
        plan.update(_plan_of(document, branch, seen))
    if "items" in node and isinstance(node["items"], Mapping):
        plan.update(_plan_of(document, node["items"], seen))
    for key, child in node.get("properties", {}).items():
        resolved = _resolve(document, child)
        mark = child.get("x-pii", resolved.get("x-pii"))
        if isinstance(mark, str):
            plan[key] = mark
            continue
        below = _plan_of(document, resolved, seen)
        if below:
            plan[key] = below
    return plan


def model_class(
    family_name: str, api_version: str = DEFAULT_API_VERSION, item: bool = False
) -> Any:
    """The generated model of a request family (or, with item, of one event inside it) for an
    API version: the class named after the $defs entry's title.

    Raises:
        UnknownApiVersionError: this build has no models for api_version.
        KeyError: the schema of that version has no such family.
    """
    family = families(api_version).get(family_name)
    if family is None:
        raise KeyError(f"schema {api_version} has no request family {family_name!r}")
    definition = family.item_definition if item and family.item_definition else family.definition
    return getattr(models_module(api_version), definition)
