"""The warnings of events TikTok will probably waste, which are sent all the same: an event
time more than 5 minutes in the future (x-max-ahead, Events 2.0 event_time and 1.0
timestamp), an event more than 28 days old, offline ones included (x-max-age), and
event_source "app", which TikTok enables per advertiser on request (x-warn-given). Each is
logged once per process on the model paths and reported as a warning by stored-payload
validation; none is ever refused, and no message carries personal data.

Times are fixed far from the thresholds (30 days ahead, 60 days old): nothing depends on how
long a test takes."""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytt_events import TikTokEventsApi, _hashing, _soft
from pytt_events._plan import track_chunks
from pytt_events.auth import TikTokAuth
from pytt_events.event import Event
from pytt_events.testing import Sandbox, quick_start_event
from pytt_events.validation import Problem, validate_file, validate_payload
from tests.conftest import PIXEL, RAW_PERSONAL_DATA, TOKEN

DAY = 86400
#: The time stored payloads are measured from (validate_payload's now=).
NOW = 1_767_225_600  # 2026-01-01
EMAIL = "test@test.com"
PHONE = "+5541998862934"
EVENT_SET = "7123456789012345678"
APP_ID = "7123456789"

FUTURE = "is more than 5 minutes in the future"
OLD = "is more than 28 days old"
APP = "is 'app': TikTok takes app events through the Events API only from advertisers"


def user() -> dict[str, Any]:
    return {"email": EMAIL, "phone": PHONE}


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox(access_token=TOKEN)


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[TikTokEventsApi]:
    with TikTokEventsApi(transport=sandbox.transport()) as api:
        yield api


@pytest.fixture
def auth() -> TikTokAuth:
    return TikTokAuth(
        TIKTOK_ACCESS_TOKEN=TOKEN,
        TIKTOK_PIXEL_ID=PIXEL,
        TIKTOK_API_BASE_URL="http://sandbox/open_api/",
    )


@pytest.fixture
def logged(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """The warnings logged from a clean slate (each is logged once per process)."""
    _soft.forget_warnings()
    with caplog.at_level(logging.WARNING, logger="pytt_events"):
        yield caplog
    _soft.forget_warnings()


def messages(caplog: pytest.LogCaptureFixture, part: str) -> list[str]:
    return [record.getMessage() for record in caplog.records if part in record.getMessage()]


def assert_no_personal_data(caplog: pytest.LogCaptureFixture) -> None:
    digests = [_hashing.sha256_hex(_hashing.normalize(k, v)) for k, v in
               (("email", EMAIL), ("phone", PHONE))]  # fmt: skip
    text = caplog.text
    for value in (*RAW_PERSONAL_DATA, EMAIL, PHONE, *digests):
        assert value not in text


# -- the model paths: sent, with one warning per process -------------------------------------


def test_a_future_event_time_is_sent_with_one_warning(
    client: TikTokEventsApi, auth: TikTokAuth, sandbox: Sandbox, logged: Any
) -> None:
    ahead = int(time.time()) + 30 * DAY
    for _ in range(3):
        result = client.track({"event": "Purchase", "event_time": ahead, "user": user()}, auth=auth)
        assert (result.accepted, result.failed) == ((0,), ())
    assert [event["event_time"] for event in sandbox.accepted_events()] == [ahead] * 3
    (message,) = messages(logged, FUTURE)
    assert message.startswith("TrackEvent.event_time is more than 5 minutes in the future")
    assert str(ahead) not in message
    assert_no_personal_data(logged)


def test_a_future_1_0_timestamp_is_sent_with_one_warning(
    client: TikTokEventsApi, auth: TikTokAuth, sandbox: Sandbox, logged: Any
) -> None:
    ahead = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=30)
    fields = quick_start_event(PIXEL).model_dump(exclude_none=True)
    for _ in range(3):
        client.post_event(Event(**{**fields, "timestamp": ahead}), auth=auth)
    assert len(sandbox.accepted_events()) == 3
    (message,) = messages(logged, FUTURE)
    assert message.startswith("Event.timestamp is more than 5 minutes in the future")
    assert_no_personal_data(logged)


def test_a_1_0_event_sent_through_event_track_warns_as_both(
    client: TikTokEventsApi, auth: TikTokAuth, sandbox: Sandbox, logged: Any
) -> None:
    ahead = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=30)
    fields = quick_start_event(PIXEL).model_dump(exclude_none=True)
    client.track(Event(**{**fields, "timestamp": ahead}), auth=auth)
    assert [event["event_time"] for event in sandbox.accepted_events()] == [int(ahead.timestamp())]
    assert [message.split(" ", 1)[0] for message in messages(logged, FUTURE)] == [
        "Event.timestamp",
        "TrackEvent.event_time",
    ]


def test_an_old_offline_event_is_sent_with_one_warning(
    client: TikTokEventsApi, auth: TikTokAuth, sandbox: Sandbox, logged: Any
) -> None:
    old = int(time.time()) - 60 * DAY
    for _ in range(3):
        result = client.track(
            {"event": "Purchase", "event_time": old, "user": user()},
            auth=auth,
            event_source="offline",
            event_source_id=EVENT_SET,
        )
        assert (result.accepted, result.failed) == ((0,), ())
    assert [event["event_time"] for event in sandbox.accepted_events()] == [old] * 3
    (message,) = messages(logged, OLD)
    assert message.startswith("TrackEvent.event_time is more than 28 days old")
    assert "TikTok matches events within 28 days" in message
    assert_no_personal_data(logged)


def test_app_events_are_sent_with_one_warning(
    client: TikTokEventsApi, auth: TikTokAuth, sandbox: Sandbox, logged: Any
) -> None:
    recent = int(time.time()) - 3600
    for _ in range(3):
        result = client.track(
            {"event": "LaunchAPP", "event_time": recent, "user": user()},
            auth=auth,
            event_source="app",
            event_source_id=APP_ID,
        )
        assert (result.accepted, result.failed) == ((0,), ())
    assert len(sandbox.accepted_events()) == 3
    (message,) = messages(logged, "allowlisting")
    assert message.startswith("EventTrackRequest.event_source " + APP)
    assert "tiktok/tiktok-business-ios-sdk#57" in message
    assert_no_personal_data(logged)


@pytest.mark.parametrize("source", ["web", "offline", "crm"])
def test_other_sources_and_recent_times_earn_none_of_these(source: str, logged: Any) -> None:
    source_id = "COQDA8RC77U2TMR44LI0" if source == "web" else EVENT_SET
    for event_time in (int(time.time()) - 3600, int(time.time()) - 10 * DAY):
        track_chunks(
            [(0, {"event": "Purchase", "event_time": event_time, "user": user()})],
            event_source=source,
            event_source_id=source_id,
        )
    assert logged.records == []


# -- stored payloads: a warning in the result, never an error ----------------------------------


def event_track(source: str, source_id: str, event_time: int) -> dict[str, Any]:
    return {
        "event_source": source,
        "event_source_id": source_id,
        "data": [{"event": "Purchase", "event_time": event_time, "event_id": "e1",
                  "user": {"email": "a" * 64}}],
    }  # fmt: skip


def web_event(timestamp: str) -> dict[str, Any]:
    """An Events 1.0 event without its pixel_code: a pixel_batch item."""
    return {"event": "Purchase", "timestamp": timestamp, "context": {"user": {"email": "a" * 64}}}


def pixel_track(timestamp: str) -> dict[str, Any]:
    return {"pixel_code": PIXEL, **web_event(timestamp)}


def warnings_of(payload: Any) -> list[tuple[str, str]]:
    problems: list[Problem] = validate_payload(payload, warn=True, require_hashed=True, now=NOW)
    assert all(problem.severity == "warning" for problem in problems), problems
    return [(problem.path, problem.message) for problem in problems]


# payload, (path, the start of its message) of each warning
STORED = [
    (event_track("web", "COQDA8RC77U2TMR44LI0", NOW + 30 * DAY), [("/data/0/event_time", FUTURE)]),
    (event_track("web", "COQDA8RC77U2TMR44LI0", NOW + 300), []),
    (event_track("web", "COQDA8RC77U2TMR44LI0", NOW - 3600), []),
    (event_track("offline", EVENT_SET, NOW - 60 * DAY), [("/data/0/event_time", OLD)]),
    (event_track("offline", EVENT_SET, NOW - 10 * DAY), []),
    (event_track("app", APP_ID, NOW - 3600), [("/event_source", APP)]),
    (event_track("app", APP_ID, NOW + 30 * DAY),
     [("/event_source", APP), ("/data/0/event_time", FUTURE)]),
    (pixel_track("2026-01-31T00:00:00Z"), [("/timestamp", FUTURE)]),
    (pixel_track("2026-01-30T21:00:00-03:00"), [("/timestamp", FUTURE)]),
    (pixel_track("2026-01-01T00:05:00+00:00"), []),
    (pixel_track("2025-12-31T21:00:00-03:00"), []),
    ({"pixel_code": PIXEL,
      "batch": [web_event("2025-12-01T00:00:00Z"), web_event("2026-03-01T00:00:00Z")]},
     [("/batch/1/timestamp", FUTURE)]),
]  # fmt: skip


@pytest.mark.parametrize(("payload", "expected"), STORED)
def test_stored_payloads_get_these_as_warnings(payload: Any, expected: Any) -> None:
    found = warnings_of(payload)
    for (path, message), (where, start) in zip(found, expected, strict=True):
        assert (path, message[: len(start)]) == (where, start)
    for _, message in found:
        assert "a" * 64 not in message


def test_stored_files_report_them_per_line(tmp_path: Path) -> None:
    path = tmp_path / "sent.ndjson"
    lines = [event_track("app", APP_ID, NOW - 3600), event_track("web", PIXEL * 2, NOW + 30 * DAY)]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    results = list(validate_file(path, now=NOW))
    assert [result.valid for result in results] == [True, True]
    assert [[p.path for p in result.warnings] for result in results] == [
        ["/event_source"],
        ["/event_source_id", "/data/0/event_time"],
    ]
