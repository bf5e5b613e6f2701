"""Input fixed on the way in: compatibility with the original pytt-events-api 0.1.10, and what
TikTok's own tag does for a missing ttclid.

Keyed by model title and applied by SchemaModel before validation, so it works wherever the
model is built (keyword arguments, nested dicts, replayed payloads).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit


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


def _ttclid_of(page: Any) -> str | None:
    """The ttclid= parameter of a page's URL, if any."""
    url = page.get("url") if isinstance(page, Mapping) else getattr(page, "url", None)
    if not isinstance(url, str) or "ttclid=" not in url:
        return None
    try:
        values = parse_qs(urlsplit(url).query).get("ttclid")
    except ValueError:
        return None
    return values[0] if values and values[0] else None


def _ttclid_from_page_url(data: dict[str, Any], holder: str, field: str) -> dict[str, Any]:
    """A missing ttclid is taken from the page URL's ttclid= parameter, as TikTok's own
    server-side tag (tiktok/gtm-template-eapi, getTtclid) and Segment's TikTok destination
    (tiktok-conversions, getUser) do. A ttclid given is kept."""
    ttclid = _ttclid_of(data.get("page"))
    if ttclid is None:
        return data
    current = data.get(holder)
    if isinstance(current, Mapping):
        if current.get(field):
            return data
        return {**data, holder: {**current, field: ttclid}}
    if current is None:
        return {**data, holder: {field: ttclid}}
    if getattr(current, field, None):
        return data
    return {**data, holder: {**current.model_dump(exclude_unset=True), field: ttclid}}


LEGACY_INPUT: Mapping[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "Properties": _move_content_type_to_contents,
    # Events 1.0: context.ad.callback; Events 2.0: user.ttclid.
    "Context": lambda data: _ttclid_from_page_url(data, "ad", "callback"),
    "TrackEvent": lambda data: _ttclid_from_page_url(data, "user", "ttclid"),
}
