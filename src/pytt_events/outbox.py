"""Where EventSender keeps the events it has taken and not yet delivered: a durable outbox.

    SQLiteOutbox("tiktok-outbox.sqlite3")   the default: SQLite from the standard library, WAL
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
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from pytt_events._exceptions import PyttEventsError

__all__ = [
    "FailedRow",
    "MemoryOutbox",
    "Outbox",
    "OutboxFullError",
    "PostgresOutbox",
    "Row",
    "SQLiteOutbox",
]


class OutboxFullError(PyttEventsError):
    """The in-memory outbox stayed full for the whole wait: the event was not taken (use a
    durable outbox, a larger max_pending, or send less at once)."""


@dataclass(frozen=True)
class Row:
    """One pending event: its id in the outbox, its one-event request body (hashed), its
    event_id, when it was taken, and how many deliveries were tried."""

    id: int
    body: dict[str, Any]
    event_id: str
    created: float
    attempts: int = 0


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


class Outbox(Protocol):
    """What EventSender needs of an outbox (SQLiteOutbox, MemoryOutbox, or a server database)."""

    def add(self, items: Sequence[tuple[dict[str, Any], str]], *, timeout: float) -> None:
        """Keep events (body, event_id), committed before it returns."""

    def claim(self, owner: str, limit: int, lease: float) -> list[Row]:
        """Up to limit pending rows no live lease holds, leased to owner for lease seconds."""

    def done(self, ids: Iterable[int]) -> None:
        """Rows TikTok accepted: gone."""

    def release(self, ids: Iterable[int], retry_in: float) -> None:
        """Rows to try again later (a retryable failure): leased to no one for retry_in."""

    def fail(self, rows: Iterable[tuple[int, int | None, str]]) -> None:
        """Rows (id, code, reason) failed for good: moved to the failed ones."""

    def pending(self) -> int:
        """How many events wait to be delivered."""

    def failed(self) -> list[FailedRow]:
        """The events failed for good."""

    def replay_failed(self) -> int:
        """Move the failed events back to pending (with their event_ids); how many."""

    def purge_failed(self) -> int:
        """Forget the failed events; how many."""

    def close(self) -> None:
        """Release its connections (the data stays)."""


_SCHEMA = """
CREATE TABLE IF NOT EXISTS pending (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    body TEXT NOT NULL,
    event_id TEXT NOT NULL,
    created REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until REAL NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS pending_by_lease ON pending (lease_until, id);
CREATE TABLE IF NOT EXISTS failed (
    id INTEGER PRIMARY KEY,
    body TEXT NOT NULL,
    event_id TEXT NOT NULL,
    created REAL NOT NULL,
    failed_at REAL NOT NULL,
    code INTEGER,
    reason TEXT NOT NULL
);
"""


_LIVE: weakref.WeakSet[Any] = weakref.WeakSet()
_Method = TypeVar("_Method", bound=Callable[..., Any])


def _guarded(method: _Method) -> _Method:
    """Run the method holding the outbox's guard (see SQLiteOutbox._guard)."""

    @functools.wraps(method)
    def run(self: Any, *args: Any, **kwargs: Any) -> Any:
        with self._guard:
            return method(self, *args, **kwargs)

    return run  # type: ignore[return-value]


def _hold_for_fork() -> None:
    for outbox in list(_LIVE):
        outbox._guard.acquire()


def _release_after_fork() -> None:
    for outbox in list(_LIVE):
        outbox._guard.release()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(
        before=_hold_for_fork,
        after_in_parent=_release_after_fork,
        after_in_child=_release_after_fork,
    )


class SQLiteOutbox:
    """The outbox in a SQLite file (WAL mode), safe to share between threads and processes.

    Args:
        path: the database file (created when missing).
        busy_timeout: seconds a writer waits for another process's lock.
    """

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout: float = 30.0) -> None:
        self.path = Path(path)
        self._busy_timeout = busy_timeout
        self._local = threading.local()
        self._opened: list[tuple[int, Any]] = []
        self._opened_lock = threading.Lock()
        # Held by every operation, and by os.fork (see _hold_for_fork): a process never forks
        # in the middle of a transaction, which SQLite cannot carry across a fork.
        self._guard = threading.RLock()
        _LIVE.add(self)
        with self._connection() as connection:
            connection.executescript(_SCHEMA)

    def __repr__(self) -> str:
        return f"SQLiteOutbox({str(self.path)!r})"

    def _connection(self) -> sqlite3.Connection:
        """This thread's connection in this process (a connection never crosses a fork)."""
        held = getattr(self._local, "connection", None)
        if held is not None and self._local.pid == os.getpid():
            connection: sqlite3.Connection = held
            return connection
        connection = sqlite3.connect(
            self.path, timeout=self._busy_timeout, isolation_level=None, check_same_thread=False
        )
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")  # durable across a process crash
        self._local.connection, self._local.pid = connection, os.getpid()
        with self._opened_lock:
            self._opened.append((os.getpid(), connection))
        return connection

    @_guarded
    def close(self) -> None:
        """Close the connections this process opened (every thread's); the data stays."""
        with self._opened_lock:
            mine = [c for pid, c in self._opened if pid == os.getpid()]
            self._opened = [(pid, c) for pid, c in self._opened if pid != os.getpid()]
        for connection in mine:  # never another process's (inherited across a fork)
            connection.close()

    @_guarded
    def add(self, items: Sequence[tuple[dict[str, Any], str]], *, timeout: float = 0.0) -> None:
        now = time.time()
        rows = [
            (json.dumps(body, separators=(",", ":")), event_id, now) for body, event_id in items
        ]
        connection = self._connection()
        connection.execute("BEGIN IMMEDIATE")
        try:
            connection.executemany(
                "INSERT INTO pending (body, event_id, created) VALUES (?, ?, ?)", rows
            )
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    @_guarded
    def claim(self, owner: str, limit: int, lease: float) -> list[Row]:
        now = time.time()
        connection = self._connection()
        connection.execute("BEGIN IMMEDIATE")
        try:
            found = connection.execute(
                "UPDATE pending SET lease_owner = ?, lease_until = ? WHERE id IN ("
                "SELECT id FROM pending WHERE lease_until <= ? ORDER BY id LIMIT ?) "
                "RETURNING id, body, event_id, created, attempts",
                (owner, now + lease, now, limit),
            ).fetchall()
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")
        return sorted(
            (Row(int(i), json.loads(body), str(e), float(c), int(a)) for i, body, e, c, a in found),
            key=lambda row: row.id,
        )

    @_guarded
    def done(self, ids: Iterable[int]) -> None:
        self._each("DELETE FROM pending WHERE id = ?", [(i,) for i in ids])

    @_guarded
    def release(self, ids: Iterable[int], retry_in: float) -> None:
        until = time.time() + retry_in
        self._each(
            "UPDATE pending SET lease_owner = NULL, lease_until = ?, attempts = attempts + 1 "
            "WHERE id = ?",
            [(until, i) for i in ids],
        )

    @_guarded
    def fail(self, rows: Iterable[tuple[int, int | None, str]]) -> None:
        now = time.time()
        rows = list(rows)
        connection = self._connection()
        connection.execute("BEGIN IMMEDIATE")
        try:
            for row_id, code, reason in rows:
                connection.execute(
                    "INSERT INTO failed (id, body, event_id, created, failed_at, code, reason) "
                    "SELECT id, body, event_id, created, ?, ?, ? FROM pending WHERE id = ?",
                    (now, code, reason, row_id),
                )
                connection.execute("DELETE FROM pending WHERE id = ?", (row_id,))
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    @_guarded
    def pending(self) -> int:
        (count,) = self._connection().execute("SELECT count(*) FROM pending").fetchone()
        return int(count)

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
    def replay_failed(self) -> int:
        connection = self._connection()
        connection.execute("BEGIN IMMEDIATE")
        try:
            moved = connection.execute(
                "INSERT INTO pending (body, event_id, created) "
                "SELECT body, event_id, ? FROM failed ORDER BY id",
                (time.time(),),
            ).rowcount
            connection.execute("DELETE FROM failed")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")
        return int(moved)

    @_guarded
    def purge_failed(self) -> int:
        connection = self._connection()
        return int(connection.execute("DELETE FROM failed").rowcount)

    def _each(self, statement: str, parameters: list[tuple[Any, ...]]) -> None:
        if not parameters:
            return
        connection = self._connection()
        connection.execute("BEGIN IMMEDIATE")
        try:
            connection.executemany(statement, parameters)
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")


class MemoryOutbox:
    """The outbox in this process's memory: bounded by max_pending, lost with the process.
    A full outbox never drops an event: `add` waits up to its timeout for room, then raises
    OutboxFullError (the event was not taken)."""

    def __init__(self, max_pending: int = 10_000) -> None:
        self.max_pending = max_pending
        self._rows: dict[int, list[Any]] = {}  # id -> [body, event_id, created, attempts, until]
        self._failed: dict[int, FailedRow] = {}
        self._next = 1
        self._room = threading.Condition()

    def add(self, items: Sequence[tuple[dict[str, Any], str]], *, timeout: float = 0.0) -> None:
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
            now = time.time()
            for body, event_id in items:
                self._rows[self._next] = [body, event_id, now, 0, 0.0, None]
                self._next += 1

    def claim(self, owner: str, limit: int, lease: float) -> list[Row]:
        now = time.time()
        with self._room:
            found = []
            for row_id, row in self._rows.items():
                if row[4] <= now:
                    row[4], row[5] = now + lease, owner
                    found.append(Row(row_id, row[0], row[1], row[2], row[3]))
                    if len(found) >= limit:
                        break
            return found

    def done(self, ids: Iterable[int]) -> None:
        with self._room:
            for row_id in ids:
                self._rows.pop(row_id, None)
            self._room.notify_all()

    def release(self, ids: Iterable[int], retry_in: float) -> None:
        with self._room:
            for row_id in ids:
                row = self._rows.get(row_id)
                if row is not None:
                    row[3] += 1
                    row[4], row[5] = time.time() + retry_in, None

    def fail(self, rows: Iterable[tuple[int, int | None, str]]) -> None:
        with self._room:
            for row_id, code, reason in rows:
                row = self._rows.pop(row_id, None)
                if row is not None:
                    self._failed[row_id] = FailedRow(
                        row_id, row[0], row[1], row[2], time.time(), code, reason
                    )
            self._room.notify_all()

    def pending(self) -> int:
        with self._room:
            return len(self._rows)

    def failed(self) -> list[FailedRow]:
        with self._room:
            return list(self._failed.values())

    def replay_failed(self) -> int:
        with self._room:
            rows = list(self._failed.values())
            self._failed.clear()
        self.add([(row.body, row.event_id) for row in rows], timeout=0.0)
        return len(rows)

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
    lease_until DOUBLE PRECISION NOT NULL DEFAULT 0
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
"""


class PostgresOutbox:
    """The outbox in a PostgreSQL database (psycopg 3: `pip install 'pytt-events-api[postgres]'`),
    for applications whose processes run on several machines. Rows are claimed with
    `FOR UPDATE SKIP LOCKED` and a lease, as with SQLite.

    Args:
        dsn: a libpq connection string ("postgresql://user@host/db").
        table: the prefix of the two tables (`<table>_pending`, `<table>_failed`).
    """

    def __init__(self, dsn: str, *, table: str = "tiktok_outbox") -> None:
        if not table.replace("_", "").isalnum():
            raise ValueError("table: letters, digits and underscores only")
        self.dsn = dsn
        self.table = table
        self._local = threading.local()
        self._opened: list[tuple[int, Any]] = []
        self._opened_lock = threading.Lock()
        with self._connection().transaction():
            self._connection().execute(_POSTGRES_SCHEMA.format(table=table))

    def __repr__(self) -> str:  # the DSN may hold a password
        return f"PostgresOutbox(table={self.table!r})"

    def _connection(self) -> Any:
        held = getattr(self._local, "connection", None)
        if held is not None and self._local.pid == os.getpid() and not held.closed:
            return held
        import psycopg

        connection = psycopg.connect(self.dsn, autocommit=True)
        self._local.connection, self._local.pid = connection, os.getpid()
        with self._opened_lock:
            self._opened.append((os.getpid(), connection))
        return connection

    def close(self) -> None:
        """Close the connections this process opened (every thread's); the data stays."""
        with self._opened_lock:
            mine = [c for pid, c in self._opened if pid == os.getpid()]
            self._opened = [(pid, c) for pid, c in self._opened if pid != os.getpid()]
        for connection in mine:  # never another process's (inherited across a fork)
            connection.close()

    def add(self, items: Sequence[tuple[dict[str, Any], str]], *, timeout: float = 0.0) -> None:
        now = time.time()
        rows = [(json.dumps(body, separators=(",", ":")), key, now) for body, key in items]
        connection = self._connection()
        with connection.transaction(), connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {self.table}_pending (body, event_id, created) "  # noqa: S608
                "VALUES (%s, %s, %s)",
                rows,
            )

    def claim(self, owner: str, limit: int, lease: float) -> list[Row]:
        now = time.time()
        connection = self._connection()
        with connection.transaction():
            found = connection.execute(
                f"UPDATE {self.table}_pending SET lease_owner = %s, lease_until = %s "  # noqa: S608
                f"WHERE id IN (SELECT id FROM {self.table}_pending WHERE lease_until <= %s "
                "ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED) "
                "RETURNING id, body, event_id, created, attempts",
                (owner, now + lease, now, limit),
            ).fetchall()
        return sorted(
            (Row(int(i), json.loads(body), str(e), float(c), int(a)) for i, body, e, c, a in found),
            key=lambda row: row.id,
        )

    def done(self, ids: Iterable[int]) -> None:
        ids = list(ids)
        if ids:
            connection = self._connection()
            with connection.transaction():
                connection.execute(
                    f"DELETE FROM {self.table}_pending WHERE id = ANY(%s)",  # noqa: S608
                    (ids,),
                )

    def release(self, ids: Iterable[int], retry_in: float) -> None:
        ids = list(ids)
        if ids:
            connection = self._connection()
            with connection.transaction():
                connection.execute(
                    f"UPDATE {self.table}_pending SET lease_owner = NULL, "  # noqa: S608
                    "lease_until = %s, attempts = attempts + 1 WHERE id = ANY(%s)",
                    (time.time() + retry_in, ids),
                )

    def fail(self, rows: Iterable[tuple[int, int | None, str]]) -> None:
        now = time.time()
        connection = self._connection()
        with connection.transaction():
            for row_id, code, reason in rows:
                connection.execute(
                    f"INSERT INTO {self.table}_failed "  # noqa: S608
                    "(id, body, event_id, created, failed_at, code, reason) "
                    f"SELECT id, body, event_id, created, %s, %s, %s FROM {self.table}_pending "
                    "WHERE id = %s",
                    (now, code, reason, row_id),
                )
                connection.execute(
                    f"DELETE FROM {self.table}_pending WHERE id = %s",  # noqa: S608
                    (row_id,),
                )

    def pending(self) -> int:
        (count,) = (
            self._connection()
            .execute(f"SELECT count(*) FROM {self.table}_pending")  # noqa: S608
            .fetchone()
        )
        return int(count)

    def failed(self) -> list[FailedRow]:
        found = self._connection().execute(
            "SELECT id, body, event_id, created, failed_at, code, reason "  # noqa: S608
            f"FROM {self.table}_failed ORDER BY id"
        )
        return [
            FailedRow(int(i), json.loads(body), str(e), float(c), float(f), code, str(reason))
            for i, body, e, c, f, code, reason in found
        ]

    def replay_failed(self) -> int:
        connection = self._connection()
        with connection.transaction():
            moved = connection.execute(
                f"INSERT INTO {self.table}_pending (body, event_id, created) "  # noqa: S608
                f"SELECT body, event_id, %s FROM {self.table}_failed ORDER BY id",
                (time.time(),),
            ).rowcount
            connection.execute(f"DELETE FROM {self.table}_failed")  # noqa: S608
        return int(moved)

    def purge_failed(self) -> int:
        connection = self._connection()
        with connection.transaction():
            return int(
                connection.execute(f"DELETE FROM {self.table}_failed").rowcount  # noqa: S608
            )
