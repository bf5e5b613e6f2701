"""from_meta with events built by Meta's own Python SDK (facebook_business, the meta-tests extra):
each converted field, and each hash, against what this SDK computes from the raw values; and
what Meta's own normalize() hashes, where TikTok's rules agree (e-mail) and where they do not
(phone)."""

from __future__ import annotations

import time

import pytest

pytest.importorskip("facebook_business")

from facebook_business.adobjects.serverside.action_source import ActionSource
from facebook_business.adobjects.serverside.app_data import AppData
from facebook_business.adobjects.serverside.content import Content
from facebook_business.adobjects.serverside.custom_data import CustomData
from facebook_business.adobjects.serverside.delivery_category import (
    DeliveryCategory,
)
from facebook_business.adobjects.serverside.event import Event
from facebook_business.adobjects.serverside.extended_device_info import ExtendedDeviceInfo
from facebook_business.adobjects.serverside.gender import Gender
from facebook_business.adobjects.serverside.user_data import UserData

from pytt_events import TikTokAuth, TikTokEventsApi, hash_value, sha256_hex
from pytt_events.convert import Converted, from_meta

pytestmark = pytest.mark.meta

PIXEL = "ABCDEFGHIJ0123456789"
NOW = int(time.time())


def sent(converted: Converted, source_id: str = PIXEL) -> dict[str, object]:
    auth = TikTokAuth(TIKTOK_ACCESS_TOKEN="t", TIKTOK_PIXEL_ID=PIXEL)
    with TikTokEventsApi() as api:
        ready = api.prepare_track(
            converted.event,
            auth=auth,
            event_source=converted.event_source,
            event_source_id=source_id,
        )
    assert ready.dropped_keys == {}
    event: dict[str, object] = ready.single_payloads()[0][2]["data"][0]
    return event


def purchase() -> Event:
    user = UserData(
        emails=["Ana@Example.com", "bo@example.org"],
        phones=["+55 41 99886-2934", "16505551234"],
        first_names=["Ana Luiza"],
        last_names=["Souza"],
        genders=[Gender.FEMALE],
        dates_of_birth=["19900101"],
        cities=["Sao Paulo"],
        states=["SP"],
        zip_codes=["01310100"],
        country_codes=["br"],
        external_ids=["user-42"],
        client_ip_address="203.0.113.9",
        client_user_agent="Mozilla/5.0",
        fbc="fb.1.1554763741205.AbCdEfGhIjKlMnOpQrStUvWxYz1234567890",
        fbp="fb.1.1558571054389.1098115397",
    )
    custom = CustomData(
        value=142.52,
        currency="brl",
        order_id="order-981",
        content_ids=["sku-1", "sku-2"],
        content_type="product",
        contents=[
            Content(product_id="sku-1", quantity=2, item_price=71.26, title="Socks", brand="Lã"),
            Content(
                product_id="sku-2",
                quantity=1,
                item_price=0.0,
                delivery_category=DeliveryCategory.HOME_DELIVERY,
            ),
        ],
        num_items=3,
        predicted_ltv=900.0,
        delivery_category=DeliveryCategory.HOME_DELIVERY,
        search_string="wool socks",
    )
    return Event(
        event_name="Purchase",
        event_time=NOW,
        event_id="order-981",
        event_source_url="https://shop.example/checkout",
        action_source=ActionSource.WEBSITE,
        user_data=user,
        custom_data=custom,
        data_processing_options=["LDU"],
        data_processing_options_country=1,
        data_processing_options_state=1000,
    )


def test_an_event_of_metas_classes_field_by_field() -> None:
    converted = from_meta(purchase())
    event = sent(converted)
    assert converted.event_source == "web"
    assert event["event"] == "Purchase"
    assert event["event_time"] == NOW
    assert event["event_id"] == "order-981"
    assert event["page"] == {"url": "https://shop.example/checkout"}
    assert event["limited_data_use"] is True
    assert event["user"] == {
        "email": [hash_value("email", "Ana@Example.com"), hash_value("email", "bo@example.org")],
        "phone": [hash_value("phone", "+5541998862934"), hash_value("phone", "+16505551234")],
        "external_id": [hash_value("external_id", "user-42")],
        "first_name": hash_value("name", "Ana Luiza"),
        "last_name": hash_value("name", "Souza"),
        "zip_code": hash_value("zip_code", "01310100"),
        "city": "saopaulo",
        "state": "sp",
        "country": "br",
        "ip": "203.0.113.9",
        "user_agent": "Mozilla/5.0",
    }
    assert event["properties"] == {
        "value": 142.52,
        "currency": "BRL",
        "order_id": "order-981",
        "content_ids": ["sku-1", "sku-2"],
        "content_type": "product",
        "contents": [
            {
                "content_id": "sku-1",
                "quantity": 2,
                "price": 71.26,
                "content_name": "Socks",
                "brand": "Lã",
            },
            {"content_id": "sku-2", "quantity": 1, "price": 0.0},
        ],
        "num_items": 3,
        "predicted_ltv": 900.0,
        "delivery_category": "home_delivery",
        "search_string": "wool socks",
        "query": "wool socks",
    }
    assert dict(converted.dropped).keys() == {
        "user_data.ge",
        "user_data.db",
        "user_data.fbc",
        "user_data.fbp",
        "custom_data.contents[1].delivery_category",
    }


def test_metas_own_hashes_agree_for_email_and_not_for_phone() -> None:
    """What Meta's SDK sends (normalize()): its e-mail hash is TikTok's, so it passes through;
    its phone hash is of the digits without '+', never TikTok's, so it is dropped."""
    meta = purchase().normalize()
    tiktok_emails = [hash_value("email", "Ana@Example.com"), hash_value("email", "bo@example.org")]
    assert sorted(meta["user_data"]["em"]) == sorted(tiktok_emails)
    assert hash_value("phone", "+5541998862934") not in meta["user_data"]["ph"]
    assert sha256_hex("5541998862934") in meta["user_data"]["ph"]

    converted = from_meta(meta)  # the dict Meta's SDK posts, hashes and all
    event = sent(converted)
    assert sorted(event["user"]["email"]) == sorted(tiktok_emails)  # type: ignore[index]
    assert "phone" not in event["user"]  # type: ignore[operator]
    dropped = dict(converted.dropped)
    assert {"user_data.ph[0]", "user_data.ph[1]"} <= dropped.keys()
    assert "E.164" in dropped["user_data.ph[0]"]
    # Meta hashes city, state and country; TikTok takes them raw: dropped too.
    assert {"user_data.ct[0]", "user_data.st[0]", "user_data.country[0]"} <= dropped.keys()


def test_an_app_event_of_metas_classes() -> None:
    event = Event(
        event_name="AddToCart",
        event_time=NOW,
        action_source=ActionSource.APP,
        user_data=UserData(madid="38400000-8cf0-11bd-b23e-10b96e40000d", anon_id="x"),
        app_data=AppData(
            application_tracking_enabled=True,
            advertiser_tracking_enabled=True,
            extinfo=ExtendedDeviceInfo(
                ext_info_version="a2",
                app_package_name="com.example.shop",
                short_version="3.2",
                long_version="3.2.0",
                os_version="14",
                device_model_name="Pixel 8",
            ),
        ),
    )
    converted = from_meta(event)
    assert converted.event_source == "app"
    sent_event = sent(converted, "7100000000000000002")
    assert sent_event["user"] == {
        "gaid": hash_value("advertising_id", "38400000-8cf0-11bd-b23e-10b96e40000d")
    }
    assert sent_event["app"] == {"app_id": "com.example.shop", "app_version": "3.2.0"}
    assert "user_data.anon_id" in dict(converted.dropped)
