"""`pytt-events convert` and `send --from`, run as users run them: Meta and ECAPI events in,
TikTok payloads out (validated by `pytt-events validate`), and sent over 127.0.0.1 to the
sandbox, which checks that no raw personal data arrives."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from pytt_events import hash_value, sha256_hex
from pytt_events.testing import SandboxServer
from tests.conftest import TOKEN

COMMAND = str(Path(sys.executable).with_name("pytt-events"))
PIXEL = "ABCDEFGHIJ0123456789"
NOW = int(time.time())

META_PURCHASE = {
    "event_name": "Purchase",
    "event_time": NOW,
    "event_id": "order-981",
    "action_source": "website",
    "event_source_url": "https://shop.example/checkout",
    "user_data": {
        "em": ["ana@example.com"],
        "ph": ["5541998862934", sha256_hex("5541998862934")],
        "client_ip_address": "203.0.113.9",
        "client_user_agent": "Mozilla/5.0",
        "fbp": "fb.1.1558571054389.1098115397",
    },
    "custom_data": {
        "currency": "usd",
        "value": 142.52,
        "contents": [{"id": "sku-1", "quantity": 2, "item_price": 71.26}],
    },
    "data_processing_options": ["LDU"],
}
META_LEAD = {
    "event_name": "Lead",
    "event_time": NOW,
    "event_id": "lead-7",
    "action_source": "website",
    "user_data": {"em": sha256_hex("bo@example.org")},
}


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [COMMAND, *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
        check=False,
    )


def sandbox_env(server: SandboxServer) -> dict[str, str]:
    return {
        "TIKTOK_ACCESS_TOKEN": TOKEN,
        "TIKTOK_PIXEL_ID": PIXEL,
        "TIKTOK_API_BASE_URL": server.base_url,
    }


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_convert_writes_payloads_validate_takes(tmp_path: Path) -> None:
    source = write(
        tmp_path / "meta.ndjson",
        f'{json.dumps(META_PURCHASE)}\n{{"event_time": 1}}\nnot json\n{json.dumps(META_LEAD)}\n',
    )
    out = tmp_path / "tiktok.ndjson"
    done = run("convert", "--from", "meta", str(source), "-o", str(out), "--event-source-id", PIXEL)
    assert done.returncode == 1  # two lines could not be converted
    assert f"{source}:2: event_name: missing" in done.stderr
    assert f"{source}:3: not valid JSON" in done.stderr
    assert f"{source}:1: warning: user_data.ph[1]: a phone number Meta hashed" in done.stderr
    assert f"{source}:1: warning: user_data.fbp: " in done.stderr
    assert "2 event(s) converted, 2 could not be; 2 field(s) left out" in done.stderr
    assert "ana@example.com" not in done.stderr + out.read_text()
    assert "Traceback" not in done.stderr
    bodies = [json.loads(line) for line in out.read_text().splitlines()]
    assert [body["data"][0]["event_id"] for body in bodies] == ["order-981", "lead-7"]
    first = bodies[0]
    assert (first["event_source"], first["event_source_id"]) == ("web", PIXEL)
    assert first["data"][0]["user"]["email"] == [hash_value("email", "ana@example.com")]
    assert first["data"][0]["user"]["phone"] == [hash_value("phone", "+5541998862934")]
    assert first["data"][0]["limited_data_use"] is True
    checked = run("validate", "--require-hashed", str(out))
    assert checked.returncode == 0, checked.stdout


def test_meta_request_body_and_ecapi_array_inputs(tmp_path: Path) -> None:
    meta = write(tmp_path / "meta.json", json.dumps({"data": [META_PURCHASE, META_LEAD]}))
    done = run("convert", "--from", "meta", str(meta), "--event-source-id", PIXEL)
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 2
    ecapi = [
        {
            "id": "e-1",
            "timestamp": NOW,
            "event_type": "purchase",
            "source": "physical_store",
            "value": 10.0,
            "currency_code": "EUR",
            "user_data": {"email_address": sha256_hex("ana@example.com")},
        }
    ]
    path = write(tmp_path / "ecapi.json", json.dumps(ecapi))
    done = run("convert", "--from", "ecapi", str(path), "--event-source-id", "7300000000000000001")
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert body["event_source"] == "offline"
    assert body["data"][0]["user"]["email"] == [sha256_hex("ana@example.com")]


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    source = write(tmp_path / "meta.ndjson", json.dumps(META_LEAD) + "\n")
    no_id = run("convert", "--from", "meta", str(source))
    assert no_id.returncode == 2
    assert "--event-source-id" in no_id.stderr
    missing = run(
        "convert", "--from", "meta", str(tmp_path / "nope.ndjson"), "--event-source-id", PIXEL
    )
    assert missing.returncode == 2
    assert "nope.ndjson: cannot read" in missing.stderr
    same = run(
        "convert", "--from", "meta", str(source), "-o", str(source), "--event-source-id", PIXEL
    )
    assert same.returncode == 2
    for done in (no_id, missing, same):
        assert "Traceback" not in done.stderr


def test_send_from_meta_round_trip(tmp_path: Path) -> None:
    source = write(
        tmp_path / "meta.ndjson",
        f'{json.dumps(META_PURCHASE)}\n{{"event_time": 1}}\n{json.dumps(META_LEAD)}\n',
    )
    with SandboxServer(access_token=TOKEN, strict_personal_data=True) as sandbox:
        done = run("send", "--from", "meta", str(source), env=sandbox_env(sandbox))
        received = sandbox.accepted_events()
        requests = list(sandbox.received)
    assert done.returncode == 1, done.stderr  # line 2 could not be converted
    assert f"{source}:2: event_name: missing" in done.stderr
    assert f"{source}:1: warning: user_data.fbp: " in done.stderr
    assert "2 of 2 event(s) accepted, 0 failed" in done.stdout
    assert "1 event(s) could not be converted" in done.stderr
    assert "Traceback" not in done.stderr
    assert [event["event_id"] for event in received] == ["order-981", "lead-7"]
    assert {request.body["event_source_id"] for request in requests} == {PIXEL}
    purchase: dict[str, Any] = received[0]
    assert purchase["event"] == "Purchase"
    assert purchase["user"]["email"] == [hash_value("email", "ana@example.com")]
    assert purchase["user"]["phone"] == [hash_value("phone", "+5541998862934")]
    assert purchase["properties"]["contents"] == [
        {"content_id": "sku-1", "price": 71.26, "quantity": 2}
    ]
    assert received[1]["user"]["email"] == [sha256_hex("bo@example.org")]
    assert "ana@example.com" not in json.dumps([request.body for request in requests])


def test_send_from_ecapi_dry_run_needs_no_credentials(tmp_path: Path) -> None:
    event = {"id": "e-1", "timestamp": NOW, "event_type": "sign_up", "source": "website"}
    source = write(tmp_path / "ecapi.ndjson", json.dumps(event) + "\n")
    done = run("send", "--from", "ecapi", "--dry-run", str(source), "--event-source-id", PIXEL)
    assert done.returncode == 0, done.stderr
    assert "dry run: 1 event(s) would go in 1 request(s)" in done.stdout
