"""Reading stored payloads: the request bodies teams keep of what they sent (NDJSON logs, data
lake exports), streamed in constant memory whatever the file size.

    .ndjson / .jsonl   one payload per line (blank lines are skipped)
    .json              one payload, or an array of payloads (streamed element by element)
    + .gz              any of the above, gzip-compressed

Anything else is sniffed: a file starting with "[" or "{" spanning lines is JSON, otherwise
NDJSON. A line or element that is not JSON is reported (StoredPayload.error), never raised.
"""

from __future__ import annotations

import contextlib
import datetime
import gzip
import io
import json
import os
import uuid
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal, get_args

from pytt_events import _families
from pytt_events._constants import MAX_UNREADABLE_IN_A_ROW as MAX_UNREADABLE_IN_A_ROW
from pytt_events._constants import PROGRESS_EVERY as PROGRESS_EVERY
from pytt_events._constants import READ_CHUNK_BYTES
from pytt_events._exceptions import ConfigurationError

__all__ = ["StoredPayload", "parse_line", "read_payloads"]


class NotJsonError(ValueError):
    """A value JSON does not have (NaN, Infinity, -Infinity), which Python's json module reads."""


def _refuse_constant(name: str) -> Any:
    raise NotJsonError(f"{name} is not a JSON value")


# Python's json reads NaN and Infinity, which are not JSON (TikTok refuses them): refused here.
_decoder = json.JSONDecoder(parse_constant=_refuse_constant)


def loads(text: str) -> Any:
    """One JSON value, strictly: NaN and Infinity are refused.

    Raises:
        ValueError: text is not one JSON value.
    """
    return _decoder.decode(text)


@dataclass(frozen=True)
class StoredPayload:
    """One payload of a file: where it starts (1-based line), and the parsed body or, when it
    could not be read, why (never the content itself)."""

    source: str
    line: int
    payload: Any = None
    error: str | None = None


def _open(path: Path) -> tuple[io.TextIOBase, IO[bytes]]:
    raw = open(path, "rb")  # noqa: SIM115 - closed by the caller
    binary: io.BufferedIOBase
    if path.suffix == ".gz":
        binary = gzip.GzipFile(fileobj=raw, mode="rb")
        try:
            binary.peek(1)
        except (OSError, EOFError, zlib.error) as error:
            raw.close()
            raise OSError(f"{path}: not a readable gzip file ({type(error).__name__})") from None
    else:
        binary = raw
    return _text(binary), raw


def _text(binary: Any) -> io.TextIOWrapper:
    """A text reader of UTF-8 (undecodable bytes replaced) that reads READ_CHUNK_BYTES bytes at
    a time (CPython's default, 8 KiB, costs a fifth of the reading of a gzip file of short
    lines)."""
    text = io.TextIOWrapper(binary, encoding="utf-8", errors="replace")
    with contextlib.suppress(AttributeError, ValueError):
        text._CHUNK_SIZE = READ_CHUNK_BYTES  # type: ignore[attr-defined]
    return text


def _kind(path: Path) -> str:
    name = path.name[: -len(".gz")] if path.name.endswith(".gz") else path.name
    if name.endswith((".ndjson", ".jsonl")):
        return "ndjson"
    if name.endswith(".json"):
        return "json"
    return "sniff"


def read_payloads(
    path: str | os.PathLike[str] | IO[bytes],
    *,
    source: str | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> Iterator[StoredPayload]:
    """Stream the payloads of a stored file, or of an open binary stream (standard input, an
    object store's stream), in constant memory (see the module's documentation).

    Args:
        path: a file name (its name says the format: .json, .ndjson, .jsonl, .gz), or an open
            binary stream, whose format is sniffed (gzip by its magic bytes; an array is
            .json, anything else NDJSON). A stream is read, never closed.
        source: the name results carry (default: the file name, or "<stream>").
        on_progress: called with the bytes read so far of the input (compressed bytes for
            gzip: the file's own size is the total) every PROGRESS_EVERY payloads and at the
            end, for progress bars.

    Raises:
        OSError: the file cannot be opened, or it is named .gz but is not gzip.
    """
    if isinstance(path, (str, os.PathLike)):
        file = Path(path)
        text, raw = _open(file)
        yield from _read(text, raw, _kind(file), source or str(path), on_progress)
        return
    stream = _Unclosed(path)
    binary: io.BufferedIOBase = stream
    if stream.peek(2)[:2] == _GZIP_MAGIC:
        binary = gzip.GzipFile(fileobj=stream, mode="rb")
    wrapped = _text(binary)
    yield from _read(wrapped, stream, "sniff", source or "<stream>", on_progress)


def _read(
    text: io.TextIOBase,
    raw: IO[bytes] | _Unclosed,
    kind: str,
    source: str,
    on_progress: Callable[[int], None] | None,
) -> Iterator[StoredPayload]:
    try:
        if kind == "sniff":
            head = text.read(READ_CHUNK_BYTES)
            kind = "json" if head.lstrip().startswith("[") else "ndjson"
            text = _Prepended(head, text)
        items = (
            _read_ndjson(text, source)
            if kind == "ndjson"
            else _guard(_read_json(text, source), source)
        )
        if on_progress is None:
            yield from items
            return
        for count, item in enumerate(items, start=1):
            yield item
            if count % PROGRESS_EVERY == 0:
                on_progress(_position(raw))
        on_progress(_end_position(raw))
    finally:
        text.close()
        raw.close()


def _position(raw: IO[bytes] | _Unclosed) -> int:
    """Bytes read so far of the underlying input (0 when it cannot tell)."""
    try:
        return raw.tell()
    except (OSError, ValueError):
        return 0


def _end_position(raw: IO[bytes] | _Unclosed) -> int:
    """The position when reading is done: a file's size (reading may stop just before its last
    bytes, a closing bracket's newline), else where the stream is."""
    try:
        return max(os.fstat(raw.fileno()).st_size, _position(raw))
    except (OSError, ValueError, AttributeError):
        return _position(raw)


_GZIP_MAGIC = b"\x1f\x8b"


class _Unclosed(io.BufferedIOBase):
    """A caller's binary stream, read with one byte of look-ahead and never closed."""

    def __init__(self, stream: IO[bytes]) -> None:
        super().__init__()
        self._stream = stream
        self._head = b""

    def peek(self, size: int = 1) -> bytes:
        while len(self._head) < size:
            more = self._stream.read(size - len(self._head))
            if not more:
                break
            self._head += more
        return self._head

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            data, self._head = self._head + self._stream.read(), b""
            return data
        if self._head:
            data, self._head = self._head[:size], self._head[size:]
            return data
        return self._stream.read(size)

    def read1(self, size: int = -1) -> bytes:
        return self.read(size)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def tell(self) -> int:
        return self._stream.tell() - len(self._head)


def _guard(items: Iterator[StoredPayload], source: str) -> Iterator[StoredPayload]:
    """Turn a damaged compressed stream into a reported item rather than a crash."""
    line = 0
    try:
        for item in items:
            line = item.line
            yield item
    except (EOFError, OSError, zlib.error) as error:
        yield _damaged(source, line + 1, error)


def _damaged(source: str, line: int, error: BaseException) -> StoredPayload:
    return StoredPayload(
        source, line, error=f"the file is damaged or truncated ({type(error).__name__})"
    )


def parse_line(line: str | bytes, source: str = "<line>", number: int = 1) -> StoredPayload | None:
    """One line of stored NDJSON, as every reader here reads it: its payload, or (error) why it
    cannot be read, with the same messages as `pytt-events validate`, whether or not the line
    terminator was stripped (data engines strip it). None for a blank line, which readers skip.
    Bytes are read as UTF-8 (undecodable bytes replaced, as the file readers do)."""
    if isinstance(line, bytes):
        line = line.decode("utf-8", errors="replace")
    line = line.removesuffix("\n").removesuffix("\r")
    if not line.strip():
        return None
    try:
        return StoredPayload(source, number, loads(line))
    except ValueError as error:
        return StoredPayload(source, number, error=_describe(error))


def _read_ndjson(text: io.TextIOBase, source: str) -> Iterator[StoredPayload]:
    """The payloads of NDJSON, a damaged compressed stream reported as _guard does (inline:
    one generator less for every line)."""
    in_a_row = last = 0
    scan: Callable[[str, int], tuple[Any, int]] = _decoder.scan_once  # type: ignore[attr-defined]
    new = object.__new__
    try:
        for number, line in enumerate(text, start=1):
            # The common line, one JSON value and its line end, read as _decoder.decode reads
            # it (without its two whitespace matches): anything else goes to parse_line.
            try:
                payload, end = scan(line, 0)
            except (ValueError, StopIteration):
                pass  # a blank line, or not JSON: parse_line says which, with its message
            else:
                if end == len(line) or line[end:] == "\n":
                    in_a_row, last = 0, number
                    # StoredPayload(...) without the frozen dataclass's field-by-field
                    # __init__ (the same object): a third of the cost of reading a line.
                    stored = new(StoredPayload)
                    fields = stored.__dict__
                    fields["source"], fields["line"], fields["payload"] = source, number, payload
                    fields["error"] = None
                    yield stored
                    continue
            parsed = parse_line(line, source, number)
            if parsed is None:
                continue
            if parsed.error is not None:
                in_a_row += 1
                if in_a_row > MAX_UNREADABLE_IN_A_ROW:
                    yield StoredPayload(
                        source,
                        number,
                        error=f"stopped reading: {MAX_UNREADABLE_IN_A_ROW} unreadable lines in "
                        "a row (is this a file of stored payloads?)",
                    )
                    return
            else:
                in_a_row = 0
            last = number
            yield parsed
    except (EOFError, OSError, zlib.error) as error:
        yield _damaged(source, last + 1, error)


def _describe(error: ValueError) -> str:
    if isinstance(error, json.JSONDecodeError):
        return f"not valid JSON: {error.msg} (column {error.colno})"
    if isinstance(error, NotJsonError):
        return f"not valid JSON: {error}"
    return "not valid JSON"


def _read_json(text: io.TextIOBase, source: str) -> Iterator[StoredPayload]:
    """A JSON document: one value, or an array streamed element by element."""
    buffer = ""
    line = 1
    eof = False

    def fill() -> bool:
        nonlocal buffer, eof
        if eof:
            return False
        chunk = text.read(READ_CHUNK_BYTES)
        if not chunk:
            eof = True
            return False
        buffer += chunk
        return True

    def skip_space() -> None:
        nonlocal buffer, line
        while True:
            stripped = buffer.lstrip()
            line += buffer.count("\n", 0, len(buffer) - len(stripped))
            buffer = stripped
            if buffer or not fill():
                return

    skip_space()
    if not buffer:
        # Not a JSON document (and so not the empty list of payloads an empty array is).
        yield StoredPayload(source, line, error="the file is empty: no JSON value")
        return
    in_array = buffer[0] == "["
    if in_array:
        buffer = buffer[1:]
    while True:
        skip_space()
        if not buffer:
            if in_array:
                yield StoredPayload(source, line, error="the JSON array is not closed")
            return
        if in_array and buffer[0] == "]":
            buffer = buffer[1:]
            skip_space()
            if buffer:  # another document after the array (`cat a.json b.json`)
                yield StoredPayload(source, line, error="unexpected content after the JSON array")
            return
        start_line = line
        while True:
            try:
                value, end = _decoder.raw_decode(buffer)
            except NotJsonError as error:
                yield StoredPayload(source, start_line, error=_describe(error))
                return
            except json.JSONDecodeError as error:
                if fill():
                    continue
                yield StoredPayload(source, start_line, error=_describe(error))
                return
            break
        line += buffer.count("\n", 0, end)
        buffer = buffer[end:]
        yield StoredPayload(source, start_line, value)
        if not in_array:
            skip_space()
            if buffer:
                yield StoredPayload(source, line, error="unexpected content after the JSON value")
            return
        skip_space()
        if buffer[:1] == ",":
            buffer = buffer[1:]
        elif buffer[:1] != "]":
            yield StoredPayload(source, line, error="expected ',' or ']' between array elements")
            return


class _Prepended(io.TextIOBase):
    """A text stream that first returns an already-read head."""

    def __init__(self, head: str, rest: io.TextIOBase) -> None:
        self._head = head
        self._rest = rest

    def read(self, size: int | None = -1) -> str:
        if self._head:
            if size is None or size < 0:
                data, self._head = self._head + self._rest.read(), ""
                return data
            data, self._head = self._head[:size], self._head[size:]
            return data
        return self._rest.read(-1 if size is None else size)

    def __iter__(self) -> Iterator[str]:  # type: ignore[override]
        pending = ""
        while True:
            chunk = self.read(READ_CHUNK_BYTES)
            if not chunk:
                if pending:
                    yield pending
                return
            pending += chunk
            *lines, pending = pending.split("\n")
            for line in lines:
                yield line + "\n"

    def close(self) -> None:
        self._rest.close()


def event_times(payload: Any) -> list[float]:
    """When each event of a stored request body happened, as Unix times, where it says
    (Events 2.0 event_time in seconds; Events 1.0 timestamp in ISO 8601); others are left out."""
    times: list[float] = []
    for event in _families.events_of(payload):
        if not isinstance(event, dict):
            continue
        moment = event.get("event_time")
        if isinstance(moment, (int, float)) and not isinstance(moment, bool):
            times.append(float(moment))
            continue
        stamp = event.get("timestamp")
        if isinstance(stamp, str):
            try:
                parsed = datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
            except ValueError:
                continue
            if parsed.tzinfo is not None:
                times.append(parsed.timestamp())
    return times


# -- the event_ids of stored events ----------------------------------------------------------

#: What send_payloads does with a stored event that has no event_id: "derive" one from its
#: content (the same on every resend), or "refuse" (its payload is left out as invalid).
MissingEventIds = Literal["derive", "refuse"]


#: The namespace of derived event_ids (uuid5): fixed, so the same event gets the same id in
#: every process and release.
_EVENT_ID_NAMESPACE = uuid.UUID("6d1f4e2c-3b7a-5c1e-9f0a-7e2b8c4d5a61")


def derived_event_id(top: Mapping[str, Any], event: Mapping[str, Any]) -> str:
    """An event_id for a stored event that has none: a uuid5 of its canonical JSON (keys
    sorted) with its request-level fields, so the same stored event gets the same id on every
    resend (TikTok deduplicates on event_id within 48 hours). Two stored events with exactly the
    same content get the same id too: TikTok counts them once."""
    canonical = json.dumps([top, event], sort_keys=True, separators=(",", ":"), default=str)
    return str(uuid.uuid5(_EVENT_ID_NAMESPACE, canonical))


def checked_missing_event_ids(value: str) -> MissingEventIds:
    """A missing_event_ids setting, checked.

    Raises:
        ConfigurationError: it is neither "derive" nor "refuse".
    """
    if value not in get_args(MissingEventIds):
        raise ConfigurationError(f"missing_event_ids must be 'derive' or 'refuse', not {value!r}")
    return value  # type: ignore[return-value]


def stored_event_ids(payload: Any, api_version: str) -> list[str | None]:
    """The event_ids send_payloads sends a stored payload's events with, in order: each
    event's own, or the one derived from its content (missing_event_ids="derive"); None for
    an event that is not an object. Empty for a body of no known family."""
    source = _families.detect(payload, api_version)
    if source is None:
        return []
    try:
        fields, events = source.events_in_shape(payload)
    except ValueError:
        return []
    return [
        str(event.get("event_id") or derived_event_id(fields, event))
        if isinstance(event, Mapping)
        else None
        for event in events
    ]
