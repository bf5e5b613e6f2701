"""The benchmark scripts run and print their figures (a smoke test on tiny inputs: no timing
is asserted; the figures that matter come from running them as the README says)."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def test_validate_benchmark_prints_rates_memory_and_ratio() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "validate.py"), "--lines", "2000"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "generated 2,000 payloads" in done.stdout
    assert "validate_file --require-hashed" in done.stdout
    assert "invalid found: 20" in done.stdout
    assert " MB " in done.stdout


def test_events_benchmark_checks_bytes_and_prints_ratios() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "events.py"), "--events", "300", "--runs", "1"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr  # it asserts SDK and floor send the same bytes
    assert "Events 1.0 SDK" in done.stdout
    assert "Events 2.0 SDK" in done.stdout
    assert "x\n" in done.stdout


def test_send_benchmark_runs_against_a_sandbox_process() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "send.py"), "--events", "400"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    for run in (
        "event_track (1000/req) sync",
        "event_track (1000/req) async",
        "pixel_batch (50/req) async",
    ):
        assert run in done.stdout


def test_sender_benchmark_prints_the_request_path_waits() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "sender.py"), "--events", "200"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    for run in ("EventSender.track, SQLite outbox", "EventSender.track, in-memory outbox"):
        assert run in done.stdout
    assert "events the senders saw accepted: 400 of 400" in done.stdout
