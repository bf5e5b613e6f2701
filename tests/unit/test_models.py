"""Every validation rule of the Events 1.0 models, and what they never reveal."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pytest
from pydantic import ValidationError

from pytt_events import _soft
from pytt_events._hashing import UnusableValue
from pytt_events._marks import unusable_values
from pytt_events.context import Ad, Context, Page, User
from pytt_events.event import Event
from pytt_events.properties import Content, ContentType, Properties
from pytt_events.supported_events import SupportedEvents

RAW = ("jane.doe@example.com", "+14155550132", "customer-991")


def make_event(**changes: Any) -> Event:
    fields: dict[str, Any] = {
        "pixel_code": "PIXEL",
        "event": "ViewContent",
        "context": {"user": {"external_id": "1"}},
    }
    fields.update(changes)
    return Event(**fields)


def error_of(build: Any) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        build()
    return caught.value


# --- personal data ---------------------------------------------------------------------------


def test_phone_is_stored_in_e164() -> None:
    assert User(phone_number="+55 (41)9.9886-2934").phone_number == "+5541998862934"


def test_phone_without_country_code_names_the_field_not_the_value() -> None:
    # A number that cannot be read is no match key: the model holds it as absent, with why.
    phone = User(phone_number="5541998862934", email="a@b.co").phone_number
    assert isinstance(phone, UnusableValue)
    assert phone == ""
    assert "international format" in phone.reason
    assert "default_phone_region" in phone.reason
    assert "5541998862934" not in phone.reason + repr(phone)


def test_email_is_checked_and_normalized() -> None:
    assert User(email="  Jane.Doe@Example.com ").email == "jane.doe@example.com"
    email = User(email="jane.doe-at-example.com").email
    assert isinstance(email, UnusableValue)
    assert email.reason == "not a valid e-mail address (expected name@domain.tld)"


def test_external_id_is_trimmed() -> None:
    assert User(external_id="  customer-991 ").external_id == "customer-991"


def test_hashed_identifiers_are_accepted_as_they_are() -> None:
    digest = "a" * 64
    user = User(email=digest, phone_number=digest.upper(), external_id=digest)
    assert (user.email, user.phone_number, user.external_id) == (digest, digest, digest)


def test_user_needs_at_least_one_identifier() -> None:
    error = error_of(User)
    assert "at least 1 of: external_id, email, phone_number, ttp" in str(error)
    assert User(ttp="abc").ttp == "abc"


def test_a_subclass_with_its_own_post_init_keeps_the_rules_on_the_whole_model() -> None:
    seen: list[str] = []

    class AppUser(User):
        def model_post_init(self, context: Any, /) -> None:
            seen.append("post_init")

    assert "at least 1 of" in str(error_of(AppUser))
    seen.clear()
    AppUser(external_id="1")
    assert seen == ["post_init"]
    # Given to another model, a built user is taken as it is (not checked again).
    Context(user=AppUser(ttp="abc"))
    assert seen == ["post_init", "post_init"]


def test_repr_and_str_hide_personal_data() -> None:
    user = User(email=RAW[0], phone_number=RAW[1], external_id=RAW[2], ttp="cookie")
    event = make_event(context=Context(user=user))
    for text in (repr(user), str(user), repr(event), str(event)):
        assert not any(raw in text for raw in RAW)
        assert "<hidden>" in text
    assert "cookie" in repr(user)  # ttp is not personal data


def test_nested_validation_errors_name_the_path_and_hide_every_input() -> None:
    error = error_of(
        lambda: make_event(context={"user": {"email": RAW[0], "ttp": 5}, "ip": "999.1.1.1"})
    )
    locations = {item["loc"] for item in error.errors()}
    assert locations == {("context", "user", "ttp"), ("context", "ip")}
    assert not any(raw in str(error) for raw in (*RAW, "999.1.1.1"))


def test_unusable_values_are_named_by_path_and_reason_never_shown() -> None:
    event = make_event(context={"user": {"email": RAW[0] + " x", "phone_number": "0" + RAW[1][1:]}})
    found = unusable_values(event)
    assert [path for path, _ in found] == ["context.user.email", "context.user.phone_number"]
    assert not any(raw in str(found) for raw in (*RAW, "04155550132"))


# --- network, page, ad -----------------------------------------------------------------------


@pytest.mark.parametrize("ip", ["13.57.97.131", "2001:db8::1", "2001:db8::8a2e:370:7334"])
def test_ipv4_and_ipv6_are_accepted(ip: str) -> None:
    assert str(Context(ip=ip).ip) == ip


@pytest.mark.parametrize("ip", ["13.57.97", "999.1.1.1", "localhost", "2001:db8:::1"])
def test_invalid_ips_are_refused(ip: str) -> None:
    error = error_of(lambda: Context(ip=ip))
    assert error.errors()[0]["loc"][0] == "ip"


@pytest.mark.parametrize("url", ["https://a b.com", "", " https://example.com"])
def test_page_urls_have_no_whitespace(url: str) -> None:
    error = error_of(lambda: Page(url=url))
    assert error.errors()[0]["loc"] == ("url",)


def test_page_accepts_bare_hosts_as_integrations_send_them() -> None:
    assert Page(referrer="posthog.com").referrer == "posthog.com"


def test_page_keeps_urls_as_given() -> None:
    page = Page(url="https://www.example.com", referrer="http://demo.mywebsite.com?a=b&ttclid=1")
    assert page.url == "https://www.example.com"
    assert page.referrer == "http://demo.mywebsite.com?a=b&ttclid=1"


def test_documented_ttclid_is_accepted_silently(caplog: pytest.LogCaptureFixture) -> None:
    _soft.forget_warnings()
    with caplog.at_level(logging.WARNING, logger="pytt_events"):
        assert Ad(callback="E.C.P.v3fQ2RHacdkf").callback == "E.C.P.v3fQ2RHacdkf"
    assert caplog.records == []


def test_other_ttclids_are_accepted_with_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    _soft.forget_warnings()
    with caplog.at_level(logging.WARNING, logger="pytt_events"):
        assert Ad(callback="myttclid").callback == "myttclid"
        Ad(callback="123ATXSfe")
    assert len(caplog.records) == 1
    assert "Ad.callback" in caplog.text
    assert "myttclid" not in caplog.text


def test_empty_ttclid_is_kept_on_the_model() -> None:
    assert Ad(callback="").callback == ""


# --- properties and contents -----------------------------------------------------------------


def test_currency_must_be_iso_4217() -> None:
    assert Properties(currency="BRL").currency == "BRL"
    # Rule "coerce": a lower-case code is upper-cased on the model paths.
    assert Properties(currency="brl").currency == "BRL"
    for bad in ("REAL", "XYZ"):
        error = error_of(lambda bad=bad: Properties(currency=bad))
        assert error.errors()[0]["loc"] == ("currency",)


def test_a_currency_tiktok_does_not_support_is_sent_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    _soft.forget_warnings()
    with caplog.at_level(logging.WARNING, logger="pytt_events"):
        assert Properties(currency="XTS").currency == "XTS"
        Properties(currency="USD")
    assert len(caplog.records) == 1
    assert "Properties.currency is not one of the 67 values TikTok supports" in caplog.text


@pytest.mark.parametrize(("model", "field"), [(Properties, "value"), (Content, "price")])
def test_value_and_price_may_be_zero(model: Any, field: str) -> None:
    assert getattr(model(**{field: 0}), field) == 0


@pytest.mark.parametrize(
    ("model", "field", "amount", "reason"),
    [
        (Properties, "value", -1, "greater than or equal to 0"),
        (Content, "price", -1, "greater than or equal to 0"),
        (Content, "quantity", 0, "greater than 0"),
        (Content, "quantity", -1, "greater than 0"),
    ],
)
def test_amounts_must_not_be_negative(model: Any, field: str, amount: int, reason: str) -> None:
    error = error_of(lambda: model(**{field: amount}))
    assert error.errors()[0]["loc"] == (field,)
    assert reason in str(error)


def test_wrong_types_are_refused() -> None:
    error = error_of(lambda: Content(quantity="1", price="1,00", content_name=111))
    assert {item["loc"] for item in error.errors()} == {("price",), ("content_name",)}


def test_content_type_is_an_enum_per_content() -> None:
    assert Content(content_type="product_group").content_type is ContentType.PRODUCT_GROUP
    assert error_of(lambda: Content(content_type="PRODUCT")).errors()[0]["loc"] == ("content_type",)


def test_empty_contents_are_accepted() -> None:
    assert Properties(contents=[]).contents == []


def test_custom_properties_are_accepted_but_typos_elsewhere_are_not() -> None:
    assert Properties(value=1.0, gtm_version="s2s_0_1_9").model_dump(exclude_none=True) == {
        "value": 1.0,
        "gtm_version": "s2s_0_1_9",
    }
    assert error_of(lambda: Context(usr={"email": "a@b.co"})).errors()[0]["type"] == (
        "extra_forbidden"
    )


def test_properties_content_type_moves_onto_contents_with_a_warning() -> None:
    mine = Content(content_id="1")
    theirs = Content(content_id="2", content_type=ContentType.PRODUCT_GROUP)
    with pytest.warns(DeprecationWarning, match="content_type belongs to each Content"):
        properties = Properties(
            content_type=ContentType.PRODUCT, contents=[mine, theirs, {"content_id": "3"}]
        )
    assert [c.content_type for c in properties.contents or []] == [
        ContentType.PRODUCT,
        ContentType.PRODUCT_GROUP,
        ContentType.PRODUCT,
    ]
    assert mine.content_type is None  # the caller's object is untouched
    assert "content_type" not in properties.model_dump()


def test_properties_content_type_without_contents_is_dropped() -> None:
    with pytest.warns(DeprecationWarning, match="content_type belongs"):
        properties = Properties(content_type="product", value=2.0)
    assert "content_type" not in properties.model_dump()


def test_properties_content_type_from_a_nested_dict_moves_too() -> None:
    with pytest.warns(DeprecationWarning, match="content_type belongs"):
        event = make_event(
            properties={"content_type": "product", "contents": [{"content_id": "9"}]}
        )
    assert event.properties is not None
    assert event.properties.contents is not None
    assert event.properties.contents[0].content_type is ContentType.PRODUCT


# --- event -----------------------------------------------------------------------------------


def test_standard_event_names_become_enum_members() -> None:
    assert make_event(event="ViewContent").event is SupportedEvents.VIEW_CONTENT
    assert make_event(event=SupportedEvents.ADD_TO_CART).event is SupportedEvents.ADD_TO_CART


def test_custom_event_names_are_accepted() -> None:
    assert make_event(event="lead_event").event == "lead_event"
    assert error_of(lambda: make_event(event="")).errors()[0]["loc"] == ("event",)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("2023-02-01T00:00:00-03:00", "2023-02-01T00:00:00-03:00"),
        ("2023-06-09 13:37:26-03:00", "2023-06-09T13:37:26-03:00"),
        ("2020-09-17T19:49:27Z", "2020-09-17T19:49:27Z"),
        (
            dt.datetime(2023, 2, 1, 3, tzinfo=dt.timezone.utc),
            "2023-02-01T03:00:00Z",
        ),
    ],
)
def test_timestamps_serialize_as_iso_8601_with_t(given: Any, expected: str) -> None:
    assert make_event(timestamp=given).model_dump(mode="json")["timestamp"] == expected


def test_naive_datetimes_are_local_time() -> None:
    naive = dt.datetime(2023, 2, 1, 12, 0, 0)
    stamp = make_event(timestamp=naive).timestamp
    assert stamp is not None
    assert stamp.tzinfo is not None
    assert stamp == naive.astimezone()


@pytest.mark.parametrize("bad", ["2021-09-2T15:21:15.449Z", "yesterday", "2023-02-01T00:00:00"])
def test_bad_timestamps_are_refused(bad: str) -> None:
    assert error_of(lambda: make_event(timestamp=bad)).errors()[0]["loc"] == ("timestamp",)


def test_event_requires_pixel_code_event_and_context() -> None:
    error = error_of(Event)
    assert {item["loc"] for item in error.errors()} == {("pixel_code",), ("event",), ("context",)}


def _validator_names(schema: Any) -> list[str]:
    """The qualified names of the function validators anywhere in a core schema."""
    found: list[str] = []
    if isinstance(schema, dict):
        function = schema.get("function")
        if isinstance(function, dict):
            found.append(getattr(function.get("function"), "__qualname__", ""))
        for key, value in schema.items():
            if key not in ("cls", "function", "serialization"):
                found += _validator_names(value)
    elif isinstance(schema, list):
        for value in schema:
            found += _validator_names(value)
    return found


def test_rules_on_a_whole_model_are_compiled_once_where_it_is_nested() -> None:
    names = _validator_names(Event.__pydantic_core_schema__)
    # Context and Properties have input fixes: one validator each, not one per compilation.
    assert sum("_input_rules" in name for name in names) == 2
    assert not any("_checked" in name for name in names)
