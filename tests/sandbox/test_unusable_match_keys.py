"""A personal-data value that cannot be a match key is left out, not the event: over real HTTP
to the sandbox, the event goes out with its other keys, the warning names the field and the
reason (never the value), and the result says which events went without which keys.
invalid_match_keys="refuse" keeps the strict behaviour.

The unusable phones are those the public integrations' own test suites send (Segment,
RudderStack, TikTok's server-side tag, PostHog; see the shared API notes): numbers that
cannot exist, digits without a country code, free text."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from pytt_events import PayloadValidationError, _hashing, _soft, sha256_hex
from pytt_events.auth import TikTokAuth
from pytt_events.context import Context, User
from pytt_events.event import Event
from pytt_events.sender import EventSender, SendResult
from pytt_events.testing import SandboxServer
from pytt_events.tiktok_events_api import TikTokEventsApi
from tests.conftest import PIXEL, TOKEN
from tests.sandbox.test_cli_options import run

EMAIL = "ana.silva@example.com"
UNUSABLE_PHONES = [
    ("+2132435345", "not a possible phone number"),
    ("+1234567890", "not a possible phone number"),
    ("1234567890", "no default phone region"),
    ("41998862934", "no default phone region"),
    ("call me maybe", "not a phone number in international format"),
]


@pytest.fixture(autouse=True)
def fresh_warnings(caplog: pytest.LogCaptureFixture) -> None:
    _soft.forget_warnings()  # each warning is logged once per process: these tests hear it
    caplog.set_level(logging.WARNING, logger="pytt_events")


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if "match key" in record.getMessage()]


def track_event(phone: Any, **user: Any) -> dict[str, Any]:
    return {
        "event": "Purchase",
        "event_time": 1_900_000_000,
        "event_id": "order-1",
        "user": {"email": EMAIL, "phone": phone, **user},
        "properties": {"currency": "BRL", "value": 10.0},
    }


@pytest.mark.parametrize(("phone", "reason"), UNUSABLE_PHONES)
def test_track_sends_the_event_without_the_unusable_phone(
    phone: str, reason: str, sandbox: SandboxServer, auth: TikTokAuth,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    with TikTokEventsApi() as api:
        result = api.track(track_event(phone), auth=auth, event_source_id=PIXEL)
    (request,) = sandbox.received
    assert request.code == 0
    (sent,) = request.body["data"]
    assert sent["user"] == {"email": sha256_hex(EMAIL)}  # the phone is left out
    assert result.accepted == (0,)
    ((path_reason,),) = result.dropped_keys.values()
    assert path_reason.startswith("user.phone: ")
    assert reason in path_reason
    (warning,) = warnings_of(caplog)
    assert warning.startswith("user.phone: ")
    assert reason in warning
    shown = warning + path_reason + repr(result) + caplog.text
    assert phone not in shown
    assert sha256_hex(phone) not in json.dumps(request.body)


@pytest.mark.parametrize(("phone", "reason"), UNUSABLE_PHONES)
def test_post_event_and_the_bulk_call_send_the_quick_start_event_without_it(
    phone: str, reason: str, sandbox: SandboxServer, auth: TikTokAuth
) -> None:
    def event(event_id: str) -> Event:
        return Event(
            pixel_code=PIXEL,
            event="Purchase",
            event_id=event_id,
            context=Context(user=User(email=EMAIL, phone_number=phone), ip="13.57.97.131"),
        )

    with TikTokEventsApi() as api:
        response = api.post_event(event("one"), auth)
        bulk = api.post_events_in_bulk([event("two"), event("three")], auth)
    assert [path for path in response.dropped_keys] == [
        f"context.user.phone_number: {_reason(phone)}"
    ]
    assert sorted(bulk.dropped_keys) == [0, 1]
    single, batch = (request.body for request in sandbox.received)
    assert single["context"]["user"] == {"email": sha256_hex(EMAIL)}
    assert [item["context"]["user"] for item in batch["batch"]] == [
        {"email": sha256_hex(EMAIL)}
    ] * 2
    assert "sent without some match keys" in bulk.message


def _reason(phone: str) -> str:
    try:
        _hashing.normalize_phone(phone)
    except ValueError as error:
        return str(error)
    raise AssertionError("a usable phone")  # pragma: no cover


def test_in_a_list_only_the_unusable_values_are_left_out(
    sandbox: SandboxServer, auth: TikTokAuth
) -> None:
    with TikTokEventsApi() as api:
        result = api.track(
            track_event(["+5541998862934", "+1234567890", "", "call me"]),
            auth=auth,
            event_source_id=PIXEL,
        )
    (sent,) = sandbox.received[0].body["data"]
    assert sent["user"]["phone"] == [sha256_hex("+5541998862934")]
    # Positions in the list given (the empty item counts, and is absent, not unusable).
    assert [key.split(": ")[0] for key in result.dropped_keys[0]] == [
        "user.phone.1",
        "user.phone.3",
    ]


def test_an_event_whose_only_identifier_is_unusable_goes_without_the_user(
    sandbox: SandboxServer, auth: TikTokAuth
) -> None:
    """Matched on what else it carries (here the IP address and the click id)."""
    event = Event(
        pixel_code=PIXEL,
        event="Purchase",
        event_id="only-phone",
        context=Context(
            user=User(phone_number="+1234567890"), ip="13.57.97.131", ad={"callback": "E.C.P.x"}
        ),
    )
    with TikTokEventsApi() as api:
        response = api.post_event(event, auth)
    body = sandbox.received[0].body
    assert "user" not in body["context"]
    assert body["context"]["ip"] == "13.57.97.131"
    assert response.dropped_keys == (
        "context.user.phone_number: not a possible phone number for its country code",
    )


def test_refuse_keeps_the_strict_behaviour(sandbox: SandboxServer, auth: TikTokAuth) -> None:
    with (
        TikTokEventsApi(invalid_match_keys="refuse") as api,
        pytest.raises(PayloadValidationError) as caught,
    ):
        api.track(
            [track_event("+5541998862934"), track_event("+1234567890")],
            auth=auth,
            event_source_id=PIXEL,
        )
    assert caught.value.errors == [
        ("events.1.user.phone", "not a possible phone number for its country code")
    ]
    assert "+1234567890" not in str(caught.value)
    assert sandbox.received == []  # nothing was sent


def test_a_national_number_is_read_with_the_region_set(
    sandbox: SandboxServer, auth: TikTokAuth
) -> None:
    try:
        with TikTokEventsApi(default_phone_region="BR") as api:
            result = api.track(track_event("(41) 99886-2934"), auth=auth, event_source_id=PIXEL)
    finally:
        _hashing.set_default_phone_region(None)
    (sent,) = sandbox.received[0].body["data"]
    assert sent["user"]["phone"] == sha256_hex("+5541998862934")  # hashed as before
    assert result.dropped_keys == {}


def test_the_region_warning_says_how_to_set_it(
    sandbox: SandboxServer, auth: TikTokAuth, caplog: pytest.LogCaptureFixture
) -> None:
    with TikTokEventsApi() as api:
        api.track(track_event("(41) 99886-2934"), auth=auth, event_source_id=PIXEL)
    (warning,) = warnings_of(caplog)
    assert "TIKTOK_DEFAULT_PHONE_REGION" in warning
    assert "--phone-region" in warning


def test_the_warning_is_logged_once_per_field_and_reason(
    sandbox: SandboxServer, auth: TikTokAuth, caplog: pytest.LogCaptureFixture
) -> None:
    with TikTokEventsApi() as api:
        result = api.track(
            [track_event("+1234567890"), track_event("+2132435345"), track_event("+5541998862934")],
            auth=auth,
            event_source_id=PIXEL,
        )
    assert len(warnings_of(caplog)) == 1
    assert sorted(result.dropped_keys) == [0, 1]


def test_event_sender_tells_on_result_which_keys_an_event_went_without(
    sandbox: SandboxServer, auth: TikTokAuth
) -> None:
    results: list[SendResult] = []
    with EventSender(auth, on_result=results.append) as sender:
        dropped = sender.track(track_event("+1234567890") | {"event_id": "with-bad-phone"})
        whole = sender.track(track_event("+5541998862934") | {"event_id": "all-good"})
        assert sender.flush(timeout=10)
    by_id = {result.event_id: result for result in results}
    assert by_id[dropped].status == "accepted"
    assert by_id[dropped].dropped_keys == (
        "user.phone: not a possible phone number for its country code",
    )
    assert by_id[whole].dropped_keys == ()
    sent = {event["event_id"]: event for request in sandbox.received for event in request.events}
    assert sent["with-bad-phone"]["user"] == {"email": sha256_hex(EMAIL)}


# -- the command line: validate warns, send leaves the key out, --phone-region reads it -------


def stored(tmp_path: Path) -> Path:
    body = {
        "event_source": "web",
        "event_source_id": PIXEL,
        "data": [track_event("(41) 99886-2934"), track_event("+1234567890") | {"event_id": "o-2"}],
    }
    path = tmp_path / "events.ndjson"
    path.write_text(json.dumps(body) + "\n")
    return path


def test_validate_warns_and_takes_a_phone_region(tmp_path: Path) -> None:
    path = stored(tmp_path)
    done = run("validate", str(path))
    assert done.returncode == 0, done.stderr  # warnings, not errors
    assert done.stdout.count("cannot be a match key") == 2
    assert "--phone-region" in done.stdout
    assert "41) 99886" not in done.stdout + done.stderr
    done = run("validate", "--phone-region", "BR", str(path))
    assert done.stdout.count("cannot be a match key") == 1  # only the number that cannot exist
    done = run("validate", "--phone-region", "XX", str(path))
    assert done.returncode == 2
    assert "--phone-region 'XX'" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("region", [None, "BR"])
def test_send_leaves_the_unusable_phone_out_and_takes_a_phone_region(
    region: str | None, tmp_path: Path, sandbox: SandboxServer
) -> None:
    env = {"TIKTOK_ACCESS_TOKEN": TOKEN, "TIKTOK_PIXEL_ID": PIXEL,
           "TIKTOK_API_BASE_URL": sandbox.base_url}  # fmt: skip
    done = run("send", *(["--phone-region", region] if region else []), str(stored(tmp_path)),
               env=env)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 of 2 event(s) accepted" in done.stdout
    assert f"; {1 if region else 2} sent without some match keys" in done.stdout
    first, second = sandbox.received[0].body["data"]
    assert second["user"] == {"email": sha256_hex(EMAIL)}
    if region:
        assert first["user"]["phone"] == sha256_hex("+5541998862934")
    else:
        assert first["user"] == {"email": sha256_hex(EMAIL)}
    assert "left out" in done.stderr
    assert "+1234567890" not in done.stdout + done.stderr
