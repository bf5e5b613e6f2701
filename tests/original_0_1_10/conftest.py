# The original pytt-events-api 0.1.10 test suite (MIT, (c) 2023 Victor Valar), as shipped in its
# wheel under pytt_events/tests/, with the two changes the migration asks for:
#   1. content_type is passed to each Content instead of Properties (marked "CHANGED");
#   2. the live-API tests are aimed at the local sandbox: the fixture below starts one on
#      127.0.0.1 and sets TIKTOK_ACCESS_TOKEN, TIKTOK_PIXEL_ID and TIKTOK_API_BASE_URL.
# Everything else is the original code, unchanged.
import pytest as _pytest
from pytt_events.testing import SandboxServer as _SandboxServer


@_pytest.fixture(autouse=True)
def _aim_at_sandbox(monkeypatch):
    with _SandboxServer(access_token="original-suite-token") as sandbox:
        monkeypatch.setenv("TIKTOK_ACCESS_TOKEN", "original-suite-token")
        monkeypatch.setenv("TIKTOK_PIXEL_ID", "ORIGINALPIXEL")
        monkeypatch.setenv("TIKTOK_API_BASE_URL", sandbox.base_url)
        yield sandbox
        assert all(request.code == 0 for request in sandbox.received)


from pytest  import  fixture
from pytt_events.auth import TikTokAuth
from pytt_events.event import Event
from pytt_events.properties import Properties, ContentType, Content
from pytt_events.context import Context, Ad, Page, User
from pytt_events.supported_events import SupportedEvents
from typing import List

@fixture
def auth() -> TikTokAuth:
    yield TikTokAuth()

@fixture
def ad() -> Ad:
    yield Ad(callback='' )

@fixture
def page() -> Page:
    yield Page(
            url='https://www.example.com',
            referrer='https://www.google.com'
        )
@fixture
def user() -> User:
    yield User(
            external_id='123456',
            email='test@test.com',
            phone_number='+5541999999999',
            ttp='94e2a4j9-h3j5-k2h5-98cc-c84a745mk098',
        )

@fixture
def contents() -> List[Content]:

    items = [
        {
            "content_id": "12345",
            "quantity": 1,
            "price": 1.00,
            "content_name": "test content name",
            "content_category": "test content category"
        }, {
            "content_id": "123456",
            "quantity": 2,
            "price": 2.00,
            "content_name": "test second content name",
            "content_category": "test second content category"
        }
    ]

    contents = []
    for item in items:
        content = Content(
            content_type=ContentType.PRODUCT,  # CHANGED: was on Properties
            content_id=item.get('content_id'),
            quantity=item.get('quantity'),
            price=item.get('price'),
            content_category=item.get('content_category'),
            content_name=item.get('content_name'),

        )
        contents.append(content)

    yield contents


@fixture
def event() -> Event:
    context = Context(
        user_agent='Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/98.0.4758.109 Safari/537.36',
        ip='13.57.97.131',
        ad=Ad(callback='E.C.P.152545565'),  # ttclid
        page=Page(
            url='https://www.example.com',
            referrer='https://www.google.com'
        ),
        user=User(
            external_id='123456',
            email='test@test.com',
            phone_number='+55 (41)9.9886-2934',
            ttp='94e2a4j9-h3j5-k2h5-98cc-c84a745mk098',
        ))
    properties = Properties(
        currency='BRL',  # ISO 4217
        value=1.00,
        description='test description',
        query='test query',
        status='test status',
        contents=[{"content_type": ContentType.PRODUCT,  # CHANGED: was on Properties
                   "content_id": "12345", "quantity": 1, "price": 1.00, "content_name": "test content name", "content_category": "test content category"}]

    )
    auth = TikTokAuth()

    yield Event(
        pixel_code=auth.TIKTOK_PIXEL_ID,
        test_event_code=auth.TIKTOK_TEST_EVENT_CODE,
        event=SupportedEvents.VIEW_CONTENT,
        event_id='123456789',
        timestamp="2023-06-09 13:37:26-03:00",  # ISO 8601 format
        context=context,
        properties=properties
    )
# @fixture
# def simple_event():
#     """Event in which most of the fields are not present."""
#
#     context = Context(

