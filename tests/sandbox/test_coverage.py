"""Match-key coverage over real HTTP to the sandbox on 127.0.0.1: what BulkResponse.coverage,
PayloadPreview.coverage and replay's SendReport.coverage say equals what a hand-written reading
of the requests the sandbox received says (tests/coverage_oracle.py); the CLI's tables (send,
validate --coverage, in text and JSON) say the same; and a deploy that stopped reading the
ttclid shows as the ttclid row falling."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pytt_events import AsyncTikTokEventsApi, BulkResponse, TikTokAuth, TikTokEventsApi
from pytt_events.replay import send_file
from pytt_events.testing import SandboxServer
from tests.conftest import TOKEN, auth_for
from tests.coverage_oracle import assert_coverage, expected

COMMAND = str(Path(sys.executable).with_name("pytt-events"))
CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "corpus"
FILES = sorted(path for path in CORPUS.glob("*/*.json") if path.parent.name != "invalid")
BODIES = [json.loads(path.read_text("utf-8")) for path in FILES]
#: A corpus body puts content_type on properties (Events 1.0's old place): moved, with a warning.
MOVED = pytest.mark.filterwarnings("ignore:Properties\\(content_type=:DeprecationWarning")


def received_bodies(server: SandboxServer) -> list[Any]:
    return [request.body for request in server.received if request.code == 0]


def send(mode: str, auth: TikTokAuth, payloads: list[Any]) -> BulkResponse:
    if mode == "sync":
        with TikTokEventsApi() as api:
            return api.send_payloads(payloads, auth, skip_invalid=True)

    async def run() -> BulkResponse:
        async with AsyncTikTokEventsApi() as api:
            return await api.send_payloads(payloads, auth, skip_invalid=True)

    return asyncio.run(run())


@MOVED
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_bulk_send_reports_the_coverage_of_what_tiktok_received(mode: str) -> None:
    with SandboxServer(access_token=TOKEN) as server:
        auth = auth_for(server)
        with TikTokEventsApi() as api:
            preview = api.preview_payloads(BODIES, auth)
        result = send(mode, auth, BODIES)
        received = received_bodies(server)
    assert result.invalid  # the corpus's bodies TikTok would refuse are not sent
    assert len(result.accepted) == sum(len(r) for r in result.response_indices) > 0
    assert_coverage(result.coverage, received)
    assert result.coverage == preview.coverage
    assert result.coverage.events == len(result.accepted)


@MOVED
def test_replay_reports_the_coverage_of_what_it_sent(tmp_path: Path) -> None:
    source = tmp_path / "sent.ndjson"
    source.write_text("".join(json.dumps(body) + "\n" for body in BODIES), "utf-8")
    with SandboxServer(access_token=TOKEN) as server:
        report = send_file(source, auth=auth_for(server), failed_out=tmp_path / "failed.ndjson")
        received = received_bodies(server)
    dry = send_file(source, dry_run=True)
    assert report.accepted == report.events > 0
    assert_coverage(report.coverage, received)
    assert dry.coverage == report.coverage


def ttclid_batch(ttclid: bool, events: int = 10) -> dict[str, Any]:
    data = []
    for i in range(events):
        user: dict[str, Any] = {"email": f"{i:064x}", "ip": "13.57.1.2", "user_agent": "UA/1"}
        if ttclid:
            user["ttclid"] = f"E.C.P.{i}"
        data.append({"event": "Purchase", "event_time": 1_900_000_000, "event_id": f"e-{i}",
                     "user": user})  # fmt: skip
    return {"event_source": "web", "event_source_id": "C" * 20, "data": data}


def test_a_deploy_that_stopped_reading_the_ttclid_shows_as_its_row_falling() -> None:
    with SandboxServer(access_token=TOKEN) as server:
        auth = auth_for(server)
        before = send("sync", auth, [ttclid_batch(True)]).coverage
        after = send("sync", auth, [ttclid_batch(False)]).coverage
    assert (before.share("ttclid"), after.share("ttclid")) == (1.0, 0.0)
    assert before.share("email") == after.share("email") == 1.0
    # The grade stays strong (email with IP and user agent): the key row is what shows it.
    assert before.grades["strong"] == after.grades["strong"] == 10


# -- the CLI, run as users run it ---------------------------------------------------------


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [COMMAND, *args], capture_output=True, text=True, timeout=300,
        env={**os.environ, **(env or {})}, check=False,
    )  # fmt: skip


def table_rows(out: str) -> dict[str, int]:
    """The rows of the coverage table printed in out: {row: events}."""
    lines = out[out.index("match-key coverage of") :].splitlines()
    rows = {}
    for line in lines[2:]:
        parts = line.split()
        if len(parts) >= 3 and parts[-1].endswith("%"):
            rows[" ".join(parts[:-2])] = int(parts[-2].replace(",", ""))
    return rows


def assert_table(out: str, bodies: list[Any]) -> None:
    events, keys, grades = expected(bodies)
    assert f"match-key coverage of {events} event(s)" in out
    rows = table_rows(out)
    assert {row: n for row, n in rows.items() if n} == {**keys, **grades}


def test_validate_prints_the_coverage_table_of_every_payload() -> None:
    done = run("validate", "--coverage", *map(str, FILES))
    assert done.returncode == 1  # the corpus holds bodies TikTok refuses
    assert_table(done.stdout, BODIES)
    assert "grade (heuristic)" in done.stdout
    plain = run("validate", *map(str, FILES))
    assert "match-key coverage" not in plain.stdout


def test_validate_json_carries_the_coverage() -> None:
    done = run("validate", "--coverage", "--format", "json", *map(str, FILES))
    summary = json.loads(done.stdout.splitlines()[-1])
    events, keys, grades = expected(BODIES)
    coverage = summary["coverage"]
    assert coverage["events"] == events
    assert {k: v for k, v in coverage["keys"].items() if v} == dict(keys)
    assert {k: v for k, v in coverage["grades"].items() if v} == dict(grades)


def test_send_prints_the_coverage_table_unless_told_not_to(tmp_path: Path) -> None:
    source = tmp_path / "sent.ndjson"
    source.write_text("".join(json.dumps(body) + "\n" for body in BODIES), "utf-8")
    with SandboxServer(access_token=TOKEN) as server:
        env = {"TIKTOK_ACCESS_TOKEN": TOKEN, "TIKTOK_PIXEL_ID": "CLIPIXEL",
               "TIKTOK_API_BASE_URL": server.base_url}  # fmt: skip
        done = run("send", str(source), env=env)
        received = received_bodies(server)
        quiet = run("send", "--no-coverage", str(source), env=env)
    assert done.returncode == 1, done.stderr  # some payloads are invalid
    assert_table(done.stdout, received)
    assert done.stdout.index("event(s) accepted") < done.stdout.index("match-key coverage")
    assert "match-key coverage" not in quiet.stdout
    assert "event(s) accepted" in quiet.stdout
