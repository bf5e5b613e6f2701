"""PostgresOutbox against a real PostgreSQL server, started by these tests from the
distribution's package (initdb and pg_ctl, on 127.0.0.1, in a temporary folder; .ci/run
installs the package). Skipped, saying why, where no server binary is found or psycopg is
not installed (`pip install -e '.[postgres]'`)."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed: the postgres extra")

from pytt_events import TikTokAuth  # noqa: E402
from pytt_events.outbox import PostgresOutbox  # noqa: E402
from pytt_events.sender import EventSender  # noqa: E402
from pytt_events.testing import SandboxServer  # noqa: E402
from tests.conftest import PIXEL, TOKEN  # noqa: E402

pytestmark = pytest.mark.postgres


def binary(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def dsn() -> Iterator[str]:
    initdb, pg_ctl = binary("initdb"), binary("pg_ctl")
    if initdb is None or pg_ctl is None:
        pytest.skip("no PostgreSQL server binary (initdb, pg_ctl): install postgresql")
    folder = Path(tempfile.mkdtemp(prefix="pytt-pg-"))
    data = folder / "data"
    # initdb refuses to run as root: as root, the server runs as the postgres user.
    run_as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if run_as:
        shutil.chown(folder, "postgres")
    port = free_port()
    subprocess.run(
        [*run_as, initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"],
        check=True, capture_output=True,
    )  # fmt: skip
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -F"
    subprocess.run(
        [*run_as, pg_ctl, "-D", str(data), "-o", options, "-l", str(folder / "log"), "-w",
         "start"],
        check=True, capture_output=True,
    )  # fmt: skip
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*run_as, pg_ctl, "-D", str(data), "-m", "immediate", "stop"],
            check=False, capture_output=True,
        )  # fmt: skip
        shutil.rmtree(folder, ignore_errors=True)


def test_the_outbox_contract(dsn: str) -> None:
    one = PostgresOutbox(dsn, table="contract")
    two = PostgresOutbox(dsn, table="contract")
    one.add([({"event_id": f"p-{i}"}, f"p-{i}") for i in range(5)])
    assert one.pending() == 5
    mine = one.claim("w1", 3, lease=600)
    theirs = two.claim("w2", 10, lease=600)
    assert [r.event_id for r in mine] == ["p-0", "p-1", "p-2"]
    assert [r.event_id for r in theirs] == ["p-3", "p-4"]
    assert two.claim("w2", 10, lease=600) == []
    one.done([mine[0].id])
    one.release([mine[1].id], retry_in=0)
    one.fail([(mine[2].id, 40002, "refused")])
    (again,) = two.claim("w2", 10, lease=600)
    assert (again.event_id, again.attempts) == ("p-1", 1)
    assert [(f.event_id, f.code, f.reason) for f in one.failed()] == [("p-2", 40002, "refused")]
    assert one.replay_failed() == 1
    assert one.failed() == []
    assert one.pending() == 4  # p-1, p-3, p-4 leased; p-2 back
    assert one.purge_failed() == 0
    assert "postgres@" not in repr(one)
    one.close()
    two.close()


def test_a_sender_delivers_through_postgres(dsn: str) -> None:
    with SandboxServer(access_token=TOKEN, bad_events={"q-3"}) as server:
        auth = TikTokAuth(
            TIKTOK_ACCESS_TOKEN=TOKEN, TIKTOK_PIXEL_ID=PIXEL, TIKTOK_API_BASE_URL=server.base_url
        )
        outbox = PostgresOutbox(dsn, table="sender")
        with EventSender(auth, outbox=outbox) as sender:
            for i in range(50):
                sender.track(
                    {"event": "Purchase", "event_time": int(time.time()), "event_id": f"q-{i}",
                     "user": {"external_id": f"u-{i}"}}
                )  # fmt: skip
            assert sender.flush(timeout=30)
        accepted = Counter(str(e["event_id"]) for e in server.accepted_events())
    assert accepted == Counter(f"q-{i}" for i in range(50) if i != 3)
    assert [row.event_id for row in outbox.failed()] == ["q-3"]
    outbox.close()
