"""pytt_events.convert: Meta Conversions API and IAB ECAPI 1.0 events as TikTok Events 2.0
events. Each converted event is prepared as `track` prepares it, and every field and hash it
carries is compared with what this SDK computes from the raw values (hash_value)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from pytt_events import TikTokAuth, TikTokEventsApi, hash_value, sha256_hex
from pytt_events.convert import (
    ECAPI_EVENTS,
    META_ACTION_SOURCES,
    META_EVENTS,
    Converted,
    from_ecapi,
    from_meta,
)
from pytt_events.track import StandardEvent, TrackEvent

PIXEL = "ABCDEFGHIJ0123456789"
EVENT_SET = "7300000000000000001"
NOW = int(time.time())


def prepared(
    converted: Converted, source_id: str = PIXEL
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The converted event as track would send it (hashed), and its dropped keys."""
    auth = TikTokAuth(TIKTOK_ACCESS_TOKEN="t", TIKTOK_PIXEL_ID=PIXEL)
    with TikTokEventsApi() as api:
        ready = api.prepare_track(
            converted.event,
            auth=auth,
            event_source=converted.event_source,
            event_source_id=source_id,
        )
    body = ready.single_payloads()[0][2]
    assert body["event_source"] == converted.event_source
    return body["data"][0], ready.dropped_keys.get(0, ())


def meta_event(**fields: Any) -> dict[str, Any]:
    return {"event_name": "Purchase", "event_time": NOW, "action_source": "website", **fields}


def dropped_fields(converted: Converted) -> dict[str, str]:
    return dict(converted.dropped)


# --- Meta ---------------------------------------------------------------------------------


def test_a_meta_purchase_field_by_field() -> None:
    converted = from_meta(
        meta_event(
            event_id="order-981",
            event_source_url="https://shop.example/checkout",
            referrer_url="https://www.google.com/",
            data_processing_options=["LDU"],
            data_processing_options_country=1,
            data_processing_options_state=1000,
            user_data={
                "em": ["Ana@Example.com ", "bo@example.org"],
                "ph": ["+55 41 99886-2934", "16505551234"],
                "fn": "Ana Luiza",
                "ln": ["Souza"],
                "ct": ["São Paulo"],
                "st": ["SP"],
                "zp": ["01310-100"],
                "country": ["br"],
                "external_id": ["user-42", 77],
                "client_ip_address": "203.0.113.9",
                "client_user_agent": "Mozilla/5.0",
                "fbc": "fb.1.1554763741205.AbCdEf",
                "fbp": "fb.1.1558571054389.1098115397",
            },
            custom_data={
                "value": 142.52,
                "currency": "brl",
                "order_id": 981,
                "content_ids": ["sku-1", 2],
                "content_type": "product",
                "contents": [
                    {"id": "sku-1", "quantity": 2, "item_price": 71.26, "title": "Socks"},
                    {
                        "id": 2,
                        "quantity": 1.0,
                        "item_price": 0,
                        "delivery_category": "home_delivery",
                    },
                ],
                "num_items": 3,
                "predicted_ltv": 900.0,
                "delivery_category": "home_delivery",
                "search_string": "wool socks",
                "coupon_code": "TT10",
            },
        )
    )
    assert converted.event_source == "web"
    event, keys = prepared(converted)
    assert keys == ()
    assert event["event"] == "Purchase"
    assert event["event_time"] == NOW
    assert event["event_id"] == "order-981"
    assert event["page"] == {
        "url": "https://shop.example/checkout",
        "referrer": "https://www.google.com/",
    }
    assert event["limited_data_use"] is True
    user = event["user"]
    assert user["email"] == [
        hash_value("email", "ana@example.com"),
        hash_value("email", "bo@example.org"),
    ]
    # Meta's numbers always carry their country code: without '+', it is added.
    assert user["phone"] == [
        hash_value("phone", "+5541998862934"),
        hash_value("phone", "+16505551234"),
    ]
    assert user["first_name"] == hash_value("name", "Ana Luiza") == sha256_hex("analuiza")
    assert user["last_name"] == sha256_hex("souza")
    assert user["zip_code"] == hash_value("zip_code", "01310-100")
    assert user["external_id"] == [sha256_hex("user-42"), sha256_hex("77")]
    assert (user["city"], user["state"], user["country"]) == ("sopaulo", "sp", "br")  # raw
    assert (user["ip"], user["user_agent"]) == ("203.0.113.9", "Mozilla/5.0")
    properties = event["properties"]
    assert properties["value"] == 142.52
    assert properties["currency"] == "BRL"
    assert properties["order_id"] == "981"
    assert properties["content_ids"] == ["sku-1", "2"]
    assert properties["content_type"] == "product"
    assert properties["contents"] == [
        {"content_id": "sku-1", "quantity": 2, "price": 71.26, "content_name": "Socks"},
        {"content_id": "2", "quantity": 1, "price": 0},
    ]
    assert properties["num_items"] == 3
    assert properties["predicted_ltv"] == 900.0
    assert properties["delivery_category"] == "home_delivery"
    assert properties["search_string"] == properties["query"] == "wool socks"
    assert properties["coupon_code"] == "TT10"  # a custom property, carried
    assert dropped_fields(converted).keys() == {
        "user_data.fbc",
        "user_data.fbp",
        "custom_data.contents[1].delivery_category",
    }
    assert "Ana" not in repr(converted.dropped)


def test_meta_hashes_pass_through_only_where_meta_normalizes_as_tiktok() -> None:
    email_hash = sha256_hex("ana@example.com")  # Meta: trimmed, lowercased; TikTok the same
    meta_phone_hash = sha256_hex("5541998862934")  # Meta: digits without '+'
    city_hash = sha256_hex("saopaulo")
    md5 = "0" * 32
    converted = from_meta(
        meta_event(
            user_data={"em": [email_hash.upper(), md5], "ph": [meta_phone_hash], "ct": city_hash}
        )
    )
    event, _ = prepared(converted)
    assert event["user"]["email"] == [email_hash]
    assert "phone" not in event["user"]
    assert "city" not in event["user"]
    reasons = dropped_fields(converted)
    assert "E.164" in reasons["user_data.ph[0]"]
    assert "raw" in reasons["user_data.ct[0]"]
    assert "MD5" in reasons["user_data.em[1]"]


def test_the_hashed_phone_is_dropped_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    from pytt_events._soft import forget_warnings

    forget_warnings()
    converted = from_meta(meta_event(user_data={"ph": sha256_hex("16505551234"), "em": "a@b.co"}))
    assert "user_data.ph[0]" in dropped_fields(converted)
    assert any("user_data.ph" in record.getMessage() for record in caplog.records)
    assert all("16505551234" not in record.getMessage() for record in caplog.records)
    prepared(converted)  # the event still goes, on its e-mail


@pytest.mark.parametrize(("meta", "tiktok"), sorted(META_EVENTS.items()))
def test_every_meta_standard_event_is_a_tiktok_standard_event(meta: str, tiktok: str) -> None:
    assert tiktok in {member.value for member in StandardEvent}
    converted = from_meta(meta_event(event_name=meta, user_data={"em": "a@b.co"}))
    assert prepared(converted)[0]["event"] == tiktok


@pytest.mark.parametrize("name", ["Donate", "MyCustomEvent"])
def test_other_names_are_custom_events(name: str, caplog: pytest.LogCaptureFixture) -> None:
    from pytt_events._soft import forget_warnings

    forget_warnings()
    converted = from_meta(meta_event(event_name=name))
    assert prepared(converted)[0]["event"] == name
    assert any("custom event" in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize(("action_source", "event_source"), sorted(META_ACTION_SOURCES.items()))
def test_action_sources(action_source: str, event_source: str) -> None:
    converted = from_meta(meta_event(action_source=action_source, user_data={"em": "a@b.co"}))
    assert converted.event_source == event_source
    prepared(
        converted, PIXEL if event_source == "web" else EVENT_SET if event_source != "app" else "123"
    )


def test_an_unknown_action_source_is_sent_as_web_and_reported() -> None:
    converted = from_meta(meta_event(action_source="carrier_pigeon"))
    assert converted.event_source == "web"
    assert "action_source" in dropped_fields(converted)
    assert from_meta(meta_event(), event_source="offline").event_source == "offline"


def test_every_meta_only_and_unmapped_user_key_is_dropped_with_a_reason() -> None:
    keys = [
        "fbc", "fbp", "fb_login_id", "lead_id", "subscription_id", "anon_id", "page_id",
        "page_scoped_user_id", "ctwa_clid", "ig_account_id", "ig_sid", "ge", "db", "dobd",
        "dobm", "doby", "f5first", "f5last", "fi", "madid",
    ]  # fmt: skip
    converted = from_meta(meta_event(user_data={key: "x" for key in keys} | {"em": "a@b.co"}))
    assert set(dropped_fields(converted)) == {f"user_data.{key}" for key in keys}
    event, _ = prepared(converted)
    assert set(event["user"]) == {"email"}


def test_app_events_take_the_advertising_id_and_the_app() -> None:
    converted = from_meta(
        meta_event(
            action_source="app",
            user_data={"madid": "6D92078A-8246-4BA4-AE5B-76104861E7DC", "anon_id": "x"},
            app_data={
                "advertiser_tracking_enabled": 1,
                "application_tracking_enabled": 1,
                "extinfo": ["i2", "com.example.shop", "3.2", "3.2.0", "17.4", "iPhone15,2"],
            },
        )
    )
    event, _ = prepared(converted, "7100000000000000002")
    assert event["user"]["idfa"] == hash_value(
        "advertising_id", "6D92078A-8246-4BA4-AE5B-76104861E7DC"
    )
    assert event["user"]["att_status"] == "AUTHORIZED"
    assert event["app"] == {"app_id": "com.example.shop", "app_version": "3.2.0"}
    assert "app_data.application_tracking_enabled" in dropped_fields(converted)


def test_a_bad_value_is_dropped_not_the_event() -> None:
    converted = from_meta(
        meta_event(
            user_data={"em": "a@b.co"},
            custom_data={
                "value": -3,
                "contents": [{"id": "s", "quantity": 0.5, "item_price": "x"}],
            },
        )
    )
    event, _ = prepared(converted)
    assert event["properties"]["contents"] == [{"content_id": "s"}]
    assert set(dropped_fields(converted)) == {
        "custom_data.value",
        "custom_data.contents[0].quantity",
        "custom_data.contents[0].item_price",
    }


def test_a_raw_phone_tiktok_cannot_use_is_left_out_by_the_sdk() -> None:
    converted = from_meta(meta_event(user_data={"ph": "0000", "em": "a@b.co"}))
    event, keys = prepared(converted)
    assert "phone" not in event["user"]
    assert keys
    assert keys[0].startswith("user.phone")


def test_without_name_or_time_there_is_no_event() -> None:
    with pytest.raises(ValueError, match="event_name"):
        from_meta({"event_time": NOW})
    with pytest.raises(ValueError, match="event_time"):
        from_meta({"event_name": "Purchase"})
    with pytest.raises(ValueError, match="object"):
        from_meta([1])


def test_payload_is_a_request_body_the_models_take() -> None:
    converted = from_meta(meta_event(user_data={"em": "a@b.co"}, data_processing_options=[]))
    body = converted.payload(PIXEL, test_event_code="TEST1")
    assert body["event_source_id"] == PIXEL
    assert body["test_event_code"] == "TEST1"
    assert TrackEvent.model_validate(body["data"][0]).limited_data_use is False


# --- ECAPI ----------------------------------------------------------------------------------

# The example of ECAPI 1.0's core Event object (InteractiveAdvertisingBureau/ecapi ecapi_1.0.md):
# a purchase on a website, personal data hashed as the spec's Normalization section says.
ECAPI_PURCHASE = {
    "data_set_id": "advertiser-123",
    "id": "evt-5521",
    "timestamp": NOW,
    "event_type": "purchase",
    "value": 59.9,
    "currency_code": "EUR",
    "source": "website",
    "user_data": {
        "email_address": [sha256_hex("ana@example.com")],
        "phone_numbers": [sha256_hex("+5541998862934")],
        "customer_identifier": sha256_hex("user-42"),
        "address": [
            {
                "first_name": sha256_hex("ana"),
                "last_name": sha256_hex("souza"),
                "street": sha256_hex("ruaaugusta100"),
                "city": "saopaulo",
                "state": "sp",
                "country_code": "br",
                "postal_code": sha256_hex("01310100"),
                "address_type": 1,
            },
            {"city": "rio"},
        ],
        "click_id": "E.C.P.abc123",
        "event_ip_address": "2001:db8::1",
        "event_user_agent": "Mozilla/5.0",
        "gpp_string": "DBABMA~CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA",
        "uids": [{"id": sha256_hex("x"), "source": "example.com", "atype": 1}],
        "age_range": 3,
    },
    "properties": {
        "transaction_id": "T-9",
        "page_url": "https://shop.example/done",
        "items": [{"id": "sku-1", "name": "Socks", "price": 29.95, "quantity": 2, "discount": 1.0}],
        "shipping": 4.5,
    },
    "ext": {"x": 1},
}


def test_an_ecapi_purchase_field_by_field() -> None:
    converted = from_ecapi(ECAPI_PURCHASE)
    event, keys = prepared(converted)
    assert keys == ()
    assert (event["event"], event["event_time"], event["event_id"]) == ("Purchase", NOW, "evt-5521")
    user = event["user"]
    # ECAPI hashes e-mail and phone (with '+') as TikTok does: they pass through.
    assert user["email"] == [hash_value("email", "ana@example.com")]
    assert user["phone"] == [hash_value("phone", "+5541998862934")]
    assert user["external_id"] == [sha256_hex("user-42")]
    assert user["first_name"] == hash_value("name", "Ana")
    assert user["zip_code"] == hash_value("zip_code", "01310100")
    assert (user["city"], user["state"], user["country"]) == ("saopaulo", "sp", "br")
    assert user["ttclid"] == "E.C.P.abc123"
    assert user["ip"] == "2001:db8::1"
    assert event["page"] == {"url": "https://shop.example/done"}
    assert event["properties"] == {
        "value": 59.9,
        "currency": "EUR",
        "order_id": "T-9",
        "contents": [
            {"content_id": "sku-1", "content_name": "Socks", "price": 29.95, "quantity": 2}
        ],
    }
    assert set(dropped_fields(converted)) == {
        "data_set_id",
        "ext",
        "user_data.address[0].street",
        "user_data.address[0].address_type",
        "user_data.address[1]",
        "user_data.gpp_string",
        "user_data.uids",
        "user_data.age_range",
        "properties.items[0].discount",
        "properties.shipping",
    }


@pytest.mark.parametrize(("ecapi", "tiktok"), sorted(ECAPI_EVENTS.items()))
def test_ecapi_standard_events(ecapi: str, tiktok: str) -> None:
    assert tiktok in {member.value for member in StandardEvent}
    converted = from_ecapi({"timestamp": NOW, "event_type": ecapi, "source": "website"})
    assert prepared(converted)[0]["event"] == tiktok


def test_ecapi_custom_and_unmatched_events() -> None:
    custom = from_ecapi({"timestamp": NOW, "event_type": "custom", "custom_event": "Quote"})
    assert prepared(custom)[0]["event"] == "Quote"
    refund = from_ecapi({"timestamp": NOW, "event_type": "refund", "custom_event": "ignored"})
    assert prepared(refund)[0]["event"] == "refund"
    assert "custom_event" in dropped_fields(refund)
    with pytest.raises(ValueError, match="custom_event"):
        from_ecapi({"timestamp": NOW, "event_type": "custom"})
    with pytest.raises(ValueError, match="timestamp"):
        from_ecapi({"event_type": "purchase"})


def test_ecapi_offline_lead_with_raw_values() -> None:
    converted = from_ecapi(
        {
            "timestamp": NOW,
            "event_type": "generate_lead",
            "source": "phone_call",
            "user_data": {"email_address": "Ana@Example.com", "phone_numbers": "+55 41 99886-2934"},
            "properties": {"search_term": "quote", "make": "Fiat", "body_style": "hatchback"},
        }
    )
    assert converted.event_source == "crm"
    event, _ = prepared(converted, EVENT_SET)
    assert event["user"]["email"] == [hash_value("email", "ana@example.com")]
    assert event["user"]["phone"] == [hash_value("phone", "+5541998862934")]
    assert event["properties"]["make"] == "Fiat"
    assert event["properties"]["query"] == "quote"


def test_numbers_given_as_digits_and_parts_that_are_not_objects() -> None:
    converted = from_meta(meta_event(user_data={"ph": 5541998862934, "zp": 1310100}))
    event, _ = prepared(converted)
    assert event["user"]["phone"] == [hash_value("phone", "+5541998862934")]
    assert event["user"]["zip_code"] == hash_value("zip_code", "1310100")
    broken = from_meta(meta_event(user_data="ana@example.com", custom_data=[1]))
    assert dropped_fields(broken) == {"user_data": "not an object", "custom_data": "not an object"}
    prepared(broken)
    assert dropped_fields(from_ecapi({"timestamp": NOW, "event_type": "purchase", "properties": 1}))


def test_convert_file_reads_meta_request_bodies_and_reports_each_line(tmp_path: Any) -> None:
    import gzip
    import json

    from pytt_events.convert import convert_file

    lines = [
        json.dumps({"data": [meta_event(event_id="a"), meta_event(event_id="b")]}),
        json.dumps({"event_name": "Lead"}),
        json.dumps(meta_event(event_id="c", user_data={"ph": sha256_hex("16505551234")})),
    ]
    path = tmp_path / "meta.ndjson.gz"
    path.write_bytes(gzip.compress("\n".join(lines).encode()))
    found = list(convert_file(path, "meta", event_source_id=PIXEL))
    assert [(item.line, item.error is None) for item in found] == [
        (1, True),
        (1, True),
        (2, False),
        (3, True),
    ]
    assert found[2].error is not None
    assert "event_time" in found[2].error
    assert [item.body["data"][0]["event_id"] for item in found if item.body] == ["a", "b", "c"]
    assert found[3].dropped[0][0] == "user_data.ph[0]"


def test_importing_convert_imports_no_meta_sdk() -> None:
    import subprocess
    import sys

    code = "import sys, pytt_events.convert; print('facebook_business' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
