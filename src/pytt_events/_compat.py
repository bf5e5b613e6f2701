"""Input accepted for compatibility with the original pytt-events-api 0.1.10, fixed on the way in.

Keyed by model title and applied by SchemaModel before validation, so it works wherever the
model is built (keyword arguments, nested dicts, replayed payloads).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from typing import Any


def _move_content_type_to_contents(data: dict[str, Any]) -> dict[str, Any]:
    """Properties(content_type=...) -> content_type on every Content item that has none.

    TikTok's Events 1.0 documentation (and the original package) put content_type on
    Properties; TikTok's API takes it per contents item.
    """
    if "content_type" not in data:
        return data
    data = dict(data)
    content_type = data.pop("content_type")
    warnings.warn(
        "Properties(content_type=...) is deprecated: content_type belongs to each Content "
        "item. It was moved onto every item of contents that had none.",
        DeprecationWarning,
        stacklevel=2,
    )
    if content_type is None:
        return data
    contents = data.get("contents")
    if isinstance(contents, list):
        data["contents"] = [_with_content_type(item, content_type) for item in contents]
    return data


def _with_content_type(item: Any, content_type: Any) -> Any:
    if isinstance(item, Mapping):
        return (
            item if item.get("content_type") is not None else {**item, "content_type": content_type}
        )
    if getattr(item, "content_type", None) is None and hasattr(item, "model_dump"):
        # A new dict, validated again: the caller's Content object is left untouched.
        return {**item.model_dump(exclude_unset=True), "content_type": content_type}
    return item


LEGACY_INPUT: Mapping[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "Properties": _move_content_type_to_contents,
}
