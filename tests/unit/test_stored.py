"""Reading stored payload files: every format, line numbers, damage reported not raised, and
memory that does not grow with the file."""

from __future__ import annotations

import gzip
import json
import tracemalloc
from pathlib import Path

import pytest

from pytt_events.stored import read_payloads
from pytt_events.validation import validate_file

ONE = {"pixel_code": "P", "event": "ViewContent", "context": {"user": {"ttp": "t"}}}


def lines_of(path: Path) -> list[tuple[int, object, str | None]]:
    return [(item.line, item.payload, item.error) for item in read_payloads(path)]


@pytest.mark.parametrize("suffix", [".ndjson", ".jsonl", ".ndjson.gz", ".jsonl.gz"])
def test_ndjson_with_line_numbers_and_blank_lines(tmp_path: Path, suffix: str) -> None:
    text = json.dumps(ONE) + "\n\n" + json.dumps({"a": 1}) + "\n"
    path = tmp_path / f"sent{suffix}"
    path.write_bytes(gzip.compress(text.encode()) if suffix.endswith(".gz") else text.encode())
    assert lines_of(path) == [(1, ONE, None), (3, {"a": 1}, None)]


@pytest.mark.parametrize("gz", [False, True])
def test_json_object_or_array(tmp_path: Path, gz: bool) -> None:
    array = "[\n  " + ",\n  ".join(json.dumps(x) for x in (ONE, {"b": [1, 2]}, ONE)) + "\n]\n"
    for name, text, expected in (
        ("one.json", json.dumps(ONE, indent=2), [(1, ONE, None)]),
        ("many.json", array, [(2, ONE, None), (3, {"b": [1, 2]}, None), (4, ONE, None)]),
        ("empty.json", "[]", []),
    ):
        path = tmp_path / (name + (".gz" if gz else ""))
        path.write_bytes(gzip.compress(text.encode()) if gz else text.encode())
        assert lines_of(path) == expected, name


def test_large_array_elements_across_read_chunks(tmp_path: Path) -> None:
    big = {
        "pixel_code": "P",
        "event": "X",
        "context": {},
        "properties": {"description": "x" * 200_000},
    }
    path = tmp_path / "big.json"
    path.write_text(json.dumps([big, ONE]))
    assert [(line, payload) for line, payload, _ in lines_of(path)] == [(1, big), (1, ONE)]


def test_truncated_and_malformed_lines_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "sent.ndjson"
    path.write_text(
        json.dumps(ONE) + "\n" + json.dumps(ONE)[:25] + "\n" + "nope\n" + json.dumps(ONE) + "\n"
    )
    found = lines_of(path)
    assert [(line, error is None) for line, _, error in found] == [
        (1, True),
        (2, False),
        (3, False),
        (4, True),
    ]
    assert found[1][2] is not None
    assert found[1][2].startswith("not valid JSON")
    assert "pixel_code" not in found[1][2]  # the content is never echoed


def test_broken_json_arrays_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('[{"a": 1}, {"b": ')
    found = lines_of(path)
    assert found[0] == (1, {"a": 1}, None)
    assert found[1][2] is not None


def test_a_damaged_gzip_stream_is_reported(tmp_path: Path) -> None:
    data = gzip.compress(
        ("\n".join(json.dumps({**ONE, "event_id": str(i)}) for i in range(2000)) + "\n").encode()
    )
    path = tmp_path / "cut.ndjson.gz"
    path.write_bytes(data[: len(data) // 2])
    found = lines_of(path)
    assert found[-1][2] is not None
    assert "damaged or truncated" in found[-1][2]
    assert all(error is None for _, _, error in found[:-1])


def test_a_file_that_is_not_gzip_cannot_be_read(tmp_path: Path) -> None:
    path = tmp_path / "not.ndjson.gz"
    path.write_text(json.dumps(ONE))
    with pytest.raises(OSError, match="not a readable gzip file"):
        list(read_payloads(path))


def test_unknown_suffix_is_sniffed(tmp_path: Path) -> None:
    (tmp_path / "a.log").write_text(json.dumps(ONE) + "\n" + json.dumps(ONE) + "\n")
    (tmp_path / "b.txt").write_text("[" + json.dumps(ONE) + "]")
    assert len(lines_of(tmp_path / "a.log")) == 2
    assert lines_of(tmp_path / "b.txt") == [(1, ONE, None)]


def write_events(path: Path, count: int) -> None:
    with gzip.open(path, "wt") as handle:
        for i in range(count):
            handle.write(
                json.dumps(
                    {
                        "event_source": "web",
                        "event_source_id": "P",
                        "data": [
                            {"event": "Purchase", "event_time": 1709294400 + i, "event_id": f"e{i}"}
                        ],
                    }
                )
                + "\n"
            )


def peak_memory(path: Path) -> int:
    tracemalloc.start()
    try:
        count = sum(1 for result in validate_file(path, require_hashed=True) if result.valid)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count > 0
    return peak


def test_memory_does_not_grow_with_the_file(tmp_path: Path) -> None:
    small, large = tmp_path / "small.ndjson.gz", tmp_path / "large.ndjson.gz"
    write_events(small, 5_000)
    write_events(large, 50_000)
    peak_memory(small)  # warm the validators' caches
    small_peak, large_peak = peak_memory(small), peak_memory(large)
    assert large_peak < small_peak * 1.5 + 256 * 1024, (small_peak, large_peak)


def test_content_after_a_json_array_is_reported_not_dropped(tmp_path: Path) -> None:
    path = tmp_path / "all.json"  # as `cat a.json b.json > all.json` makes it
    path.write_text('[{"a": 1}]\n[{"b": 2}]\n', "utf-8")
    assert lines_of(path) == [
        (1, {"a": 1}, None),
        (2, None, "unexpected content after the JSON array"),
    ]


LINES = [
    json.dumps(ONE),
    '{"pixel_code": "P", "event": ',  # truncated
    "not json",
    '{"value": NaN}',
    "[1, 2",
    '{"a": 1} trailing',
    "   ",
    '{"é": "ü"}',
]


@pytest.mark.parametrize("terminator", ["", "\n", "\r\n"])
def test_parse_line_reads_a_line_as_the_file_readers_do(tmp_path: Path, terminator: str) -> None:
    from pytt_events.stored import parse_line

    path = tmp_path / "sent.ndjson"
    path.write_text("".join(line + "\n" for line in LINES), "utf-8")
    from_file = [(i.line, i.payload, i.error) for i in read_payloads(path)]
    alone = []
    for number, line in enumerate(LINES, start=1):
        for given in (line + terminator, (line + terminator).encode()):
            parsed = parse_line(given, str(path), number)
            if parsed is not None:
                alone.append((parsed.line, parsed.payload, parsed.error))
    assert alone[::2] == alone[1::2] == from_file  # str and bytes alike, as the reader
    assert ("not valid JSON: Expecting value (column 30)") in {e for _, _, e in from_file}
