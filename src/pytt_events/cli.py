"""The `pytt-events` command: validate, send and inspect stored payloads; run the sandbox, or a
demo that needs no account. It only calls the public library."""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from pytt_events import ConfigurationError, UnknownApiVersionError, schema
from pytt_events.replay import DEDUP_WINDOW_SECONDS, DEFAULT_BATCH_SIZE, DEFAULT_CONCURRENCY
from pytt_events.schema import DEFAULT_API_VERSION

# What a command needs beyond its help (pydantic, the client, the validators, the sandbox) it
# imports when it runs: `pytt-events --help` loads none of it.
if TYPE_CHECKING:
    from pydantic import ValidationError

    from pytt_events.testing import ReceivedRequest
    from pytt_events.validation import Problem

_DEDUP_HOURS = DEDUP_WINDOW_SECONDS // 3600

# The sandbox's default token (pytt_events.testing.DEFAULT_ACCESS_TOKEN, which a test pins):
# written here so that the command's help does not import the sandbox.
_SANDBOX_TOKEN = "sandbox-access-token"  # noqa: S105 - a test token, public by design
# The advertiser whose statistics the sandbox serves (pytt_events.testing.SANDBOX_ADVERTISER_ID,
# which a test pins).
_SANDBOX_ADVERTISER = "7000000000000000001"

# The days `stats` shows when not told (pytt_events._constants.STATS_DEFAULT_DAYS, which a test
# pins).
_STATS_DAYS = 7

# Inputs smaller than this finish before a progress bar would help.
_PROGRESS_FROM_BYTES = 1 << 20

_EXAMPLES_SANDBOX = """
\b
Examples:
  pytt-events sandbox --port 8080
  TIKTOK_API_BASE_URL=http://127.0.0.1:8080/open_api/ \\
  TIKTOK_ACCESS_TOKEN=sandbox-access-token TIKTOK_PIXEL_ID=PIXEL python my_app.py
"""


_VERBOSE_HELP = (
    "-v: the SDK's debug log (pytt_events: paths, codes, sizes; never secrets); "
    "-vv: httpx's too. Before or after the command, alike."
)
_VERBOSE_KEY = "pytt_events.verbose"


def _count_verbose(ctx: click.Context, param: click.Parameter, value: int) -> None:
    """-v before the command and after it add up (`pytt-events -v send -v F` is -vv): the
    contexts of a command line share one `meta`."""
    total = ctx.meta.get(_VERBOSE_KEY, 0) + value
    ctx.meta[_VERBOSE_KEY] = total
    _configure_logging(total)


def _verbose_option() -> click.Option:
    return click.Option(
        ["-v", "--verbose"],
        count=True,
        expose_value=False,
        callback=_count_verbose,
        help=_VERBOSE_HELP,
    )


_Decorated = TypeVar("_Decorated", bound=Callable[..., Any])


def _phone_region_option() -> Callable[[_Decorated], _Decorated]:
    return click.option(
        "--phone-region",
        envvar="TIKTOK_DEFAULT_PHONE_REGION",
        default=None,
        metavar="REGION",
        help="Read phone numbers without a country code as numbers of this region (ISO "
        "3166-1 alpha-2, e.g. BR; TIKTOK_DEFAULT_PHONE_REGION when set). Without it such a "
        "raw number cannot be a match key: validate warns, send leaves it out of its event.",
    )


def _event_source_options(lead: str) -> Callable[[_Decorated], _Decorated]:
    """--event-source-id and --event-source, for converted events (convert, send --from)."""

    def decorate(command: _Decorated) -> _Decorated:
        command = click.option(
            "--event-source", type=click.Choice(["web", "app", "offline", "crm"]), default=None,
            help=f"{lead} TikTok event source of every event (default: from its action_source "
            "or source).",
        )(command)  # fmt: skip
        return click.option(
            "--event-source-id", default=None, metavar="ID",
            help=f"{lead} TikTok pixel code, App ID or event set ID (default TIKTOK_PIXEL_ID).",
        )(command)  # fmt: skip

    return decorate


def _set_phone_region(region: str | None) -> None:
    from pytt_events import set_default_phone_region

    try:
        set_default_phone_region(region or None)
    except ConfigurationError as error:
        raise click.UsageError(f"--phone-region {region!r}: {error}") from None


def _show_version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    """--version, as click.version_option prints it; the version is read only when asked."""
    if not value or ctx.resilient_parsing:
        return
    from pytt_events import __version__

    click.echo(f"pytt-events, version {__version__}")
    ctx.exit()


class _Command(click.Command):
    """Every command takes -v/--verbose after its name, as the group does before it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params.append(_verbose_option())


class _Group(click.Group):
    command_class = _Command


@click.group(
    cls=_Group,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.option(
    "--version", is_flag=True, expose_value=False, is_eager=True, callback=_show_version,
    help="Show the version and exit.",
)  # fmt: skip
@click.option(
    "-v", "--verbose", count=True, expose_value=False, callback=_count_verbose,
    help=_VERBOSE_HELP,
)  # fmt: skip
@click.pass_context
def main(ctx: click.Context) -> None:
    """pytt-events: TikTok Events API SDK tools.

    \b
    Examples:
      pytt-events validate sent-2024-*.ndjson.gz --require-hashed
      pytt-events send failed.ndjson --failed-out still-failed.ndjson
      pytt-events schema event_track
      pytt-events convert --from meta meta.ndjson -o tiktok.ndjson   Meta events as TikTok's
      pytt-events demo                 send the Quick Start's event to a local sandbox
      pytt-events sandbox --port 8080  emulate TikTok's Events API on 127.0.0.1:8080
      pytt-events stats --outbox tiktok-outbox.sqlite3
                                       TikTok's counts beside the outbox's accepted ones
      pytt-events send -v sent.ndjson  with the SDK's debug log (-vv: httpx's too)
    """
    if ctx.invoked_subcommand is None:  # no command: the help, and success
        click.echo(ctx.get_help())
        ctx.exit(0)


_LOGGERS = ("pytt_events", "httpx", "httpcore")
_log_handlers: list[logging.Handler] = []  # the handler -v added, replaced when -v is counted


def _configure_logging(verbose: int) -> None:
    """-v shows the pytt_events logger only; -vv adds httpx (and httpcore)."""
    if not verbose:
        return
    for previous in _log_handlers:
        for name in _LOGGERS:
            logging.getLogger(name).removeHandler(previous)
    _log_handlers.clear()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    _log_handlers.append(handler)
    for name in _LOGGERS[: 1 if verbose == 1 else 3]:
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
    default=_SANDBOX_TOKEN,
    show_default=True,
    help="The access token the sandbox accepts.",
)
@click.option(
    "--advertiser",
    default=_SANDBOX_ADVERTISER,
    show_default=True,
    metavar="ID",
    help="The advertiser whose event statistics it serves (GET pixel/event/stats/).",
)
@click.option(
    "--allow-unhashed",
    is_flag=True,
    help="Accept personal data that is not SHA-256-hashed (rejected by default).",
)
@click.option(
    "--strict-personal-data",
    is_flag=True,
    help="Refuse (40002) a body with a raw e-mail address or phone number anywhere, e.g. in "
    "a URL's query (by default only noted).",
)
def sandbox(
    host: str,
    port: int,
    token: str,
    advertiser: str,
    allow_unhashed: bool,
    strict_personal_data: bool,
) -> None:
    """Emulate TikTok's Events API on this machine until interrupted (Ctrl-C or SIGTERM).

    It checks the Access-Token header, validates every body against the schema, answers as
    TikTok does and deduplicates as TikTok does (pixel or event set + event + event_id, or the
    _ttp cookie without an event_id; copies within 48 hours of the first). One line per request
    is printed: path, code, events, and how many counted and were duplicates. It serves TikTok's
    event statistics too (`pytt-events stats` against it) from the events that counted, for
    --advertiser.
    """

    from pytt_events.testing import SandboxServer

    def report(record: ReceivedRequest) -> None:
        counted = sum(record.counted)
        dedup = (
            f": {counted} counted, {len(record.counted) - counted} duplicate(s)"
            if record.counted
            else ""
        )
        click.echo(
            f"{record.path} -> code {record.code} ({len(record.events)} event(s)) "
            f"request_id {record.request_id}{dedup}"
        )

    # Stop on Ctrl-C and on SIGTERM alike, even when started with SIGINT ignored (as background
    # jobs of a non-interactive shell are).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    server = SandboxServer(
        host,
        port,
        token,
        require_hashed=not allow_unhashed,
        strict_personal_data=strict_personal_data,
        on_request=report,
        advertiser_id=advertiser,
    )
    try:
        server.bind()
    except OSError as error:  # a busy port, an address this machine does not have
        click.echo(
            f"pytt-events sandbox: cannot listen on {host}:{port}: {_os_reason(error)}", err=True
        )
        sys.exit(2)
    click.echo(f"sandbox listening: TIKTOK_API_BASE_URL={server.base_url}")
    click.echo(f"accepted token:    TIKTOK_ACCESS_TOKEN={token}")
    click.echo(f"advertiser:        TIKTOK_ADVERTISER_ID={advertiser}")
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
  pytt-events demo -vv     and httpx's
"""
)
def demo() -> None:
    """Send the Quick Start's event (once, then in bulk x3) to a local sandbox and show what
    TikTok would receive. Needs no account and no network."""
    from pytt_events import TikTokAuth, TikTokEventsApi, sha256_hex
    from pytt_events.testing import SandboxServer, quick_start_event

    with SandboxServer() as server, TikTokEventsApi() as api:
        auth = TikTokAuth(
            TIKTOK_ACCESS_TOKEN=server.access_token,
            TIKTOK_PIXEL_ID="DEMO_PIXEL_CODE",
            TIKTOK_API_VERSION=DEFAULT_API_VERSION,
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
            click.echo("Personal data left this machine only as SHA-256 of its normalized form:")
            for name in ("email", "phone_number", "external_id"):
                value = getattr(user, name)
                if value:
                    click.echo(
                        f"  context.user.{name:<12} sha256(normalized) = {sha256_hex(value)}"
                    )
    sys.stdout.flush()


class _ByteProgressBar:
    """A progress bar over the bytes of the files read, on a terminal only (stderr), and only
    for inputs large enough to need one: piped output carries nothing but results."""

    def __init__(self, files: list[Path], label: str) -> None:
        sizes = [file.stat().st_size for file in files if file.is_file()]
        total = sum(sizes)
        self._bar: Any = None
        self._done = 0
        if sys.stderr.isatty() and total >= _PROGRESS_FROM_BYTES:
            self._bar = click.progressbar(length=total, label=label, file=sys.stderr)

    def __enter__(self) -> _ByteProgressBar:
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
  pytt-events validate batch.json --family pixel_batch --format json > problems.ndjson
  zcat sent.ndjson.gz | pytt-events validate -      standard input (gzip or not)
  pytt-events validate sent.ndjson --coverage       with the match-key coverage table

\b
An error is something TikTok refuses; a warning something TikTok takes but that is probably
wrong or wasted (a deprecated event name, a currency TikTok does not support, an event_time
older than 28 days or in the future, event_source app, an unknown key, an unexpected shape, a
raw phone number or e-mail address that cannot be a match key). Warnings are printed and do
not change the exit status, unless --strict.
--coverage prints, after the summary, the share of events carrying each match key (email,
phone, external_id, ttclid, ttp, ip, user_agent, idfa, gaid) and each event's match-strength
grade (strong, medium, weak, none: a heuristic, TikTok publishes no formula), over the
payloads of a known request family, valid or not.
Exit status: 0 all valid, 1 some payload invalid or unreadable (or, with --strict, with a
warning), 2 usage error or a file that cannot be read.
"""


@main.command(epilog=_VALIDATE_EXAMPLES)
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, allow_dash=True))
@click.option(
    "--family",
    "family",
    default=None,
    help="Request family (pixel_track, pixel_batch, event_track); default: from each payload.",
)
@click.option(
    "--schema",
    "old_family",
    default=None,
    hidden=True,
    help="Deprecated: the old name of --family.",
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
@click.option(
    "--coverage",
    is_flag=True,
    help="Also print the match-key coverage table (with --format json: a coverage object).",
)
@_phone_region_option()
def validate(
    files: tuple[Path, ...],
    family: str | None,
    old_family: str | None,
    api_version: str,
    require_hashed: bool,
    output_format: str,
    strict: bool,
    coverage: bool,
    phone_region: str | None,
) -> None:
    """Validate stored payloads (.json, .ndjson, .jsonl, and .gz of each) against the schema.

    Prints one line per problem (error or warning), then a summary; reads any file size in
    constant memory.
    """
    from pytt_events.validation import ValidationSummary, validate_file

    _set_phone_region(phone_region)
    if old_family is not None:
        if family is not None and family != old_family:
            raise click.UsageError("--family and --schema (its old name) disagree")
        click.echo("pytt-events validate: --schema is deprecated: use --family", err=True)
        family = family or old_family
    try:
        known = schema.families(api_version)
    except UnknownApiVersionError as error:
        raise click.UsageError(str(error)) from None
    if family is not None and family not in known:
        raise click.UsageError(f"--family: {family!r} is not one of {', '.join(known)}")
    summary = ValidationSummary()
    emit = _emitter(output_format)
    with _ByteProgressBar(list(files), "validating") as progress:
        finished = 0
        for file in files:

            def advance(position: int, finished: int = finished) -> None:
                progress.advance_to(finished, position)

            try:
                path, source = _input(file)
                results = validate_file(
                    path,
                    family,
                    api_version,
                    require_hashed,
                    source=source,
                    on_progress=advance,
                    coverage=coverage,
                )
                for result in results:
                    summary.add(result)
                    for problem in result.problems:
                        emit(result.source, result.line, problem)
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
        found: dict[str, Any] = {"summary": counts}
        if coverage:
            found["coverage"] = summary.coverage.as_dict()
        click.echo(json.dumps(found))
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
        if coverage:
            click.echo(summary.coverage.table())
    if summary.unreadable_files:
        sys.exit(2)
    failed = summary.invalid or summary.unreadable or (strict and summary.warnings)
    sys.exit(1 if failed else 0)


def _input(file: Path) -> tuple[Any, str]:
    """What the library reads for a file argument, and its name: the path, or standard input
    for "-"."""
    if str(file) == "-":
        return sys.stdin.buffer, "<stdin>"
    return file, str(file)


def _emitter(output_format: str) -> Any:
    from pytt_events.validation import problem_text

    def text(source: str, line: int, problem: Problem) -> None:
        click.echo(f"{source}:{line}: {problem_text(problem)}")  # as send tells it

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
  pytt-events send -v sent.ndjson      with the SDK's debug log (-vv: httpx's too)
  pytt-events send --from meta meta.ndjson   Meta (or --from ecapi) events, converted
  pytt-events send sent.ndjson --no-coverage   without the match-key coverage table

\b
Credentials come from TIKTOK_ACCESS_TOKEN, TIKTOK_PIXEL_ID, TIKTOK_API_BASE_URL, ... (or .env);
--dry-run needs none. --failed-out may not be the input; it is checked before the first request.
A bad line is told as validate tells it: file:line: /pointer: message.
After its report, send prints the match-key coverage of the events sent (or, with --dry-run,
that would be sent): the share carrying each match key and each event's match-strength grade
(a heuristic: TikTok publishes no formula); --no-coverage leaves it out.
Ctrl-C or SIGTERM: no new batch is taken, the requests in flight finish, and every event not
accepted is written to --failed-out (or to <input>.unsent.ndjson, named on screen).
Exit status: 0 everything accepted, 1 some event failed or some payload is invalid or
unreadable (with --from: or some event could not be converted), 2 usage error, missing
settings, an unknown API version (TIKTOK_API_VERSION), an output that cannot be written or
a file that cannot be read, 130 interrupted.
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
    default=DEFAULT_BATCH_SIZE,
    show_default=True,
    help="Payloads read and sent at a time (memory stays bounded by it).",
)
@click.option(
    "--concurrency", type=click.IntRange(min=1), default=DEFAULT_CONCURRENCY, show_default=True,
    help="Requests in flight at once.",
)  # fmt: skip
@click.option(
    "--coverage/--no-coverage",
    default=True,
    show_default=True,
    help="Print the match-key coverage table after the report.",
)
@_phone_region_option()
@click.option(
    "--from", "origin", type=click.Choice(["meta", "ecapi"]), default=None,
    help="FILE holds Meta Conversions API or IAB ECAPI 1.0 events: convert them (as "
    "`pytt-events convert` does) and send the TikTok events.",
)  # fmt: skip
@_event_source_options("With --from: the")
def send(
    file: Path,
    dry_run: bool,
    failed_out: Path | None,
    batch_size: int,
    concurrency: int,
    coverage: bool,
    phone_region: str | None,
    origin: str | None,
    event_source_id: str | None,
    event_source: str | None,
) -> None:
    """Send stored payloads (any family, FILE or - for standard input) again through the bulk
    sender, with retries and isolation of bad events.

    Invalid or unreadable payloads are reported and not sent; events that finally fail are
    written to --failed-out, and failures are printed grouped by reason.
    """
    from pydantic import ValidationError

    from pytt_events import TikTokAuth
    from pytt_events.replay import FailedOutError, SendIssue, send_file

    _set_phone_region(phone_region)
    auth = None  # a dry run sends nothing: it needs no credentials (send_file's placeholders)
    if not dry_run:
        try:
            auth = TikTokAuth()
        except ValidationError as error:
            raise click.UsageError(_settings_problem(error)) from None

    def issue(found: SendIssue) -> None:
        click.echo(str(found), err=True)

    path, source = _input(file)
    not_converted = 0
    if origin is not None:
        if failed_out is not None and str(file) != "-" and failed_out.resolve() == file.resolve():
            raise click.UsageError(
                f"--failed-out {failed_out} is the input file: write the failed events elsewhere"
            )
        path, not_converted = _converted(
            path, source, origin, _source_id(event_source_id), event_source, auth
        )
    elif event_source_id is not None or event_source is not None:
        raise click.UsageError("--event-source-id and --event-source go with --from")
    interrupts = _Interrupts()
    try:
        with _ByteProgressBar([] if origin else [file], "sending") as progress, interrupts:
            report = send_file(
                path,
                source=source,
                auth=auth,
                dry_run=dry_run,
                failed_out=failed_out,
                batch_size=batch_size,
                max_concurrency=concurrency,
                stop=lambda: interrupts.received,
                on_issue=issue,
                on_progress=lambda position: progress.advance_to(0, position),
            )
    except ValidationError as error:  # a dry run's settings (TIKTOK_API_BASE_URL=ftp://...)
        raise click.UsageError(_settings_problem(error)) from None
    except UnknownApiVersionError as error:  # TIKTOK_API_VERSION=v9.9: checked before reading
        raise click.UsageError(f"TIKTOK_API_VERSION: {error}") from None
    except FailedOutError as error:
        if error.reason is None:
            raise click.UsageError(
                f"--failed-out {error.target} is the input file: write the failed events elsewhere"
            ) from None
        raise click.UsageError(
            f"cannot write --failed-out {error.target}: {error.reason}"
        ) from None
    except OSError as error:
        click.echo(f"{file}: cannot read: {_os_reason(error)}", err=True)
        sys.exit(2)
    if report.dry_run:
        click.echo(
            f"dry run: {report.events} event(s) would go in {report.requests} request(s); "
            f"{report.invalid} invalid and {report.unreadable} unreadable payload(s) "
            "would be skipped"
        )
    elif not report.stopped:
        click.echo(
            f"{report.accepted} of {report.events} event(s) accepted, {report.failed} failed; "
            f"{report.invalid} invalid and {report.unreadable} unreadable payload(s) skipped"
            + (f"; failed events written to {failed_out}" if failed_out and report.failed else "")
            + (
                f"; {report.dropped_keys} sent without some match keys (see the warnings)"
                if report.dropped_keys
                else ""
            )
        )
    if coverage and not report.stopped:
        click.echo(report.coverage.table())
    if not_converted:
        click.echo(f"{not_converted} event(s) could not be converted (see above)", err=True)
    if report.stopped:
        kept = report.failed + report.unsent
        click.echo(
            f"interrupted: {report.accepted} event(s) accepted, {report.failed} failed, "
            f"{report.unsent} not sent; the {kept} not accepted are written to "
            f"{report.failed_out or '-'} (send it again to finish)",
            err=True,
        )
        sys.exit(130)
    if report.old:
        click.echo(
            f"warning: {report.old} event(s) happened more than {_DEDUP_HOURS} hours ago: "
            f"TikTok deduplicates an event_id only within {_DEDUP_HOURS} hours, so any of them "
            "TikTok already received may be counted twice",
            err=True,
        )
    sys.exit(0 if report.ok and not not_converted else 1)


def _source_id(given: str | None) -> str:
    """The event source ID converted events go to: --event-source-id, or TIKTOK_PIXEL_ID."""
    from pydantic import ValidationError

    from pytt_events import TikTokAuth

    if given:
        return given
    try:
        return TikTokAuth().TIKTOK_PIXEL_ID
    except ValidationError:
        pixel = os.environ.get("TIKTOK_PIXEL_ID")
        if pixel:
            return pixel
    raise click.UsageError(
        "--event-source-id: give the TikTok pixel code, App ID or event set ID the events go "
        "to, or set TIKTOK_PIXEL_ID"
    )


def _convert_lines(
    path: Any,
    source: str,
    origin: str,
    event_source_id: str,
    event_source: str | None,
    auth: Any,
    write: Callable[[int, dict[str, Any]], None],
) -> tuple[int, int, int]:
    """Convert a file's events, write each hashed body, and tell on stderr what could not be
    converted and what was dropped (file:line: ..., never a value). Returns (converted, not
    converted, fields dropped). An input that cannot be read ends the command with exit code 2,
    naming it.
    """
    from pytt_events.convert import convert_file

    done = failed = dropped = 0
    try:
        for found in convert_file(
            path,
            "meta" if origin == "meta" else "ecapi",
            event_source_id=event_source_id,
            event_source=event_source,
            source=source,
            auth=auth,
        ):
            if found.body is None:
                failed += 1
                click.echo(f"{found.source}:{found.line}: {found.error}", err=True)
                continue
            done += 1
            for where, why in found.dropped:
                dropped += 1
                click.echo(f"{found.source}:{found.line}: warning: {where}: {why}", err=True)
            write(found.line, found.body)
    except OSError as error:
        click.echo(f"{source}: cannot read: {_os_reason(error)}", err=True)
        sys.exit(2)
    return done, failed, dropped


def _converted(
    path: Any,
    source: str,
    origin: str,
    event_source_id: str,
    event_source: str | None,
    auth: Any,
) -> tuple[Any, int]:
    """The converted events as a stream of NDJSON bodies (hashed: no raw personal data is
    written), each on its input's line where it can be, so that send's reports name the
    input's lines; and how many events could not be converted."""
    import tempfile

    stream = tempfile.TemporaryFile()  # noqa: SIM115 - send_file reads it; closed on exit
    written = [0]

    def write(line: int, body: dict[str, Any]) -> None:
        while written[0] + 1 < line:  # blank lines, which the readers skip
            stream.write(b"\n")
            written[0] += 1
        stream.write(json.dumps(body, separators=(",", ":")).encode() + b"\n")
        written[0] += 1

    _, failed, _ = _convert_lines(path, source, origin, event_source_id, event_source, auth, write)
    stream.seek(0)
    return stream, failed


_CONVERT_EXAMPLES = """
\b
Examples:
  pytt-events convert --from meta meta-events.ndjson -o tiktok.ndjson --event-source-id PIXEL
  pytt-events convert --from ecapi ecapi.json > tiktok.ndjson     (event source: TIKTOK_PIXEL_ID)
  pytt-events send --from meta meta-events.ndjson                 convert and send

\b
Input: NDJSON, a JSON event or array, or Meta's request body {"data": [...]}; gzip too.
Output: one hashed /event/track/ request body a line, as validate and send read them.
What could not be converted, and each field left out, is told on stderr (file:line: ...).
Exit status: 0 every event converted, 1 some event could not be, 2 usage error or a file
that cannot be read or written.
"""


@main.command(epilog=_CONVERT_EXAMPLES)
@click.argument("file", type=click.Path(path_type=Path, allow_dash=True))
@click.option(
    "--from", "origin", type=click.Choice(["meta", "ecapi"]), required=True,
    help="What FILE holds: Meta Conversions API events or IAB ECAPI 1.0 events.",
)  # fmt: skip
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path, allow_dash=True),
    default=None, help="Where to write the TikTok payloads (NDJSON; default standard output).",
)  # fmt: skip
@_event_source_options("The")
@_phone_region_option()
def convert(
    file: Path,
    origin: str,
    output: Path | None,
    event_source_id: str | None,
    event_source: str | None,
    phone_region: str | None,
) -> None:
    """Convert Meta Conversions API or IAB ECAPI 1.0 events (FILE, or - for standard input)
    into TikTok Events 2.0 payloads, personal data normalized and hashed by TikTok's rules.

    The mapping is the README's "Mirror your Meta events" table.
    """
    _set_phone_region(phone_region)
    source_id = _source_id(event_source_id)
    path, source = _input(file)
    target = None if output is None or str(output) == "-" else output
    if target is not None and str(file) != "-" and target.resolve() == file.resolve():
        raise click.UsageError(f"-o {output} is the input file: write elsewhere")
    to_stdout = target is None
    try:
        out = sys.stdout if target is None else open(target, "w", encoding="utf-8")  # noqa: SIM115
    except OSError as error:
        raise click.UsageError(f"cannot write -o {output}: {_os_reason(error)}") from None

    def write(line: int, body: dict[str, Any]) -> None:
        out.write(json.dumps(body, separators=(",", ":")) + "\n")

    try:
        done, failed, dropped = _convert_lines(
            path, source, origin, source_id, event_source, None, write
        )
    finally:
        if not to_stdout:
            out.close()
    click.echo(
        f"{done} event(s) converted, {failed} could not be; {dropped} field(s) left out",
        err=True,
    )
    sys.exit(1 if failed else 0)


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


_OUTBOX_EXAMPLES = """
\b
Examples:
  pytt-events outbox tiktok-outbox.sqlite3            pending and failed counts, by error
  pytt-events outbox tiktok-outbox.sqlite3 list       the failed events: event_id, code, reason
  pytt-events outbox tiktok-outbox.sqlite3 replay     failed -> pending (the next sender sends)
  pytt-events outbox tiktok-outbox.sqlite3 purge -y   forget the failed events (asks without -y)
  pytt-events outbox postgresql://app@db/shop list    a PostgresOutbox (--table: its prefix)
"""


@main.command(epilog=_OUTBOX_EXAMPLES)
@click.argument("where", metavar="FILE_OR_DSN")
@click.argument(
    "action", type=click.Choice(["status", "list", "replay", "purge"]), default="status"
)
@click.option(
    "--table", default="tiktok_outbox", show_default=True, help="A PostgresOutbox's table prefix."
)
@click.option("-y", "--yes", is_flag=True, help="purge: forget the failed events without asking.")
def outbox(where: str, action: str, table: str, yes: bool) -> None:
    """Inspect an EventSender's outbox (an SQLite file, or a PostgreSQL database given by its
    postgresql:// DSN): counts by error, the failed events, replay or purge them.

    status and list only read: they create and change nothing (an SQLite file is opened
    read-only). Replayed events keep their event_id (TikTok deduplicates within 48 hours) and
    are sent by the next EventSender on the outbox. purge asks first (or takes --yes; without
    a terminal to ask on, it needs --yes). Nothing printed holds personal data (it is hashed)
    or the DSN's password.
    """
    from pytt_events.outbox import OutboxError

    try:
        box = _open_outbox(where, table, read_only=action in ("status", "list"))
        try:
            _outbox_action(box, action, yes)
        finally:
            box.close()
    except OutboxError as error:
        raise click.ClickException(str(error)) from None


def _open_outbox(where: str, table: str, *, read_only: bool) -> Any:
    """The outbox at FILE_OR_DSN: a PostgresOutbox for a postgresql:// DSN, else an SQLite
    file (read_only: opened so, creating and changing nothing).

    Raises:
        click.ClickException: no such file, or psycopg is missing (the message says which).
        OutboxError: the outbox cannot be opened.
    """
    from pytt_events.outbox import PostgresOutbox, SQLiteOutbox

    if where.startswith(("postgresql://", "postgres://")):
        try:
            return PostgresOutbox(where, table=table)
        except ImportError as missing:  # its message names the extra to install
            raise click.ClickException(str(missing)) from None
    if Path(where).is_file():
        return SQLiteOutbox(where, read_only=read_only)
    raise click.ClickException(f"no outbox file at {where}")


def _outbox_action(box: Any, action: str, yes: bool) -> None:
    if action == "status":
        status = box.status()
        click.echo(f"{status.pending} pending, {status.failed} failed")
        for title, reasons, total in (
            ("pending", status.pending_reasons, status.pending),
            ("failed", status.failed_reasons, status.failed),
        ):
            if not reasons:
                continue
            click.echo(f"{title}, by the last error met:")
            for reason in reasons:
                code = "no code" if reason.code is None else f"code {reason.code}"
                click.echo(
                    f"  {reason.count:>8}  {code}, last at {_utc(reason.last_at)}: "
                    f"{reason.last_reason}"
                )
            untried = total - sum(reason.count for reason in reasons)
            if untried:
                click.echo(f"  {untried:>8}  no error met yet")
    elif action == "list":
        failed = box.failed()
        if not failed:
            click.echo("no failed events")
        for row in failed:
            code = row.code if row.code is not None else "-"
            click.echo(f"{row.event_id}\t{code}\t{_utc(row.failed_at)}\t{row.reason}")
    elif action == "replay":
        click.echo(f"{box.replay_failed()} failed event(s) moved back to pending")
    else:
        count = box.status().failed
        if count == 0:
            click.echo("no failed events to forget")
            return
        if not yes:
            if not sys.stdin.isatty():
                raise click.UsageError(
                    f"purge forgets {count} failed event(s) for good: add --yes to confirm "
                    "(there is no terminal to ask on)"
                )
            click.confirm(f"Forget {count} failed event(s) for good?", abort=True)
        click.echo(f"{box.purge_failed()} failed event(s) forgotten")


_STATS_EXAMPLES = """
\b
Examples:
  pytt-events stats                                  TIKTOK_PIXEL_ID, the last 7 UTC days
  pytt-events stats --pixel C4ABCDEFGHIJKLMNOPQR --from 2026-12-01 --to 2026-12-03
  pytt-events stats --outbox tiktok-outbox.sqlite3   beside what the outbox saw accepted
  pytt-events stats --outbox postgresql://app@db/shop --table tiktok_outbox
\b
It needs TIKTOK_ACCESS_TOKEN and TIKTOK_ADVERTISER_ID (the ad account that owns the pixel);
the token needs that advertiser's Measurement permission scope.
"""


@main.command(epilog=_STATS_EXAMPLES)
@click.option(
    "--pixel", "pixels", multiple=True, metavar="ID",
    help="A pixel code or event source id (repeatable; default: TIKTOK_PIXEL_ID).",
)  # fmt: skip
@click.option(
    "--from", "start", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
    metavar="YYYY-MM-DD",
    help=f"The first UTC day, YYYY-MM-DD (default: {_STATS_DAYS - 1} days before --to).",
)  # fmt: skip
@click.option(
    "--to", "end", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
    metavar="YYYY-MM-DD",
    help="The last UTC day, YYYY-MM-DD (default: today, UTC).",
)  # fmt: skip
@click.option(
    "--outbox", "where", metavar="FILE_OR_DSN", default=None,
    help="An EventSender's outbox (SQLite file or postgresql:// DSN): show its accepted "
    "counts beside TikTok's, and the difference.",
)  # fmt: skip
@click.option(
    "--table", default="tiktok_outbox", show_default=True, help="A PostgresOutbox's table prefix."
)
@click.option(
    "--advertiser", default=None, metavar="ID",
    help="The advertiser (ad account) id (default: TIKTOK_ADVERTISER_ID).",
)  # fmt: skip
def stats(
    pixels: tuple[str, ...],
    start: Any,
    end: Any,
    where: str | None,
    table: str,
    advertiser: str | None,
) -> None:
    """Show TikTok's own count of the events it received, per day (UTC), pixel and event
    (GET pixel/event/stats/), and with --outbox the events the outbox saw TikTok accept.

    The difference is TikTok's count of server events minus the outbox's: 0 when TikTok
    counted every event it accepted from this SDK once. Below 0: TikTok counted fewer (events
    tracked twice with one event_id are one to TikTok; TikTok's statistics may lag); above 0:
    events of this pixel sent by other means (another server, an older outbox). Resends of one
    event are counted once on both sides. Exit status 2 for a problem of settings or options
    (a missing TIKTOK_ADVERTISER_ID says so), 1 when TikTok refuses (the message says which
    permission the token needs) or cannot be reached.
    """
    import datetime as dt

    from pydantic import ValidationError

    from pytt_events import APIConnectionError, APIError, TikTokAuth, TikTokEventsApi
    from pytt_events.outbox import OutboxError

    try:
        auth = TikTokAuth()
    except ValidationError as error:
        raise click.UsageError(_settings_problem(error)) from None
    last = end.date() if end is not None else dt.datetime.now(dt.timezone.utc).date()
    first = start.date() if start is not None else last - dt.timedelta(days=_STATS_DAYS - 1)
    if last < first:
        raise click.UsageError(f"--to {last} is before --from {first}")
    wanted = list(pixels) or [auth.TIKTOK_PIXEL_ID]
    accepted = None
    if where is not None:
        try:
            box = _open_outbox(where, table, read_only=True)
            try:
                accepted = box.accepted_counts(first, last)
            finally:
                box.close()
        except OutboxError as error:
            raise click.ClickException(str(error)) from None
    try:
        with TikTokEventsApi() as api:
            found = api.event_stats(wanted, first, last, advertiser_id=advertiser, auth=auth)
    except ConfigurationError as error:  # no advertiser id
        if "TIKTOK_ADVERTISER_ID" in str(error):
            raise click.UsageError(
                "statistics need the advertiser (ad account) id that owns the pixel: set "
                "TIKTOK_ADVERTISER_ID (environment variable or .env key), or give --advertiser ID"
            ) from None
        raise click.UsageError(str(error)) from None
    except (APIError, APIConnectionError) as error:
        raise click.ClickException(f"TikTok refused the statistics: {error}") from None
    _print_stats(found, accepted)


def _print_stats(found: Any, accepted: dict[Any, int] | None) -> None:
    """The table of `stats`: a row per day, pixel and event."""
    pixels = set(found.pixel_ids)
    tiktok: dict[Any, Any] = {}
    for row in found.counts:
        key = (row.day, row.source, row.event)
        total, server = tiktok.get(key, (0, 0))
        own = row.server if row.server is not None else row.count
        tiktok[key] = (total + row.count, server + own)
    ours = {
        (day, source, event): count
        for (source, event, day), count in (accepted or {}).items()
        if source in pixels
    }
    click.echo(
        f"TikTok's event statistics, advertiser {found.advertiser_id}, "
        f"{found.start} to {found.end} (UTC days)"
    )
    keys = sorted(set(tiktok) | set(ours))
    if not keys:
        click.echo(
            "no events counted" + (" by TikTok or the outbox" if accepted is not None else "")
        )
        return
    width = max(len("event"), *(len(event) for _, _, event in keys))
    pixel_width = max(len("pixel"), *(len(source) for _, source, _ in keys))
    head = (
        f"{'day':<10}  {'pixel':<{pixel_width}}  {'event':<{width}}  {'tiktok':>8}  {'server':>8}"
    )
    if accepted is not None:
        head += f"  {'outbox':>8}  {'difference':>10}"
    click.echo(head)
    differ = 0
    for key in keys:
        day, source, event = key
        total, server = tiktok.get(key, (0, 0))
        line = f"{day.isoformat():<10}  {source:<{pixel_width}}  {event:<{width}}  "
        line += f"{total:>8}  {server:>8}"
        if accepted is not None:
            mine = ours.get(key, 0)
            differ += server != mine
            line += f"  {mine:>8}  {server - mine:>+10}"
        click.echo(line)
    if accepted is not None:
        click.echo(
            "TikTok's server counts equal the outbox's accepted counts"
            if not differ
            else f"{differ} row(s) differ: see `pytt-events stats --help` for why they may"
        )
    if found.unreadable:
        click.echo(f"{found.unreadable} row(s) of TikTok's answer could not be read", err=True)


def _utc(moment: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(moment))


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
    try:
        families = schema.families(api_version)
    except UnknownApiVersionError as error:
        raise click.UsageError(str(error)) from None
    if name is None:
        for version in schema.known_versions():
            for family in schema.families(version).values():
                size = f"up to {family.max_events} events" if family.max_events else "1 event"
                click.echo(f"{version}  {family.name:<12} POST {family.endpoint:<14} {size}")
        return
    if name in schema.known_versions():
        click.echo(json.dumps(schema.load_schema(name), indent=2, ensure_ascii=False))
        return
    if name not in families:
        known = ", ".join([*families, *schema.known_versions()])
        raise click.UsageError(f"{name!r} is not a request family or API version ({known})")
    click.echo(json.dumps(schema.family_schema(name, api_version), indent=2, ensure_ascii=False))


def _shown(body: Any) -> Any:
    """A multi-event body with only its first event in full (the others are the same)."""
    family = schema.detect(body)
    key = family.events_key if family is not None else None
    if key is not None and isinstance(body.get(key), list) and len(body[key]) > 1:
        rest = len(body[key]) - 1
        return {**body, key: [body[key][0], f"... and {rest} more like it"]}
    return body


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


if __name__ == "__main__":  # pragma: no cover
    main()
