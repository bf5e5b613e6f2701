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

import contextlib
import functools
import json
import logging
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
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

    def done(self, ids: Iterable[int]) -> None:
        """Rows TikTok accepted: gone (whoever holds them)."""

    def release(self, ids: Iterable[int], retry_in: float, *, owner: str | None = None) -> None:
        """Rows to try again later: leased to no one for retry_in seconds, one more attempt
        counted (with owner: only the rows owner still holds)."""

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
    """Run the method holding the outbox's guard: one operation at a time in a process."""

    @functools.wraps(method)
    def run(self: Any, *args: Any, **kwargs: Any) -> Any:
        with self._guard:
            return method(self, *args, **kwargs)

    return run  # type: ignore[return-value]


def _before_fork() -> None:
    for outbox in list(_LIVE):
        if isinstance(outbox, SQLiteOutbox):
            outbox._guard.acquire()
            _HELD_FOR_FORK.append(outbox)
            outbox._close_connection()


def _after_fork_in_parent() -> None:
    for outbox in _HELD_FOR_FORK:
        outbox._guard.release()
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

    def __init__(self) -> None:
        self._guard = threading.RLock()
        self._held: Any = None
        self._inherited: list[Any] = []
        _LIVE.add(self)

    def _open(self) -> Any:
        raise NotImplementedError  # pragma: no cover - each store opens its own

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
    """The outbox in a SQLite file (WAL mode), safe to share between threads and processes
    (one connection per process; a lease keeps two processes off the same rows).

    Args:
        path: the database file (created when missing).
        busy_timeout: seconds a writer waits for another process's lock.
    """

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout: float = 30.0) -> None:
        if str(path) in ("", ":memory:") or str(path).startswith("file::memory:"):
            raise ValueError(
                "an SQLite memory database lives in one connection (and would not survive a "
                "fork): give a file path, or use MemoryOutbox"
            )
        super().__init__()
        self.path = Path(path)
        self._busy_timeout = busy_timeout
        with self._guard:
            self._connection().executescript(_SCHEMA)

    def __repr__(self) -> str:
        return f"SQLiteOutbox({str(self.path)!r})"

    def _open(self) -> sqlite3.Connection:
        connection = sqlite3.connect(
            self.path, timeout=self._busy_timeout, isolation_level=None, check_same_thread=False
        )
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")  # durable across a process crash
        return connection

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

    def add(self, items: Sequence[tuple[dict[str, Any], str]], *, timeout: float = 0.0) -> None:
        now = time.time()
        rows = [
            (json.dumps(body, separators=(",", ":")), event_id, now) for body, event_id in items
        ]
        self._insert(rows)

    @_guarded
    def _insert(self, rows: list[tuple[str, str, float]]) -> None:
        with self._writing() as connection:
            connection.executemany(
                "INSERT INTO pending (body, event_id, created) VALUES (?, ?, ?)", rows
            )

    def claim(self, owner: str, limit: int, lease: float) -> list[Row]:
        # The bodies are parsed outside the guard: the request path's add never waits for it.
        return [
            Row(int(i), json.loads(body), str(e), float(c), int(a))
            for i, body, e, c, a in self._claim_rows(owner, limit, lease)
        ]

    @_guarded
    def _claim_rows(self, owner: str, limit: int, lease: float) -> list[Any]:
        now = time.time()
        until = now + lease
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

    @_guarded
    def renew(self, owner: str, ids: Iterable[int], lease: float) -> int:
        until = time.time() + lease
        with self._writing() as connection:
            return sum(
                connection.execute(
                    "UPDATE pending SET lease_until = ? WHERE id = ? AND lease_owner = ?",
                    (until, row_id, owner),
                ).rowcount
                for row_id in ids
            )

    @_guarded
    def done(self, ids: Iterable[int]) -> None:
        ids = list(ids)
        if not ids:
            return
        with self._writing() as connection:  # a statement per 500 rows: a short write lock
            for start in range(0, len(ids), 500):
                part = ids[start : start + 500]
                connection.execute(
                    f"DELETE FROM pending WHERE id IN ({','.join('?' * len(part))})", part
                )

    @_guarded
    def release(self, ids: Iterable[int], retry_in: float, *, owner: str | None = None) -> None:
        until = time.time() + retry_in
        with self._writing() as connection:
            connection.executemany(
                "UPDATE pending SET lease_owner = NULL, lease_until = ?, attempts = attempts + 1 "
                "WHERE id = ? AND (? IS NULL OR lease_owner = ?)",
                [(until, i, owner, owner) for i in ids],
            )

    @_guarded
    def fail(
        self, rows: Iterable[tuple[int, int | None, str]], *, owner: str | None = None
    ) -> None:
        now = time.time()
        with self._writing() as connection:
            for row_id, code, reason in rows:
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

    def __init__(self, max_pending: int = 10_000) -> None:
        self.max_pending = max_pending
        # id -> [body, event_id, created, attempts, lease_until, lease_owner]
        self._rows: dict[int, list[Any]] = {}
        self._failed: dict[int, FailedRow] = {}
        self._next = 1
        self._guard = threading.RLock()
        self._room = threading.Condition(self._guard)
        _LIVE.add(self)

    def _after_fork_in_child(self) -> None:
        self._rows.clear()
        self._failed.clear()
        self._room = threading.Condition(self._guard)

    def _held_by(self, row: list[Any] | None, owner: str | None) -> bool:
        return row is not None and (owner is None or row[5] == owner)

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
            self._insert(items, time.time())

    def _insert(self, items: Iterable[tuple[dict[str, Any], str]], created: float) -> None:
        for body, event_id in items:
            self._rows[self._next] = [body, event_id, created, 0, 0.0, None]
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
                    found.append(Row(row_id, row[0], row[1], row[2], row[3]))
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

    def done(self, ids: Iterable[int]) -> None:
        with self._room:
            for row_id in ids:
                self._rows.pop(row_id, None)
            self._room.notify_all()

    def release(self, ids: Iterable[int], retry_in: float, *, owner: str | None = None) -> None:
        with self._room:
            for row_id in ids:
                row = self._rows.get(row_id)
                if self._held_by(row, owner):
                    assert row is not None
                    row[3] += 1
                    row[4], row[5] = time.time() + retry_in, None

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
        table: the prefix of the two tables (`<table>_pending`, `<table>_failed`).
    """

    def __init__(self, dsn: str, *, table: str = "tiktok_outbox") -> None:
        if not table.replace("_", "").isalnum():
            raise ValueError("table: letters, digits and underscores only")
        super().__init__()
        self.dsn = dsn
        self.table = table
        self._pending, self._failed = f"{table}_pending", f"{table}_failed"
        with self._transaction() as connection:
            connection.execute(_POSTGRES_SCHEMA.format(table=table))

    def __repr__(self) -> str:  # the DSN may hold a password
        return f"PostgresOutbox(table={self.table!r})"

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
    def done(self, ids: Iterable[int]) -> None:
        with self._transaction() as connection:
            connection.execute(f"DELETE FROM {self._pending} WHERE id = ANY(%s)", (list(ids),))

    @_guarded
    def release(self, ids: Iterable[int], retry_in: float, *, owner: str | None = None) -> None:
        with self._transaction() as connection:
            connection.execute(
                f"UPDATE {self._pending} SET lease_owner = NULL, lease_until = {_NOW} + %s, "
                "attempts = attempts + 1 "
                "WHERE id = ANY(%s) AND (%s::text IS NULL OR lease_owner = %s)",
                (retry_in, list(ids), owner, owner),
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
