"""The outboxes that need no server: the Outbox contract on SQLiteOutbox (two handles on one
file, as two processes have) and on MemoryOutbox, MemoryOutbox's bounds (a replay never loses
what does not fit; failed events are bounded) and a forked child's view of both."""

from __future__ import annotations

import multiprocessing
import os
import sys
from pathlib import Path

import pytest

from pytt_events.outbox import MemoryOutbox, PostgresOutbox, SQLiteOutbox
from tests.outbox_contract import check_accepted_counts, check_contract


def test_the_sqlite_outbox_keeps_the_contract(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    one, two = SQLiteOutbox(path), SQLiteOutbox(path)
    check_contract(one, two)
    one.close()
    two.close()


def test_the_sqlite_outbox_counts_accepted_events(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    outbox = SQLiteOutbox(path)
    check_accepted_counts(outbox)
    outbox.close()
    reader = SQLiteOutbox(path, read_only=True)  # pytt-events stats --outbox reads so
    assert sum(reader.accepted_counts().values()) == 5
    reader.close()


def test_the_memory_outbox_counts_accepted_events() -> None:
    check_accepted_counts(MemoryOutbox())


def test_an_sqlite_memory_database_is_refused() -> None:
    with pytest.raises(ValueError, match="MemoryOutbox"):
        SQLiteOutbox(":memory:")


def test_a_postgres_outbox_without_psycopg_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as where the extra is not installed
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'pytt-events-api\[postgres\]'"):
        PostgresOutbox("postgresql://app@127.0.0.1/shop")


def test_the_memory_outbox_keeps_the_contract() -> None:
    outbox = MemoryOutbox()
    check_contract(outbox, outbox)


def test_a_memory_replay_moves_what_fits_and_keeps_the_rest_failed() -> None:
    outbox = MemoryOutbox(max_pending=2)
    outbox.add([({"event_id": "r-1"}, "r-1"), ({"event_id": "r-2"}, "r-2")], timeout=0)
    outbox.fail((row.id, 40002, "refused") for row in outbox.claim("w", 2, lease=60))
    outbox.add([({"event_id": "r-3"}, "r-3")], timeout=0)
    assert outbox.replay_failed() == 1  # room for one
    assert [row.event_id for row in outbox.failed()] == ["r-2"]  # the other waits, not lost
    assert sorted(row.event_id for row in outbox.claim("w", 9, lease=60)) == ["r-1", "r-3"]


def test_memory_failed_events_are_bounded(caplog: pytest.LogCaptureFixture) -> None:
    outbox = MemoryOutbox(max_pending=2)
    for number in range(3):
        outbox.add([({"event_id": f"b-{number}"}, f"b-{number}")], timeout=0)
        outbox.fail((row.id, None, "gone") for row in outbox.claim("w", 1, lease=60))
    assert [row.event_id for row in outbox.failed()] == ["b-1", "b-2"]
    assert "forgot its 1 oldest failed event" in caplog.text


def _child_view(memory: MemoryOutbox, path: Path, answers: multiprocessing.Queue[object]) -> None:
    sqlite = SQLiteOutbox(path)  # opened in the child: its own connection
    inherited = _INHERITED["sqlite"]
    answers.put((memory.pending(), len(memory.failed()), inherited.pending(), sqlite.pending()))
    inherited.add([({"event_id": "from-child"}, "from-child")], timeout=0)
    os._exit(0)


_INHERITED: dict[str, SQLiteOutbox] = {}


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX only")
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_forked_child_starts_with_no_memory_events_and_its_own_connection(
    tmp_path: Path,
) -> None:
    """The parent's in-memory events are the parent's to send (a child that kept a copy would
    send each twice); an SQLite outbox made before the fork opens a connection of its own."""
    memory = MemoryOutbox()
    memory.add([({"event_id": "m-1"}, "m-1")], timeout=0)
    path = tmp_path / "outbox.sqlite3"
    sqlite = SQLiteOutbox(path)
    sqlite.add([({"event_id": "s-1"}, "s-1")], timeout=0)  # the parent's connection is open
    _INHERITED["sqlite"] = sqlite
    context = multiprocessing.get_context("fork")
    answers: multiprocessing.Queue[object] = context.Queue()
    child = context.Process(target=_child_view, args=(memory, path, answers))
    child.start()
    seen = answers.get(timeout=30)
    child.join(timeout=30)
    assert child.exitcode == 0
    assert seen == (0, 0, 1, 1)
    assert memory.pending() == 1  # the parent's own are untouched
    assert sorted(row.event_id for row in sqlite.claim("w", 9, lease=60)) == ["from-child", "s-1"]
    sqlite.close()
