"""The JSON Schema at run time: the document and models of each API version, which paths carry
personal data and match keys, where the warning marks sit, and which document a model comes
from (the request families built on it are _families'; the rules between fields, _conditions').
Everything here is read from the schema file shipped in the package (a byte copy of
schema/<version>/), never written in code.
"""

from __future__ import annotations

import functools
import importlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from types import ModuleType
from typing import TYPE_CHECKING, Any

from pytt_events import _coverage, _generated
from pytt_events._constants import DEFAULT_API_VERSION
from pytt_events._exceptions import UnknownApiVersionError

# The warning marks (_soft) and hashing (_hashing) load the phone number metadata: imported
# where used, so that reading the schema does not.
if TYPE_CHECKING:
    from pytt_events import _soft
    from pytt_events._hashing import PiiPlan


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


def load_schema(api_version: str = DEFAULT_API_VERSION) -> Mapping[str, Any]:
    """The parsed JSON Schema document of an API version (one shared copy: not to be changed).

    Raises:
        UnknownApiVersionError: this build has no schema for api_version.
    """
    return _load(api_version)


@functools.cache
def _load(api_version: str) -> Mapping[str, Any]:
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


def resolve(document: Mapping[str, Any], node: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = node.get("$ref")
    while isinstance(ref, str):
        if not ref.startswith("#/$defs/"):
            raise ValueError(f"only local $defs references are supported, got {ref!r}")
        node = document["$defs"][ref.removeprefix("#/$defs/")]
        ref = node.get("$ref")
    return node


@functools.cache
def pii_plan(definition: str, api_version: str = DEFAULT_API_VERSION) -> PiiPlan:
    """Where personal data sits below a $defs entry: {key: mark or plan of the object below}."""
    document = load_schema(api_version)
    return _plan_of(document, document["$defs"][definition], frozenset())


@functools.cache
def match_key_plan(definition: str, api_version: str = DEFAULT_API_VERSION) -> _coverage.KeyPlan:
    """Where the match keys (x-match-key) sit below a $defs entry, as _coverage counts them:
    {key: the match key's bit or the plan of the object below}.

    Raises:
        ValueError: an x-match-key mark names no known match key.
    """
    document = load_schema(api_version)
    names = _plan_of(document, document["$defs"][definition], frozenset(), "x-match-key")
    return _coverage.compile_plan(names, f"{definition}.")


def _plan_of(
    document: Mapping[str, Any],
    node: Mapping[str, Any],
    seen: frozenset[int],
    mark_name: str = "x-pii",
) -> dict[str, Any]:
    node = resolve(document, node)
    if id(node) in seen:
        return {}
    seen = seen | {id(node)}
    plan: dict[str, Any] = {}
    for branch in (*node.get("anyOf", ()), *node.get("oneOf", ()), *node.get("allOf", ())):
        plan.update(_plan_of(document, branch, seen, mark_name))
    if "items" in node and isinstance(node["items"], Mapping):
        plan.update(_plan_of(document, node["items"], seen, mark_name))
    for key, child in node.get("properties", {}).items():
        resolved = resolve(document, child)
        mark = child.get(mark_name, resolved.get(mark_name))
        if isinstance(mark, str):
            plan[key] = mark
            continue
        below = _plan_of(document, resolved, seen, mark_name)
        if below:
            plan[key] = below
    return plan


@dataclass(frozen=True)
class WarningPlan:
    """Where the schema's warning marks sit below a node: the marks of the value itself (mark,
    rule, x-message), the keys an open object lists (x-warn-unknown; None: not marked), and the
    plans of the fields below. Lists are walked transparently."""

    marks: tuple[tuple[str, Any, str | None], ...] = ()
    known: tuple[str, ...] | None = None
    children: Mapping[str, WarningPlan] = field(default_factory=dict)
    #: The marks' checks, compiled once (see pytt_events._soft.compile_check).
    checks: tuple[_soft.Check, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.marks and self.known is None and not self.children


@functools.cache
def warning_plan(definition: str, api_version: str = DEFAULT_API_VERSION) -> WarningPlan:
    """Where the warning marks sit below a $defs entry (rules between fields, in allOf, are not
    part of it: see _conditions.rules)."""
    document = load_schema(api_version)
    return _warning_plan_of(document, document["$defs"][definition], frozenset())


def _warning_plan_of(
    document: Mapping[str, Any], node: Mapping[str, Any], seen: frozenset[int]
) -> WarningPlan:
    from pytt_events import _soft

    resolved = resolve(document, node)
    # Marks sit on the property (currency: beside its $ref) or on the definition it refers to.
    marks = tuple(
        (mark, place[mark], place.get("x-message"))
        for place in ((node, resolved) if resolved is not node else (node,))
        for mark in _soft.VALUE_MARKS
        if mark in place
    )
    if id(resolved) in seen:
        return WarningPlan(
            marks, checks=tuple(_soft.compile_check(m, r, document, t) for m, r, t in marks)
        )
    seen = seen | {id(resolved)}
    children: dict[str, WarningPlan] = {}
    items = resolved.get("items")
    below = [*resolved.get("anyOf", ()), *resolved.get("oneOf", ())] + (
        [items] if isinstance(items, Mapping) else []
    )
    known: tuple[str, ...] | None = None
    for branch in below:
        plan = _warning_plan_of(document, branch, seen)
        children.update(plan.children)
        known = plan.known if plan.known is not None else known
        marks += tuple(mark for mark in plan.marks if mark not in marks)
    properties = resolved.get("properties", {})
    for key, child in properties.items():
        plan = _warning_plan_of(document, child, seen)
        if not plan.empty:
            children[key] = plan
    if resolved.get("x-warn-unknown") is True:
        known = tuple(properties)
    checks = tuple(_soft.compile_check(mark, rule, document, text) for mark, rule, text in marks)
    return WarningPlan(marks, known, children, checks)


def document_of(model: type) -> Mapping[str, Any]:
    """The schema document a model (or the generated model it derives from) comes from."""
    for klass in model.__mro__:
        module = klass.__module__
        if module.startswith(_generated.__name__ + "."):
            short = module.rsplit(".", 1)[1]
            for version, (name, _) in _generated.VERSIONS.items():
                if name == short:
                    return load_schema(version)
    return {"$defs": {}}  # pragma: no cover - every model comes from a generated module
