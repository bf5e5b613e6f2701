"""The benchmark scripts run and print their figures (a smoke test on tiny inputs: no timing
is asserted; the figures that matter come from running them as the README says)."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def run_benchmark(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run benchmarks/<script> with args; it must succeed."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done


def test_validate_benchmark_prints_rates_memory_and_ratio() -> None:
    done = run_benchmark("validate.py", "--lines", "2000")
    assert "generated 2,000 payloads" in done.stdout
    assert "validate_file --require-hashed" in done.stdout
    assert "invalid found: 20" in done.stdout
    assert " MB " in done.stdout


def test_events_benchmark_checks_bytes_and_prints_ratios() -> None:
    # (It asserts that the SDK and the floor send the same bytes.)
    # --memory: the peak-memory figure holds 100,000 bodies by default (20 s): 300 here.
    done = run_benchmark("events.py", "--events", "300", "--runs", "1", "--memory", "300")
    assert "Events 1.0 SDK" in done.stdout
    assert "Events 2.0 SDK" in done.stdout
    assert "x\n" in done.stdout
    assert "peak memory holding 300 built 1.0 bodies" in done.stdout


def test_send_benchmark_runs_against_a_sandbox_process() -> None:
    done = run_benchmark("send.py", "--events", "400")
    for run in (
        "event_track (1000/req) sync",
        "event_track (1000/req) async",
        "pixel_batch (50/req) async",
    ):
        assert run in done.stdout


def test_sender_benchmark_prints_the_request_path_waits() -> None:
    done = run_benchmark("sender.py", "--events", "200", "--customers", "50")
    assert "mode new: 200 events per run" in done.stdout
    assert "mode repeat: 200 events per run from 50 customers" in done.stdout
    for run in ("EventSender.track, SQLite outbox", "EventSender.track, in-memory outbox"):
        assert done.stdout.count(run) == 2
    assert "events the senders saw accepted: 800 of 800" in done.stdout
