"""Meta Conversions API and IAB Tech Lab ECAPI 1.0 events, as TikTok Events 2.0 events.

    from pytt_events.convert import from_meta

    converted = from_meta(meta_event)  # a dict as Meta's API takes it, or a facebook_business Event
    api.track(converted.event, event_source=converted.event_source, event_source_id=PIXEL)
    converted.dropped  # [(field, reason), ...]: what TikTok has no place for

The event is given to the SDK with raw personal data as it came: the models normalize and hash
it by TikTok's rules when it is sent (the schema's x-pii marks), as for any event. A value Meta
or ECAPI hashed passes through only where their normalization before hashing is TikTok's
(e-mail; ECAPI's phone, which keeps the '+'); one that TikTok cannot match (Meta's phone
hashes, hashed locations, which TikTok takes raw) is dropped with its reason. A field that
cannot be mapped never costs the conversion: it is dropped, with a warning and a reason in
`Converted.dropped`. The mapping, with its sources, is the README's "Mirror your Meta events".

Sources: Meta's Conversions API parameters (developers.facebook.com/docs/marketing-api/
conversions-api/parameters) and its Python SDK's server-side classes (facebook_business
adobjects/serverside: UserData, CustomData, Content, Event, Normalize); ECAPI 1.0
(InteractiveAdvertisingBureau/ecapi, ecapi_1.0.md at commit 2995ff5: the core Event,
user_data, address, item and properties objects, the event_type and source enumerations);
TikTok's fields are the
schema's (schema/v1.3: TrackEvent, TrackUser, TrackProperties, StandardEvent).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import IO, TYPE_CHECKING, Any, Literal

from pytt_events._constants import CONVERT_DEFAULT_EVENT_SOURCE
from pytt_events._soft import warn_once

if TYPE_CHECKING:
    import os

    from pytt_events.auth import TikTokAuth
    from pytt_events.tiktok_events_api import TikTokEventsApi

__all__ = [
    "ECAPI_ACTION_SOURCES",
    "ECAPI_EVENTS",
    "META_ACTION_SOURCES",
    "META_EVENTS",
    "Converted",
    "ConvertedLine",
    "Origin",
    "convert_file",
    "from_ecapi",
    "from_meta",
    "read_events",
]

Origin = Literal["meta", "ecapi"]

#: Meta's standard events (Conversions API "Standard Events") -> TikTok's (StandardEvent).
#: Meta's Donate has no TikTok counterpart: it is carried as a custom event (with a warning).
META_EVENTS: dict[str, str] = {
    "AddPaymentInfo": "AddPaymentInfo",
    "AddToCart": "AddToCart",
    "AddToWishlist": "AddToWishlist",
    "CompleteRegistration": "CompleteRegistration",
    "Contact": "Contact",
    "CustomizeProduct": "CustomizeProduct",
    "FindLocation": "FindLocation",
    "InitiateCheckout": "InitiateCheckout",
    "Lead": "Lead",
    "PageView": "Pageview",
    "Purchase": "Purchase",
    "Schedule": "Schedule",
    "Search": "Search",
    "StartTrial": "StartTrial",
    "SubmitApplication": "SubmitApplication",
    "Subscribe": "Subscribe",
    "ViewContent": "ViewContent",
}

#: ECAPI 1.0 event_type values -> TikTok's standard events. Those not here (ad_impression,
#: viewed_cart, remove_from_cart, refund, the lead stages but generate_lead, donate, ...) are
#: carried as custom events under their ECAPI name, with a warning.
ECAPI_EVENTS: dict[str, str] = {
    "purchase": "Purchase",
    "page_view": "Pageview",
    "add_to_wishlist": "AddToWishlist",
    "add_to_cart": "AddToCart",
    "viewed_item": "ViewContent",
    "begin_checkout": "InitiateCheckout",
    "add_payment_info": "AddPaymentInfo",
    "generate_lead": "Lead",
    "sign_up": "CompleteRegistration",
    "search": "Search",
    "unlock_achievement": "UnlockAchievement",
    "install": "InstallApp",
    "customize_product": "CustomizeProduct",
    "contact": "Contact",
    "find_location": "FindLocation",
    "schedule": "Schedule",
    "start_trial": "StartTrial",
    "subscribe": "Subscribe",
    "login": "Login",
    "join_group": "JoinGroup",
    "level_up": "AchieveLevel",
    "tutorial_complete": "CompleteTutorial",
    "spend_virtual_currency": "SpendCredits",
}

#: Meta's action_source -> TikTok's event_source. Events that happened outside a website, an
#: app and a store (e-mail, a phone call, a chat, a system) go to a CRM event set: TikTok's
#: crm source is for events from the advertiser's own systems (lead stages, renewals).
META_ACTION_SOURCES: dict[str, str] = {
    "website": "web",
    "app": "app",
    "physical_store": "offline",
    "email": "crm",
    "phone_call": "crm",
    "chat": "crm",
    "business_messaging": "crm",
    "system_generated": "crm",
    "other": "crm",
}

#: ECAPI 1.0's source enumeration has the same values as Meta's action_source.
ECAPI_ACTION_SOURCES: dict[str, str] = dict(META_ACTION_SOURCES)

_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_HEX32 = re.compile(r"[0-9a-fA-F]{32}")

_META_ONLY = "a Meta identifier TikTok cannot match on"
_NO_FIELD = "TikTok's events have no such field"
_HASHED_RAW = "hashed, but TikTok takes this field raw (normalized, never hashed)"
_MD5 = "an MD5 digest (Meta takes them); TikTok matches SHA-256 only"
_ONE = "TikTok takes one value: the first is sent"

# Meta's user_data keys that TikTok has no place for, each with its reason.
_META_USER_DROPPED: dict[str, str] = {
    "fbc": f"{_META_ONLY} (the Meta click ID; TikTok's is ttclid)",
    "fbp": f"{_META_ONLY} (the Meta browser ID; TikTok's is ttp)",
    "fb_login_id": _META_ONLY,
    "lead_id": f"{_META_ONLY} (a Meta lead ads ID, not a TikTok lead)",
    "subscription_id": _META_ONLY,
    "anon_id": f"{_META_ONLY} (Meta's app install ID)",
    "page_id": _META_ONLY,
    "page_scoped_user_id": _META_ONLY,
    "ctwa_clid": f"{_META_ONLY} (click-to-WhatsApp click ID)",
    "ig_account_id": _META_ONLY,
    "ig_sid": _META_ONLY,
    "ge": f"{_NO_FIELD} (gender)",
    "db": f"{_NO_FIELD} (date of birth)",
    "dobd": f"{_NO_FIELD} (date of birth)",
    "dobm": f"{_NO_FIELD} (date of birth)",
    "doby": f"{_NO_FIELD} (date of birth)",
    "f5first": f"{_NO_FIELD} (a first-name prefix)",
    "f5last": f"{_NO_FIELD} (a last-name prefix)",
    "fi": f"{_NO_FIELD} (an initial)",
}

# facebook_business's attribute names (to_dict) -> Meta's API keys.
_META_SDK_KEYS = {
    "emails": "em",
    "phones": "ph",
    "genders": "ge",
    "dates_of_birth": "db",
    "last_names": "ln",
    "first_names": "fn",
    "cities": "ct",
    "states": "st",
    "country_codes": "country",
    "zip_codes": "zp",
    "external_ids": "external_id",
    "product_id": "id",
}

# TikTok properties that ECAPI's properties object has under the same name and type (string).
_ECAPI_SAME_PROPERTIES = (
    "make",
    "model",
    "vin",
    "exterior_color",
    "body_style",
    "condition_of_vehicle",
    "drivetrain",
    "fuel_type",
    "transmission",
    "destination_airport",
)


@dataclass
class Converted:
    """One event converted: `event`, a dict `TikTokEventsApi.track` takes (raw personal data
    in it is normalized and hashed by the SDK when it is sent); `event_source`, the TikTok
    event source it belongs to (the caller gives its event_source_id); `dropped`, (field,
    reason) for each source field, or value, that could not be carried over (never the
    value)."""

    event: dict[str, Any]
    event_source: str
    dropped: list[tuple[str, str]] = field(default_factory=list)

    def payload(
        self, event_source_id: str, *, test_event_code: str | None = None
    ) -> dict[str, Any]:
        """The event as an /event/track/ request body of its own, raw (not yet hashed): give
        it to `send_payloads`, or `convert_file` for hashed bodies to store."""
        body: dict[str, Any] = {
            "event_source": self.event_source,
            "event_source_id": event_source_id,
            "data": [self.event],
        }
        if test_event_code:
            body["test_event_code"] = test_event_code
        return body


class _Builder:
    """Collects a converted event and what was dropped on the way."""

    def __init__(self, origin: str) -> None:
        self.origin = {"meta": "Meta", "ecapi": "ECAPI"}[origin]
        self.event: dict[str, Any] = {}
        self.dropped: list[tuple[str, str]] = []

    def drop(self, where: str, reason: str) -> None:
        self.dropped.append((where, reason))
        warn_once(
            ("convert", self.origin, where.split("[")[0], reason),
            f"{self.origin} {where.split('[')[0]}: {reason}: left out of the TikTok event",
        )

    def put(self, part: str, key: str, value: Any) -> None:
        if value is None or value == "" or value == []:
            return
        self.event.setdefault(part, {})[key] = value


# Meta's SDK classes read attribute by attribute (their raw values): UserData.normalize()
# hashes phone numbers Meta's way (digits without '+'), which TikTok can never match.
_READ_RAW = frozenset({"Event", "UserData"})


def _plain(value: Any) -> Any:
    """A facebook_business object as Meta's API keys: Event and UserData by their attributes
    (raw values), the others (CustomData, Content, AppData, ...) by their own normalize(),
    which writes the API's shape and hashes nothing; enums as their values.

    Raises:
        ValueError: Meta's SDK cannot normalize an object (its own check refuses a value).
    """
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items() if item is not None}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    fields = getattr(value, "param_types", None)
    if isinstance(fields, Mapping) and type(value).__name__ in _READ_RAW:
        read = {name: getattr(value, name, None) for name in fields}
        return {
            _META_SDK_KEYS.get(name, name): _plain(item)
            for name, item in read.items()
            if item is not None
        }
    normalize = getattr(value, "normalize", None)
    if callable(normalize):
        try:
            return _plain(normalize())
        except (TypeError, ValueError, AttributeError):  # its message may quote the value
            raise ValueError(
                f"{type(value).__name__}: Meta's SDK refuses a value of it (normalize())"
            ) from None
    return value


def _values(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _is_hashed(value: Any) -> bool:
    return isinstance(value, str) and _HEX64.fullmatch(value.strip()) is not None


def _is_md5(value: Any) -> bool:
    return isinstance(value, str) and _HEX32.fullmatch(value.strip()) is not None


def _event_name(b: _Builder, name: Any, known: Mapping[str, str], where: str) -> None:
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"{where}: missing: an event needs a name")
    mapped = known.get(name)
    if mapped is None:
        warn_once(
            ("convert", b.origin, "custom event"),
            f"{b.origin} {where}: a name that is not one of {b.origin}'s standard events is "
            "sent as a TikTok custom event, under its own name",
        )
    b.event["event"] = mapped or name


def _event_source(
    b: _Builder, value: Any, known: Mapping[str, str], where: str, given: str | None
) -> str:
    if given is not None:
        return given
    if value is None:
        return CONVERT_DEFAULT_EVENT_SOURCE
    mapped = known.get(str(value))
    if mapped is None:
        b.drop(where, f"not a known value: the event is sent as {CONVERT_DEFAULT_EVENT_SOURCE}")
        return CONVERT_DEFAULT_EVENT_SOURCE
    return mapped


def _hashed_or_raw(
    b: _Builder, where: str, values: list[Any], *, hashed_ok: bool, hashed_reason: str = ""
) -> list[str]:
    """The values to give the SDK: raw ones as they are (the SDK normalizes and hashes them),
    SHA-256 digests only when hashed_ok."""
    kept = []
    for index, value in enumerate(values):
        at = f"{where}[{index}]"
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)  # a number given as digits (a phone number, a zip code)
        if not isinstance(value, str) or not value.strip():
            if value not in (None, ""):
                b.drop(at, "not a text")
            continue
        if _is_hashed(value):
            if hashed_ok:
                kept.append(value.strip().lower())
            else:
                b.drop(at, hashed_reason)
        elif _is_md5(value):
            b.drop(at, _MD5)
        else:
            kept.append(value)
    return kept


def _meta_phone(value: str) -> str:
    """A raw phone number as Meta takes it, in the form TikTok's normalizer reads: Meta's
    numbers always carry their country code, with or without '+' or '00' (Meta's parameters:
    'Always include the country code'; its SDK strips a leading + and 00), so one without them
    gets its '+'. A number starting with a national 0 is left as it is (TikTok's normalizer
    reads it with the default phone region, or leaves it out)."""
    text = value.strip()
    if text.startswith("+"):
        return text
    digits = re.sub(r"[\s\-().]", "", text)
    if digits.startswith("00"):
        return "+" + digits[2:]
    if digits.isdigit() and not digits.startswith("0"):
        return "+" + digits
    return text


def _one(b: _Builder, where: str, values: list[str]) -> str | None:
    if len(values) > 1:
        for index in range(1, len(values)):
            b.drop(f"{where}[{index}]", _ONE)
    return values[0] if values else None


def _meta_user(b: _Builder, user: Mapping[str, Any], app: Mapping[str, Any]) -> None:
    for key, value in user.items():
        where = f"user_data.{key}"
        if value is None:
            continue
        if key == "em":
            b.put("user", "email", _hashed_or_raw(b, where, _values(value), hashed_ok=True))
        elif key == "ph":
            reason = (
                "a phone number Meta hashed (its digits without '+'): TikTok hashes E.164 with "
                "'+', so this hash can never match; send the raw number to convert it"
            )
            raw = _hashed_or_raw(b, where, _values(value), hashed_ok=False, hashed_reason=reason)
            b.put("user", "phone", [_meta_phone(number) for number in raw])
        elif key == "external_id":
            kept = [str(item) if isinstance(item, int) else item for item in _values(value)]
            b.put("user", "external_id", _hashed_or_raw(b, where, kept, hashed_ok=True))
        elif key in ("fn", "ln", "zp"):
            target = {"fn": "first_name", "ln": "last_name", "zp": "zip_code"}[key]
            kept = _hashed_or_raw(b, where, _values(value), hashed_ok=True)
            b.put("user", target, _one(b, where, kept))
        elif key in ("ct", "st", "country"):
            target = {"ct": "city", "st": "state", "country": "country"}[key]
            kept = _hashed_or_raw(
                b, where, _values(value), hashed_ok=False, hashed_reason=_HASHED_RAW
            )
            b.put("user", target, _one(b, where, kept))
        elif key == "client_ip_address":
            b.put("user", "ip", value)
        elif key == "client_user_agent":
            b.put("user", "user_agent", value)
        elif key == "madid":
            platform = _values(app.get("extinfo"))[:1]
            kind = {"i2": "idfa", "a2": "gaid"}.get(platform[0] if platform else "")
            if kind is None:
                b.drop(where, "an advertising ID of an unknown platform (see app_data.extinfo)")
            else:
                b.put("user", kind, value)
        else:
            b.drop(where, _META_USER_DROPPED.get(key, _NO_FIELD))


def _positive_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and value > 0:
        return value
    if isinstance(value, float) and value.is_integer() and value > 0:
        return int(value)
    return None


def _number(value: Any) -> float | int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        return None
    return value


def _content(b: _Builder, where: str, item: Any, names: Mapping[str, str]) -> dict[str, Any]:
    """One Meta content or ECAPI item as a TikTok contents item; names maps the source's keys
    of id, name, price, category to TikTok's."""
    if not isinstance(item, Mapping):
        b.drop(where, "not an object")
        return {}
    out: dict[str, Any] = {}
    for key, value in item.items():
        at = f"{where}.{key}"
        if value is None:
            continue
        target = names.get(key)
        if key == "quantity":
            quantity = _positive_int(value)
            if quantity is None:
                b.drop(at, "TikTok takes a positive whole number")
            else:
                out["quantity"] = quantity
        elif target == "price":
            price = _number(value)
            if price is None:
                b.drop(at, "TikTok takes a number, 0 or more")
            else:
                out["price"] = price
        elif target == "content_id":
            out[target] = str(value) if isinstance(value, int) else value
        elif target is not None:
            out[target] = value
        else:
            b.drop(at, _NO_FIELD)
    return out


_META_CONTENT = {
    "id": "content_id",
    "item_price": "price",
    "title": "content_name",
    "description": "description",
    "brand": "brand",
    "category": "content_category",
}


def _meta_custom(b: _Builder, custom: Mapping[str, Any]) -> None:
    for key, value in custom.items():
        where = f"custom_data.{key}"
        if value is None:
            continue
        if key in ("value", "predicted_ltv"):
            number = _number(value)
            if number is None:
                b.drop(where, "TikTok takes a number, 0 or more")
            else:
                b.put("properties", key, number)
        elif key in ("currency", "order_id", "delivery_category", "content_type"):
            b.put("properties", key, str(value) if key == "order_id" else value)
        elif key == "num_items":
            count = _positive_int(value)
            b.put("properties", key, count) if count else b.drop(
                where, "TikTok takes a whole number"
            )
        elif key == "search_string":
            b.put("properties", "search_string", value)
            b.put("properties", "query", value)
        elif key == "content_ids":
            b.put("properties", key, [str(item) for item in _values(value)])
        elif key == "contents":
            items = [
                _content(b, f"{where}[{index}]", item, _META_CONTENT)
                for index, item in enumerate(_values(value))
            ]
            b.put("properties", "contents", [item for item in items if item])
        elif key in ("content_name", "content_category"):
            b.drop(where, "TikTok takes names and categories on each contents item")
        elif key in ("net_revenue", "status", "item_number"):
            b.drop(where, _NO_FIELD)
        else:  # Meta's custom properties: TikTok's are open too (the SDK warns about them)
            b.put("properties", key, value)


def _meta_app(b: _Builder, app: Mapping[str, Any]) -> None:
    extinfo = _values(app.get("extinfo"))
    for key, value in app.items():
        where = f"app_data.{key}"
        if key == "extinfo":
            if len(extinfo) > 1 and extinfo[1]:
                b.put("app", "app_id", str(extinfo[1]))
            version = extinfo[3] if len(extinfo) > 3 and extinfo[3] else None
            if version is None and len(extinfo) > 2 and extinfo[2]:
                version = extinfo[2]
            if version is not None:
                b.put("app", "app_version", str(version))
        elif key == "advertiser_tracking_enabled" and extinfo[:1] == ["i2"]:
            b.put("user", "att_status", "AUTHORIZED" if value else "DENIED")
        elif value is not None:
            b.drop(where, _NO_FIELD)


def from_meta(event: Any, *, event_source: str | None = None) -> Converted:
    """One Meta Conversions API server event (a dict as Meta's API takes it, or a
    facebook_business `Event`) as a TikTok Events 2.0 event.

    event_source overrides the one action_source gives.

    Raises:
        ValueError: the event is not an object, or has no event_name or event_time.
    """
    source = _plain(event)
    if not isinstance(source, Mapping):
        raise ValueError("a Meta event is an object")
    b = _Builder("meta")
    _event_name(b, source.get("event_name"), META_EVENTS, "event_name")
    if source.get("event_time") is None:
        raise ValueError("event_time: missing: Meta's events carry it (Unix seconds)")
    chosen = _event_source(
        b, source.get("action_source"), META_ACTION_SOURCES, "action_source", event_source
    )
    given_app = source.get("app_data")
    app: Mapping[str, Any] = given_app if isinstance(given_app, Mapping) else {}
    for key, value in source.items():
        if value is None:
            continue
        if key == "event_time":
            b.event["event_time"] = value
        elif key == "event_id":
            b.event["event_id"] = str(value) if isinstance(value, int) else value
        elif key == "event_source_url":
            b.put("page", "url", value)
        elif key == "referrer_url":
            b.put("page", "referrer", value)
        elif key == "data_processing_options":
            b.event["limited_data_use"] = "LDU" in _values(value)
        elif key in ("data_processing_options_country", "data_processing_options_state"):
            if "LDU" not in _values(source.get("data_processing_options")) and value not in (0,):
                b.drop(key, _NO_FIELD)
        elif key == "user_data" and isinstance(value, Mapping):
            _meta_user(b, value, app)
        elif key == "custom_data" and isinstance(value, Mapping):
            _meta_custom(b, value)
        elif key == "app_data" and isinstance(value, Mapping):
            _meta_app(b, value)
        elif key in ("event_name", "action_source"):
            continue
        elif key in ("user_data", "custom_data", "app_data"):
            b.drop(key, "not an object")
        elif key == "opt_out":
            if value:
                b.drop(key, f"{_NO_FIELD} (Meta's: use the event for attribution only)")
        else:
            b.drop(key, _NO_FIELD)
    return Converted(b.event, chosen, b.dropped)


_ECAPI_ITEM = {
    "id": "content_id",
    "name": "content_name",
    "price": "price",
    "brand": "brand",
    "category": "content_category",
}

_ECAPI_USER_DROPPED: dict[str, str] = {
    "uids": f"{_NO_FIELD} (other platforms' user IDs)",
    "customer_segments": _NO_FIELD,
    "utcoffset": _NO_FIELD,
    "gpp_string": f"{_NO_FIELD} (TikTok takes no GPP string; set limited_data_use yourself)",
    "gpp_sid": f"{_NO_FIELD} (TikTok takes no GPP string)",
    "mmt_only": f"{_NO_FIELD} (attribution only)",
    "impression_id": _NO_FIELD,
    "ifa": f"{_NO_FIELD}: an advertising ID of an unknown platform (TikTok tells idfa from gaid)",
    "landing_ip_address": f"{_NO_FIELD} (TikTok takes the event's IP address)",
    "landing_user_agent": f"{_NO_FIELD} (TikTok takes the event's user agent)",
    "age_range": f"{_NO_FIELD} (age)",
    "gender": f"{_NO_FIELD} (gender)",
    "ext": f"{_NO_FIELD} (a platform's extension)",
}


def _ecapi_address(b: _Builder, where: str, address: Any) -> None:
    if not isinstance(address, Mapping):
        b.drop(where, "not an object")
        return
    for key, value in address.items():
        at = f"{where}.{key}"
        if value is None:
            continue
        if key in ("first_name", "last_name", "postal_code"):
            target = "zip_code" if key == "postal_code" else key
            b.put("user", target, _one(b, at, _hashed_or_raw(b, at, [value], hashed_ok=True)))
        elif key in ("city", "state", "country_code"):
            target = "country" if key == "country_code" else key
            kept = _hashed_or_raw(b, at, [value], hashed_ok=False, hashed_reason=_HASHED_RAW)
            b.put("user", target, _one(b, at, kept))
        else:
            b.drop(at, _NO_FIELD)


def _ecapi_user(b: _Builder, user: Mapping[str, Any]) -> None:
    for key, value in user.items():
        where = f"user_data.{key}"
        if value is None:
            continue
        if key == "email_address":
            b.put("user", "email", _hashed_or_raw(b, where, _values(value), hashed_ok=True))
        elif key == "phone_numbers":  # hashed with '+' and country code: TikTok's form
            b.put("user", "phone", _hashed_or_raw(b, where, _values(value), hashed_ok=True))
        elif key == "customer_identifier":
            b.put("user", "external_id", _hashed_or_raw(b, where, [value], hashed_ok=True))
        elif key == "address":
            addresses = _values(value)
            if addresses:
                _ecapi_address(b, f"{where}[0]" if isinstance(value, list) else where, addresses[0])
            for index in range(1, len(addresses)):
                b.drop(f"{where}[{index}]", "TikTok takes one address: the first is sent")
        elif key == "click_id":
            b.put("user", "ttclid", value)
        elif key == "event_ip_address":
            b.put("user", "ip", value)
        elif key == "event_user_agent":
            b.put("user", "user_agent", value)
        else:
            b.drop(where, _ECAPI_USER_DROPPED.get(key, _NO_FIELD))


def _ecapi_properties(b: _Builder, properties: Mapping[str, Any]) -> None:
    for key, value in properties.items():
        where = f"properties.{key}"
        if value is None:
            continue
        if key == "transaction_id":
            b.put("properties", "order_id", str(value))
        elif key == "items":
            items = [
                _content(b, f"{where}[{index}]", item, _ECAPI_ITEM)
                for index, item in enumerate(_values(value))
            ]
            b.put("properties", "contents", [item for item in items if item])
        elif key == "page_url":
            b.put("page", "url", value)
        elif key == "referrer":
            b.put("page", "referrer", value)
        elif key == "search_term":
            b.put("properties", "search_string", value)
            b.put("properties", "query", value)
        elif key in _ECAPI_SAME_PROPERTIES and isinstance(value, str):
            b.put("properties", key, value)
        elif key == "destination_ids":
            b.put("properties", key, [str(item) for item in _values(value)])
        else:
            b.drop(where, _NO_FIELD)


def from_ecapi(event: Any, *, event_source: str | None = None) -> Converted:
    """One IAB Tech Lab ECAPI 1.0 event (its core Event object) as a TikTok Events 2.0 event.

    event_source overrides the one ECAPI's source gives.

    Raises:
        ValueError: the event is not an object, has no timestamp, or no event_type (or
            custom_event for event_type custom).
    """
    if not isinstance(event, Mapping):
        raise ValueError("an ECAPI event is an object")
    b = _Builder("ecapi")
    kind = event.get("event_type")
    if kind == "custom":
        _event_name(b, event.get("custom_event"), {}, "custom_event")
    else:
        _event_name(b, kind, ECAPI_EVENTS, "event_type")
    if event.get("timestamp") is None:
        raise ValueError("timestamp: missing: ECAPI requires it (Unix seconds)")
    chosen = _event_source(b, event.get("source"), ECAPI_ACTION_SOURCES, "source", event_source)
    for key, value in event.items():
        if value is None:
            continue
        if key == "timestamp":
            b.event["event_time"] = value
        elif key == "id":
            b.event["event_id"] = str(value) if isinstance(value, int) else value
        elif key == "value":
            number = _number(value)
            if number is None:
                b.drop(key, "TikTok takes a number, 0 or more")
            else:
                b.put("properties", "value", number)
        elif key == "currency_code":
            b.put("properties", "currency", value)
        elif key == "user_data" and isinstance(value, Mapping):
            _ecapi_user(b, value)
        elif key == "properties" and isinstance(value, Mapping):
            _ecapi_properties(b, value)
        elif key in ("user_data", "properties"):
            b.drop(key, "not an object")
        elif key == "data_set_id":
            b.drop(key, "TikTok's event source ID is given by the caller (event_source_id)")
        elif key in ("event_type", "source") or (key == "custom_event" and kind == "custom"):
            continue
        else:
            b.drop(key, _NO_FIELD)
    return Converted(b.event, chosen, b.dropped)


@dataclass(frozen=True)
class ConvertedLine:
    """One event of a file, converted: where it was read (1-based line), and either `body`,
    its hashed /event/track/ request body, with `dropped` (the fields left out: the
    conversion's and, as "path: reason", the match keys the SDK could not use), or `error`,
    why it could not be converted (never the content itself)."""

    source: str
    line: int
    body: dict[str, Any] | None = None
    dropped: tuple[tuple[str, str], ...] = ()
    error: str | None = None


def read_events(
    path: str | os.PathLike[str] | IO[bytes], *, source: str | None = None
) -> Iterator[tuple[str, int, Any, str | None]]:
    """(source, line, event, error) for each event of a file of Meta or ECAPI events:
    NDJSON, a JSON event or array, or Meta's request body ({"data": [...]}) on a line or as
    the whole file (stored.read_payloads reads them: gzip too, any size)."""
    from pytt_events.stored import read_payloads

    for stored in read_payloads(path, source=source):
        if stored.error is not None:
            yield stored.source, stored.line, None, stored.error
        elif isinstance(stored.payload, Mapping) and isinstance(stored.payload.get("data"), list):
            for item in stored.payload["data"]:
                yield stored.source, stored.line, item, None
        else:
            yield stored.source, stored.line, stored.payload, None


def convert_file(
    path: str | os.PathLike[str] | IO[bytes],
    origin: Origin,
    *,
    event_source_id: str | None = None,
    event_source: str | None = None,
    source: str | None = None,
    api: TikTokEventsApi | None = None,
    auth: TikTokAuth | None = None,
) -> Iterator[ConvertedLine]:
    """Convert a file of Meta (origin "meta") or ECAPI ("ecapi") events into hashed TikTok
    /event/track/ request bodies, one an event, as `pytt-events validate` and `send` read
    them: each event is prepared as `track` prepares it (`prepare_track`: validated,
    normalized, hashed). event_source_id defaults to TIKTOK_PIXEL_ID; no access token is
    needed (nothing is sent).

    Raises:
        OSError: the input cannot be read.
    """
    from pydantic import ValidationError

    from pytt_events.auth import TikTokAuth as Auth
    from pytt_events.tiktok_events_api import TikTokEventsApi

    if auth is None:
        try:
            auth = Auth()
        except ValidationError:  # nothing is sent: a placeholder token stands in
            auth = Auth(TIKTOK_ACCESS_TOKEN="convert", TIKTOK_PIXEL_ID=event_source_id or "-")  # noqa: S106
    client = api or TikTokEventsApi()
    try:
        yield from _converted_lines(
            path, origin, client, auth, event_source_id, event_source, source
        )
    finally:
        if api is None:
            client.close()


def _converted_lines(
    path: str | os.PathLike[str] | IO[bytes],
    origin: Origin,
    client: TikTokEventsApi,
    auth: TikTokAuth,
    event_source_id: str | None,
    event_source: str | None,
    source: str | None,
) -> Iterator[ConvertedLine]:
    from pytt_events import PayloadValidationError

    convert = from_meta if origin == "meta" else from_ecapi
    for name, line, event, error in read_events(path, source=source):
        if error is not None:
            yield ConvertedLine(name, line, error=error)
            continue
        try:
            converted = convert(event, event_source=event_source)
            prepared = client.prepare_track(
                converted.event,
                auth=auth,
                event_source=converted.event_source,
                event_source_id=event_source_id,
            )
        except PayloadValidationError as problem:  # names the fields, never the values
            yield ConvertedLine(name, line, error=str(problem))
            continue
        except ValueError as problem:  # from_meta / from_ecapi: a missing name or time
            yield ConvertedLine(name, line, error=str(problem))
            continue
        keys = tuple(
            (where.partition(": ")[0], where.partition(": ")[2])
            for where in prepared.dropped_keys.get(0, ())
        )
        body = prepared.single_payloads()[0][2]
        yield ConvertedLine(name, line, body=body, dropped=(*converted.dropped, *keys))
