"""Old names that still work: validate_payload, validate_file and validate_stored took the
request family as `schema=`, now `family=`; `pytt-events validate --schema` is now `--family`.
The old spelling gives the same verdicts, with a DeprecationWarning (naming the caller's line)
or, on the command line, a notice on stderr; the new spelling and the positional argument give
none."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from pytt_events.cli import main
from pytt_events.stored import read_payloads
from pytt_events.validation import FileResult, validate_file, validate_payload, validate_stored
from tests.conftest import PIXEL

# A valid /pixel/batch/ body: checked as the family its keys say it is (pixel_batch), it has no
# problem; checked as pixel_track, it has three. So a family argument that is ignored shows.
BATCH = {
    "pixel_code": PIXEL,
    "batch": [
        {
            "event": "ViewContent",
            "event_id": "e1",
            "timestamp": "2030-03-17T17:46:40+00:00",
            "context": {"user": {"ttp": "94e2a4j9-h3ss-k2h5-98cc-c84a745mk098"}},
        }
    ],
}
DEPRECATED = "the schema= argument is deprecated"
NOTICE = "pytt-events validate: --schema is deprecated: use --family"


def verdicts(results: Any) -> list[tuple[str, int, tuple[str, ...], bool]]:
    found: list[FileResult] = list(results)
    return [(r.source, r.line, tuple(map(str, r.problems)), r.unreadable) for r in found]


@pytest.fixture
def stored_file(tmp_path: Path) -> Path:
    path = tmp_path / "sent.ndjson"
    path.write_text(json.dumps(BATCH) + "\n" + json.dumps(BATCH) + "\n", encoding="utf-8")
    return path


def test_the_family_argument_is_honoured() -> None:
    # The premise of the tests below: naming the family changes the verdict on BATCH.
    assert validate_payload(BATCH) == []
    assert [str(p) for p in validate_payload(BATCH, family="pixel_track")] == [
        "/: Additional properties are not allowed ('batch' was unexpected)",
        "/: 'event' is a required property",
        "/: 'context' is a required property",
    ]


def test_validate_payload_schema_warns_and_gives_the_family_verdict() -> None:
    with pytest.warns(DeprecationWarning, match=DEPRECATED) as caught:
        old = validate_payload(BATCH, schema="pixel_track", warn=True)
    assert old == validate_payload(BATCH, family="pixel_track", warn=True)
    assert old  # not the detected family's empty verdict
    assert [w.filename for w in caught] == [__file__]  # it names the caller's line


def test_validate_file_schema_warns_and_gives_the_family_verdict(stored_file: Path) -> None:
    with pytest.warns(DeprecationWarning, match=DEPRECATED) as caught:
        old = verdicts(validate_file(stored_file, schema="pixel_track"))
    new = verdicts(validate_file(stored_file, family="pixel_track"))
    assert old == new
    assert [len(problems) for _, _, problems, _ in new] == [3, 3]
    assert [w.filename for w in caught] == [__file__]


def test_validate_stored_schema_warns_and_gives_the_family_verdict(stored_file: Path) -> None:
    with pytest.warns(DeprecationWarning, match=DEPRECATED) as caught:
        old = verdicts(validate_stored(read_payloads(stored_file), schema="pixel_track"))
    new = verdicts(validate_stored(read_payloads(stored_file), family="pixel_track"))
    assert old == new
    assert [len(problems) for _, _, problems, _ in new] == [3, 3]
    assert [w.filename for w in caught] == [__file__]


def test_validate_stored_schema_warns_when_called(stored_file: Path) -> None:
    with pytest.warns(DeprecationWarning, match=DEPRECATED):
        results = validate_stored(read_payloads(stored_file), schema="pixel_track")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        assert len(list(results)) == 2


def test_the_positional_family_and_family_keyword_do_not_warn(stored_file: Path) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        by_position = validate_payload(BATCH, "pixel_track")
        by_keyword = validate_payload(BATCH, family="pixel_track")
        file_by_position = verdicts(validate_file(stored_file, "pixel_track"))
        stored_by_position = verdicts(validate_stored(read_payloads(stored_file), "pixel_track"))
    assert caught == []
    assert by_position == by_keyword
    assert len(by_position) == 3
    assert file_by_position == stored_by_position
    assert [len(problems) for _, _, problems, _ in file_by_position] == [3, 3]


def test_validate_schema_option_works_with_a_notice_on_stderr(stored_file: Path) -> None:
    runner = CliRunner()
    old = runner.invoke(main, ["validate", "--schema", "pixel_track", str(stored_file)])
    new = runner.invoke(main, ["validate", "--family", "pixel_track", str(stored_file)])
    detected = runner.invoke(main, ["validate", str(stored_file)])

    assert (old.exit_code, new.exit_code, detected.exit_code) == (1, 1, 0)
    assert old.stdout == new.stdout
    assert f"{stored_file}:1: /: 'event' is a required property" in old.stdout.splitlines()
    assert old.stdout.splitlines()[-1].startswith("2 payload(s): 0 valid, 2 invalid")
    assert old.stderr.splitlines() == [NOTICE]
    assert new.stderr == ""
    assert "deprecated" not in detected.stderr


def test_validate_schema_option_with_a_valid_file_still_exits_0(stored_file: Path) -> None:
    done = CliRunner().invoke(main, ["validate", "--schema", "pixel_batch", str(stored_file)])
    assert done.exit_code == 0, done.output
    assert done.stdout.splitlines()[-1].startswith("2 payload(s): 2 valid, 0 invalid")
    assert done.stderr.splitlines() == [NOTICE]


def test_validate_help_lists_family_not_schema() -> None:
    done = CliRunner().invoke(main, ["validate", "--help"])
    assert done.exit_code == 0
    assert "--family" in done.stdout
    assert "--schema" not in done.stdout


def test_family_and_schema_that_disagree_are_refused(stored_file: Path) -> None:
    with pytest.raises(TypeError, match="disagree"):
        validate_payload(BATCH, family="pixel_batch", schema="pixel_track")
    result = CliRunner().invoke(
        main, ["validate", "--family", "pixel_batch", "--schema", "pixel_track", str(stored_file)]
    )
    assert result.exit_code == 2
    assert "disagree" in result.output
