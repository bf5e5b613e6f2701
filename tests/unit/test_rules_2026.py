"""The rules of "take what TikTok takes, refuse only what TikTok refuses", one table each:
identifiers and currency coerced on the model paths (stored payloads are not: see
test_validation.py), the 2025 event names and their deprecations, event_source_id by
event_source, att_status, contents fields, ttclid from the page URL, a default phone region,
and China's numbers."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from pydantic import ValidationError

from pytt_events import PayloadValidationError, TikTokEventsApi, _hashing, _soft
from pytt_events._plan import track_chunks
from pytt_events.auth import TikTokAuth
from pytt_events.context import Context
from pytt_events.models.v1_3 import (
    Content,
    EventTrackRequest,
    Lead,
    StandardEvent,
    TrackEvent,
    TrackProperties,
    TrackUser,
)
from pytt_events.validation import validate_payload
from tests.conftest import errors

EVENT = {"event": "Purchase", "event_time": 1_900_000_000, "event_id": "e1"}

# model, field, given, stored
COERCED = [
    (TrackEvent, "event_id", 273196, "273196"),
    (Content, "content_id", 42, "42"),
    (TrackProperties, "order_id", 1001, "1001"),
    (TrackProperties, "shop_id", 7, "7"),
    (TrackProperties, "content_ids", [1, "2"], ["1", "2"]),
    (TrackUser, "external_id", 123456, "123456"),
    (TrackUser, "lead_id", 7123456789, "7123456789"),
    (Lead, "lead_id", 99, "99"),
    (TrackProperties, "currency", "brl", "BRL"),
]


@pytest.mark.parametrize(("model", "field", "given", "stored"), COERCED)
def test_what_a_program_naturally_sends_is_coerced(
    model: Any, field: str, given: Any, stored: Any
) -> None:
    extra = {"event": "Purchase", "event_time": 1_900_000_000} if model is TrackEvent else {}
    value = getattr(model(**extra, **{field: given}), field)
    assert getattr(value, "value", value) == stored


def test_booleans_are_not_numbers() -> None:
    with pytest.raises(ValidationError):
        TrackEvent(event="Purchase", event_time=1_900_000_000, event_id=True)


@pytest.mark.parametrize("name", ["Purchase", "Lead", "Pageview", "StartTrial", "LaunchAPP",
                                  "InAppADImpr", "CompletePayment"])  # fmt: skip
def test_2025_and_app_event_names_are_known(name: str) -> None:
    assert TrackEvent(event=name, event_time=1_900_000_000).event is StandardEvent(name)


@pytest.mark.parametrize(
    ("name", "replacement"),
    [("CompletePayment", "Purchase"), ("SubmitForm", "Lead"), ("ClickButton", "2027"),
     ("PlaceAnOrder", "2027")],
)  # fmt: skip
def test_deprecated_names_are_sent_with_one_warning_per_name(
    name: str, replacement: str, caplog: pytest.LogCaptureFixture
) -> None:
    _soft.forget_warnings()
    with caplog.at_level(logging.WARNING, logger="pytt_events"):
        for _ in range(3):
            (chunk,) = track_chunks(
                [(0, TrackEvent(event=name, event_time=1_900_000_000))],
                event_source="web",
                event_source_id="COQDA8RC77U2TMR44LI0",
            )
            assert chunk.body["data"][0]["event"] == name
    named = [r.getMessage() for r in caplog.records if name in r.getMessage()]
    assert len(named) == 1
    assert replacement in named[0]


# event_source, event_source_id, refused
SOURCE_IDS = [
    ("web", "COQDA8RC77U2TMR44LI0", False),
    ("app", "COQDA8RC77U2TMR44LI0", True),
    ("offline", "COQDA8RC77U2TMR44LI0", True),
    ("crm", "COQDA8RC77U2TMR44LI0", True),
    ("app", "7123456789", False),
    ("offline", "7123456789012345678", False),
    ("crm", "7123456789012345678", False),
    ("offline", "test", False),  # neither shape: a warning (test_validation.py)
    ("web", "{{PIXEL-CODE}}", False),
]


@pytest.mark.parametrize(("source", "source_id", "refused"), SOURCE_IDS)
def test_event_source_id_must_fit_the_source(source: str, source_id: str, refused: bool) -> None:
    body = {"event_source": source, "event_source_id": source_id, "data": [EVENT]}
    problems = errors(validate_payload(body))
    if refused:
        assert [p.path for p in problems] == ["/event_source_id"]
        assert "is a pixel code, which only web events take" in problems[0].message
        with pytest.raises(ValidationError, match="is a pixel code"):
            EventTrackRequest.model_validate(body)
        with TikTokEventsApi() as api, pytest.raises(PayloadValidationError, match="pixel code"):
            api.track(EVENT, auth=_auth(), event_source=source, event_source_id=source_id)
    else:
        assert problems == []
        EventTrackRequest.model_validate(body)


def _auth() -> TikTokAuth:
    return TikTokAuth(
        TIKTOK_ACCESS_TOKEN="t", TIKTOK_PIXEL_ID="P", TIKTOK_API_BASE_URL="http://127.0.0.1:9/"
    )


@pytest.mark.parametrize(
    "status", ["AUTHORIZED", "DENIED", "NOT_DETERMINED", "RESTRICTED", "NOT_APPLICABLE"]
)
def test_att_status(status: str) -> None:
    assert TrackUser(att_status=status).att_status.value == status  # type: ignore[union-attr]
    with pytest.raises(ValidationError):
        TrackUser(att_status="AUTO")  # Segment's own choice, resolved before sending


def test_contents_take_status_brand_and_description() -> None:
    item = Content(content_id="1", status="shipped", brand="Acme", description="A thing")
    assert (item.status, item.brand, item.description) == ("shipped", "Acme", "A thing")


# field, page URL, given, sent
TTCLID = [
    ("https://shop.example/p?a=1&ttclid=E.C.P.abc", None, "E.C.P.abc"),
    ("https://shop.example/p?ttclid=E.C.P.abc", "E.C.P.given", "E.C.P.given"),
    ("https://shop.example/p?a=1", None, None),
]


@pytest.mark.parametrize(("url", "given", "sent"), TTCLID)
def test_ttclid_comes_from_the_page_url_when_not_given(
    url: str, given: str | None, sent: str | None
) -> None:
    user = {"ttclid": given} if given else None
    event = TrackEvent(event="ViewContent", event_time=1_900_000_000, page={"url": url}, user=user)
    assert (event.user.ttclid if event.user else None) == sent
    context = Context(page={"url": url}, ad={"callback": given} if given else None)
    assert (context.ad.callback if context.ad else None) == sent


def test_a_default_phone_region_normalizes_national_numbers() -> None:
    assert "default_phone_region" in TrackUser(phone="(41) 99886-2934").phone.reason  # type: ignore[union-attr]
    try:
        TikTokEventsApi(default_phone_region="BR").close()
        assert TrackUser(phone="(41) 99886-2934").phone == "+5541998862934"
    finally:
        _hashing.set_default_phone_region(None)


def test_the_default_phone_region_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TIKTOK_DEFAULT_PHONE_REGION", "GB")
    try:
        TikTokEventsApi().close()
        assert TrackUser(phone="020 7946 0958").phone == "+442079460958"
    finally:
        _hashing.set_default_phone_region(None)


@pytest.mark.parametrize(
    ("given", "normalized", "hashed_as"),
    [("+86 138 0013 8000", "+8613800138000", "13800138000"),
     ("+1 310 555 1234", "+13105551234", "+13105551234")],
)  # fmt: skip
def test_chinese_numbers_are_hashed_without_the_country_code(
    given: str, normalized: str, hashed_as: str
) -> None:
    assert _hashing.normalize_phone(given) == normalized
    assert _hashing.normalize_phone(normalized) == normalized  # idempotent
    assert _hashing.hash_value("phone", given) == _hashing.sha256_hex(hashed_as)


def test_north_american_numbers_are_not_taken_for_chinese_ones() -> None:
    assert _hashing.normalize_phone("13105551234", "US") == "+13105551234"
    with pytest.raises(ValueError, match="international format"):
        _hashing.normalize_phone("13105551234")  # no country code, no region: refused


def test_a_currency_with_spaces_is_coerced_too() -> None:
    assert TrackProperties(currency=" USD ").currency.value == "USD"  # type: ignore[union-attr]
