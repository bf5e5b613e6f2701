"""send_file called directly (what `pytt-events send` calls), over real HTTP to the sandbox on
127.0.0.1: stored bodies of the three families mixed with unreadable lines and invalid payloads,
failures written to failed_out and sent again, a refused failed_out, dry runs, stopped sends,
progress, streams and old events. The sandbox's record is the reference: which event_ids it
accepted, how often each reached it. Requests may arrive in any order: what they carried is
compared as sorted lists or sets."""

from __future__ import annotations

import collections
import datetime
import gzip
import io
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytt_events import ConfigurationError, Event, TikTokAuth, sha256_hex
from pytt_events.replay import FailedOutError, SendIssue, SendReport, send_file, unsent_name
from pytt_events.schema import family
from pytt_events.testing import SandboxServer
from tests.conftest import PIXEL, RAW_PERSONAL_DATA, TOKEN, auth_for

EVENT_TIME = 1_900_000_000
HOUR = 3600

Payload = dict[str, Any]


def pixel_track(event: Event, event_id: str) -> Payload:
    """A stored /pixel/track/ body: one Events 1.0 event, as the SDK sends it (hashed)."""
    return event.model_copy(update={"event_id": event_id}).normalize_data()


def pixel_batch(event: Event, event_ids: list[str]) -> Payload:
    """A stored /pixel/batch/ body: the pixel_code once at the top."""
    items = [
        {k: v for k, v in pixel_track(event, i).items() if k != "pixel_code"} for i in event_ids
    ]
    return {"pixel_code": PIXEL, "batch": items}


def event_track(event_ids: list[str], event_time: int = EVENT_TIME) -> Payload:
    """A stored /event/track/ body of web events (hashed external_id only)."""
    data = [
        {"event": "Purchase", "event_time": event_time, "event_id": event_id,
         "user": {"external_id": sha256_hex(event_id)}}
        for event_id in event_ids
    ]  # fmt: skip
    return {"event_source": "web", "event_source_id": PIXEL, "data": data}


# An /event/track/ body whose event has no "event": invalid, never sent.
INVALID = {
    "event_source": "web",
    "event_source_id": PIXEL,
    "data": [{"event_time": EVENT_TIME, "event_id": "never-sent"}],
}
UNREADABLE = '{"event_source": "web", "data": [{"event'  # a line cut short


def write_ndjson(path: Path, lines: list[Payload | str]) -> Path:
    """One payload (or raw text, for unreadable lines) per line."""
    text = "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def bad_sandbox() -> Iterator[SandboxServer]:
    """A sandbox refusing, as TikTok does, any request carrying one of the events "bad-*"."""
    bad = {"bad-0", "bad-1", "bad-2"}
    with SandboxServer(access_token=TOKEN, bad_events=bad) as server:
        yield server


def accepted_ids(server: SandboxServer) -> list[str]:
    return sorted(str(event["event_id"]) for event in server.accepted_events())


def ids_in(path: Path) -> list[str]:
    """The event_ids of an NDJSON file of stored bodies (any family), sorted."""
    ids: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        body = json.loads(line)
        events = body.get("data") or body.get("batch") or [body]
        ids += [str(event["event_id"]) for event in events]
    return sorted(ids)


def assert_nothing_secret(report: SendReport) -> None:
    shown = " ".join(str(issue) for issue in report.issues) + repr(report)
    assert TOKEN not in shown
    assert not any(raw in shown for raw in RAW_PERSONAL_DATA)


def test_a_mixed_file_is_counted_reported_and_delivered(
    bad_sandbox: SandboxServer, event: Event, tmp_path: Path
) -> None:
    path = write_ndjson(
        tmp_path / "sent.ndjson",
        [
            pixel_track(event, "a0"),  # line 1: event 0
            pixel_batch(event, ["a1", "a2"]),  # line 2: events 1, 2
            event_track(["a3", "bad-0", "a5"]),  # line 3: events 3, 4 (refused), 5
            UNREADABLE,  # line 4
            INVALID,  # line 5
            event_track(["a6"]),  # line 6: event 6
        ],
    )
    told: list[SendIssue] = []

    report = send_file(path, auth=auth_for(bad_sandbox), on_issue=told.append, now=EVENT_TIME)

    counts = (report.events, report.accepted, report.failed, report.invalid, report.unreadable)
    assert counts == (7, 6, 1, 1, 1)
    # Two requests planned (one per endpoint); the refused one was sent again in parts to
    # isolate bad-0: report.requests counts planned requests, each once.
    assert report.requests == 2
    assert len(bad_sandbox.received) > 2
    assert not report.ok
    assert (report.stopped, report.unsent, report.failed_out) == (False, 0, None)
    assert report.old == 3  # the three Events 1.0 events, of 2023
    assert sorted((issue.kind, issue.line or 0) for issue in report.issues) == [
        ("failed", 0),
        ("invalid", 5),
        ("unreadable", 4),
    ]
    issues = {issue.kind: issue for issue in report.issues}
    assert issues["unreadable"].message.startswith("/: not valid JSON")
    assert issues["invalid"].message == "/data/0: 'event' is a required property"
    assert (issues["failed"].count, issues["failed"].events) == (1, (4,))
    assert "sandbox bad_events" in issues["failed"].message
    assert all(issue.source == str(path) for issue in report.issues)
    assert told == report.issues
    assert_nothing_secret(report)
    # The sandbox accepted exactly the accepted events; the invalid one never reached it.
    assert accepted_ids(bad_sandbox) == ["a0", "a1", "a2", "a3", "a5", "a6"]
    assert bad_sandbox.deliveries()["never-sent"] == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sent.ndjson"]  # nothing left behind


def test_failed_events_go_to_failed_out_and_are_accepted_when_sent_again(
    bad_sandbox: SandboxServer, event: Event, tmp_path: Path
) -> None:
    path = write_ndjson(
        tmp_path / "sent.ndjson",
        [event_track(["b0", "bad-0", "b2", "bad-1"]), pixel_track(event, "bad-2")],
    )
    failed_out = tmp_path / "failed.ndjson"

    report = send_file(path, auth=auth_for(bad_sandbox), failed_out=failed_out)

    assert (report.events, report.accepted, report.failed) == (5, 2, 3)
    assert report.failed_out == failed_out
    assert accepted_ids(bad_sandbox) == ["b0", "b2"]
    lines = failed_out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3  # one event per line
    assert ids_in(failed_out) == ["bad-0", "bad-1", "bad-2"]
    assert not any(raw in failed_out.read_text(encoding="utf-8") for raw in RAW_PERSONAL_DATA)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["failed.ndjson", "sent.ndjson"]

    # The round trip: TikTok (a sandbox without the bad events) takes them all.
    still_failed = tmp_path / "still-failed.ndjson"
    with SandboxServer(access_token=TOKEN) as up:
        again = send_file(failed_out, auth=auth_for(up), failed_out=still_failed)
        assert accepted_ids(up) == ["bad-0", "bad-1", "bad-2"]
    assert again.ok
    assert (again.events, again.accepted, again.failed) == (3, 3, 0)
    assert again.failed_out is None  # nothing to write: no file
    assert not still_failed.exists()


def test_failed_out_that_is_the_input_is_refused_before_anything_is_sent(
    sandbox: SandboxServer, auth: TikTokAuth, event: Event, tmp_path: Path
) -> None:
    path = write_ndjson(tmp_path / "sent.ndjson", [pixel_track(event, "c0")])
    before = path.read_bytes()

    # The same file by another name (relative: the tests run in tmp_path).
    with pytest.raises(FailedOutError) as caught:
        send_file(path, auth=auth, failed_out="sent.ndjson")

    assert caught.value.reason is None
    assert isinstance(caught.value, ConfigurationError)
    assert "is the input file" in str(caught.value)
    assert sandbox.received == []
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sent.ndjson"]


def test_failed_out_in_a_missing_folder_is_refused_before_anything_is_sent(
    sandbox: SandboxServer, auth: TikTokAuth, event: Event, tmp_path: Path
) -> None:
    path = write_ndjson(tmp_path / "sent.ndjson", [pixel_track(event, "c1")])
    target = tmp_path / "missing-folder" / "failed.ndjson"

    with pytest.raises(FailedOutError) as caught:
        send_file(path, auth=auth, failed_out=target)

    assert caught.value.target == target
    assert caught.value.reason == "No such file or directory"
    assert str(caught.value) == f"cannot write failed_out {target}: No such file or directory"
    assert sandbox.received == []
    assert not target.parent.exists()


def test_a_dry_run_sends_nothing_and_counts_what_a_real_run_sends(
    sandbox: SandboxServer, auth: TikTokAuth, event: Event, tmp_path: Path
) -> None:
    most = family("pixel_batch").max_events
    assert most is not None
    pixels = [pixel_track(event, f"d{i}") for i in range(most + 1)]  # two batch requests
    path = write_ndjson(
        tmp_path / "sent.ndjson", [*pixels, INVALID, UNREADABLE, event_track(["e0", "e1"])]
    )

    dry = send_file(path, auth=auth, dry_run=True, failed_out=tmp_path / "failed.ndjson")
    assert sandbox.received == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sent.ndjson"]  # nothing written
    real = send_file(path, auth=auth)

    assert (dry.dry_run, real.dry_run) == (True, False)
    assert (dry.events, dry.requests) == (most + 3, 3)
    assert (dry.events, dry.requests) == (real.events, real.requests)
    assert real.accepted == real.events == len(sandbox.accepted_events())
    assert real.requests == len(sandbox.received)
    assert (dry.invalid, dry.unreadable) == (real.invalid, real.unreadable) == (1, 1)
    assert (dry.accepted, dry.failed, dry.failed_out) == (0, 0, None)
    assert [(i.kind, i.line, i.message) for i in dry.issues] == [
        (i.kind, i.line, i.message) for i in real.issues
    ]


@pytest.mark.parametrize("explicit", [False, True], ids=["unsent-name", "failed-out"])
def test_a_stopped_send_writes_every_event_not_accepted_and_a_second_send_finishes(
    bad_sandbox: SandboxServer, tmp_path: Path, explicit: bool
) -> None:
    everything = ["e0", "bad-0", "e2", "e3", "e4", "e5"]
    # batch_size 2: ([e0], [bad-0]) is sent; then the stop: ([e2, e3], [e4]) and ([e5]) are not.
    path = write_ndjson(
        tmp_path / "sent.ndjson",
        [event_track(["e0"]), event_track(["bad-0"]), event_track(["e2", "e3"]),
         event_track(["e4"]), event_track(["e5"])],
    )  # fmt: skip
    asked: list[int] = []

    def stop() -> bool:
        asked.append(len(asked) + 1)
        return len(asked) >= 2  # from the second batch on

    target = tmp_path / "rest.ndjson" if explicit else None
    report = send_file(path, auth=auth_for(bad_sandbox), batch_size=2, stop=stop, failed_out=target)

    assert report.stopped
    assert not report.ok
    assert asked == [1, 2]  # asked before each batch, and never again once stopped
    assert (report.events, report.accepted, report.failed, report.unsent) == (2, 1, 1, 4)
    expected_out = target if explicit else Path(unsent_name(path))
    assert expected_out == (tmp_path / ("rest.ndjson" if explicit else "sent.ndjson.unsent.ndjson"))
    assert report.failed_out == expected_out
    assert ids_in(expected_out) == ["bad-0", "e2", "e3", "e4", "e5"]  # all not accepted
    first = bad_sandbox.deliveries()
    assert accepted_ids(bad_sandbox) == ["e0"]
    assert not any(first[i] for i in ("e2", "e3", "e4", "e5"))  # never sent

    with SandboxServer(access_token=TOKEN) as up:
        again = send_file(expected_out, auth=auth_for(up), failed_out=tmp_path / "left.ndjson")
        second = [str(e["event_id"]) for e in up.accepted_events()]
    assert again.ok
    assert (again.events, again.accepted) == (5, 5)
    # Nothing lost, nothing accepted twice.
    accepted = collections.Counter([str(e["event_id"]) for e in bad_sandbox.accepted_events()])
    accepted.update(second)
    assert sorted(accepted) == sorted(everything)
    assert set(accepted.values()) == {1}


def test_an_unreadable_line_after_the_stop_is_still_reported(
    sandbox: SandboxServer, auth: TikTokAuth, tmp_path: Path
) -> None:
    path = write_ndjson(
        tmp_path / "sent.ndjson",
        [event_track(["u0"]), event_track(["u1"]), UNREADABLE, event_track(["u2"])],
    )
    asked: list[bool] = []

    def stop() -> bool:
        asked.append(True)
        return len(asked) >= 2

    report = send_file(path, auth=auth, batch_size=2, stop=stop)

    assert (report.stopped, report.accepted, report.unsent) == (True, 2, 1)
    assert ids_in(Path(unsent_name(path))) == ["u2"]
    assert report.unreadable == 1
    assert [(issue.kind, issue.line) for issue in report.issues] == [("unreadable", 3)]


def test_report_requests_counts_the_requests_sent(tmp_path: Path) -> None:
    path = write_ndjson(tmp_path / "sent.ndjson", [event_track(["r0", "r1", "r2"])])
    with SandboxServer(access_token=TOKEN) as server:
        wrong = TikTokAuth(
            TIKTOK_ACCESS_TOKEN="wrong-token",
            TIKTOK_PIXEL_ID=PIXEL,
            TIKTOK_API_BASE_URL=server.base_url,
        )
        report = send_file(path, auth=wrong, max_concurrency=1)
        sent = len(server.received)

    assert (report.events, report.failed, sent) == (3, 3, 1)
    assert report.requests == sent


def test_a_dry_run_needs_no_credentials(event: Event, tmp_path: Path) -> None:
    path = write_ndjson(tmp_path / "sent.ndjson", [pixel_track(event, "n0"), UNREADABLE])

    report = send_file(path, dry_run=True)  # no auth, no TIKTOK_* variable, no .env

    assert (report.dry_run, report.events, report.requests, report.unreadable) == (
        True,
        1,
        1,
        1,
    )


PROGRESS_PAYLOADS = 600


@pytest.mark.parametrize(
    "batch_size",
    [
        250,
        200,
    ],
    ids=["last-batch-partial", "last-batch-full"],
)
def test_progress_moves_forward_to_the_file_size(
    sandbox: SandboxServer, auth: TikTokAuth, tmp_path: Path, batch_size: int
) -> None:
    path = write_ndjson(
        tmp_path / "sent.ndjson", [event_track([f"p{i}"]) for i in range(PROGRESS_PAYLOADS)]
    )
    size = path.stat().st_size
    positions: list[int] = []

    report = send_file(
        path, auth=auth, batch_size=batch_size, max_concurrency=1, on_progress=positions.append
    )

    assert report.accepted == PROGRESS_PAYLOADS
    assert len(positions) >= math.ceil(PROGRESS_PAYLOADS / batch_size)
    assert positions == sorted(positions)
    assert all(0 <= position <= size for position in positions)
    assert any(0 < position < size for position in positions)  # it moves before the end
    assert positions[-1] == size


def test_a_gzip_stream_is_read_and_its_issues_carry_the_source_given(
    bad_sandbox: SandboxServer, event: Event, tmp_path: Path
) -> None:
    lines = [
        json.dumps(pixel_track(event, "g0")),
        "not json",
        json.dumps(event_track(["g1", "bad-0", "g2"])),
        json.dumps(INVALID),
    ]
    stream = io.BytesIO(gzip.compress(("\n".join(lines) + "\n").encode()))

    report = send_file(stream, source="<stdin>", auth=auth_for(bad_sandbox))

    assert (report.accepted, report.failed, report.unreadable, report.invalid) == (3, 1, 1, 1)
    assert accepted_ids(bad_sandbox) == ["g0", "g1", "g2"]
    assert {issue.source for issue in report.issues} == {"<stdin>"}
    shown = sorted(str(issue) for issue in report.issues)
    assert shown[0].startswith("<stdin>: 1 event(s) failed: TikTok code 40002")
    assert shown[1].startswith("<stdin>:2: /: not valid JSON")
    assert shown[2].startswith("<stdin>:4: ")
    assert not stream.closed  # the caller's stream is read, never closed
    assert list(tmp_path.iterdir()) == []  # no unsent file: the send was not stopped

    # Without a source, a stream is "<stream>".
    unnamed = send_file(io.BytesIO(b"not json\n"), auth=auth_for(bad_sandbox), dry_run=True)
    assert [str(issue) for issue in unnamed.issues] == [
        "<stream>:1: /: not valid JSON: Expecting value (column 1)"
    ]


def test_events_older_than_the_dedup_window_are_counted(
    sandbox: SandboxServer, auth: TikTokAuth, event: Event, tmp_path: Path
) -> None:
    now = float(EVENT_TIME)
    recent = datetime.datetime.fromtimestamp(now - HOUR, datetime.timezone.utc).isoformat()
    path = write_ndjson(
        tmp_path / "sent.ndjson",
        [
            event_track(["o0"], event_time=EVENT_TIME - 49 * HOUR),  # old
            event_track(["o1"], event_time=EVENT_TIME - 48 * HOUR - 1),  # old
            event_track(["o2"], event_time=EVENT_TIME - 48 * HOUR),  # not more than 48 h
            event_track(["o3"], event_time=EVENT_TIME - 47 * HOUR),
            pixel_track(event, "o4"),  # the Quick Start's timestamp, in 2023: old
            pixel_track(event, "o5") | {"timestamp": recent},
        ],
    )

    dry = send_file(path, auth=auth, dry_run=True, now=now)
    report = send_file(path, auth=auth, now=now)

    assert (dry.old, report.old) == (3, 3)
    assert report.ok  # old events are sent all the same
    assert accepted_ids(sandbox) == ["o0", "o1", "o2", "o3", "o4", "o5"]
    later = send_file(path, auth=auth, dry_run=True, now=now + 48 * HOUR)
    assert later.old == 6
