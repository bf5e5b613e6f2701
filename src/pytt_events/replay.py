"""Sending a file of stored payloads again: what `pytt-events send` does, for applications too.

    from pytt_events.replay import send_file

    report = send_file("failed.ndjson", failed_out="still-failed.ndjson")
    print(report.accepted, "of", report.events, "accepted")

The file is read and sent batch_size payloads at a time (memory stays bounded by it), each
batch regrouped into as few requests as the schema allows (TikTokEventsApi.send_payloads),
with retries and isolation of bad events. Unreadable lines and invalid payloads are reported
and not sent; events that finally fail are written to failed_out as NDJSON, which send_file
accepts again. Nothing is lost: every event is accepted, failed, invalid, unreadable or unsent,
and the report counts each kind.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal

from pytt_events._constants import DEDUP_WINDOW_SECONDS, DEFAULT_BATCH_SIZE, DEFAULT_CONCURRENCY
from pytt_events._counts import PayloadCounts
from pytt_events._coverage import Coverage
from pytt_events._exceptions import BulkSendError, ConfigurationError

# The client, the schema validators and the settings are imported by the functions that use
# them: the CLI reads this module's defaults for its help without loading them.
if TYPE_CHECKING:
    from pytt_events import BulkProgress
    from pytt_events._response import InvalidPayload
    from pytt_events.auth import TikTokAuth
    from pytt_events.stored import StoredPayload
    from pytt_events.tiktok_events_api import TikTokEventsApi
    from pytt_events.validation import Problem

__all__ = [
    "DEDUP_WINDOW_SECONDS",
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_CONCURRENCY",
    "FailedOutError",
    "SendIssue",
    "SendReport",
    "event_ids_of",
    "send_file",
    "unsent_name",
]

IssueKind = Literal["unreadable", "invalid", "failed"]


@dataclass(frozen=True)
class SendIssue:
    """Something send_file did not send, or TikTok did not take: an unreadable line, an invalid
    payload (one issue per problem), or a group of events that failed for the same reason.
    `str()` is the line `pytt-events send` prints; it never holds a value of the payload. The
    message of an unreadable or invalid payload is the one `validate` gives for it
    (`validation.problem_text`: `/json/pointer: reason`)."""

    kind: IssueKind
    source: str
    message: str
    #: The line of an unreadable or invalid payload (None for failures).
    line: int | None = None
    #: For failures: how many events, and the positions (across the file) of the first ones.
    count: int = 1
    events: tuple[int, ...] = ()

    def __str__(self) -> str:
        if self.kind == "failed":
            where = ", ".join(str(index) for index in self.events)
            more = ", ..." if self.count > len(self.events) else ""
            return (
                f"{self.source}: {self.count} event(s) failed: {self.message} "
                f"(events {where}{more})"
            )
        return f"{self.source}:{self.line}: {self.message}"


@dataclass
class SendReport(PayloadCounts):
    """What send_file did: events accepted or failed, payloads invalid or unreadable (not
    sent: the counts every reading of stored payloads makes, see PayloadCounts), requests
    sent; with dry_run, what it would send."""

    events: int = 0
    accepted: int = 0
    failed: int = 0
    #: Requests planned and sent (one split to isolate bad events counts once).
    requests: int = 0
    #: Events that happened more than 48 hours ago: TikTok deduplicates an event_id only
    #: within 48 hours, so any of them it already received may be counted twice.
    old: int = 0
    #: Events not sent because the send was stopped (they are in `failed_out`).
    unsent: int = 0
    #: Events sent without some of their match keys (raw values that cannot be match keys,
    #: left out with a warning; see BulkResponse.dropped_keys).
    dropped_keys: int = 0
    #: The match-key coverage of the events sent, accepted or not (with dry_run: that would
    #: be sent; pytt_events.coverage).
    coverage: Coverage = field(default_factory=Coverage)
    dry_run: bool = False
    #: Whether `stop` ended the send early.
    stopped: bool = False
    #: Where the events not accepted were written (None: nowhere, none to write, or dry run).
    failed_out: Path | None = None
    issues: list[SendIssue] = field(default_factory=list, repr=False)

    @property
    def ok(self) -> bool:
        """Everything was accepted (or, in a dry run, would be sent)."""
        return not (self.failed or self.invalid or self.unreadable or self.stopped)


def send_file(
    path: str | os.PathLike[str] | IO[bytes],
    *,
    source: str | None = None,
    api: TikTokEventsApi | None = None,
    auth: TikTokAuth | None = None,
    dry_run: bool = False,
    failed_out: str | os.PathLike[str] | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_concurrency: int = DEFAULT_CONCURRENCY,
    stop: Callable[[], bool] | None = None,
    on_issue: Callable[[SendIssue], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
    now: float | None = None,
) -> SendReport:
    """Send the stored payloads of a file (or an open binary stream) again.

    Args:
        path: the file (.json, .ndjson, .jsonl, each optionally .gz), or a binary stream.
        source: the name issues carry (default: the file name, or "<stream>").
        api: the client to send with (default: a TikTokEventsApi of max_concurrency, closed
            when done). auth: the credentials (default: from the environment).
        dry_run: validate and plan the requests; send nothing (credentials may be absent).
        failed_out: where the events that finally fail are written, as NDJSON (written
            beside it first, then renamed into place, so a half-written file never takes the
            place of a whole one). It may not be the input. Without it, failures are only
            counted and reported, unless the send is stopped: then everything not accepted
            goes to unsent_name(path).
        batch_size: payloads read and sent at a time.
        stop: asked before each batch; True stops the send (as on Ctrl-C): the requests in
            flight finish, and every event not accepted is written out.
        on_issue: told each SendIssue when it happens (they are also in the report).
        on_progress: told the bytes of the input read and sent, as it goes.
        now: the Unix time event ages are measured from (default: now).

    Raises:
        FailedOutError: (a ConfigurationError) failed_out is the input, or it cannot be
            written; checked before anything is sent.
        UnknownApiVersionError: (a ConfigurationError) no schema in this build for the API
            version (TIKTOK_API_VERSION, or the client's); checked before anything is read.
        pydantic.ValidationError: the settings (auth not given) are missing or invalid.
        OSError: the input cannot be read.
    """
    from pytt_events.auth import TikTokAuth
    from pytt_events.schema import families
    from pytt_events.stored import event_times, read_payloads
    from pytt_events.tiktok_events_api import TikTokEventsApi
    from pytt_events.validation import problem_text

    if batch_size < 1:
        raise ConfigurationError("batch_size must be at least 1")
    if auth is None:  # a dry run sends nothing: placeholders stand in for missing credentials
        auth = _dry_run_auth() if dry_run else TikTokAuth()
    version = (api.api_version if api is not None else None) or auth.TIKTOK_API_VERSION
    families(version)  # an unknown version is refused before anything is read or written
    name = source or (str(path) if isinstance(path, (str, os.PathLike)) else "<stream>")
    report = SendReport(dry_run=dry_run)
    dedup_since = (time.time() if now is None else now) - DEDUP_WINDOW_SECONDS

    def tell(issue: SendIssue) -> None:
        report.issues.append(issue)
        if on_issue is not None:
            on_issue(issue)

    out: _FailedOut | None = None
    if not dry_run:
        # Opened before the first request, so failed events always have somewhere to go. With
        # no failed_out, a default file is kept only if the send is stopped.
        target = Path(failed_out) if failed_out is not None else Path(unsent_name(path))
        out = _FailedOut(target, path, keep=failed_out is not None)
    client = api or TikTokEventsApi(max_concurrency=max_concurrency)
    read = [0]  # the bytes of the input read so far

    def reading(position: int) -> None:
        read[0] = position

    try:
        stored_payloads = read_payloads(path, source=name, on_progress=reading)
        start = 0  # the position, in the whole file, of the first event of this batch
        begun = 0  # the byte offset the batch was read from
        for batch in _batches(stored_payloads, batch_size):
            if stop is not None and stop():
                report.stopped = True
                # Nothing more is sent: this batch and the rest are written as they are.
                for stored in _write_unsent(out, [batch, stored_payloads], report):
                    report.unreadable += 1
                    tell(_unreadable(name, stored))
                break
            readable = []
            for stored in batch:
                if stored.error is not None:
                    report.unreadable += 1
                    tell(_unreadable(name, stored))
                else:
                    readable.append(stored)
            payloads = [stored.payload for stored in readable]
            end = read[0]
            if dry_run:
                preview = client.preview_payloads(payloads, auth)
                report.events += preview.events
                report.requests += preview.requests
                report.coverage += preview.coverage
                invalid = preview.invalid
                requests_done = 0
            else:
                assert out is not None

                requests_done = 0

                # Progress moves per request, across the bytes this batch was read from.
                def advance(done: BulkProgress, begin: int = begun, end: int = end) -> None:
                    nonlocal requests_done
                    requests_done = done.requests_done
                    if on_progress is not None:
                        share = done.events_done / done.events_total if done.events_total else 1
                        on_progress(begin + int((end - begin) * share))

                try:
                    result = client.send_payloads(
                        payloads, auth, skip_invalid=True, on_progress=advance
                    )
                except BulkSendError as error:
                    result = error.result
                sent = len(result.accepted) + len(result.failed)
                report.events += sent
                report.accepted += len(result.accepted)
                report.failed += len(result.failed)
                report.dropped_keys += len(result.dropped_keys)
                report.coverage += result.coverage
                report.requests += requests_done
                for reason, count, first in result.failures_by_reason():
                    events = tuple(start + index for index in first)
                    tell(SendIssue("failed", name, reason, count=count, events=events))
                start += sent
                out.writelines(_ndjson(result.failed_payloads()))
                invalid = result.invalid
            begun = end
            left_out = set()
            for item in invalid:
                report.invalid += 1
                left_out.add(item.number)
                line = readable[item.number].line
                for problem in _problems(payloads[item.number], item, version):
                    tell(SendIssue("invalid", name, problem_text(problem), line))
            # Events sent (or, in a dry run, that would be) older than TikTok's dedup window.
            report.old += sum(
                1
                for number, payload in enumerate(payloads)
                if number not in left_out
                for moment in event_times(payload)
                if moment < dedup_since
            )
            if on_progress is not None:
                on_progress(end)
        if on_progress is not None and not report.stopped:
            on_progress(read[0])  # the reader's end: the last batch was taken before it
        if out is not None:
            if report.stopped:
                out.keep = True  # what was not accepted is kept, wherever it goes
            out.close()
            if out.kept:
                report.failed_out = out.target
    finally:
        if out is not None:
            out.close()
        if api is None:
            client.close()
    return report


def _unreadable(source: str, stored: StoredPayload) -> SendIssue:
    """An unreadable line, as validate tells it: the whole document ("/") is not JSON."""
    from pytt_events.validation import Problem, problem_text

    return SendIssue(
        "unreadable", source, problem_text(Problem("", str(stored.error))), stored.line
    )


def _problems(payload: Any, item: InvalidPayload, api_version: str) -> list[Problem]:
    """Why the client left a payload out, in validate's words: the schema's errors
    (validate_payload). Only for a rule the schema cannot state does the client's own reason
    stand, its dotted path turned into a JSON Pointer."""
    from pytt_events.validation import Problem, validate_payload

    found = [
        problem
        for problem in validate_payload(payload, api_version=api_version)
        if problem.severity == "error"
    ]
    if found:
        return found
    prefix = f"payloads.{item.number}"  # the line says which payload
    return [
        Problem("".join(f"/{part}" for part in where.removeprefix(prefix).split(".") if part), why)
        for where, why in item.errors
    ]


def _dry_run_auth() -> TikTokAuth:
    """The credentials of a dry run: the environment's, with placeholders for what is missing
    (nothing is sent, so none is needed).

    Raises:
        pydantic.ValidationError: a setting given is invalid (TIKTOK_API_BASE_URL=ftp://...).
    """
    from pydantic import ValidationError

    from pytt_events.auth import TikTokAuth

    try:
        return TikTokAuth()
    except ValidationError:
        placeholders = {"TIKTOK_ACCESS_TOKEN": "dry-run", "TIKTOK_PIXEL_ID": "dry-run"}
        missing = {key: value for key, value in placeholders.items() if not os.environ.get(key)}
        return TikTokAuth(**missing)


def event_ids_of(payload: Any, api_version: str) -> list[str | None]:
    """The event_ids send_payloads sends a stored payload's events with, in order: each
    event's own, or the one derived from its content (missing_event_ids="derive"); None for
    an event that is not an object. Empty for a body of no known family."""
    from pytt_events.stored import stored_event_ids

    return stored_event_ids(payload, api_version)


def unsent_name(path: str | os.PathLike[str] | IO[bytes]) -> str:
    """Where a stopped send without failed_out writes the events not accepted: beside the
    input (<input>.unsent.ndjson), or, for a stream, in the working directory."""
    if not isinstance(path, (str, os.PathLike)) or str(path) == "-":
        return f"pytt-events-unsent-{time.strftime('%Y%m%d-%H%M%S')}.ndjson"
    file = Path(path)
    return str(file.with_name(file.name.removesuffix(".gz") + ".unsent.ndjson"))


def _ndjson(payloads: Iterable[Any]) -> Iterator[str]:
    """Request bodies as NDJSON lines (as BulkResponse.write_failed writes them)."""
    for payload in payloads:
        yield json.dumps(payload, separators=(",", ":")) + "\n"


def _batches(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _write_unsent(
    out: _FailedOut | None, parts: Iterable[Iterable[StoredPayload]], report: SendReport
) -> Iterator[StoredPayload]:
    """Copy stored payloads not sent to out, as they were read, counting their events as
    unsent; the unreadable ones are given back, to be reported."""
    from pytt_events._families import events_of

    for part in parts:
        for stored in part:
            if stored.error is not None:
                yield stored
            elif out is not None:
                out.writelines(_ndjson([stored.payload]))
                report.unsent += len(events_of(stored.payload))


class FailedOutError(ConfigurationError):
    """failed_out is the input file (`reason` None), or it cannot be written (`reason` says
    why). Raised before anything is sent."""

    def __init__(self, target: Path, reason: str | None) -> None:
        self.target = target
        self.reason = reason
        if reason is None:
            text = f"failed_out {target} is the input file: write the failed events elsewhere"
        else:
            text = f"cannot write failed_out {target}: {reason}"
        super().__init__(text)


class _FailedOut:
    """failed_out: refused when it is the input, opened (as a temporary file beside it) before
    anything is sent, and renamed into place when done, so the input is never truncated while
    it is read and a half-written file never takes the place of a whole one.

    Raises:
        ConfigurationError: (when built) the output is the input, or it cannot be written.
    """

    def __init__(
        self, target: Path, source: str | os.PathLike[str] | IO[bytes], *, keep: bool = True
    ) -> None:
        self.keep = keep
        self.kept = False
        if isinstance(source, (str, os.PathLike)) and _same_file(target, Path(source)):
            raise FailedOutError(target, None)
        self.target = target
        self.written = 0
        try:
            handle, name = tempfile.mkstemp(
                prefix=f".{target.name}.", suffix=".partial", dir=target.parent or Path(".")
            )
        except OSError as error:
            raise FailedOutError(target, error.strerror or str(error)) from None
        self.partial = Path(name)
        self.handle: IO[str] | None = os.fdopen(handle, "w", encoding="utf-8")

    def writelines(self, lines: Iterable[str]) -> None:
        assert self.handle is not None
        for line in lines:
            self.handle.write(line)
            self.written += 1

    def close(self) -> None:
        if self.handle is None:
            return
        self.handle.close()
        self.handle = None
        if self.written and self.keep:
            os.replace(self.partial, self.target)
            self.kept = True
        else:
            self.partial.unlink(missing_ok=True)


def _same_file(one: Path, other: Path) -> bool:
    try:
        return one.exists() and other.exists() and one.samefile(other)
    except OSError:
        return False
