"""The original package's Quick Start, byte for byte, run as a script against the sandbox."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from pytt_events.testing import SandboxServer
from pytt_events.validation import validate_payload
from tests.conftest import QUICK_START_DIGESTS, RAW_PERSONAL_DATA, TOKEN, errors

QUICK_START = Path(__file__).resolve().parent.parent / "fixtures" / "quick_start.py"
BULK_OF_THREE = "\nresponse = api.post_events_in_bulk(events=[event, event, event], auth=auth)\n"


def run(source: str, sandbox: SandboxServer, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "quick_start.py"
    script.write_text(source)
    env = {
        **os.environ,
        "TIKTOK_ACCESS_TOKEN": TOKEN,
        "TIKTOK_PIXEL_ID": "QUICKSTARTPIXEL",
        "TIKTOK_API_BASE_URL": sandbox.base_url,
    }
    return subprocess.run(
        [sys.executable, str(script)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def assert_hashed_quick_start_user(user: dict[str, str]) -> None:
    for field, digest in QUICK_START_DIGESTS.items():
        assert user[field] == digest
    assert user["ttp"] == "94e2a4j9-h3ss-k2h5-98cc-c84a745mk098"


def test_quick_start_runs_unchanged(sandbox: SandboxServer, tmp_path: Path) -> None:
    done = run(QUICK_START.read_text(), sandbox, tmp_path)
    assert done.returncode == 0, done.stderr
    assert [request.path for request in sandbox.received] == ["/open_api/v1.3/pixel/track/"]
    body = sandbox.received[0].body
    assert sandbox.received[0].code == 0
    assert errors(validate_payload(body, "pixel_track", require_hashed=True)) == []
    assert_hashed_quick_start_user(body["context"]["user"])
    assert body["properties"]["contents"][0]["content_type"] == "product"
    assert "content_type" not in body["properties"]
    assert body["timestamp"] == "2023-02-01T00:00:00-03:00"
    assert not any(raw in json.dumps(body) for raw in RAW_PERSONAL_DATA)


def test_quick_start_with_a_bulk_of_three(sandbox: SandboxServer, tmp_path: Path) -> None:
    done = run(QUICK_START.read_text() + BULK_OF_THREE, sandbox, tmp_path)
    assert done.returncode == 0, done.stderr
    paths = [request.path for request in sandbox.received]
    assert paths == ["/open_api/v1.3/pixel/track/", "/open_api/v1.3/pixel/batch/"]
    batch = sandbox.received[1].body
    assert batch["pixel_code"] == "QUICKSTARTPIXEL"
    assert len(batch["batch"]) == 3
    for item in batch["batch"]:
        assert "pixel_code" not in item
        assert_hashed_quick_start_user(item["context"]["user"])
        assert item["properties"]["contents"][0]["content_type"] == "product"
    assert errors(validate_payload(batch, "pixel_batch", require_hashed=True)) == []
    assert not any(raw in json.dumps(batch) for raw in RAW_PERSONAL_DATA)
    assert not any(raw in done.stdout + done.stderr for raw in (*RAW_PERSONAL_DATA, TOKEN))
