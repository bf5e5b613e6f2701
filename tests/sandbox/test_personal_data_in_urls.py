"""Raw personal data in a page URL (issue 20, item 1): every way in (the client's track,
post_event, post_events_in_bulk, send_payloads, the `send` command, the background sender with
its SQLite outbox) removes the query parameters that carry it before anything is stored or
sent, and the strict sandbox would refuse whatever slipped through."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from pytt_events import TikTokEventsApi, _soft
from pytt_events.sender import EventSender
from pytt_events.testing import SandboxServer
from tests.conftest import PIXEL, TOKEN, auth_for

COMMAND = str(Path(sys.executable).with_name("pytt-events"))
URL = "https://shop.example/?email=ana%40example.com&phone=%2B5541998862934&utm_source=tt"
CLEAN = "https://shop.example/?utm_source=tt"
# The address and the number in every encoding they could take on the way.
RAW = ("ana@example.com", "ana%40example.com", "5541998862934")


def track_event(event_id: str) -> dict[str, Any]:
    return {
        "event": "Purchase",
        "event_time": int(time.time()),
        "event_id": event_id,
        "user": {"external_id": "u-1"},
        "page": {"url": URL, "referrer": URL},
    }


def web_event(event_id: str) -> dict[str, Any]:
    return {
        "pixel_code": PIXEL,
        "event": "ViewContent",
        "event_id": event_id,
        "context": {"user": {"external_id": "u-1"}, "page": {"url": URL, "referrer": URL}},
    }


def assert_clean(text: str | bytes) -> None:
    data = text if isinstance(text, bytes) else text.encode()
    for raw in RAW:
        assert raw.encode() not in data, raw


def received_pages(server: SandboxServer) -> list[Any]:
    pages = []
    for event in server.accepted_events():
        page = event.get("page") or event.get("context", {}).get("page")
        pages.append(page)
    return pages


def test_the_background_sender_stores_and_sends_no_raw_personal_data(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "outbox.sqlite3"
    caplog.set_level(logging.WARNING, logger="pytt_events")
    _soft.forget_warnings()  # each warning is logged once per process: this test hears it
    with SandboxServer(access_token=TOKEN, strict_personal_data=True) as server:
        with EventSender(auth_for(server), outbox=path, interval=60) as sender:
            assert sender.track(track_event("url-1")) == "url-1"
            assert sender.post_event(web_event("url-2")) == "url-2"
            # Before the worker sends: what the outbox holds, in the database and its WAL.
            files = [p for p in tmp_path.iterdir() if p.name.startswith("outbox.sqlite3")]
            assert any(p.name.endswith("-wal") for p in files)
            for file in files:
                assert_clean(file.read_bytes())
            assert sender.flush(timeout=30)
        for file in tmp_path.iterdir():
            assert_clean(file.read_bytes())
    assert sorted(str(e["event_id"]) for e in server.accepted_events()) == ["url-1", "url-2"]
    assert received_pages(server) == [{"url": CLEAN, "referrer": CLEAN}] * 2
    assert_clean(json.dumps([r.body for r in server.received]))
    assert all(r.raw_personal_data == () for r in server.received)
    # The warning names the field, never the value.
    warnings = [r.getMessage() for r in caplog.records if "raw personal data" in r.getMessage()]
    assert any(w.startswith("Page.url ") for w in warnings)
    assert any(w.startswith("Page.referrer ") for w in warnings)
    assert_clean("\n".join(warnings))


@pytest.mark.parametrize("way", ["track", "post_event", "post_events_in_bulk", "send_payloads"])
def test_every_client_method_sends_the_url_without_them(way: str) -> None:
    with SandboxServer(access_token=TOKEN, strict_personal_data=True) as server:
        auth = auth_for(server)
        with TikTokEventsApi() as api:
            if way == "track":
                api.track(track_event("w-1"), auth=auth)
            elif way == "post_event":
                api.post_event(web_event("w-1"), auth=auth)
            elif way == "post_events_in_bulk":
                api.post_events_in_bulk([web_event("w-1"), web_event("w-2")], auth=auth)
            else:
                stored = {"event_source": "web", "event_source_id": PIXEL}
                api.send_payloads([{**stored, "data": [track_event("w-1")]}], auth=auth)
    assert server.accepted_events()
    assert all(page == {"url": CLEAN, "referrer": CLEAN} for page in received_pages(server))
    assert_clean(json.dumps([r.body for r in server.received]))


def test_the_send_command_sends_stored_payloads_without_them(tmp_path: Path) -> None:
    source = tmp_path / "stored.ndjson"
    stored = {"event_source": "web", "event_source_id": PIXEL, "data": [track_event("s-1")]}
    source.write_text(json.dumps(stored) + "\n" + json.dumps(web_event("s-2")) + "\n")
    with SandboxServer(access_token=TOKEN, strict_personal_data=True) as server:
        env = {
            "PATH": "/usr/bin:/bin",
            "TIKTOK_ACCESS_TOKEN": TOKEN,
            "TIKTOK_PIXEL_ID": PIXEL,
            "TIKTOK_API_BASE_URL": server.base_url,
        }
        done = subprocess.run(
            [COMMAND, "send", str(source)], capture_output=True, text=True, env=env, timeout=60
        )
    assert done.returncode == 0, done.stderr
    assert len(server.accepted_events()) == 2
    assert all(page == {"url": CLEAN, "referrer": CLEAN} for page in received_pages(server))
    assert_clean(json.dumps([r.body for r in server.received]) + done.stdout + done.stderr)


def test_the_validate_command_warns_about_such_a_url_and_does_not_refuse_it(
    tmp_path: Path,
) -> None:
    source = tmp_path / "stored.ndjson"
    source.write_text(json.dumps(web_event("v-1")) + "\n")
    done = subprocess.run(
        [COMMAND, "validate", str(source)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    output = done.stdout + done.stderr
    assert "context.page.url" in output.replace("/", ".") or "page/url" in output
    assert "raw personal data" in output
    assert_clean(output)
