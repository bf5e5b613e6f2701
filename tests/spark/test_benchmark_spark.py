"""benchmarks/spark_validate.py runs and prints its figures (a smoke test on a tiny input, one
master: no timing is asserted; the README's figures come from running it as it says)."""

from __future__ import annotations

import pytest

pytest.importorskip("pyspark")
pytest.importorskip("pyarrow")

from tests.test_benchmarks import run_benchmark

pytestmark = [pytest.mark.spark]


def test_spark_validate_benchmark_compares_with_validate_file() -> None:
    done = run_benchmark(
        "spark_validate.py", "--lines", "400", "--files", "2", "--masters", "local[1]"
    )
    assert "validate_file (1 process)" in done.stdout
    assert "pytt_events.spark (local[1])" in done.stdout
    assert "invalid found by all: 4" in done.stdout
