"""Events 2.0 models: personal data of every field, event_time, event_id, absent values."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import uuid
from typing import Any

import pytest
from pydantic import ValidationError

from pytt_events import _soft
from pytt_events._hashing import EMPTY_SHA256
from pytt_events._marks import unusable_values
from pytt_events._plan import track_chunks
from pytt_events.track import ContentType, EventTrackRequest, StandardEvent, TrackEvent, TrackUser


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sent_user(**user: Any) -> dict[str, Any]:
    """The user object as it leaves the SDK for an event with this user."""
    event = TrackEvent(event="Purchase", event_time=1697783008, user=user)
    (chunk,) = track_chunks([(0, event)], event_source="web", event_source_id="PIXEL")
    sent: dict[str, Any] = chunk.body["data"][0]["user"]
    return sent


# field, given, normalized before hashing
HASHED = [
    ("email", " Ana.Silva@Example.COM ", "ana.silva@example.com"),
    ("phone", "+55 (41) 99886-2934", "+5541998862934"),
    ("external_id", "  Customer-77 ", "Customer-77"),
    ("first_name", "  Ana ", "ana"),
    # Names lose all their whitespace, as TikTok's code does (formatString).
    ("first_name", " Ana Luiza ", "analuiza"),
    ("last_name", "SILVA", "silva"),
    ("last_name", "da Silva", "dasilva"),
    ("zip_code", " SW1A 1AA ", "sw1a1aa"),
    ("idfa", "6D92078A-8246-4BA4-AE5B-76104861E7DC", "6d92078a-8246-4ba4-ae5b-76104861e7dc"),
    ("gaid", " 38400000-8CF0-11BD-B23E-10B96E40000D", "38400000-8cf0-11bd-b23e-10b96e40000d"),
]
NOT_HASHED = {
    "ttp": "2F7h37YkS1j57AYSKTI7IHhJPYH",
    "ttclid": "E.C.P.abc",
    "ip": "2001:db8::1",
    "user_agent": "Chrome/91.0.4472.124",
    "locale": "pt-BR",
    "idfv": "B5372DB0-C21E-11E4-8DFC-AA07A5B093DB",
    "lead_id": "7123456789",
}


# Rule "location fields are not hashed": city, state and country are sent normalized (ASCII
# letters and digits, lowercase: TikTok's formatAddress) but raw.
RAW_NORMALIZED = [
    ("city", "São Paulo", "sopaulo"),
    ("city", "St. Louis", "stlouis"),
    ("city", "New York", "newyork"),
    ("state", " PR ", "pr"),
    ("state", "Rio de Janeiro", "riodejaneiro"),
    ("country", "BR", "br"),
    ("country", "United States", "unitedstates"),
    ("country", "Brasil", "brasil"),
]


@pytest.mark.parametrize(("field", "given", "normalized"), RAW_NORMALIZED)
def test_location_fields_are_normalized_but_not_hashed(
    field: str, given: str, normalized: str
) -> None:
    assert sent_user(**{field: given})[field] == normalized
    assert TrackUser(**{field: given}).model_dump()[field] == normalized


def test_an_unknown_country_is_sent_normalized_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    _soft.forget_warnings()
    with caplog.at_level(logging.WARNING, logger="pytt_events"):
        assert sent_user(country="Narnia")["country"] == "narnia"
        assert sent_user(country="Atlantis")["country"] == "atlantis"
    country = [record for record in caplog.records if "country" in record.getMessage()]
    assert len(country) == 1  # once per process
    assert "TrackUser.country is neither an ISO 3166-1 alpha-2 code nor a country name" in (
        caplog.text
    )
    assert "narnia" not in caplog.text.lower()


def test_a_location_left_empty_by_normalization_is_absent() -> None:
    assert "city" not in sent_user(city="東京", ttp="t")


@pytest.mark.parametrize(("field", "given", "normalized"), HASHED)
def test_every_personal_data_field_is_normalized_then_hashed(
    field: str, given: str, normalized: str
) -> None:
    assert sent_user(**{field: given})[field] == digest(normalized)


def test_other_user_fields_are_sent_as_given() -> None:
    assert sent_user(**NOT_HASHED) == NOT_HASHED


@pytest.mark.parametrize("field", ["email", "phone", "external_id"])
def test_identifiers_take_one_value_or_a_list(field: str) -> None:
    value = {"email": "a@b.co", "phone": "+14155550132", "external_id": "x"}[field]
    normalized = {"email": "a@b.co", "phone": "+14155550132", "external_id": "x"}[field]
    assert sent_user(**{field: value})[field] == digest(normalized)
    assert sent_user(**{field: [value, value.upper()]})[field][0] == digest(normalized)


@pytest.mark.parametrize("empty", ["", "   ", EMPTY_SHA256, EMPTY_SHA256.upper()])
def test_empty_identifiers_are_dropped_never_hashed(empty: str) -> None:
    user = sent_user(email=empty, phone=[empty, "+14155550132"], first_name=empty, ttp="t")
    assert user == {"phone": [digest("+14155550132")], "ttp": "t"}


def test_hashed_values_pass_through() -> None:
    hashed = digest("someone")
    assert sent_user(email=[hashed], zip_code=hashed.upper()) == {
        "email": [hashed],
        "zip_code": hashed,
    }


@pytest.mark.parametrize(
    ("field", "bad"),
    [("email", "not-an-email"), ("phone", "41998862934")],
)
def test_invalid_personal_data_names_the_field_not_the_value(field: str, bad: str) -> None:
    user = TrackUser(**{field: bad})
    assert unusable_values(user) == [(field, getattr(user, field).reason)]
    assert bad not in repr(user) + getattr(user, field).reason


def test_repr_hides_personal_data() -> None:
    user = TrackUser(email="ana@example.com", first_name="Ana", city="Curitiba", ttp="t")
    assert "ana@example.com" not in repr(user)
    assert "Ana" not in repr(user)
    assert "Curitiba" not in repr(user)


# -- event_time ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "given",
    [
        1697783008,
        "2023-10-20T06:23:28Z",
        "2023-10-20T03:23:28-03:00",
        "2023-10-20 06:23:28+00:00",
        dt.datetime(2023, 10, 20, 6, 23, 28, tzinfo=dt.timezone.utc),
        1697783008123,  # milliseconds
        1697783008.9,
        "1697783008",
    ],
)
def test_event_time_becomes_unix_seconds(given: Any) -> None:
    assert TrackEvent(event="Purchase", event_time=given).event_time == 1697783008


def test_naive_datetime_is_local_time() -> None:
    naive = dt.datetime(2023, 10, 20, 6, 23, 28)
    expected = int(naive.astimezone().timestamp())
    assert TrackEvent(event="X", event_time=naive).event_time == expected


@pytest.mark.parametrize("bad", [0, "2023-10-20T06:23:28", "yesterday", True, None])
def test_bad_event_times_are_refused(bad: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        TrackEvent(event="X", event_time=bad)
    assert caught.value.errors()[0]["loc"] == ("event_time",)


# -- event_id, names, properties ------------------------------------------------------------


def test_event_id_is_generated_once_when_missing() -> None:
    event = TrackEvent(event="Purchase", event_time=1697783008)
    assert event.event_id is not None
    assert uuid.UUID(event.event_id).version == 4
    (first,) = track_chunks([(0, event)], event_source="web", event_source_id="P")
    (second,) = track_chunks([(0, event)], event_source="web", event_source_id="P")
    assert first.body["data"][0]["event_id"] == second.body["data"][0]["event_id"]
    assert TrackEvent(event="X", event_time=1697783008, event_id="mine").event_id == "mine"


def test_dict_input_is_not_mutated() -> None:
    given: dict[str, Any] = {
        "event": "X",
        "event_time": "2023-10-20T06:23:28Z",
        "user": {"email": ""},
    }
    snapshot = repr(given)
    TrackEvent.model_validate(given)
    assert repr(given) == snapshot


def test_standard_and_custom_event_names() -> None:
    assert TrackEvent(event="Purchase", event_time=1697783008).event is StandardEvent.PURCHASE
    assert TrackEvent(event="InstallApp", event_time=1697783008).event == "InstallApp"


def test_content_type_at_both_levels_and_custom_properties() -> None:
    event = TrackEvent(
        event="ViewContent",
        event_time=1697783008,
        properties={
            "content_type": "product_group",
            "contents": [{"content_id": "1", "content_type": "product"}],
            "content_ids": ["1"],
            "num_items": 1,
            "order_id": "o-1",
            "shop_id": "s-1",
            "checkin_date": "20240101",
            "mileage": {"unit": "MI", "value": 12345},
        },
    )
    assert event.properties is not None
    assert event.properties.content_type is ContentType.PRODUCT_GROUP
    dumped = event.properties.model_dump(exclude_none=True)
    assert dumped["contents"][0]["content_type"] is ContentType.PRODUCT
    assert dumped["mileage"] == {"unit": "MI", "value": 12345}


def test_test_event_code_inside_an_event_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        TrackEvent(event="X", event_time=1697783008, test_event_code="T1")
    assert caught.value.errors()[0]["type"] == "extra_forbidden"


def test_request_limits_come_from_the_schema() -> None:
    event = TrackEvent(event="X", event_time=1697783008)
    with pytest.raises(ValidationError, match="at most 1000 items"):
        EventTrackRequest(event_source="web", event_source_id="P", data=[event] * 1001)
    with pytest.raises(ValidationError, match="'web', 'app', 'offline' or 'crm'"):
        EventTrackRequest(event_source="website", event_source_id="P", data=[event])
