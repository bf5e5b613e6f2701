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
