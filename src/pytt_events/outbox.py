"""Where EventSender keeps the events it has taken and not yet delivered: a durable outbox.

    SQLiteOutbox("tiktok-outbox.sqlite3")   the default: SQLite from the standard library, WAL
                                            (a file of its own, marked as an outbox)
    MemoryOutbox(max_pending=10_000)        no file: lost with the process (bounded, never
                                            dropped: a full one makes `add` wait, then raise)
    PostgresOutbox("postgresql://...")      a server database, for processes on several machines

Each row is one event as a one-event request body, already validated and hashed (raw personal
data never touches the disk), with its event_id. A row leaves `pending` only when TikTok
accepted it (`done`) or failed it for good (`fail`: it moves to `failed`, where it can be
listed, replayed and purged). Several processes may share one SQLite file: a worker claims rows
with a lease (`claim`), so no row is sent by two workers at once; a lease that runs out (its
worker died) frees the row for another. The Outbox protocol is what another store implements to
take SQLite's place, as PostgresOutbox does.

Each outbox also keeps how many events TikTok accepted, per event source id (a web event's pixel
code), event name and UTC day of the event's time: counts, no event data. The sender gives each
accepted row's key when it settles it (`done(ids, counted=...)`), and the count grows in the
same transaction that removes the row, once per row; `accepted_counts(start, end)` reads them
(`pytt-events stats --outbox` puts them beside TikTok's own statistics).

An outbox file carries a marker (SQLite's application_id, OUTBOX_APPLICATION_ID) and its
layout's version (user_version, OUTBOX_SCHEMA_VERSION): SQLiteOutbox refuses any other existing
database, so an outbox never writes into an application's own database. Read-only handles
(`read_only=True`, which `pytt-events outbox FILE status` and `list` use) create and change
nothing. Every failure of a store (a corrupted file, a folder that cannot be written, a
database server that refuses the connection) is an OutboxError naming the outbox and the cause.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import functools
import json
import logging
import os
import re
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

from pytt_events._constants import (
    DEFAULT_MAX_PENDING,
    DEFAULT_OUTBOX_TABLE,
    OUTBOX_APPLICATION_ID,
    OUTBOX_AUTOCHECKPOINT_PAGES,
    OUTBOX_CHECKPOINT_ROWS,
    OUTBOX_CLAIM_SLICE,
    OUTBOX_KEPT_BODIES,
    OUTBOX_SCHEMA_VERSION,
    OUTBOX_SLICE,
    SQLITE_BUSY_TIMEOUT,
)
from pytt_events._exceptions import PyttEventsError

__all__ = [
    "OUTBOX_APPLICATION_ID",
    "OUTBOX_SCHEMA_VERSION",
    "AcceptedKey",
    "FailedRow",
    "MemoryOutbox",
    "Outbox",
    "OutboxError",
    "OutboxFullError",
    "OutboxStatus",
    "PostgresOutbox",
    "ReasonCount",
    "Row",
    "SQLiteOutbox",
]


class OutboxError(PyttEventsError):
    """An outbox cannot be opened or used: the message names it (its file, or its table
    prefix) and the cause. Nothing was written. Raised in place of the store's own errors
    (sqlite3.Error, psycopg.Error), which stay attached as `__cause__`."""


class OutboxFullError(PyttEventsError):
    """The in-memory outbox stayed full for the whole wait: the event was not taken (use a
    durable outbox, a larger max_pending, or send less at once)."""


#: What an accepted event is counted under: (event source id, event name, UTC day of the
#: event's time as YYYY-MM-DD).
AcceptedKey = tuple[str, str, str]


def _tally(
    ids: Iterable[int], counted: Mapping[int, AcceptedKey] | None
) -> collections.Counter[AcceptedKey]:
    """The accepted counts of the rows settled (ids: those that were still pending)."""
    if not counted:
        return collections.Counter()
    return collections.Counter(counted[i] for i in ids if i in counted)


def _days(
    rows: Iterable[Sequence[Any]], start: dt.date | None, end: dt.date | None
) -> dict[tuple[str, str, dt.date], int]:
    """Rows of (source, event, day, count) as accepted_counts gives them, within start..end."""
    found: dict[tuple[str, str, dt.date], int] = {}
    for source, event, day, count in rows:
        when = day if isinstance(day, dt.date) else dt.date.fromisoformat(str(day))
        if (start is None or when >= start) and (end is None or when <= end):
            key = (str(source), str(event), when)
            found[key] = found.get(key, 0) + int(count)
    return found


@dataclass(frozen=True)
class Row:
    """One pending event: its id in the outbox, its one-event request body (hashed), its
    event_id, when it was taken, and how many deliveries were tried. `checked`: this process
    kept it with `add(..., checked=True)` (EventSender.track had validated and hashed it), so
    it is sent as it is; False (a row of another process, an earlier run, a replay, another
    store): the worker validates it again before sending."""

    id: int
    body: dict[str, Any]
    event_id: str
    created: float
    attempts: int = 0
    checked: bool = False


@dataclass(frozen=True)
class FailedRow:
    """An event TikTok failed for good (or one too old to send blindly), and why."""

    id: int
    body: dict[str, Any]
    event_id: str
    created: float
    failed_at: float
    code: int | None
    reason: str


@dataclass(frozen=True)
class ReasonCount:
    """How many events met one error code (None: no code, such as a network error or an
    unexpected one), and the last of those errors: its text and when (Unix time)."""

    code: int | None
    count: int
    last_reason: str
    last_at: float


@dataclass(frozen=True)
class OutboxStatus:
    """What an outbox holds: the pending events (and, of those, the ones whose last delivery
    met an error, by code), and the failed ones by code."""

    pending: int
    failed: int
    pending_reasons: tuple[ReasonCount, ...] = ()
    failed_reasons: tuple[ReasonCount, ...] = ()
    #: When the oldest pending event was taken (seconds since the epoch; None: none pending,
    #: or an outbox that does not say).
    oldest_pending: float | None = None


def _reason_counts(rows: Iterable[Sequence[Any]]) -> tuple[ReasonCount, ...]:
    """Rows of (code, count, reason, at), one per event (count 1) or already grouped by a
    database, summed up by code with the latest reason, most frequent first: the outboxes' one
    way to count errors."""
    by_code: dict[int | None, tuple[int, str, float]] = {}
    for code, number, reason, at in rows:
        count, last_reason, last_at = by_code.get(code, (0, str(reason), float(at)))
        if float(at) >= last_at:
            last_reason, last_at = str(reason), float(at)
        by_code[code] = (count + int(number), last_reason, last_at)
    return tuple(
        ReasonCount(code, count, reason, at)
        for code, (count, reason, at) in sorted(by_code.items(), key=lambda item: -item[1][0])
    )


class Outbox(Protocol):
    """What EventSender needs of an outbox (SQLiteOutbox, MemoryOutbox, or a server database).

    A worker claims rows with a lease (`claim`), keeps the lease alive while it sends (`renew`),
    then settles each row: `done` (accepted), `release` (to try again later) or `fail` (failed
    for good). `release` and `fail` with an owner touch only the rows that owner still holds:
    a worker whose lease ran out (and another worker took the rows) changes nothing.
    """

    def add(self, items: Sequence[tuple[dict[str, Any], str]], *, timeout: float) -> None:
        """Keep events (body, event_id), committed before it returns."""

    def claim(self, owner: str, limit: int, lease: float) -> list[Row]:
        """Up to limit pending rows no live lease holds, oldest first, leased to owner for
        lease seconds."""

    def renew(self, owner: str, ids: Iterable[int], lease: float) -> int:
        """Extend owner's lease of these rows to lease seconds from now; how many it still held."""

    def done(self, ids: Iterable[int], *, counted: Mapping[int, AcceptedKey] | None = None) -> None:
        """Rows TikTok accepted: gone (whoever holds them). counted: the key (event source id,
        event, UTC day) of each row to count among the accepted events, in the same
        transaction; a row no longer pending (another worker settled it) is not counted."""

    def accepted_counts(
        self, start: dt.date | None = None, end: dt.date | None = None
    ) -> dict[tuple[str, str, dt.date], int]:
        """How many events TikTok accepted, by (event source id, event, UTC day of the event's
        time), for the days from start to end (both included; None: unbounded)."""

    def release(
        self,
        ids: Iterable[int],
        retry_in: float,
        *,
        owner: str | None = None,
        error: tuple[int | None, str] | None = None,
    ) -> None:
        """Rows to try again later: leased to no one for retry_in seconds, one more attempt
        counted (with owner: only the rows owner still holds); error (code, reason), the one
        they met, is kept on them for `status`."""

    def fail(
        self, rows: Iterable[tuple[int, int | None, str]], *, owner: str | None = None
    ) -> None:
        """Rows (id, code, reason) failed for good: moved to the failed ones (with owner: only
        the rows owner still holds)."""

    def pending(self) -> int:
        """How many events wait to be delivered."""

    def due(self) -> int:
        """How many pending events no lease or retry delay holds: a worker may claim them now."""

    def delayed(self) -> int:
        """How many pending events wait out a retry delay (released, and not yet due)."""

    def failed(self) -> list[FailedRow]:
        """The events failed for good."""

    def status(self) -> OutboxStatus:
        """Pending and failed counts, each by the code of the error last met."""

    def replay_failed(self) -> int:
        """Move the failed events back to pending (with their event_ids); how many."""

    def purge_failed(self) -> int:
        """Forget the failed events; how many."""

    def close(self) -> None:
        """Release its connections (the data stays)."""


#: The daily counts of accepted events (version 3): counts only, no event data.
_ACCEPTED_TABLE = """CREATE TABLE accepted (
    source TEXT NOT NULL,
    event TEXT NOT NULL,
    day TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (source, event, day)
) WITHOUT ROWID"""
#: Adds an accepted count (SQLite 3.24's upsert).
_COUNT_ACCEPTED = (
    "INSERT INTO accepted (source, event, day, count) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (source, event, day) DO UPDATE SET count = count + excluded.count"
)
#: The outbox file's tables (version OUTBOX_SCHEMA_VERSION), one statement each.
_SCHEMA = (
    """CREATE TABLE pending (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    body TEXT NOT NULL,
    event_id TEXT NOT NULL,
    created REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until REAL NOT NULL DEFAULT 0,
    last_code INTEGER,
    last_error TEXT,
    last_error_at REAL
)""",
    "CREATE INDEX pending_by_lease ON pending (lease_until, id)",
    """CREATE TABLE failed (
    id INTEGER PRIMARY KEY,
    body TEXT NOT NULL,
    event_id TEXT NOT NULL,
    created REAL NOT NULL,
    failed_at REAL NOT NULL,
    code INTEGER,
    reason TEXT NOT NULL
)""",
    _ACCEPTED_TABLE,
)
#: Version 1 -> 2: each pending event keeps the last error it met.
_MIGRATE_TO_2 = (
    "ALTER TABLE pending ADD COLUMN last_code INTEGER",
    "ALTER TABLE pending ADD COLUMN last_error TEXT",
    "ALTER TABLE pending ADD COLUMN last_error_at REAL",
)
#: Version 2 -> 3: the daily counts of accepted events (older files start counting from zero).
_MIGRATE_TO_3 = (_ACCEPTED_TABLE,)
#: The columns of a version 1 outbox, which carried no marker: such a file is recognized by
#: them (and by having no other table), and adopted.
_VERSION_1_PENDING = {"id", "body", "event_id", "created", "attempts", "lease_owner", "lease_until"}
_VERSION_1_FAILED = {"id", "body", "event_id", "created", "failed_at", "code", "reason"}

logger = logging.getLogger("pytt_events")

# Every outbox of this process. A forked child starts with a fresh guard, no connection and no
# in-memory events of its parent's. An SQLite outbox is held across the fork itself: os.fork
# waits until it is between operations and closes its connection first (it reopens on its next
# use), so no process ever forks with an SQLite connection open, whose lock and shared-memory
# state SQLite keeps per process and a child would inherit half of.
_LIVE: weakref.WeakSet[Any] = weakref.WeakSet()
_HELD_FOR_FORK: list[Any] = []  # the outboxes the fork in progress holds (strong references)
_Method = TypeVar("_Method", bound=Callable[..., Any])


def _guarded(method: _Method) -> _Method:
    """Run the method holding the outbox's guard: one operation at a time in a process. The
    store's own errors become an OutboxError naming the outbox."""

    @functools.wraps(method)
    def run(self: Any, *args: Any, **kwargs: Any) -> Any:
        with self._guard:
            try:
                return method(self, *args, **kwargs)
            except self._store_errors as error:
                raise self._failure(error) from error

    return run  # type: ignore[return-value]


def _before_fork() -> None:
    for outbox in list(_LIVE):
        if isinstance(outbox, SQLiteOutbox):
            outbox._checkpointing.acquire()  # (no fork in the middle of a checkpoint either)
            outbox._guard.acquire()
            _HELD_FOR_FORK.append(outbox)
            outbox._close_connection()


def _after_fork_in_parent() -> None:
    for outbox in _HELD_FOR_FORK:
        outbox._guard.release()
        outbox._checkpointing.release()
    _HELD_FOR_FORK.clear()


def _after_fork_in_child() -> None:
    held = {id(outbox) for outbox in _HELD_FOR_FORK}
    _HELD_FOR_FORK.clear()
    for outbox in list(_LIVE):
        if id(outbox) not in held:  # its guard may be held by a thread the child does not have
            outbox._guard = threading.RLock()
        outbox._after_fork_in_child()
        if id(outbox) in held:
            outbox._guard.release()
            outbox._checkpointing.release()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(
        before=_before_fork,
        after_in_parent=_after_fork_in_parent,
        after_in_child=_after_fork_in_child,
    )


class _Connected:
    """One database connection per process, opened on first use. A connection inherited
    across a fork is never used (it is the parent's) and never closed (closing it would end
    the parent's session): it is only kept referenced."""

    #: The store's own errors, which _guarded turns into an OutboxError (see _failure).
    _store_errors: tuple[type[BaseException], ...] = ()

    def __init__(self) -> None:
        self._guard = threading.RLock()
        self._held: Any = None
        self._inherited: list[Any] = []
        _LIVE.add(self)

    def _open(self) -> Any:
        raise NotImplementedError  # pragma: no cover - each store opens its own

    def _failure(self, error: BaseException) -> OutboxError:
        raise NotImplementedError  # pragma: no cover - each store names itself

    def _connection(self) -> Any:
        if self._held is None:
            self._held = self._open()
        return self._held

    def _close_connection(self) -> None:
        if self._held is not None:
            held, self._held = self._held, None
            held.close()

    def _after_fork_in_child(self) -> None:
        if self._held is not None:
            self._inherited.append(self._held)
            self._held = None

    @_guarded
    def close(self) -> None:
        """Close this process's connection (the data stays); the next operation opens one."""
        self._close_connection()


class SQLiteOutbox(_Connected):
    """The outbox in a SQLite file of its own (WAL mode), safe to share between threads and
    processes (one connection per process; a lease keeps two processes off the same rows).

    A new file is created with the outbox marker (OUTBOX_APPLICATION_ID) and layout version;
    an existing file must carry that marker (or be an outbox of this SDK's first layout, which
    had none: it is adopted): any other database is refused, never written to.

    Args:
        path: the database file (created when missing, unless read_only).
        busy_timeout: seconds a writer waits for another process's lock.
        read_only: open the file for reading only: nothing is created, changed or switched
            to WAL, and a file in a folder that cannot be written can be read.

    Raises:
        OutboxError: the file is not an outbox (another database, not a database, corrupted,
            made by a newer version), or cannot be created or opened; the message says which.
    """

    _store_errors = (sqlite3.Error,)

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        busy_timeout: float = SQLITE_BUSY_TIMEOUT,
        read_only: bool = False,
    ) -> None:
        if str(path) in ("", ":memory:") or str(path).startswith("file::memory:"):
            raise ValueError(
                "an SQLite memory database lives in one connection (and would not survive a "
                "fork): give a file path, or use MemoryOutbox"
            )
        super().__init__()
        self.path = Path(path)
        self.read_only = read_only
        self._busy_timeout = busy_timeout
        self._version = OUTBOX_SCHEMA_VERSION
        self._prepared = False  # the file was checked (a reopen after a fork only configures)
        # The rows this process added checked (see add): id -> the body as it was given (None
        # past OUTBOX_KEPT_BODIES: then it is read back from the file), until the row is settled.
        self._checked: dict[int, dict[str, Any] | None] = {}
        self._settled = 0  # rows settled since the write-ahead log was last checkpointed
        self._checkpointing = threading.Lock()
        if read_only:
            if not self.path.is_file():
                raise OutboxError(f"no outbox file at {self.path}")
        elif not self.path.exists():
            self._create_file()
        with self._guard:
            try:
                self._version = self._prepare(self._connection())
            except sqlite3.Error as error:
                self._close_connection()
                raise self._failure(error) from error
            except BaseException:
                self._close_connection()
                raise

    def __repr__(self) -> str:
        return f"SQLiteOutbox({str(self.path)!r})"

    def _failure(self, error: BaseException) -> OutboxError:
        text = str(error)
        if "file is not a database" in text:
            why = "not an SQLite database (or an encrypted one)"
        elif "malformed" in text:
            why = (
                f"SQLite finds the file damaged ({text}). If a sender was writing it while it "
                "was read, try again; otherwise keep a copy and check it with "
                "`sqlite3 FILE 'PRAGMA integrity_check'` (its pending events are in it)"
            )
        elif "unable to open" in text:
            why = f"{text}: {self._open_problem()}"
        else:
            why = text
        return OutboxError(f"outbox {self.path}: {why}")

    def _open_problem(self) -> str:
        """Why SQLite could not open the file, as the file system tells it."""
        folder = self.path.parent
        if not folder.is_dir():
            return f"the folder {folder} does not exist"
        if self.read_only:
            return f"it cannot be read, or its folder {folder} lets no reader share it"
        if not os.access(folder, os.W_OK):
            return f"the folder {folder} cannot be written (SQLite writes files beside it)"
        return "check the file's and its folder's permissions"

    def _create_file(self) -> None:
        """Create the new, empty file (only its owner reads it), so that a folder that is
        missing or cannot be written is named with the system's reason."""
        folder = self.path.parent
        if not folder.is_dir():
            raise OutboxError(
                f"cannot create the outbox {self.path}: the folder {folder} does not exist"
            )
        try:
            os.close(os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600))
        except OSError as error:
            raise OutboxError(
                f"cannot create the outbox {self.path}: {error.strerror or error}"
            ) from None

    def _open(self) -> sqlite3.Connection:
        if self.read_only:
            return self._open_read_only()
        connection = sqlite3.connect(
            self.path, timeout=self._busy_timeout, isolation_level=None, check_same_thread=False
        )
        if self._prepared:
            self._configure(connection)  # a file already checked: a reopen (after a fork)
        return connection

    def _open_read_only(self) -> sqlite3.Connection:
        """A read-only connection that creates nothing beside the file. With no write-ahead log
        beside it, no connection has the file open (the last one to close removes the log): the
        file alone is the whole database, read as immutable (SQLite would otherwise make its
        log and shared-memory files, which a folder that cannot be written refuses). With a
        log, a sender is at work: the file is read through the log and its shared memory."""
        uri = f"{self.path.resolve().as_uri()}?mode=ro"
        if not Path(f"{self.path}-wal").exists():
            uri += "&immutable=1"
        return sqlite3.connect(
            uri, uri=True, timeout=self._busy_timeout, isolation_level=None,
            check_same_thread=False,
        )  # fmt: skip

    @staticmethod
    def _configure(connection: sqlite3.Connection) -> None:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")  # durable across a process crash
        # The write-ahead log is checkpointed (written back and synced) by the worker once it
        # has settled enough rows (see done), not by whichever commit crosses SQLite's default
        # 1,000 pages, which is most often an `add` on the request path; this bound is a net.
        connection.execute(f"PRAGMA wal_autocheckpoint={OUTBOX_AUTOCHECKPOINT_PAGES}")

    def _prepare(self, connection: sqlite3.Connection) -> int:
        """Check the file is an outbox (creating a new one's tables), bring an older layout up
        to date, then switch to WAL; the layout version. Read-only: check only."""
        if self.read_only:
            return self._check(connection)
        connection.execute("BEGIN IMMEDIATE")  # two processes creating one file: one does
        try:
            version = self._check(connection)
            if version == 0:
                for statement in _SCHEMA:
                    connection.execute(statement)
            else:
                steps = {1: _MIGRATE_TO_2, 2: _MIGRATE_TO_3}
                for step in range(version, OUTBOX_SCHEMA_VERSION):
                    for statement in steps[step]:
                        connection.execute(statement)
            if version < OUTBOX_SCHEMA_VERSION:
                connection.execute(f"PRAGMA application_id = {OUTBOX_APPLICATION_ID}")
                connection.execute(f"PRAGMA user_version = {OUTBOX_SCHEMA_VERSION}")
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    connection.execute("ROLLBACK")
            raise
        self._configure(connection)
        self._prepared = True
        return OUTBOX_SCHEMA_VERSION

    def _check(self, connection: sqlite3.Connection) -> int:
        """The file's outbox layout version (0: an empty database, a new outbox), or raise."""
        application_id = connection.execute("PRAGMA application_id").fetchone()[0]
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        tables = {
            name
            for (name,) in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        }
        if application_id == OUTBOX_APPLICATION_ID:
            if version > OUTBOX_SCHEMA_VERSION:
                raise OutboxError(
                    f"outbox {self.path}: layout version {version}, made by a newer version of "
                    f"pytt-events (this one reads up to {OUTBOX_SCHEMA_VERSION}): upgrade it"
                )
            return int(version)
        if application_id == 0 and version == 0 and not tables:
            if self.read_only:
                raise OutboxError(f"outbox {self.path}: an empty database, not an outbox yet")
            return 0
        if application_id == 0 and version == 0 and tables == {"pending", "failed"}:
            columns = {
                table: {row[1] for row in connection.execute(f"PRAGMA table_info({table})")}
                for table in tables
            }
            if columns == {"pending": _VERSION_1_PENDING, "failed": _VERSION_1_FAILED}:
                return 1  # an outbox of the first layout, which had no marker
        raise OutboxError(
            f"{self.path} is an SQLite database but not a pytt-events outbox (it has no outbox "
            "marker): nothing was changed. Give the outbox a file of its own"
        )

    @contextlib.contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (BEGIN IMMEDIATE: it holds the file's write lock throughout)."""
        connection: sqlite3.Connection = self._connection()
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield connection
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:  # a failed statement, or a COMMIT that failed
                with contextlib.suppress(sqlite3.Error):
                    connection.execute("ROLLBACK")
            raise

    def add(
        self,
        items: Sequence[tuple[dict[str, Any], str]],
        *,
        timeout: float = 0.0,
        checked: bool = False,
    ) -> None:
        """Keep events (body, event_id), committed before it returns. checked: the SDK
        validated and hashed these bodies (EventSender does): this process's worker sends
        them as they are (the mark lives in this process only: rows an earlier process left
        are validated again)."""
        now = time.time()
        rows = [
            (json.dumps(body, separators=(",", ":")), event_id, now) for body, event_id in items
        ]
        self._insert(rows, checked, [body for body, _ in items])

    @_guarded
    def _insert(
        self,
        rows: list[tuple[str, str, float]],
        checked: bool = False,
        bodies: Sequence[dict[str, Any]] = (),
    ) -> None:
        last = 0
        with self._writing() as connection:
            connection.executemany(
                "INSERT INTO pending (body, event_id, created) VALUES (?, ?, ?)", rows
            )
            if checked:
                last = connection.execute("SELECT last_insert_rowid()").fetchone()[0]
        if checked and rows:
            # Marked once committed: AUTOINCREMENT under the write lock gave the new rows the
            # last len(rows) ids, and never gives a committed id again (a mark left behind by
            # a row another process settled can never name another row).
            keep = len(self._checked) + len(rows) <= OUTBOX_KEPT_BODIES
            for row_id, body in zip(range(last - len(rows) + 1, last + 1), bodies, strict=True):
                self._checked[row_id] = body if keep else None

    def claim(self, owner: str, limit: int, lease: float) -> list[Row]:
        # In slices of OUTBOX_SLICE rows, each its own short transaction: an `add` on the request
        # path waits for one slice at most. The bodies are parsed outside the guard (a body
        # this process added checked is the one it was given: not parsed again).
        found: list[Row] = []
        until = 0.0
        while len(found) < limit:
            part = min(OUTBOX_CLAIM_SLICE, limit - len(found))
            until = max(time.time() + lease, until + 0.001)  # each slice's rows by their own
            rows = self._claim_rows(owner, part, until)
            for i, body, e, c, a in rows:
                checked = i in self._checked
                kept = self._checked.get(i) if checked else None
                parsed = kept if kept is not None else json.loads(body)
                found.append(Row(int(i), parsed, str(e), float(c), int(a), checked))
            if len(rows) < part:
                break
        return found

    @_guarded
    def _claim_rows(self, owner: str, limit: int, until: float) -> list[Any]:
        now = time.time()
        with self._writing() as connection:  # the write lock: no other process claims between
            connection.execute(
                "UPDATE pending SET lease_owner = ?, lease_until = ? WHERE id IN ("
                "SELECT id FROM pending WHERE lease_until <= ? ORDER BY id LIMIT ?)",
                (owner, until, now, limit),
            )
            return connection.execute(  # (no RETURNING: it needs SQLite 3.35)
                "SELECT id, body, event_id, created, attempts FROM pending "
                "WHERE lease_owner = ? AND lease_until = ? ORDER BY id",
                (owner, until),
            ).fetchall()

    def renew(self, owner: str, ids: Iterable[int], lease: float) -> int:
        until = time.time() + lease
        ids = list(ids)
        return sum(
            self._renew(owner, ids[start : start + OUTBOX_SLICE], until)
            for start in range(0, len(ids), OUTBOX_SLICE)
        )

    @_guarded
    def _renew(self, owner: str, ids: list[int], until: float) -> int:
        with self._writing() as connection:
            return sum(
                connection.execute(
                    "UPDATE pending SET lease_until = ? WHERE id = ? AND lease_owner = ?",
                    (until, row_id, owner),
                ).rowcount
                for row_id in ids
            )

    def done(self, ids: Iterable[int], *, counted: Mapping[int, AcceptedKey] | None = None) -> None:
        ids = list(ids)
        for start in range(0, len(ids), OUTBOX_SLICE):  # short transactions (see claim)
            self._delete(ids[start : start + OUTBOX_SLICE], counted)
        self._settled += len(ids)
        if self._settled >= OUTBOX_CHECKPOINT_ROWS:
            self._settled = 0
            self._checkpoint()

    @_guarded
    def _delete(self, ids: list[int], counted: Mapping[int, AcceptedKey] | None = None) -> None:
        marks = ",".join("?" * len(ids))
        with self._writing() as connection:
            if counted:  # the rows still pending count, in the transaction that removes them
                present = connection.execute(f"SELECT id FROM pending WHERE id IN ({marks})", ids)
                tally = _tally((row_id for (row_id,) in present), counted)
                connection.executemany(
                    _COUNT_ACCEPTED, [(*key, count) for key, count in tally.items()]
                )
            connection.execute(f"DELETE FROM pending WHERE id IN ({marks})", ids)
        for row_id in ids:
            self._checked.pop(row_id, None)

    def _checkpoint(self) -> None:
        """Write the log back into the file and sync it, through a connection of its own and
        without the guard: a checkpoint takes milliseconds (an fsync), during which this
        process's `add` goes on committing (PASSIVE: it waits for no reader or writer; what
        it cannot write back now, a later checkpoint does). A fork waits for it (_before_fork)."""
        with self._checkpointing:
            try:
                connection = sqlite3.connect(self.path, timeout=0, isolation_level=None)
            except sqlite3.Error:
                return  # (the file's own connection reports what is wrong with it)
            try:
                connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            except sqlite3.Error as error:  # busy: another checkpoint runs; the next one does
                logger.debug("outbox %s: checkpoint skipped (%s)", self.path, error)
            finally:
                connection.close()

    @_guarded
    def release(
        self,
        ids: Iterable[int],
        retry_in: float,
        *,
        owner: str | None = None,
        error: tuple[int | None, str] | None = None,
    ) -> None:
        now = time.time()
        code, reason = error if error is not None else (None, None)
        at = now if error is not None else None
        with self._writing() as connection:
            connection.executemany(
                "UPDATE pending SET lease_owner = NULL, lease_until = ?, attempts = attempts + 1, "
                "last_code = coalesce(?, last_code), last_error = coalesce(?, last_error), "
                "last_error_at = coalesce(?, last_error_at) "
                "WHERE id = ? AND (? IS NULL OR lease_owner = ?)",
                [(now + retry_in, code, reason, at, i, owner, owner) for i in ids],
            )

    @_guarded
    def fail(
        self, rows: Iterable[tuple[int, int | None, str]], *, owner: str | None = None
    ) -> None:
        now = time.time()
        with self._writing() as connection:
            for row_id, code, reason in rows:
                self._checked.pop(row_id, None)  # (replayed, it comes back unmarked)
                connection.execute(
                    "INSERT INTO failed (id, body, event_id, created, failed_at, code, reason) "
                    "SELECT id, body, event_id, created, ?, ?, ? FROM pending "
                    "WHERE id = ? AND (? IS NULL OR lease_owner = ?)",
                    (now, code, reason, row_id, owner, owner),
                )
                connection.execute(
                    "DELETE FROM pending WHERE id = ? AND (? IS NULL OR lease_owner = ?)",
                    (row_id, owner, owner),
                )

    def pending(self) -> int:
        return self._count("")

    def due(self) -> int:
        return self._count("WHERE lease_until <= ?", time.time())

    def delayed(self) -> int:
        return self._count("WHERE lease_owner IS NULL AND lease_until > ?", time.time())

    @_guarded
    def _count(self, where: str, *parameters: Any) -> int:
        """How many pending rows match `where` (a WHERE clause, or nothing)."""
        found = self._connection().execute(f"SELECT count(*) FROM pending {where}", parameters)
        return int(found.fetchone()[0])

    @_guarded
    def failed(self) -> list[FailedRow]:
        found = self._connection().execute(
            "SELECT id, body, event_id, created, failed_at, code, reason FROM failed ORDER BY id"
        )
        return [
            FailedRow(int(i), json.loads(body), str(e), float(c), float(f), code, str(reason))
            for i, body, e, c, f, code, reason in found
        ]

    @_guarded
    def status(self) -> OutboxStatus:
        # (SQLite gives a bare column of the row where max() found its value: the latest.)
        connection = self._connection()
        failed = connection.execute(
            "SELECT code, count(*), reason, max(failed_at) FROM failed GROUP BY code"
        ).fetchall()
        pending_count, oldest = connection.execute(
            "SELECT count(*), min(created) FROM pending"
        ).fetchone()
        pending = int(pending_count)
        erred: list[Any] = []
        if self._version >= 2:  # (a first-layout file read as it is kept no errors)
            erred = connection.execute(
                "SELECT last_code, count(*), last_error, max(last_error_at) FROM pending "
                "WHERE last_error IS NOT NULL GROUP BY last_code"
            ).fetchall()
        return OutboxStatus(
            pending, sum(row[1] for row in failed), _reason_counts(erred), _reason_counts(failed),
            None if oldest is None else float(oldest),
        )  # fmt: skip

    @_guarded
    def accepted_counts(
        self, start: dt.date | None = None, end: dt.date | None = None
    ) -> dict[tuple[str, str, dt.date], int]:
        if self._version < 3:  # a file of an older layout, read as it is, counted nothing
            return {}
        found = self._connection().execute(
            "SELECT source, event, day, count FROM accepted WHERE day >= ? AND day <= ?",
            (start.isoformat() if start else "", end.isoformat() if end else "9999-12-31"),
        )
        return _days(found, None, None)

    @_guarded
    def replay_failed(self) -> int:
        with self._writing() as connection:
            moved = connection.execute(
                "INSERT INTO pending (body, event_id, created) "
                "SELECT body, event_id, ? FROM failed ORDER BY id",
                (time.time(),),
            ).rowcount
            connection.execute("DELETE FROM failed")
        return int(moved)

    @_guarded
    def purge_failed(self) -> int:
        with self._writing() as connection:
            return int(connection.execute("DELETE FROM failed").rowcount)


class MemoryOutbox:
    """The outbox in this process's memory: bounded by max_pending, lost with the process.
    A full outbox never drops an event: `add` waits up to its timeout for room, then raises
    OutboxFullError (the event was not taken). Failed events are kept up to max_pending too
    (beyond that the oldest is forgotten, and logged). A forked child starts empty: its
    parent's events are the parent's to send."""

    def __init__(self, max_pending: int = DEFAULT_MAX_PENDING) -> None:
        self.max_pending = max_pending
        # id -> [body, event_id, created, attempts, lease_until, lease_owner, last error
        # (code, reason, at) or None, checked]
        self._rows: dict[int, list[Any]] = {}
        self._failed: dict[int, FailedRow] = {}
        self._accepted: collections.Counter[AcceptedKey] = collections.Counter()
        self._next = 1
        self._guard = threading.RLock()
        self._room = threading.Condition(self._guard)
        _LIVE.add(self)

    def _after_fork_in_child(self) -> None:
        self._rows.clear()
        self._failed.clear()
        self._accepted.clear()
        self._room = threading.Condition(self._guard)

    def _held_by(self, row: list[Any] | None, owner: str | None) -> bool:
        return row is not None and (owner is None or row[5] == owner)

    def add(
        self,
        items: Sequence[tuple[dict[str, Any], str]],
        *,
        timeout: float = 0.0,
        checked: bool = False,
    ) -> None:
        """Keep events (body, event_id); checked: as SQLiteOutbox.add."""
        deadline = time.monotonic() + timeout
        with self._room:
            while len(self._rows) + len(items) > self.max_pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise OutboxFullError(
                        f"the in-memory outbox held {len(self._rows)} events (max_pending "
                        f"{self.max_pending}) for {timeout:g} s: the event was not taken"
                    )
                self._room.wait(left)
            self._insert(items, time.time(), checked)

    def _insert(
        self, items: Iterable[tuple[dict[str, Any], str]], created: float, checked: bool = False
    ) -> None:
        for body, event_id in items:
            self._rows[self._next] = [body, event_id, created, 0, 0.0, None, None, checked]
            self._next += 1

    def claim(self, owner: str, limit: int, lease: float) -> list[Row]:
        now = time.time()
        with self._room:
            found: list[Row] = []
            for row_id, row in self._rows.items():
                if len(found) >= limit:
                    break
                if row[4] <= now:
                    row[4], row[5] = now + lease, owner
                    found.append(Row(row_id, row[0], row[1], row[2], row[3], row[7]))
            return found

    def renew(self, owner: str, ids: Iterable[int], lease: float) -> int:
        until = time.time() + lease
        held = 0
        with self._room:
            for row_id in ids:
                row = self._rows.get(row_id)
                if row is not None and row[5] == owner:
                    row[4] = until
                    held += 1
        return held

    def done(self, ids: Iterable[int], *, counted: Mapping[int, AcceptedKey] | None = None) -> None:
        with self._room:
            removed = [row_id for row_id in ids if self._rows.pop(row_id, None) is not None]
            self._accepted.update(_tally(removed, counted))
            self._room.notify_all()

    def accepted_counts(
        self, start: dt.date | None = None, end: dt.date | None = None
    ) -> dict[tuple[str, str, dt.date], int]:
        with self._room:
            rows = [(*key, count) for key, count in self._accepted.items()]
        return _days(rows, start, end)

    def release(
        self,
        ids: Iterable[int],
        retry_in: float,
        *,
        owner: str | None = None,
        error: tuple[int | None, str] | None = None,
    ) -> None:
        now = time.time()
        with self._room:
            for row_id in ids:
                row = self._rows.get(row_id)
                if self._held_by(row, owner):
                    assert row is not None
                    row[3] += 1
                    row[4], row[5] = now + retry_in, None
                    if error is not None:
                        row[6] = (*error, now)

    def fail(
        self, rows: Iterable[tuple[int, int | None, str]], *, owner: str | None = None
    ) -> None:
        with self._room:
            for row_id, code, reason in rows:
                row = self._rows.get(row_id)
                if not self._held_by(row, owner):
                    continue
                del self._rows[row_id]
                assert row is not None
                self._failed[row_id] = FailedRow(
                    row_id, row[0], row[1], row[2], time.time(), code, reason
                )
            forgotten = 0
            while len(self._failed) > self.max_pending:
                del self._failed[next(iter(self._failed))]
                forgotten += 1
            self._room.notify_all()
        if forgotten:
            logger.warning(
                "the in-memory outbox forgot its %d oldest failed event(s): it keeps %d",
                forgotten, self.max_pending,
            )  # fmt: skip

    def pending(self) -> int:
        with self._room:
            return len(self._rows)

    def due(self) -> int:
        now = time.time()
        with self._room:
            return sum(1 for row in self._rows.values() if row[4] <= now)

    def delayed(self) -> int:
        now = time.time()
        with self._room:
            return sum(1 for row in self._rows.values() if row[5] is None and row[4] > now)

    def failed(self) -> list[FailedRow]:
        with self._room:
            return list(self._failed.values())

    def status(self) -> OutboxStatus:
        with self._room:
            erred = [(r[6][0], 1, r[6][1], r[6][2]) for r in self._rows.values() if r[6]]
            failed = [(r.code, 1, r.reason, r.failed_at) for r in self._failed.values()]
            oldest = min((r[2] for r in self._rows.values()), default=None)
            return OutboxStatus(
                len(self._rows), len(failed), _reason_counts(erred), _reason_counts(failed),
                oldest,
            )  # fmt: skip

    def replay_failed(self) -> int:
        """Move the failed events back to pending, as many as there is room for (the rest stay
        failed: replay again once the outbox has room); how many moved."""
        with self._room:
            room = max(0, self.max_pending - len(self._rows))
            moving = list(self._failed.values())[:room]
            for row in moving:
                del self._failed[row.id]
            self._insert(((row.body, row.event_id) for row in moving), time.time())
            return len(moving)

    def purge_failed(self) -> int:
        with self._room:
            count = len(self._failed)
            self._failed.clear()
            return count

    def close(self) -> None:
        """Nothing to release (the events stay until the process ends)."""


_POSTGRES_SCHEMA = """
CREATE TABLE IF NOT EXISTS {table}_pending (
    id BIGSERIAL PRIMARY KEY,
    body TEXT NOT NULL,
    event_id TEXT NOT NULL,
    created DOUBLE PRECISION NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until DOUBLE PRECISION NOT NULL DEFAULT 0,
    last_code INTEGER,
    last_error TEXT,
    last_error_at DOUBLE PRECISION
);
CREATE INDEX IF NOT EXISTS {table}_pending_by_lease ON {table}_pending (lease_until, id);
CREATE TABLE IF NOT EXISTS {table}_failed (
    id BIGINT PRIMARY KEY,
    body TEXT NOT NULL,
    event_id TEXT NOT NULL,
    created DOUBLE PRECISION NOT NULL,
    failed_at DOUBLE PRECISION NOT NULL,
    code INTEGER,
    reason TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS {table}_accepted (
    source TEXT NOT NULL,
    event TEXT NOT NULL,
    day DATE NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (source, event, day)
);
"""
#: Tables made before pending events kept their last error get the columns.
_POSTGRES_MIGRATE = """
ALTER TABLE {table}_pending ADD COLUMN IF NOT EXISTS last_code INTEGER,
    ADD COLUMN IF NOT EXISTS last_error TEXT,
    ADD COLUMN IF NOT EXISTS last_error_at DOUBLE PRECISION;
"""

#: The database server's clock, in seconds since the epoch: leases never depend on the clocks
#: of the machines that share the outbox.
_NOW = "extract(epoch FROM clock_timestamp())"


class PostgresOutbox(_Connected):
    """The outbox in a PostgreSQL database (psycopg 3: `pip install 'pytt-events-api[postgres]'`),
    for applications whose processes run on several machines. Rows are claimed with
    `FOR UPDATE SKIP LOCKED` and a lease timed by the server's clock; one connection per
    process.

    Args:
        dsn: a libpq connection string ("postgresql://user@host/db").
        table: the prefix of its tables (`<table>_pending`, `<table>_failed`, and
            `<table>_accepted`: the daily accepted counts).

    Raises:
        ModuleNotFoundError: psycopg is not installed (the message names the extra).
        OutboxError: the server cannot be reached or refuses (the message says why, and never
            holds the DSN's password).
    """

    def __init__(self, dsn: str, *, table: str = DEFAULT_OUTBOX_TABLE) -> None:
        if not table.replace("_", "").isalnum():
            raise ValueError("table: letters, digits and underscores only")
        try:
            import psycopg
        except ImportError as missing:  # not installed, or its libpq is missing
            raise ModuleNotFoundError(
                f"PostgresOutbox needs psycopg ({missing}): "
                "pip install 'pytt-events-api[postgres]'",
                name="psycopg",
            ) from None
        super().__init__()
        self._store_errors = (psycopg.Error,)
        self.dsn = dsn
        self.table = table
        self._pending, self._failed = f"{table}_pending", f"{table}_failed"
        self._accepted = f"{table}_accepted"
        self._setup()

    @_guarded
    def _setup(self) -> None:
        with self._transaction() as connection:
            # One process at a time makes or alters the tables (concurrent DDL on one table
            # can fail): a lock of the transaction, keyed by the prefix.
            connection.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (self._pending,))
            connection.execute(_POSTGRES_SCHEMA.format(table=self.table))
            missing = not connection.execute(
                "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() "
                "AND table_name = %s AND column_name = 'last_error'",
                (self._pending,),
            ).fetchone()
            if missing:
                connection.execute(_POSTGRES_MIGRATE.format(table=self.table))

    def __repr__(self) -> str:  # the DSN may hold a password
        return f"PostgresOutbox(table={self.table!r})"

    def _failure(self, error: BaseException) -> OutboxError:
        text = " ".join(str(error).split()) or type(error).__name__
        password = _password_of(self.dsn)
        if password:  # (libpq does not echo it; should a message hold it, as a whole word)
            text = re.sub(rf"(?<![\w]){re.escape(password)}(?![\w])", "***", text)
        return OutboxError(f"PostgreSQL outbox (table prefix {self.table}): {text}")

    def _open(self) -> Any:
        import psycopg

        return psycopg.connect(self.dsn, autocommit=True)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[Any]:
        connection = self._connection()
        if connection.closed:  # the server ended the session: a new one
            self._held = None
            connection = self._connection()
        with connection.transaction():
            yield connection

    @_guarded
    def add(self, items: Sequence[tuple[dict[str, Any], str]], *, timeout: float = 0.0) -> None:
        now = time.time()
        rows = [(json.dumps(body, separators=(",", ":")), key, now) for body, key in items]
        with self._transaction() as connection, connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {self._pending} (body, event_id, created) VALUES (%s, %s, %s)",
                rows,
            )

    @_guarded
    def claim(self, owner: str, limit: int, lease: float) -> list[Row]:
        with self._transaction() as connection:
            found = connection.execute(
                f"UPDATE {self._pending} SET lease_owner = %s, lease_until = {_NOW} + %s "
                f"WHERE id IN (SELECT id FROM {self._pending} WHERE lease_until <= {_NOW} "
                "ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED) "
                "RETURNING id, body, event_id, created, attempts",
                (owner, lease, limit),
            ).fetchall()
        return sorted(
            (Row(int(i), json.loads(body), str(e), float(c), int(a)) for i, body, e, c, a in found),
            key=lambda row: row.id,
        )

    @_guarded
    def renew(self, owner: str, ids: Iterable[int], lease: float) -> int:
        with self._transaction() as connection:
            return int(
                connection.execute(
                    f"UPDATE {self._pending} SET lease_until = {_NOW} + %s "
                    "WHERE id = ANY(%s) AND lease_owner = %s",
                    (lease, list(ids), owner),
                ).rowcount
            )

    @_guarded
    def done(self, ids: Iterable[int], *, counted: Mapping[int, AcceptedKey] | None = None) -> None:
        with self._transaction() as connection:
            removed = connection.execute(
                f"DELETE FROM {self._pending} WHERE id = ANY(%s) RETURNING id", (list(ids),)
            ).fetchall()
            tally = _tally((int(row_id) for (row_id,) in removed), counted)
            if tally:
                with connection.cursor() as cursor:
                    cursor.executemany(
                        f"INSERT INTO {self._accepted} (source, event, day, count) "
                        "VALUES (%s, %s, %s, %s) ON CONFLICT (source, event, day) DO UPDATE "
                        f"SET count = {self._accepted}.count + excluded.count",
                        [(s, e, dt.date.fromisoformat(d), n) for (s, e, d), n in tally.items()],
                    )

    @_guarded
    def accepted_counts(
        self, start: dt.date | None = None, end: dt.date | None = None
    ) -> dict[tuple[str, str, dt.date], int]:
        with self._transaction() as connection:
            found = connection.execute(
                f"SELECT source, event, day, count FROM {self._accepted} "
                "WHERE (%s::date IS NULL OR day >= %s::date) "
                "AND (%s::date IS NULL OR day <= %s::date)",
                (start, start, end, end),
            ).fetchall()
        return _days(found, None, None)

    @_guarded
    def release(
        self,
        ids: Iterable[int],
        retry_in: float,
        *,
        owner: str | None = None,
        error: tuple[int | None, str] | None = None,
    ) -> None:
        code, reason = error if error is not None else (None, None)
        at = time.time() if error is not None else None
        with self._transaction() as connection:
            connection.execute(
                f"UPDATE {self._pending} SET lease_owner = NULL, lease_until = {_NOW} + %s, "
                "attempts = attempts + 1, last_code = coalesce(%s, last_code), "
                "last_error = coalesce(%s, last_error), "
                "last_error_at = coalesce(%s, last_error_at) "
                "WHERE id = ANY(%s) AND (%s::text IS NULL OR lease_owner = %s)",
                (retry_in, code, reason, at, list(ids), owner, owner),
            )

    @_guarded
    def fail(
        self, rows: Iterable[tuple[int, int | None, str]], *, owner: str | None = None
    ) -> None:
        now = time.time()
        with self._transaction() as connection, connection.cursor() as cursor:
            cursor.executemany(
                f"WITH gone AS (DELETE FROM {self._pending} "
                "WHERE id = %s AND (%s::text IS NULL OR lease_owner = %s) "
                "RETURNING id, body, event_id, created) "
                f"INSERT INTO {self._failed} "
                "(id, body, event_id, created, failed_at, code, reason) "
                "SELECT id, body, event_id, created, %s, %s, %s FROM gone",
                [(row_id, owner, owner, now, code, reason) for row_id, code, reason in rows],
            )

    def pending(self) -> int:
        return self._count("")

    def due(self) -> int:
        return self._count(f"WHERE lease_until <= {_NOW}")

    def delayed(self) -> int:
        return self._count(f"WHERE lease_owner IS NULL AND lease_until > {_NOW}")

    @_guarded
    def _count(self, where: str) -> int:
        """How many pending rows match `where` (a WHERE clause on the server's clock, or
        nothing)."""
        with self._transaction() as connection:
            found = connection.execute(f"SELECT count(*) FROM {self._pending} {where}")
            return int(found.fetchone()[0])

    @_guarded
    def failed(self) -> list[FailedRow]:
        with self._transaction() as connection:
            found = connection.execute(
                "SELECT id, body, event_id, created, failed_at, code, reason "
                f"FROM {self._failed} ORDER BY id"
            ).fetchall()
        return [
            FailedRow(int(i), json.loads(body), str(e), float(c), float(f), code, str(reason))
            for i, body, e, c, f, code, reason in found
        ]

    @_guarded
    def status(self) -> OutboxStatus:
        latest = (
            "SELECT {code}, count(*), (array_agg({reason} ORDER BY {at} DESC))[1], max({at}) "
            "FROM {table} {where} GROUP BY {code}"
        )
        with self._transaction() as connection:
            pending_count, oldest = connection.execute(
                f"SELECT count(*), min(created) FROM {self._pending}"
            ).fetchone()
            pending = int(pending_count)
            erred = connection.execute(
                latest.format(
                    code="last_code",
                    reason="last_error",
                    at="last_error_at",
                    table=self._pending,
                    where="WHERE last_error IS NOT NULL",
                )
            ).fetchall()
            failed = connection.execute(
                latest.format(
                    code="code", reason="reason", at="failed_at", table=self._failed, where=""
                )
            ).fetchall()
        return OutboxStatus(
            pending, sum(row[1] for row in failed), _reason_counts(erred), _reason_counts(failed),
            None if oldest is None else float(oldest),
        )  # fmt: skip

    @_guarded
    def replay_failed(self) -> int:
        # One statement: a row failed meanwhile is either moved or left failed, never lost.
        with self._transaction() as connection:
            return int(
                connection.execute(
                    f"WITH moved AS (DELETE FROM {self._failed} RETURNING id, body, event_id) "
                    f"INSERT INTO {self._pending} (body, event_id, created) "
                    "SELECT body, event_id, %s FROM moved ORDER BY id",
                    (time.time(),),
                ).rowcount
            )

    @_guarded
    def purge_failed(self) -> int:
        with self._transaction() as connection:
            return int(connection.execute(f"DELETE FROM {self._failed}").rowcount)


def _password_of(dsn: str) -> str | None:
    """The password a libpq connection string holds, if any (so no message shows it)."""
    try:
        from psycopg.conninfo import conninfo_to_dict

        password = conninfo_to_dict(dsn).get("password")
    except Exception:  # a DSN libpq cannot parse: its password part, by hand
        password = urlsplit(dsn).password if "://" in dsn else None
    return str(password) if password else None
