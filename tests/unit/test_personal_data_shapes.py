"""The one rule for raw personal data in text (issue 20, item 1): which shapes it finds, what
the URL mark (x-normalize: url) removes from page.url and page.referrer in every model, what
stored-payload validation says, and what the sandbox notes or (strict) refuses."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from pytt_events import _hashing, web
from pytt_events.event import Event
from pytt_events.models import v1_3
from pytt_events.testing import DEFAULT_ACCESS_TOKEN, Sandbox, quick_start_event
from pytt_events.validation import validate_payload

URL = "https://shop.example/?email=ana%40example.com&phone=%2B5541998862934&utm_source=tt"
CLEAN = "https://shop.example/?utm_source=tt"
CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "corpus"

# text -> the kind of raw personal data it carries (None: none)
SHAPES: list[tuple[str, str | None]] = [
    ("ana@example.com", "an e-mail address"),
    ("ana%40example.com", "an e-mail address"),
    ("https://s.example/?ref=ana%40example.com", "an e-mail address"),
    ("contact: Ana.Silva+shop@mail.example.co.uk", "an e-mail address"),
    ("+5541998862934", "a phone number"),
    ("%2B5541998862934", "a phone number"),
    ("call +1 (555) 123-4567 today", "a phone number"),
    ("https://s.example/?t=%2B44%2020%207946%200958", "a phone number"),
    # Shapes that must never be taken for personal data.
    ("f660ab912ec121d1b1e928a0bb4bc61b15f5ad44d5efdc4e1c92a25e99b8e44a", None),
    ("E.C.P.v3fQ2RHacdkfKfofPmlyuStIIHJ4Af1tKYxF9zz2c2PLx1Oaw15oHpcfl5AH", None),
    ("E.C.P.CqgBAVk5+12345678901xyz", None),  # base64 may hold '+' and digits
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/98.0.4758.109 Safari/537.36",
        None,
    ),
    ("13.57.97.131", None),
    ("2001:db8::8a2e:370:7334", None),
    ("1616318632825_357", None),
    ("5541998862934", None),  # bare digits: an id looks the same
    ("2023-02-01T00:00:00+03:00", None),
    ("https://user:secret@shop.example/p", None),
    ("https://shop.example/p?q=red+shoes&a=b+c", None),
    ("94e2a4j9-h3ss-k2h5-98cc-c84a745mk098", None),
    ("https://cdn.example/img/logo@2x.png", None),  # a file name, not an address
    ("ana%2540example.com", "an e-mail address"),  # encoded twice
]

# URL -> the same URL without what carries raw personal data (itself when nothing does)
URLS: list[tuple[str, str]] = [
    (URL, CLEAN),
    (
        "https://shop.example/#/confirm?email=ana@example.com&step=2",
        "https://shop.example/#/confirm?step=2",
    ),
    ("https://shop.example/?a=1#email=ana%40example.com", "https://shop.example/?a=1"),
    ("https://shop.example/users/ana@example.com/orders", "https://shop.example/users/orders"),
    ("https://shop.example/p?q=%2B5541998862934#top", "https://shop.example/p#top"),
    # Nothing to remove: the URL comes back byte for byte (no warning).
    ("HTTPS://Shop.Example/x?", "HTTPS://Shop.Example/x?"),
    ("https://shop.example/c#", "https://shop.example/c#"),
    ("https://cdn.example/?img=logo@2x.png", "https://cdn.example/?img=logo@2x.png"),
    ("https://user:secret@shop.example/p?x=1", "https://user:secret@shop.example/p?x=1"),
]


@pytest.mark.parametrize(("url", "cleaned"), URLS)
def test_without_personal_query(url: str, cleaned: str) -> None:
    assert _hashing.without_personal_query(url) == cleaned


@pytest.mark.parametrize(("text", "kind"), SHAPES)
def test_personal_data_kind(text: str, kind: str | None) -> None:
    assert _hashing.personal_data_kind(text) == kind


def test_the_rule_is_written_once_and_web_reuses_it() -> None:
    assert web.without_personal_query is _hashing.without_personal_query
    assert web.PERSONAL_QUERY_WORDS is _hashing.PERSONAL_QUERY_WORDS
    assert _hashing.normalizer_for("url") is _hashing.normalize_url
    assert _hashing.normalize_url(URL) == CLEAN
    assert _hashing.normalize_url(CLEAN) == CLEAN  # idempotent
    assert _hashing.normalize_url("posthog.com") == "posthog.com"


def test_both_event_shapes_lose_the_parameters_with_a_warning_naming_the_field(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from pytt_events import _soft

    _soft.forget_warnings()
    caplog.set_level(logging.WARNING, logger="pytt_events")
    track = v1_3.TrackEvent(
        event="Purchase", event_time=1_700_000_000, page={"url": URL, "referrer": URL}
    )
    assert track.page is not None
    assert (track.page.url, track.page.referrer) == (CLEAN, CLEAN)
    web_event = quick_start_event("PIXEL")
    built = Event(
        **{
            **web_event.model_dump(exclude_none=True),
            "context": {"page": {"url": URL}, "user": {"external_id": "1"}},
        }
    )
    assert built.context.page is not None
    assert built.context.page.url == CLEAN
    messages = [record.getMessage() for record in caplog.records]
    assert any(m.startswith("Page.url has query parameters") for m in messages)
    assert any(m.startswith("Page.referrer has query parameters") for m in messages)
    text = "\n".join(messages)
    for raw in ("ana@example.com", "ana%40example.com", "5541998862934"):
        assert raw not in text


def test_a_url_of_nothing_but_personal_data_is_left_out_not_sent_raw() -> None:
    track = v1_3.TrackEvent(
        event="Purchase",
        event_time=1_700_000_000,
        page={"url": "?email=ana%40example.com", "referrer": CLEAN},
    )
    assert track.page is not None
    assert (track.page.url, track.page.referrer) == (None, CLEAN)


def test_keep_personal_query_keeps_them_in_the_request_fields_only() -> None:
    fields = web.RequestFields(None, None, None, None, URL, None)
    assert fields["page"]["url"] == URL  # what keep_personal_query=True gives the application
    event = v1_3.TrackEvent.model_validate(
        fields.merged({"event": "Purchase", "event_time": 1_700_000_000})
    )
    assert event.page is not None
    assert event.page.url == CLEAN


def test_stored_payload_validation_warns_and_does_not_refuse() -> None:
    payload = {
        "event_source": "web",
        "event_source_id": "C4PIXELCODE123ABCDEF",
        "data": [{"event": "Purchase", "event_time": 1_700_000_000, "page": {"url": URL}}],
    }
    problems = validate_payload(payload, "event_track", now=1_700_000_000, warn=True)
    assert [(p.path, p.severity) for p in problems] == [("/data/0/page/url", "warning")]
    assert "raw personal data" in problems[0].message
    assert "ana" not in problems[0].message


def sandbox_body(sandbox: Sandbox, body: dict[str, Any], family: str = "event/track/") -> Any:
    answer = sandbox.respond(
        "POST",
        f"/open_api/v1.3/{family}",
        {"Access-Token": DEFAULT_ACCESS_TOKEN},
        json.dumps(body).encode(),
    )
    return json.loads(answer.content), sandbox.received[-1]


RAW_BODY = {
    "event_source": "web",
    "event_source_id": "C4PIXELCODE123ABCDEF",
    "data": [
        {"event": "Purchase", "event_time": 1_700_000_000, "event_id": "a", "page": {"url": URL}},
        {
            "event": "Purchase",
            "event_time": 1_700_000_000,
            "event_id": "b",
            "properties": {"description": "ordered by +1 555 123 4567"},
        },
    ],
}


def test_the_sandbox_notes_raw_personal_data_by_path_and_accepts_it_by_default() -> None:
    envelope, record = sandbox_body(Sandbox(strict_personal_data=False), RAW_BODY)
    assert envelope["code"] == 0
    assert record.raw_personal_data == ("data.0.page.url", "data.1.properties.description")


def test_the_strict_sandbox_refuses_it_naming_the_path_never_the_value() -> None:
    envelope, record = sandbox_body(Sandbox(strict_personal_data=True), RAW_BODY)
    assert envelope["code"] == 40002
    assert envelope["message"].startswith("data.0.page.url: Invalid value: raw personal data")
    assert "data.1.properties.description" in envelope["message"]
    assert "ana" not in envelope["message"]
    assert "555" not in envelope["message"]
    assert record.code == 40002


def test_the_strict_sandbox_takes_what_the_sdk_sends() -> None:
    from pytt_events._plan import track_body

    body = track_body(quick_start_event("C4PIXELCODE123"))
    envelope, record = sandbox_body(Sandbox(strict_personal_data=True), body, "pixel/track/")
    assert envelope["code"] == 0, envelope["message"]
    assert record.raw_personal_data == ()


def test_the_suite_runs_its_sandboxes_strict() -> None:
    assert Sandbox.strict_personal_data_default is True  # set by tests/conftest.py
    assert Sandbox().strict_personal_data is True


def test_what_the_corpus_would_trigger_is_only_real_personal_data() -> None:
    found = {}
    for path in sorted(CORPUS.rglob("*.json")):
        hits = list(_hashing.raw_personal_data(json.loads(path.read_text())))
        if hits:
            found[str(path.relative_to(CORPUS))] = {where for where, _ in hits}
    # Only raw e-mail addresses and phone numbers in the personal-data fields themselves.
    assert found == {
        "event_track/rudder-transformer__processor-test35-v2-unhashed-phone-list.json": {
            "data.0.user.phone.0",
            "data.0.user.phone.1",
            "data.1.user.phone.0",
            "data.1.user.phone.1",
        },
        "invalid/event_track__unhashed-email-phone.json": {
            "data.0.user.phone",
            "data.0.user.email.0",
        },
        "invalid/pixel_track__unhashed-email-phone.json": {
            "context.user.phone_number",
            "context.user.email",
        },
    }
