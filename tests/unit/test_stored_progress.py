"""read_payloads' on_progress, as progress bars use it: the bytes of the input read so far
(compressed bytes for gzip), told every PROGRESS_EVERY payloads and at the end, never going
back, ending at the file's own size on disk."""

from __future__ import annotations

import gzip
import io
import json
import math
from pathlib import Path
from typing import Any

import pytest

from pytt_events import sha256_hex
from pytt_events._constants import READ_CHUNK_BYTES as _CHUNK
from pytt_events.stored import PROGRESS_EVERY, read_payloads

SUFFIXES = [".ndjson", ".jsonl", ".json", ".ndjson.gz", ".jsonl.gz", ".json.gz"]
# 1 payload; a multiple of PROGRESS_EVERY; a count that is not one.
COUNTS = [1, 3 * PROGRESS_EVERY, 1000]


def payload(number: int) -> dict[str, Any]:
    """A stored /event/track/ body whose digests make it hard to compress: a gzip file of many
    is read from disk in several reads, so its positions move before the end."""
    digests = [sha256_hex(f"{number}-{part}") for part in range(5)]
    return {
        "event_source": "web",
        "event_source_id": "CREPLAYPIXEL00000001",
        "data": [{"event": "Purchase", "event_time": 1_900_000_000, "event_id": f"e{number}",
                  "user": {"external_id": digests}}],
    }  # fmt: skip


def text_of(suffix: str, count: int) -> str:
    payloads = [payload(number) for number in range(count)]
    if ".json" in suffix and ".jsonl" not in suffix and ".ndjson" not in suffix:
        return "[\n" + ",\n".join(json.dumps(p) for p in payloads) + "\n]\n"
    return "".join(json.dumps(p) + "\n" for p in payloads)


def write(path: Path, text: str) -> Path:
    data = text.encode("utf-8")
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


def progress_of(source: Any) -> tuple[int, list[int]]:
    positions: list[int] = []
    items = list(read_payloads(source, on_progress=positions.append))
    assert all(item.error is None for item in items)
    return len(items), positions


@pytest.mark.parametrize("count", COUNTS)
@pytest.mark.parametrize("suffix", SUFFIXES)
def test_progress_never_goes_back_and_ends_at_the_file_size(
    tmp_path: Path, suffix: str, count: int
) -> None:
    path = write(tmp_path / f"sent{suffix}", text_of(suffix, count))
    size = path.stat().st_size  # compressed, for .gz

    read, positions = progress_of(path)

    assert read == count
    assert len(positions) >= math.ceil(count / PROGRESS_EVERY)
    assert len(positions) == count // PROGRESS_EVERY + 1  # every PROGRESS_EVERY, and the end
    assert positions == sorted(positions)
    assert all(0 < position <= size for position in positions)
    assert positions[-1] == size


@pytest.mark.parametrize("suffix", [".ndjson", ".json.gz"])
def test_progress_moves_before_the_end_of_a_large_file(tmp_path: Path, suffix: str) -> None:
    path = write(tmp_path / f"sent{suffix}", text_of(suffix, 2000))
    size = path.stat().st_size
    assert size > 2 * _CHUNK  # more than a read or two, even compressed

    _, positions = progress_of(path)

    assert any(position < size for position in positions[:-1])
    assert positions[-1] == size


@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gzip"])
def test_a_stream_ends_at_its_length(compressed: bool) -> None:
    data = text_of(".ndjson", 600).encode("utf-8")
    if compressed:
        data = gzip.compress(data)
    stream = io.BytesIO(data)

    read, positions = progress_of(stream)

    assert read == 600
    assert positions == sorted(positions)
    assert len(positions) == 600 // PROGRESS_EVERY + 1
    assert positions[-1] == len(data)
    assert not stream.closed


def test_a_json_array_whose_bracket_ends_a_read_still_ends_at_the_file_size(
    tmp_path: Path,
) -> None:
    def array(pad: int) -> str:
        last = payload(1) | {"padding": "x" * pad}
        return "[" + ",".join([*(json.dumps(payload(0)) for _ in range(300)), json.dumps(last)])

    unpadded = len(array(0)) + 1  # with its "]"
    text = array(_CHUNK - unpadded % _CHUNK) + "]"
    assert len(text) % _CHUNK == 0  # the "]" is the last character of a read
    path = tmp_path / "sent.json"
    path.write_text(text + "\n", encoding="utf-8")

    read, positions = progress_of(path)

    assert read == 301
    assert positions[-1] == path.stat().st_size
