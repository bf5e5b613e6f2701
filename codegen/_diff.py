"""`python -m codegen diff A B`: what changed between two schemas, field by field.

A and B are API versions (folders of schema/) or schema files. The report is what a maintainer
reviews before releasing: request families and definitions added or removed, fields added or
removed, and for each field its type, required-ness, enum values, limits and personal-data
mark. Descriptions are not compared (they change often and say the same thing).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from codegen._generate import schema_files

LIMITS = (
    "minLength", "maxLength", "pattern", "format", "minimum", "maximum", "exclusiveMinimum",
    "exclusiveMaximum", "minItems", "maxItems", "minProperties", "maxProperties", "const",
)  # fmt: skip
FAMILY_KEYS = ("x-family", "x-endpoint", "x-events")


def load(root: Path, name: str) -> tuple[str, Mapping[str, Any]]:
    """A schema by API version or file path, with the label to print for it."""
    path = Path(name)
    if not path.is_file():
        versions = schema_files(root)
        if name not in versions:
            known = ", ".join(versions)
            raise FileNotFoundError(f"{name}: neither a schema file nor a version ({known})")
        path = versions[name]
    label = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
    return label, json.loads(path.read_text("utf-8"))


def _type_of(document: Mapping[str, Any], node: Mapping[str, Any]) -> str:
    if "$ref" in node:
        return str(node["$ref"]).rsplit("/", 1)[-1]
    for key in ("anyOf", "oneOf"):
        if key in node:
            return " | ".join(_type_of(document, branch) for branch in node[key])
    kind = node.get("type", "any")
    if kind == "array" and isinstance(node.get("items"), Mapping):
        return f"array of {_type_of(document, node['items'])}"
    return str(kind)


def _describe_field(document: Mapping[str, Any], node: Mapping[str, Any], required: bool) -> str:
    parts = [_type_of(document, node)]
    if required:
        parts.append("required")
    mark = node.get("x-pii")
    if mark:
        parts.append(f"personal data: {mark}")
    return ", ".join(parts)


def diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """The field-level differences between two schema documents, one line each."""
    lines: list[str] = []
    old_defs, new_defs = old.get("$defs", {}), new.get("$defs", {})
    for name in sorted(old_defs.keys() - new_defs.keys()):
        lines.append(f"- {name}: definition removed")
    for name in sorted(new_defs.keys() - old_defs.keys()):
        lines.append(f"+ {name}: definition added")
        for field, node in new_defs[name].get("properties", {}).items():
            required = field in new_defs[name].get("required", ())
            lines.append(f"+ {name}.{field}: added ({_describe_field(new, node, required)})")
    for name in sorted(old_defs.keys() & new_defs.keys()):
        lines.extend(_diff_definition(name, old, new, old_defs[name], new_defs[name]))
    return lines


def _diff_definition(
    name: str,
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    before: Mapping[str, Any],
    after: Mapping[str, Any],
) -> Iterator[str]:
    for key in FAMILY_KEYS:
        if before.get(key) != after.get(key):
            yield f"~ {name}: {key} {before.get(key)!r} -> {after.get(key)!r}"
    yield from _diff_node(name, old, new, before, after, required=(None, None))
    if before.get("additionalProperties") != after.get("additionalProperties"):
        yield (
            f"~ {name}: additionalProperties {before.get('additionalProperties')!r} -> "
            f"{after.get('additionalProperties')!r}"
        )
    old_fields, new_fields = before.get("properties", {}), after.get("properties", {})
    old_required, new_required = set(before.get("required", ())), set(after.get("required", ()))
    for field in sorted(old_fields.keys() - new_fields.keys()):
        yield f"- {name}.{field}: removed"
    for field in sorted(new_fields.keys() - old_fields.keys()):
        described = _describe_field(new, new_fields[field], field in new_required)
        yield f"+ {name}.{field}: added ({described})"
    for field in sorted(old_fields.keys() & new_fields.keys()):
        yield from _diff_node(
            f"{name}.{field}",
            old,
            new,
            old_fields[field],
            new_fields[field],
            required=(field in old_required, field in new_required),
        )


def _diff_node(
    where: str,
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    required: tuple[bool | None, bool | None],
) -> Iterator[str]:
    old_type, new_type = _type_of(old, before), _type_of(new, after)
    if old_type != new_type and (
        before.get("properties") is None or after.get("properties") is None
    ):
        yield f"~ {where}: type {old_type} -> {new_type}"
    if required[0] is not None and required[0] != required[1]:
        yield f"~ {where}: {'now required' if required[1] else 'no longer required'}"
    old_enum, new_enum = before.get("enum"), after.get("enum")
    if old_enum != new_enum:
        if old_enum is None or new_enum is None:
            yield f"~ {where}: enum {old_enum!r} -> {new_enum!r}"
        else:
            added = [value for value in new_enum if value not in old_enum]
            removed = [value for value in old_enum if value not in new_enum]
            if added:
                yield f"~ {where}: enum values added {', '.join(map(repr, added))}"
            if removed:
                yield f"~ {where}: enum values removed {', '.join(map(repr, removed))}"
    for limit in LIMITS:
        if before.get(limit) != after.get(limit):
            yield f"~ {where}: {limit} {before.get(limit)!r} -> {after.get(limit)!r}"
    for key in ("x-pii", "x-convert", "x-default", "x-known-values"):
        if before.get(key) != after.get(key):
            label = "personal data" if key == "x-pii" else key
            yield f"~ {where}: {label} {before.get(key) or 'none'} -> {after.get(key) or 'none'}"


def report(root: Path, a: str, b: str) -> str:
    """The printable report of `python -m codegen diff a b`."""
    old_label, old = load(root, a)
    new_label, new = load(root, b)
    lines = diff(old, new)
    head = f"schema diff {old_label} -> {new_label}: {len(lines)} change(s)"
    return "\n".join([head, *lines]) + "\n"


__all__ = ["diff", "load", "report"]
