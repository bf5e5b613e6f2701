"""The README's match-key coverage table of the test corpus is what `pytt-events validate
--coverage` computes of it today (so it cannot go stale), and what a hand-written reading of
the corpus's fields says."""

from __future__ import annotations

import json
import re

from pytt_events.validation import ValidationSummary, validate_file
from tests.conftest import ROOT
from tests.coverage_oracle import assert_coverage

FILES = sorted(
    path
    for family in ("pixel_track", "pixel_batch", "event_track")
    for path in (ROOT / "tests" / "fixtures" / "corpus" / family).glob("*.json")
)


def readme_table() -> str:
    readme = (ROOT / "README.md").read_text("utf-8")
    found = re.search(r"<!-- corpus coverage table -->\n```text\n(.*?)\n```", readme, re.DOTALL)
    assert found, "the README has no corpus coverage table"
    return found.group(1)


def test_the_readme_shows_the_corpus_coverage_of_today() -> None:
    summary = ValidationSummary()
    for path in FILES:
        for result in validate_file(path, coverage=True):
            summary.add(result)
    assert summary.coverage.table() == readme_table()
    assert_coverage(summary.coverage, [json.loads(p.read_text("utf-8")) for p in FILES])
