"""benchmarks/startup.py runs and prints each figure with its target (a smoke test on one run
each: no timing is asserted)."""

from __future__ import annotations

from tests.test_benchmarks import run_benchmark


def test_startup_benchmark_prints_every_figure_and_target() -> None:
    done = run_benchmark("startup.py", "--runs", "1", "--events", "5")
    for line in (
        "import pytt_events",
        "pytt-events --help",
        "no warm-up",
        "sender.api.warm_up()",
        "sender.warm_up()",
    ):
        assert line in done.stdout
    assert done.stdout.count("target <=") == 5
