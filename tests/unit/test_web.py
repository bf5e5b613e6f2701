"""pytt_events.web with each framework's own test client: Django's Client, Flask's test
client, Starlette's TestClient (FastAPI's). The same request gives the same fields in all
three; X-Forwarded-For is ignored unless trusted; the ttclid comes from the URL, or from the
cookie persist_ttclid set on the landing page."""

from __future__ import annotations

from typing import Any

import pytest

from pytt_events.track import TrackEvent
from pytt_events.web import TTCLID_COOKIE, client_ip, from_request, persist_ttclid

pytestmark = pytest.mark.web

UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)"
CLICK = "E.C.P.v3fQ2RHacdkfKfofPmlyuStIIHJ4Af1tKYxF9zz2c2PLx1Oaw15oHpcfl5AH"
HEADERS = {"User-Agent": UA, "Referer": "https://search.example/", "X-Forwarded-For": "9.9.9.9"}
COOKIES = {"_ttp": "ttp-cookie-value"}


def expected(url: str, ip: str, ttclid: str | None = CLICK) -> dict[str, Any]:
    user = {"ip": ip, "user_agent": UA, "ttp": "ttp-cookie-value"}
    if ttclid:
        user["ttclid"] = ttclid
    return {"user": user, "page": {"url": url, "referrer": "https://search.example/"}}


def django_client() -> Any:
    pytest.importorskip("django")
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(
            ALLOWED_HOSTS=["testserver"], ROOT_URLCONF=__name__, SECRET_KEY="tests-only",
            MIDDLEWARE=[], DEBUG=False,
        )  # fmt: skip
        django.setup()
    from django.test import Client

    return Client()


captured: list[Any] = []


def django_view(request: Any) -> Any:
    from django.http import HttpResponse

    captured.append((dict(from_request(request)), dict(from_request(request, trusted_proxies=1))))
    return persist_ttclid(request, HttpResponse("ok"))


def _urlpatterns() -> list[Any]:
    try:
        from django.urls import path
    except ImportError:  # pragma: no cover - without Django
        return []
    return [path("p/1", django_view)]


urlpatterns = _urlpatterns()


def flask_app() -> Any:
    flask = pytest.importorskip("flask")
    app = flask.Flask(__name__)

    @app.route("/p/1")
    def view() -> Any:
        request = flask.request
        captured.append(
            (dict(from_request(request)), dict(from_request(request, trusted_proxies=1)))
        )
        return persist_ttclid(request, flask.make_response("ok"))

    return app


def starlette_app() -> Any:
    pytest.importorskip("starlette")
    pytest.importorskip("httpx2")  # starlette's TestClient
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def view(request: Any) -> Any:
        captured.append(
            (dict(from_request(request)), dict(from_request(request, trusted_proxies=1)))
        )
        return persist_ttclid(request, PlainTextResponse("ok"))

    return Starlette(routes=[Route("/p/1", view)])


def visit(framework: str, url: str, cookies: dict[str, str]) -> Any:
    """GET url with the test headers and cookies through the framework's test client; the
    response (its cookies) and the fields the view saw."""
    captured.clear()
    if framework == "django":
        client = django_client()
        for name, value in cookies.items():
            client.cookies[name] = value
        meta = {
            "HTTP_USER_AGENT": UA,
            "HTTP_REFERER": HEADERS["Referer"],
            "HTTP_X_FORWARDED_FOR": HEADERS["X-Forwarded-For"],
            "REMOTE_ADDR": "10.0.0.1",
        }
        response = client.get(url, **meta)  # fmt: skip
        set_cookie = response.cookies.get(TTCLID_COOKIE)
        stored = set_cookie.value if set_cookie is not None else None
    elif framework == "flask":
        client = flask_app().test_client()
        for name, value in cookies.items():
            client.set_cookie(name, value, domain="testserver")
        response = client.get(url, headers=HEADERS, environ_base={"REMOTE_ADDR": "10.0.0.1"})
        stored = next(
            (c.split(";")[0].split("=", 1)[1] for c in response.headers.getlist("Set-Cookie")
             if c.startswith(f"{TTCLID_COOKIE}=")), None,
        )  # fmt: skip
    else:
        app = starlette_app()  # skips without starlette
        from starlette.testclient import TestClient

        client = TestClient(app, client=("10.0.0.1", 50000), cookies=cookies)
        response = client.get(url, headers=HEADERS)
        stored = response.cookies.get(TTCLID_COOKIE)
    assert response.status_code == 200
    ((plain, trusted),) = captured
    return plain, trusted, stored


FRAMEWORKS = ["django", "flask", "starlette"]


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_the_fields_of_a_landing_request(framework: str) -> None:
    url = f"http://testserver/p/1?ttclid={CLICK}"
    plain, trusted, stored = visit(framework, url, COOKIES)
    assert plain == expected(url, "10.0.0.1")  # X-Forwarded-For ignored by default
    assert trusted == expected(url, "9.9.9.9")  # behind one trusted proxy
    assert stored == CLICK  # persist_ttclid kept it in a first-party cookie
    TrackEvent.model_validate({"event": "ViewContent", "event_time": 1_900_000_000, **plain})


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_later_request_has_the_ttclid_from_the_cookie(framework: str) -> None:
    url = "http://testserver/p/1"
    plain, _, stored = visit(framework, url, {**COOKIES, TTCLID_COOKIE: CLICK})
    assert plain == expected(url, "10.0.0.1")
    assert stored is None  # no ttclid in this URL: no cookie set
    bare, _, _ = visit(framework, url, {})
    assert "ttclid" not in bare["user"]
    assert "ttp" not in bare["user"]


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_raw_personal_data_in_the_query_never_reaches_the_event(framework: str) -> None:
    url = "http://testserver/p/1?utm_source=tt&email=ana%40example.com&ref=ana%40example.com&x=1"
    plain, _, _ = visit(framework, url, COOKIES)
    assert plain["page"]["url"] == "http://testserver/p/1?utm_source=tt&x=1"


def test_without_personal_query_keeps_every_other_byte() -> None:
    from pytt_events.web import without_personal_query

    kept = "https://shop.example/p?q=red%20shoes&a=b+c&empty=&flag"
    assert without_personal_query(kept) == kept
    assert without_personal_query("https://s.example/?Phone=%2B5541998862934&k=v#top") == (
        "https://s.example/?k=v#top"
    )
    assert without_personal_query("https://s.example/?e=a%40b.co") == "https://s.example/"
    assert without_personal_query(None) is None
    for personal in (
        "billing_phone=1",
        "phoneNumber=1",
        "email%5B%5D=1",
        "tel=1",
        "ref=%2B15551234567",
    ):
        assert without_personal_query(f"https://s.example/?{personal}&k=v") == (
            "https://s.example/?k=v"
        ), personal
    for kept in ("hotel=3", "q=mailbox", "order=12345678901", "telemetry=on"):
        assert without_personal_query(f"https://s.example/?{kept}") == f"https://s.example/?{kept}"
    # A client may send any Referer: one that cannot be parsed loses its query, never the event.
    assert without_personal_query("http://[abc?email=a%40b.co") == "http://[abc"


def test_merged_keeps_the_request_fields_and_the_event_wins() -> None:
    from pytt_events.web import RequestFields

    fields = RequestFields("1.2.3.4", UA, CLICK, "t", "https://shop.example/p", None)
    event = {"event": "Purchase", "user": {"email": "a@example.com", "ip": "5.6.7.8"}}
    merged = fields.merged(event)
    assert merged["user"] == {
        "ip": "5.6.7.8", "user_agent": UA, "ttclid": CLICK, "ttp": "t", "email": "a@example.com",
    }  # fmt: skip
    assert merged["page"] == {"url": "https://shop.example/p"}
    assert event["user"] == {"email": "a@example.com", "ip": "5.6.7.8"}  # not changed
    TrackEvent.model_validate({**merged, "event_time": 1_900_000_000})


def test_the_repr_shows_no_address_click_id_cookie_or_query() -> None:
    from pytt_events.web import RequestFields

    fields = RequestFields(
        "1.2.3.4", UA, CLICK, "ttp-x", "https://shop.example/p?o=77", "https://u:pw@s.example/#f"
    )
    shown = repr(fields)
    secrets = ("1.2.3.4", CLICK, "ttp-x", "o=77", "pw", "#f")
    assert all(secret not in shown for secret in secrets)
    assert "https://shop.example/p" in shown
    assert "present=['ip', 'ttclid', 'ttp']" in shown


def test_the_events_1_0_context() -> None:
    from pytt_events import Context
    from pytt_events.web import RequestFields

    fields = RequestFields("1.2.3.4", UA, CLICK, "t", "https://shop.example/p", None)
    context = Context(**fields.context())
    assert (context.ip, context.ad.callback, context.user.ttp) == ("1.2.3.4", CLICK, "t")
    assert context.page.url == "https://shop.example/p"


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "ip"),
    [
        ("10.0.0.1", "1.1.1.1, 2.2.2.2", 0, "10.0.0.1"),
        ("10.0.0.1", "1.1.1.1, 2.2.2.2", 1, "2.2.2.2"),
        ("10.0.0.1", "1.1.1.1, 2.2.2.2", 2, "1.1.1.1"),
        ("10.0.0.1", "1.1.1.1", 2, "10.0.0.1"),  # fewer hops than proxies: not trusted
        ("10.0.0.1", "not-an-ip", 1, "10.0.0.1"),
        ("2001:db8::1", None, 1, "2001:db8::1"),
        ("testclient", None, 0, None),  # not an address
    ],
)
def test_client_ip(peer: str, forwarded: str | None, trusted: int, ip: str | None) -> None:
    assert client_ip(peer, forwarded, trusted) == ip


def test_an_unknown_request_type_is_refused() -> None:
    with pytest.raises(TypeError, match="not a Django, Flask/Werkzeug or Starlette"):
        from_request(object())
