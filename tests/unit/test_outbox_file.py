"""An outbox file is an outbox and nothing else: a new one carries SQLite's application_id
marker and its layout version, another database is refused unchanged (EventSender and the
command alike), the first layout (no marker) is adopted, `status` and `list` open the file
read-only (even in a folder that cannot be written), and a corrupted file, a missing folder or
a folder that cannot be written gives an OutboxError naming the file and the cause."""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from pytt_events import PyttEventsError, TikTokAuth
from pytt_events.cli import main
from pytt_events.outbox import (
    OUTBOX_APPLICATION_ID,
    OUTBOX_SCHEMA_VERSION,
    OutboxError,
    SQLiteOutbox,
)
from pytt_events.sender import EventSender

#: The first layout's tables, as the SDK made them before the marker.
VERSION_1 = """
CREATE TABLE pending (id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL,
    event_id TEXT NOT NULL, created REAL NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT, lease_until REAL NOT NULL DEFAULT 0);
CREATE INDEX pending_by_lease ON pending (lease_until, id);
CREATE TABLE failed (id INTEGER PRIMARY KEY, body TEXT NOT NULL, event_id TEXT NOT NULL,
    created REAL NOT NULL, failed_at REAL NOT NULL, code INTEGER, reason TEXT NOT NULL);
INSERT INTO pending (body, event_id, created) VALUES ('{"event_id":"old-1"}', 'old-1', 1.0);
"""


def read_only_folder(folder: Path) -> list[str]:
    """A command prefix under which folder cannot be written: as root (who writes anywhere), a
    read-only bind mount of it in a user and mount namespace of its own; otherwise chmod."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        return []
    usable = shutil.which("unshare") and not (
        subprocess.run(["unshare", "-rm", "true"], capture_output=True, check=False).returncode
    )
    if not usable:
        pytest.skip("as root, this needs unshare (util-linux) and user namespaces")
    mount = f"mount --bind {folder} {folder} && mount -o remount,ro,bind {folder} {folder}"
    return ["unshare", "-rm", "sh", "-c", f'{mount} && "$@"', "sh"]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def app_database(path: Path) -> Path:
    database = sqlite3.connect(path)
    database.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
    database.execute("INSERT INTO users (name) VALUES ('someone')")
    database.commit()
    database.close()
    return path


def pragmas(path: Path) -> tuple[int, int, str]:
    database = sqlite3.connect(path)
    try:
        (application_id,) = database.execute("PRAGMA application_id").fetchone()
        (version,) = database.execute("PRAGMA user_version").fetchone()
        (journal,) = database.execute("PRAGMA journal_mode").fetchone()
        return int(application_id), int(version), str(journal)
    finally:
        database.close()


def test_a_new_outbox_carries_the_marker_and_its_version(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    SQLiteOutbox(path).close()
    assert pragmas(path) == (OUTBOX_APPLICATION_ID, OUTBOX_SCHEMA_VERSION, "wal")
    assert path.stat().st_mode & 0o777 == 0o600  # hashed, but only its owner reads it


def test_another_database_is_refused_and_left_unchanged(tmp_path: Path) -> None:
    path = app_database(tmp_path / "app.sqlite3")
    before = digest(path)
    with pytest.raises(OutboxError, match="not a pytt-events outbox") as raised:
        SQLiteOutbox(path)
    assert str(path) in str(raised.value)
    auth = TikTokAuth(TIKTOK_ACCESS_TOKEN="t", TIKTOK_PIXEL_ID="p")
    with pytest.raises(OutboxError, match="not a pytt-events outbox"):
        EventSender(auth, outbox=path)
    for action in ("status", "list", "replay", "purge"):
        result = CliRunner().invoke(main, ["outbox", str(path), action, "--yes"])
        assert result.exit_code == 1, result.output
        assert "not a pytt-events outbox" in result.output
        assert str(path) in result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)
    assert digest(path) == before  # no table added, still not WAL
    assert pragmas(path) == (0, 0, "delete")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app.sqlite3"]


def test_an_outbox_of_the_first_layout_is_adopted(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    database = sqlite3.connect(path)
    database.executescript(VERSION_1)
    database.close()
    read = CliRunner().invoke(main, ["outbox", str(path)])
    assert read.output == "1 pending, 0 failed\n"
    assert pragmas(path)[:2] == (0, 0)  # reading changed nothing
    outbox = SQLiteOutbox(path)
    assert [row.event_id for row in outbox.claim("w", 9, lease=60)] == ["old-1"]
    outbox.close()
    assert pragmas(path)[:2] == (OUTBOX_APPLICATION_ID, OUTBOX_SCHEMA_VERSION)


def test_an_outbox_of_the_second_layout_gains_the_accepted_counts(tmp_path: Path) -> None:
    """Version 2 (before the daily accepted counts): read as it is (no counts), brought up to
    date when opened for writing, its pending events kept."""
    path = tmp_path / "v2.sqlite3"
    database = sqlite3.connect(path)
    database.executescript(VERSION_1)
    database.executescript(
        "ALTER TABLE pending ADD COLUMN last_code INTEGER;"
        "ALTER TABLE pending ADD COLUMN last_error TEXT;"
        "ALTER TABLE pending ADD COLUMN last_error_at REAL;"
        f"PRAGMA application_id = {OUTBOX_APPLICATION_ID}; PRAGMA user_version = 2;"
    )
    database.close()
    reader = SQLiteOutbox(path, read_only=True)
    assert (reader.pending(), reader.accepted_counts()) == (1, {})
    reader.close()
    assert pragmas(path)[:2] == (OUTBOX_APPLICATION_ID, 2)  # reading changed nothing
    outbox = SQLiteOutbox(path)
    assert (
        pragmas(path)[:2]
        == (OUTBOX_APPLICATION_ID, OUTBOX_SCHEMA_VERSION)
        == (OUTBOX_APPLICATION_ID, 3)
    )
    (row,) = outbox.claim("w", 9, lease=60)
    outbox.done([row.id], counted={row.id: ("PIXEL", "Purchase", "2026-12-01")})
    assert sum(outbox.accepted_counts().values()) == 1
    outbox.close()


def test_an_outbox_of_a_newer_layout_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    SQLiteOutbox(path).close()
    database = sqlite3.connect(path)
    database.execute(f"PRAGMA user_version = {OUTBOX_SCHEMA_VERSION + 1}")
    database.close()
    with pytest.raises(OutboxError, match="newer version of pytt-events"):
        SQLiteOutbox(path)


def test_status_and_list_only_read(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    outbox = SQLiteOutbox(path)
    outbox.add([({"event_id": "r-1"}, "r-1")])
    outbox.close()
    before = digest(path)
    runner = CliRunner()
    assert runner.invoke(main, ["outbox", str(path), "status"]).output == "1 pending, 0 failed\n"
    assert runner.invoke(main, ["outbox", str(path), "list"]).output == "no failed events\n"
    assert digest(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["outbox.sqlite3"]


def test_a_file_in_a_folder_that_cannot_be_written_is_read(tmp_path: Path) -> None:
    folder = tmp_path / "readonly"
    folder.mkdir()
    path = folder / "outbox.sqlite3"
    outbox = SQLiteOutbox(path)
    outbox.add([({"event_id": "r-1"}, "r-1"), ({"event_id": "r-2"}, "r-2")])
    (first, _) = outbox.claim("w", 2, lease=60)
    outbox.fail([(first.id, 40002, "TikTok code 40002: Invalid value")])
    outbox.close()
    command = [sys.executable, "-m", "pytt_events.cli", "outbox", str(path)]
    prefix = read_only_folder(folder)
    try:
        status = subprocess.run([*prefix, *command, "status"], capture_output=True, text=True)
        listed = subprocess.run([*prefix, *command, "list"], capture_output=True, text=True)
    finally:
        folder.chmod(0o755)
    assert (status.returncode, status.stderr) == (0, ""), status.stderr
    assert status.stdout.startswith("1 pending, 1 failed\nfailed, by the last error met:\n")
    assert "code 40002" in status.stdout
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split("\t")[0] == "r-1"
    assert sorted(p.name for p in folder.iterdir()) == ["outbox.sqlite3"]  # nothing made


@pytest.mark.parametrize("damage", ["random bytes", "garbage pages"])
def test_a_corrupted_file_is_an_outbox_error_naming_it(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "outbox.sqlite3"
    noise = random.Random(20)  # the same bytes every run
    if damage == "random bytes":
        path.write_bytes(noise.randbytes(8192))
    else:
        outbox = SQLiteOutbox(path)
        outbox.add([({"event_id": f"g-{i}", "pad": "x" * 500}, f"g-{i}") for i in range(100)])
        outbox.close()
        data = bytearray(path.read_bytes())
        data[100:] = noise.randbytes(len(data) - 100)  # the header stays; every page is garbage
        path.write_bytes(bytes(data))
    with pytest.raises(OutboxError) as raised:
        SQLiteOutbox(path).pending()
    assert str(path) in str(raised.value)
    assert isinstance(raised.value, PyttEventsError)
    result = CliRunner().invoke(main, ["outbox", str(path), "status"])
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: outbox {path}:")
    assert result.output.count("\n") == 1  # one message, no traceback


def test_a_new_outbox_where_no_file_can_be_made_says_where_and_why(tmp_path: Path) -> None:
    with pytest.raises(OutboxError, match=r"the folder .*missing does not exist") as raised:
        SQLiteOutbox(tmp_path / "missing" / "outbox.sqlite3")
    assert str(tmp_path / "missing" / "outbox.sqlite3") in str(raised.value)
    (tmp_path / "a-file").write_text("not a folder")
    with pytest.raises(OutboxError, match="a-file does not exist"):
        SQLiteOutbox(tmp_path / "a-file" / "outbox.sqlite3")


def test_a_new_outbox_in_a_folder_that_cannot_be_written(tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    path = folder / "outbox.sqlite3"
    code = (
        "from pytt_events.outbox import SQLiteOutbox, OutboxError\n"
        "try:\n"
        f"    SQLiteOutbox({str(path)!r})\n"
        "except OutboxError as error:\n"
        "    print(error)\n"
    )
    command = read_only_folder(folder)
    try:
        done = subprocess.run(
            [*command, sys.executable, "-c", code], capture_output=True, text=True, check=False
        )
    finally:
        folder.chmod(0o755)
    assert done.stderr == ""
    assert done.stdout.startswith(f"cannot create the outbox {path}: ")
    assert "Read-only file system" in done.stdout or "Permission denied" in done.stdout


@pytest.mark.parametrize(("answer", "left"), [("n", 1), ("y", 0)])
def test_purge_asks_on_a_terminal(tmp_path: Path, answer: str, left: int) -> None:
    path = tmp_path / "outbox.sqlite3"
    outbox = SQLiteOutbox(path)
    outbox.add([({"event_id": "p-1"}, "p-1")])
    outbox.fail((row.id, 40002, "refused") for row in outbox.claim("w", 1, lease=60))
    primary, secondary = os.openpty()  # a terminal for the command's stdin
    try:
        os.write(primary, f"{answer}\n".encode())  # the answer waits in the terminal
        done = subprocess.run(
            [sys.executable, "-m", "pytt_events.cli", "outbox", str(path), "purge"],
            stdin=secondary, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    finally:
        os.close(primary)
        os.close(secondary)
    assert "Forget 1 failed event(s) for good? [y/N]" in done.stdout
    assert done.returncode == (1 if answer == "n" else 0), done.stderr
    assert len(outbox.failed()) == left
    outbox.close()
