"""The pytt-events command, run as users run it: a real process, real HTTP on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pytt_events.auth import TikTokAuth
from pytt_events.event import Event
from pytt_events.testing import SandboxServer
from pytt_events.tiktok_events_api import TikTokEventsApi
from tests.conftest import QUICK_START_DIGESTS, RAW_PERSONAL_DATA

COMMAND = str(Path(sys.executable).with_name("pytt-events"))
ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [COMMAND, *args], capture_output=True, text=True, timeout=120, env=ENV, check=False
    )


def test_demo_shows_what_tiktok_received_hashed() -> None:
    done = run("demo")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "post_event          -> code 0 'OK'" in out
    assert "post_events_in_bulk -> code 0 '3 event(s) accepted in 1 request(s)'" in out
    assert "TikTok received at /open_api/v1.3/pixel/track/ (1 event(s))" in out
    assert "TikTok received at /open_api/v1.3/pixel/batch/ (3 event(s))" in out
    for digest in QUICK_START_DIGESTS.values():
        assert digest in out
    assert not any(raw in out + done.stderr for raw in RAW_PERSONAL_DATA)


@pytest.mark.parametrize("args", [(), ("sandbox",), ("demo",), ("stats",)])
def test_help_everywhere_with_examples(args: tuple[str, ...]) -> None:
    done = run(*args, "--help")
    assert done.returncode == 0
    assert "Examples:" in done.stdout
    assert "Usage: pytt-events" in done.stdout


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_sandbox_command_serves_until_interrupted(event: Event, stop_signal: int) -> None:
    process = subprocess.Popen(
        [COMMAND, "sandbox", "--port", "0", "--token", "cli-token"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("sandbox listening: TIKTOK_API_BASE_URL=http://127.0.0.1:")
        base_url = first.strip().split("=", 1)[1]
        assert (
            process.stdout.readline().strip() == "accepted token:    TIKTOK_ACCESS_TOKEN=cli-token"
        )
        assert process.stdout.readline().strip() == (
            "advertiser:        TIKTOK_ADVERTISER_ID=7000000000000000001"
        )
        auth = TikTokAuth(
            TIKTOK_ACCESS_TOKEN="cli-token", TIKTOK_PIXEL_ID="P", TIKTOK_API_BASE_URL=base_url
        )
        with TikTokEventsApi() as api:
            assert api.post_event(event, auth).code == 0
        line = process.stdout.readline()
        assert line.startswith("/open_api/v1.3/pixel/track/ -> code 0 (1 event(s))")
    finally:
        process.send_signal(stop_signal)
        try:
            out, err = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()  # never leak the process, whatever happened above
            out, err = process.communicate()
            pytest.fail(f"the sandbox did not stop on {stop_signal}: {out!r} {err!r}")
    assert process.returncode == 0, err
    assert "stopping" in out


def test_sandbox_on_a_busy_port_or_a_bad_port_is_a_message_not_a_traceback() -> None:
    with SandboxServer() as busy:
        port = busy.port
        done = run("sandbox", "--port", str(port))
    assert done.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}: " in done.stderr
    assert "Traceback" not in done.stderr
    bad = run("sandbox", "--port", "99999")
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr


def test_schema_of_an_unknown_api_version_is_a_usage_error() -> None:
    done = run("schema", "--api-version", "v9")
    assert done.returncode == 2
    assert "known versions: v1.3" in done.stderr
