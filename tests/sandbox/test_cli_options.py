"""The command line's common ground, run as users run it (a real process; sends go to the
sandbox on 127.0.0.1): -v/-vv after every command as before it, the bare command, one form for
the problems of a bad line in `validate` and `send`, and unknown API versions (issue 20,
items 12, 13, 14 and 16)."""

from __future__ import annotations

import copy
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pytt_events import UnknownApiVersionError
from pytt_events.auth import TikTokAuth
from pytt_events.cli import main
from pytt_events.replay import send_file
from pytt_events.testing import SandboxServer
from tests.conftest import TOKEN
from tests.sandbox.test_stored_cli import INVALID, VALID, ndjson

COMMAND = str(Path(sys.executable).with_name("pytt-events"))
COMMANDS = sorted(main.commands)  # type: ignore[attr-defined]


def run(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [COMMAND, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        cwd=cwd,
        check=False,
    )


def sandbox_env(sandbox: SandboxServer) -> dict[str, str]:
    return {
        "TIKTOK_ACCESS_TOKEN": TOKEN,
        "TIKTOK_PIXEL_ID": "CLIPIXEL",
        "TIKTOK_API_BASE_URL": sandbox.base_url,
    }


def loggers(stderr: str) -> set[str]:
    """The libraries whose loggers printed through -v's handler (`name LEVEL message`)."""
    pattern = re.compile(r"^([\w.]+) (?:DEBUG|INFO|WARNING|ERROR) ")
    return {
        match.group(1).split(".")[0]
        for match in map(pattern.match, stderr.splitlines())
        if match is not None
    }


# -- 12: -v and -vv after every command, meaning what they mean before it -------------------


def test_every_command_takes_v_after_its_name() -> None:
    assert COMMANDS == [
        "convert",
        "demo",
        "outbox",
        "sandbox",
        "schema",
        "send",
        "stats",
        "validate",
    ]
    for name in COMMANDS:
        done = run(name, "-v", "--help")
        assert done.returncode == 0, (name, done.stderr)
        assert "-v, --verbose" in done.stdout
        assert "Before or after the command" in " ".join(done.stdout.split())


@pytest.mark.parametrize(
    ("before", "after", "shown"),
    [
        ((), ("-v",), {"pytt_events"}),
        (("-v",), (), {"pytt_events"}),
        ((), ("-vv",), {"pytt_events", "httpx", "httpcore"}),
        (("-vv",), (), {"pytt_events", "httpx", "httpcore"}),
        (("-v",), ("-v",), {"pytt_events", "httpx", "httpcore"}),  # counted before + after
        ((), ("--verbose", "--verbose"), {"pytt_events", "httpx", "httpcore"}),
        ((), (), set()),
    ],
)
def test_send_v_is_the_same_before_and_after_the_command(
    tmp_path: Path, before: tuple[str, ...], after: tuple[str, ...], shown: set[str]
) -> None:
    """`pytt-events send -v F`, which the README shows, was refused."""
    source = ndjson(tmp_path / "sent.ndjson", VALID[:2])
    with SandboxServer(access_token=TOKEN) as sandbox:
        done = run(*before, "send", *after, str(source), env=sandbox_env(sandbox))
        assert len(sandbox.accepted_events()) == 2
    assert done.returncode == 0, done.stderr
    assert loggers(done.stderr) == shown
    assert TOKEN not in done.stderr


def test_demo_v_means_what_the_groups_v_means() -> None:
    """demo's own -v was a flag that turned on every logger's debug lines, httpx's too."""
    one, two, before = run("demo", "-v"), run("demo", "-vv"), run("-v", "demo")
    assert (one.returncode, two.returncode, before.returncode) == (0, 0, 0), one.stderr
    assert loggers(one.stderr) == loggers(before.stderr) == {"pytt_events"}
    assert {"pytt_events", "httpx"} <= loggers(two.stderr)


def test_validate_and_schema_take_v_after_their_arguments(tmp_path: Path) -> None:
    source = ndjson(tmp_path / "good.ndjson", VALID[:1])
    assert run("validate", str(source), "-v").returncode == 0
    assert run("schema", "event_track", "-v").returncode == 0


# -- 13: the bare command --------------------------------------------------------------------


@pytest.mark.parametrize("args", [(), ("-v",)])
def test_the_bare_command_prints_its_help_and_succeeds(args: tuple[str, ...]) -> None:
    done = run(*args)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Usage: pytt-events [OPTIONS] [COMMAND] [ARGS]...")
    assert "Commands:" in done.stdout
    assert all(name in done.stdout for name in COMMANDS)
    assert done.stderr == ""


# -- 14: validate and send tell a bad line alike ---------------------------------------------


def located(text: str, source: Path) -> dict[int, list[str]]:
    """The error lines about `source` (`file:line: ...`, warnings left out), by line."""
    found: dict[int, list[str]] = {}
    pattern = re.compile(rf"^{re.escape(str(source))}:(\d+): (?!warning: )(.*)$")
    for line in text.splitlines():
        match = pattern.match(line)
        if match:
            found.setdefault(int(match.group(1)), []).append(match.group(2))
    return found


def test_validate_and_send_describe_a_bad_line_in_the_same_words(tmp_path: Path) -> None:
    """validate said `/data/0/event_time: must be of type integer`, send `data.0.event_time:
    Input should be a valid integer...`. (send takes some payloads validate refuses, as an
    ISO event_time or an Events 1.0 body, which the client converts: only lines both refuse
    are compared.)"""
    not_a_time = copy.deepcopy(INVALID["ISO event_time"][0])
    not_a_time["data"][0]["event_time"] = "not a time"
    bad = [INVALID["wrong types"][0], INVALID["missing event"][0], not_a_time]
    source = ndjson(tmp_path / "mixed.ndjson", [VALID[0], *bad], extra="{truncated\n")
    checked = run("validate", str(source))
    with SandboxServer(access_token=TOKEN) as sandbox:
        dry = run("send", "--dry-run", str(source), env=sandbox_env(sandbox))
        sent = run("send", str(source), env=sandbox_env(sandbox))
        assert len(sandbox.accepted_events()) == 1
    assert (checked.returncode, dry.returncode, sent.returncode) == (1, 1, 1)
    told = located(checked.stdout, source)
    assert sorted(told) == [2, 3, 4, 5]  # every bad line, and only those
    assert INVALID["wrong types"][1] in told[2]
    assert told[3] == [INVALID["missing event"][1]]
    assert told[4] == ["/data/0/event_time: must be of type integer"]
    assert told[5][0].startswith("/: not valid JSON")
    assert located(dry.stderr, source) == told
    assert located(sent.stderr, source) == told


# -- 16: an unknown API version is a message and exit status 2, wherever it comes from -------


def assert_usage_error(done: subprocess.CompletedProcess[str], *, named: str = "v9.9") -> None:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert f"API version '{named}' has no schema in this build" in done.stderr


def test_send_with_an_unknown_api_version_is_a_message_and_status_2(tmp_path: Path) -> None:
    source = ndjson(tmp_path / "sent.ndjson", VALID[:2])
    unknown = {"TIKTOK_API_VERSION": "v9.9"}
    with SandboxServer(access_token=TOKEN) as sandbox:
        assert_usage_error(run("send", str(source), "--dry-run", env=unknown))
        assert_usage_error(run("send", str(source), env={**sandbox_env(sandbox), **unknown}))
        failed_out = tmp_path / "failed.ndjson"
        assert_usage_error(
            run(
                "send", str(source), "--failed-out", str(failed_out),
                env={**sandbox_env(sandbox), **unknown},
            )
        )  # fmt: skip
        # From a .env file, as TikTokAuth reads settings.
        (tmp_path / ".env").write_text("TIKTOK_API_VERSION=v8.0\n")
        assert_usage_error(
            run("send", str(source), env=sandbox_env(sandbox), cwd=tmp_path), named="v8.0"
        )
        assert_usage_error(run("send", str(source), "--dry-run", cwd=tmp_path), named="v8.0")
        assert sandbox.received == []
    assert sorted(path.name for path in tmp_path.iterdir()) == [".env", "sent.ndjson"]


@pytest.mark.parametrize(
    "args",
    [
        ("validate", "{file}"),
        ("validate", "{file}", "--api-version", "v9.9"),
        ("schema",),
        ("schema", "event_track", "--api-version", "v9.9"),
        ("send", "{file}", "--dry-run"),
    ],
)
def test_every_command_refuses_an_unknown_api_version_alike(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    source = ndjson(tmp_path / "sent.ndjson", VALID[:1])
    done = run(*(arg.format(file=source) for arg in args), env={"TIKTOK_API_VERSION": "v9.9"})
    assert_usage_error(done)
    assert done.stderr.startswith(f"Usage: pytt-events {args[0]} ")


def test_send_file_refuses_an_unknown_version_before_reading_or_sending(tmp_path: Path) -> None:
    source = ndjson(tmp_path / "sent.ndjson", VALID[:1])
    with SandboxServer(access_token=TOKEN) as sandbox:
        auth = TikTokAuth(
            TIKTOK_ACCESS_TOKEN=TOKEN,
            TIKTOK_PIXEL_ID="CLIPIXEL",
            TIKTOK_API_BASE_URL=sandbox.base_url,
            TIKTOK_API_VERSION="v9.9",
        )
        with pytest.raises(UnknownApiVersionError, match=re.escape("v9.9")):
            send_file(source, auth=auth, failed_out=tmp_path / "failed.ndjson")
        assert sandbox.received == []
    assert [path.name for path in tmp_path.iterdir()] == ["sent.ndjson"]
