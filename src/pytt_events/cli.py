"""The `pytt-events` command: validate, send and inspect stored payloads; run the sandbox, or a
demo that needs no account. It only calls the public library."""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from pydantic import ValidationError

from pytt_events import __version__, _families
from pytt_events._constants import DEFAULT_API_VERSION
from pytt_events._exceptions import UnknownApiVersionError
from pytt_events.testing import DEFAULT_ACCESS_TOKEN, ReceivedRequest, SandboxServer

if TYPE_CHECKING:
    from pytt_events.validation import Problem

# Inputs smaller than this finish before a progress bar would help.
_PROGRESS_FROM_BYTES = 1 << 20

_EXAMPLES_SANDBOX = """
\b
Examples:
  pytt-events sandbox --port 8080
  TIKTOK_API_BASE_URL=http://127.0.0.1:8080/open_api/ \\
  TIKTOK_ACCESS_TOKEN=sandbox-access-token TIKTOK_PIXEL_ID=PIXEL python my_app.py
"""


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pytt-events")
@click.option(
    "-v",
    "--verbose",
    count=True,
    help="-v: the SDK's debug log (pytt_events: paths, codes, sizes; never secrets); "
    "-vv: httpx's too.",
)
def main(verbose: int) -> None:
    """pytt-events: TikTok Events API SDK tools.

    \b
    Examples:
      pytt-events validate sent-2024-*.ndjson.gz --require-hashed
      pytt-events send failed.ndjson --failed-out still-failed.ndjson
      pytt-events schema event_track
      pytt-events demo                 send the Quick Start's event to a local sandbox
      pytt-events sandbox --port 8080  emulate TikTok's Events API on 127.0.0.1:8080
      pytt-events -v send sent.ndjson  with the SDK's debug log
    """
    _configure_logging(verbose)


def _configure_logging(verbose: int) -> None:
    """-v shows the pytt_events logger only; -vv adds httpx (and httpcore)."""
    if not verbose:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    names = ["pytt_events"] + (["httpx", "httpcore"] if verbose > 1 else [])
    for name in names:
        logger = logging.getLogger(name)
        logger.setLevel(logging.DEBUG)
        logger.addHandler(handler)


@main.command(epilog=_EXAMPLES_SANDBOX)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    default=8080,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port (0: any free).",
)
@click.option(
    "--token",
    default=DEFAULT_ACCESS_TOKEN,
    show_default=True,
    help="The access token the sandbox accepts.",
)
@click.option(
    "--allow-unhashed",
    is_flag=True,
    help="Accept personal data that is not SHA-256-hashed (rejected by default).",
)
def sandbox(host: str, port: int, token: str, allow_unhashed: bool) -> None:
    """Emulate TikTok's Events API on this machine until interrupted (Ctrl-C or SIGTERM).

    It checks the Access-Token header, validates every body against the schema and answers
    as TikTok does. One line per request is printed: path, code, events.
    """

    def report(record: ReceivedRequest) -> None:
        click.echo(
            f"{record.path} -> code {record.code} ({len(record.events)} event(s)) "
            f"request_id {record.request_id}"
        )

    # Stop on Ctrl-C and on SIGTERM alike, even when started with SIGINT ignored (as background
    # jobs of a non-interactive shell are).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    server = SandboxServer(host, port, token, require_hashed=not allow_unhashed, on_request=report)
    try:
        server.bind()
    except OSError as error:  # a busy port, an address this machine does not have
        click.echo(
            f"pytt-events sandbox: cannot listen on {host}:{port}: {_os_reason(error)}", err=True
        )
        sys.exit(2)
    click.echo(f"sandbox listening: TIKTOK_API_BASE_URL={server.base_url}")
    click.echo(f"accepted token:    TIKTOK_ACCESS_TOKEN={token}")
    try:
        server.serve_forever()  # in this thread: Ctrl-C (SIGINT) ends it at once
    except KeyboardInterrupt:
        click.echo("stopping")


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


@main.command(
    epilog="""
\b
Examples:
  pytt-events demo
  pytt-events demo -v      with the SDK's debug log (paths, codes, sizes; never secrets)
"""
)
@click.option("-v", "--verbose", is_flag=True, help="Also show the SDK's debug log.")
def demo(verbose: bool) -> None:
    """Send the Quick Start's event (once, then in bulk x3) to a local sandbox and show what
    TikTok would receive. Needs no account and no network."""
    from pytt_events.auth import TikTokAuth
    from pytt_events.tiktok_events_api import TikTokEventsApi

    if verbose:
        logging.basicConfig(level=logging.DEBUG, format="%(name)s %(levelname)s %(message)s")
    with SandboxServer() as server, TikTokEventsApi() as api:
        auth = TikTokAuth(
            TIKTOK_ACCESS_TOKEN=server.access_token,
            TIKTOK_PIXEL_ID="DEMO_PIXEL_CODE",
            TIKTOK_API_VERSION="v1.3",
            TIKTOK_TEST_EVENT_CODE="TEST12345",
            TIKTOK_API_BASE_URL=server.base_url,
        )
        click.echo(f"Sandbox running at {server.base_url} (nothing leaves this machine)\n")
        event = quick_start_event(auth.TIKTOK_PIXEL_ID, auth.TIKTOK_TEST_EVENT_CODE)

        response = api.post_event(event=event, auth=auth)
        click.echo(
            f"post_event          -> code {response.code} {response.message!r} "
            f"request_id {response.request_id}"
        )
        bulk = api.post_events_in_bulk(events=[event, event, event], auth=auth)
        click.echo(f"post_events_in_bulk -> code {bulk.code} {bulk.message!r}\n")

        for record in server.received:
            click.echo(f"TikTok received at {record.path} ({len(record.events)} event(s)):")
            click.echo(_indent(json.dumps(_shown(record.body), indent=2)))
            click.echo("")
        user = event.context.user if event.context else None
        if user is not None:
            from pytt_events._hashing import sha256_hex

            click.echo("Personal data left this machine only as SHA-256 of its normalized form:")
            for name in ("email", "phone_number", "external_id"):
                value = getattr(user, name)
                if value:
                    click.echo(
                        f"  context.user.{name:<12} sha256(normalized) = {sha256_hex(value)}"
                    )
    sys.stdout.flush()


class _Progress:
    """A progress bar over the bytes of the files read, on a terminal only (stderr), and only
    for inputs large enough to need one: piped output carries nothing but results."""

    def __init__(self, files: list[Path], label: str) -> None:
        sizes = [file.stat().st_size for file in files if file.is_file()]
        total = sum(sizes)
        self._bar: Any = None
        self._done = 0
        if sys.stderr.isatty() and total >= _PROGRESS_FROM_BYTES:
            self._bar = click.progressbar(length=total, label=label, file=sys.stderr)

    def __enter__(self) -> _Progress:
        if self._bar is not None:
            self._bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)

    def advance_to(self, finished_files_bytes: int, position: int) -> None:
        if self._bar is not None:
            target = finished_files_bytes + position
            if target > self._done:
                self._bar.update(target - self._done)
                self._done = target


_VALIDATE_EXAMPLES = """
\b
Examples:
  pytt-events validate sent.ndjson
  pytt-events validate exports/*.jsonl.gz --require-hashed
  pytt-events validate batch.json --schema pixel_batch --format json > problems.ndjson
  zcat sent.ndjson.gz | pytt-events validate -      standard input (gzip or not)

\b
An error is something TikTok refuses; a warning something TikTok takes but that is probably
wrong or wasted (a deprecated event name, a currency TikTok does not support, an event_time
older than 28 days, an unknown key, an unexpected shape). Warnings are printed and do not
change the exit status, unless --strict.
Exit status: 0 all valid, 1 some payload invalid or unreadable (or, with --strict, with a
warning), 2 usage error or a file that cannot be read.
"""


@main.command(epilog=_VALIDATE_EXAMPLES)
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, allow_dash=True))
@click.option(
    "--schema",
    "family",
    default=None,
    help="Request family (pixel_track, pixel_batch, event_track); default: from each payload.",
)
@click.option(
    "--api-version",
    default=DEFAULT_API_VERSION,
    show_default=True,
    envvar="TIKTOK_API_VERSION",
    help="Schema version (TIKTOK_API_VERSION when set).",
)
@click.option(
    "--require-hashed", is_flag=True, help="Report personal data that is not SHA-256-hashed."
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text: file:line: /pointer: message (warnings: file:line: warning: /pointer: "
    "message). json: one JSON object per line, with its severity.",
)
@click.option("--strict", is_flag=True, help="Warnings fail too (exit status 1).")
def validate(
    files: tuple[Path, ...],
    family: str | None,
    api_version: str,
    require_hashed: bool,
    output_format: str,
    strict: bool,
) -> None:
    """Validate stored payloads (.json, .ndjson, .jsonl, and .gz of each) against the schema.

    Prints one line per problem (error or warning), then a summary; reads any file size in
    constant memory.
    """
    from pytt_events.validation import ValidationSummary, validate_stored

    try:
        known = _families.families(api_version)
    except UnknownApiVersionError as error:
        raise click.UsageError(str(error)) from None
    if family is not None and family not in known:
        raise click.UsageError(f"--schema: {family!r} is not one of {', '.join(known)}")
    summary = ValidationSummary()
    emit = _emitter(output_format)
    with _Progress(list(files), "validating") as progress:
        finished = 0
        for file in files:
            handles: list[Any] = []
            try:
                results = validate_stored(
                    _payloads_of(file, handles), family, api_version, require_hashed
                )
                for count, result in enumerate(results, start=1):
                    summary.add(result)
                    for problem in result.problems:
                        emit(result.source, result.line, problem)
                    if count % 1000 == 0 and handles:
                        progress.advance_to(finished, handles[0].position)
            except OSError as error:
                summary.unreadable_files += 1
                click.echo(f"{file}: cannot read: {_os_reason(error)}", err=True)
                continue
            finished += file.stat().st_size if file.is_file() else 0
            progress.advance_to(finished, 0)
    counts = {
        "payloads": summary.payloads,
        "valid": summary.valid,
        "invalid": summary.invalid,
        "unreadable": summary.unreadable,
        "unreadable_files": summary.unreadable_files,
        "warned": summary.warned,
        "warnings": summary.warnings,
    }
    if output_format == "json":
        click.echo(json.dumps({"summary": counts}))
    else:
        click.echo(
            f"{summary.payloads} payload(s): {summary.valid} valid, {summary.invalid} invalid, "
            f"{summary.unreadable} unreadable"
            + (
                f"; {summary.warnings} warning(s) in {summary.warned} payload(s)"
                if summary.warnings
                else ""
            )
            + (
                f"; {summary.unreadable_files} file(s) could not be read"
                if summary.unreadable_files
                else ""
            )
        )
    if summary.unreadable_files:
        sys.exit(2)
    failed = summary.invalid or summary.unreadable or (strict and summary.warnings)
    sys.exit(1 if failed else 0)


def _emitter(output_format: str) -> Any:
    def text(source: str, line: int, problem: Problem) -> None:
        kind = "warning: " if problem.severity == "warning" else ""
        click.echo(f"{source}:{line}: {kind}{problem.path or '/'}: {problem.message}")

    def as_json(source: str, line: int, problem: Problem) -> None:
        click.echo(
            json.dumps(
                {
                    "file": source,
                    "line": line,
                    "path": problem.path or "/",
                    "severity": problem.severity,
                    "message": problem.message,
                }
            )
        )

    return as_json if output_format == "json" else text


def _os_reason(error: OSError) -> str:
    return error.strerror or str(error)


_SEND_EXAMPLES = """
\b
Examples:
  pytt-events send sent.ndjson --dry-run
  pytt-events send failed.ndjson --failed-out still-failed.ndjson
  zcat sent.ndjson.gz | pytt-events send -

\b
Credentials come from TIKTOK_ACCESS_TOKEN, TIKTOK_PIXEL_ID, TIKTOK_API_BASE_URL, ... (or .env);
--dry-run needs none. --failed-out may not be the input; it is checked before the first request.
Ctrl-C or SIGTERM: no new batch is taken, the requests in flight finish, and every event not
accepted is written to --failed-out (or to <input>.unsent.ndjson, named on screen).
Exit status: 0 everything accepted, 1 some event failed or some payload is invalid or
unreadable, 2 usage error, missing settings, an output that cannot be written or a file that
cannot be read, 130 interrupted.
"""


@main.command(epilog=_SEND_EXAMPLES)
@click.argument("file", type=click.Path(path_type=Path, allow_dash=True))
@click.option("--dry-run", is_flag=True, help="Validate and plan the requests; send nothing.")
@click.option(
    "--failed-out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the events that finally fail here (NDJSON; `send` accepts it again).",
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=10_000,
    show_default=True,
    help="Payloads read and sent at a time (memory stays bounded by it).",
)
@click.option(
    "--concurrency", type=click.IntRange(min=1), default=4, show_default=True,
    help="Requests in flight at once.",
)  # fmt: skip
def send(
    file: Path, dry_run: bool, failed_out: Path | None, batch_size: int, concurrency: int
) -> None:
    """Send stored payloads (any family, FILE or - for standard input) again through the bulk
    sender, with retries and isolation of bad events.

    Invalid or unreadable payloads are reported and not sent; events that finally fail are
    written to --failed-out, and failures are printed grouped by reason.
    """
    from pytt_events import BulkProgress, BulkSendError, TikTokAuth, TikTokEventsApi
    from pytt_events.stored import event_times

    # A dry run sends nothing: it needs no credentials (placeholders stand in for missing ones).
    placeholders = {"TIKTOK_ACCESS_TOKEN": "dry-run", "TIKTOK_PIXEL_ID": "dry-run"}
    try:
        try:
            auth = TikTokAuth()
        except ValidationError:
            if not dry_run:
                raise
            missing = {key: value for key, value in placeholders.items() if not os.environ.get(key)}
            auth = TikTokAuth(**missing)
    except ValidationError as error:
        raise click.UsageError(_settings_problem(error)) from None
    totals = {
        "events": 0, "accepted": 0, "failed": 0, "invalid": 0, "unreadable": 0, "requests": 0,
        "old": 0, "unsent": 0,
    }  # fmt: skip
    # TikTok deduplicates an event_id within 48 hours: an older event sent again may count twice.
    dedup_since = time.time() - 48 * 3600
    out: AbstractContextManager[Any] = nullcontext()
    if not dry_run:
        # Opened before the first request, so failed events always have somewhere to go. With
        # no --failed-out, a default file is kept only if the send is interrupted.
        out = _FailedOut(failed_out or _unsent_name(file), file, keep=failed_out is not None)
    interrupts = _Interrupts()
    try:
        with (
            out as failed_file,
            TikTokEventsApi(max_concurrency=concurrency) as api,
            _Progress([file], "sending") as progress,
            interrupts,
        ):
            handles: list[Any] = []
            start = 0  # the position, in the whole file, of the first event of this batch
            begun = 0  # the byte offset the batch was read from
            stored_payloads = _payloads_of(file, handles)
            for batch in _batches(stored_payloads, batch_size):
                if interrupts.received:
                    # Nothing more is sent: this batch and the rest are written as they are.
                    totals["unsent"] += _write_unsent(failed_file, [batch, stored_payloads])
                    break
                readable = []
                for stored in batch:
                    if stored.error is not None:
                        totals["unreadable"] += 1
                        click.echo(f"{file}:{stored.line}: {stored.error}", err=True)
                    else:
                        readable.append(stored)
                payloads = [stored.payload for stored in readable]
                totals["old"] += sum(1 for payload in payloads for moment in event_times(payload)
                                     if moment < dedup_since)  # fmt: skip
                if dry_run:
                    preview = api.preview_payloads(payloads, auth)
                    totals["events"] += preview.events
                    totals["requests"] += preview.requests
                    invalid = preview.invalid
                else:
                    # The bar moves per request, across the bytes this batch was read from.
                    end = handles[0].position if handles else 0

                    def advance(done: BulkProgress, begin: int = begun, end: int = end) -> None:
                        share = done.events_done / done.events_total if done.events_total else 1
                        progress.advance_to(0, begin + int((end - begin) * share))

                    try:
                        result = api.send_payloads(
                            payloads, auth, skip_invalid=True, on_progress=advance
                        )
                    except BulkSendError as error:
                        result = error.result
                    begun = end
                    totals["events"] += len(result.accepted) + len(result.failed)
                    totals["accepted"] += len(result.accepted)
                    totals["failed"] += len(result.failed)
                    totals["requests"] += len(result.responses)
                    for reason, count, first in result.failures_by_reason():
                        where = ", ".join(str(start + index) for index in first)
                        more = ", ..." if count > len(first) else ""
                        click.echo(
                            f"{file}: {count} event(s) failed: {reason} (events {where}{more})",
                            err=True,
                        )
                    start += len(result.accepted) + len(result.failed)
                    if result.failed:
                        result.write_failed(failed_file)
                    invalid = result.invalid
                for item in invalid:
                    totals["invalid"] += 1
                    line = readable[item.number].line
                    for path, reason in item.errors:
                        click.echo(f"{file}:{line}: {path}: {reason}", err=True)
                if handles:
                    progress.advance_to(0, handles[0].position)
            if interrupts.received and failed_file is not None:
                failed_file.keep = True  # what was not accepted is kept, wherever it goes
    except OSError as error:
        click.echo(f"{file}: cannot read: {_os_reason(error)}", err=True)
        sys.exit(2)
    if dry_run:
        click.echo(
            f"dry run: {totals['events']} event(s) would go in {totals['requests']} request(s); "
            f"{totals['invalid']} invalid and {totals['unreadable']} unreadable payload(s) "
            "would be skipped"
        )
    elif not interrupts.received:
        click.echo(
            f"{totals['accepted']} of {totals['events']} event(s) accepted, "
            f"{totals['failed']} failed; "
            f"{totals['invalid']} invalid and {totals['unreadable']} unreadable payload(s) skipped"
            + (
                f"; failed events written to {failed_out}"
                if failed_out and totals["failed"]
                else ""
            )
        )
    if interrupts.received:
        kept = totals["failed"] + totals["unsent"]
        click.echo(
            f"interrupted: {totals['accepted']} event(s) accepted, {totals['failed']} failed, "
            f"{totals['unsent']} not sent; the {kept} not accepted are written to "
            f"{failed_file.target if failed_file is not None else '-'} (send it again to "
            "finish)",
            err=True,
        )
        sys.exit(130)
    if totals["old"]:
        click.echo(
            f"warning: {totals['old']} event(s) happened more than 48 hours ago: TikTok "
            "deduplicates an event_id only within 48 hours, so any of them TikTok already "
            "received may be counted twice",
            err=True,
        )
    problems = totals["failed"] + totals["invalid"] + totals["unreadable"]
    sys.exit(1 if problems else 0)


class _Interrupts:
    """While sending: Ctrl-C (SIGINT) or SIGTERM asks to stop. No new batch is taken, the
    requests in flight finish, and send then writes every event not accepted."""

    def __init__(self) -> None:
        self.received = False
        self._previous: dict[int, Any] = {}

    def _on_signal(self, signum: int, frame: Any) -> None:
        if not self.received:
            click.echo("stopping: finishing the requests in flight...", err=True)
        self.received = True

    def __enter__(self) -> _Interrupts:
        for signum in (signal.SIGINT, signal.SIGTERM):
            self._previous[signum] = signal.signal(signum, self._on_signal)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)


def _unsent_name(file: Path) -> Path:
    """Where an interrupted send without --failed-out writes the events not accepted."""
    if str(file) == "-":
        return Path(f"pytt-events-unsent-{time.strftime('%Y%m%d-%H%M%S')}.ndjson")
    return file.with_name(file.name.removesuffix(".gz") + ".unsent.ndjson")


def _write_unsent(out: _FailedOut | None, parts: Iterable[Iterable[Any]]) -> int:
    """Copy stored payloads not sent to out, as they were read; the number of events."""

    events = 0
    for part in parts:
        for stored in part:
            if stored.error is not None or out is None:
                continue  # an unreadable line was reported when read
            out.writelines([json.dumps(stored.payload, separators=(",", ":")) + "\n"])
            events += len(_families.events_of(stored.payload))
    return events


class _FailedOut:
    """--failed-out: refused when it is the input, opened (as a temporary file beside it) before
    anything is sent, and renamed into place when done, so the input is never truncated while
    it is read and a half-written file never takes the place of a whole one.

    Raises:
        click.UsageError: (when built) the output is the input, or it cannot be written.
    """

    def __init__(self, target: Path, source: Path, *, keep: bool = True) -> None:
        self.keep = keep
        if _same_file(target, source):
            raise click.UsageError(
                f"--failed-out {target} is the input file: write the failed events elsewhere"
            )
        self.target = target
        self.written = 0
        try:
            handle, name = tempfile.mkstemp(
                prefix=f".{target.name}.", suffix=".partial", dir=target.parent or Path(".")
            )
        except OSError as error:
            raise click.UsageError(
                f"cannot write --failed-out {target}: {_os_reason(error)}"
            ) from None
        self.partial = Path(name)
        self.handle = os.fdopen(handle, "w", encoding="utf-8")

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.handle.write(line)
            self.written += 1

    def __enter__(self) -> _FailedOut:
        return self

    def __exit__(self, *exc: object) -> None:
        self.handle.close()
        if self.written and self.keep:
            os.replace(self.partial, self.target)
        else:
            self.partial.unlink(missing_ok=True)


def _same_file(one: Path, other: Path) -> bool:
    try:
        return one.exists() and other.exists() and one.samefile(other)
    except OSError:
        return False


def _settings_problem(error: ValidationError) -> str:
    """Which environment variables (or .env keys) to set, from TikTokAuth's error."""
    missing = [str(item["loc"][0]) for item in error.errors() if item["type"] == "missing"]
    invalid = [str(item["loc"][0]) for item in error.errors() if item["type"] != "missing"]
    parts = []
    if missing:
        parts.append(f"set {', '.join(missing)} (environment variable or .env key)")
    if invalid:
        parts.append(f"fix {', '.join(invalid)} (invalid value)")
    return "missing or invalid settings: " + "; ".join(parts)


def _payloads_of(file: Path, handles: list[Any]) -> Iterator[Any]:
    """The stored payloads of a file, or of standard input for "-"."""
    from pytt_events.stored import read_payloads

    if str(file) == "-":
        return read_payloads(sys.stdin.buffer, handles, source="<stdin>")
    return read_payloads(file, handles)


def _batches(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


_SCHEMA_EXAMPLES = """
\b
Examples:
  pytt-events schema                 list the API versions and request families
  pytt-events schema event_track     the schema of one request body
  pytt-events schema v1.3            the whole schema file of an API version
"""


@main.command(name="schema", epilog=_SCHEMA_EXAMPLES)
@click.argument("name", required=False)
@click.option(
    "--api-version", default=DEFAULT_API_VERSION, show_default=True, envvar="TIKTOK_API_VERSION"
)
def schema_command(name: str | None, api_version: str) -> None:
    """Print a schema (a request family, or a whole API version), or list them."""
    from pytt_events import _schema

    try:
        _families.families(api_version)
    except UnknownApiVersionError as error:
        raise click.UsageError(str(error)) from None
    if name is None:
        for version in _schema.known_versions():
            for family in _families.families(version).values():
                size = f"up to {family.max_events} events" if family.max_events else "1 event"
                click.echo(f"{version}  {family.name:<12} POST {family.endpoint:<14} {size}")
        return
    if name in _schema.known_versions():
        click.echo(json.dumps(_schema.load_schema(name), indent=2, ensure_ascii=False))
        return
    try:
        families = _families.families(api_version)
    except UnknownApiVersionError as error:
        raise click.UsageError(str(error)) from None
    if name not in families:
        known = ", ".join([*families, *_schema.known_versions()])
        raise click.UsageError(f"{name!r} is not a request family or API version ({known})")
    document = _schema.load_schema(api_version)
    family = families[name]
    body = {
        "$schema": document.get("$schema"),
        "title": family.definition,
        "$ref": f"#/$defs/{family.definition}",
        "$defs": document["$defs"],
    }
    click.echo(json.dumps(body, indent=2, ensure_ascii=False))


def _shown(body: Any) -> Any:
    """A batch body with only its first item in full (the others are the same event)."""
    if isinstance(body, dict) and isinstance(body.get("batch"), list) and len(body["batch"]) > 1:
        rest = len(body["batch"]) - 1
        return {**body, "batch": [body["batch"][0], f"... and {rest} more like it"]}
    return body


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


def quick_start_event(pixel_code: str, test_event_code: str | None) -> Any:
    """The event of the original package's Quick Start."""
    from pytt_events.context import Ad, Context, Page, User
    from pytt_events.event import Event
    from pytt_events.properties import Content, ContentType, Properties

    context = Context(
        user_agent="Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/98.0.4758.109 Safari/537.36",
        ip="13.57.97.131",
        ad=Ad(callback="E.C.P.v3fQ2RHacdkfKfofPmlyuStIIHJ4Af1tKYxF9zz2c2PLx1Oaw15oHpcfl5AH"),
        page=Page(url="https://www.example.com", referrer="https://www.google.com"),
        user=User(
            external_id="123456",
            email="test@test.com",
            phone_number="+5541998862934",
            ttp="94e2a4j9-h3ss-k2h5-98cc-c84a745mk098",
        ),
    )
    properties = Properties(
        currency="BRL",
        value=1.00,
        description="mock description",
        query="mock query",
        status="mock status",
        contents=[
            Content(
                content_type=ContentType.PRODUCT,
                content_id="123456789",
                content_name="mock content name",
                content_category="mock content category",
                price=1.00,
                quantity=1,
            )
        ],
    )
    return Event(
        pixel_code=pixel_code,
        test_event_code=test_event_code,
        event="ViewContent",
        event_id="123456789",
        timestamp="2023-02-01T00:00:00-03:00",
        context=context,
        properties=properties,
    )


if __name__ == "__main__":  # pragma: no cover
    main()
