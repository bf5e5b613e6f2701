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
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed: the postgres extra")

from pytt_events import TikTokAuth  # noqa: E402
from pytt_events.outbox import PostgresOutbox  # noqa: E402
from pytt_events.sender import EventSender  # noqa: E402
from pytt_events.testing import SandboxServer  # noqa: E402
from tests.conftest import PIXEL, TOKEN  # noqa: E402
from tests.outbox_contract import check_accepted_counts, check_contract  # noqa: E402

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
    check_contract(one, two)
    assert "postgres@" not in repr(one)
    one.close()
    two.close()


def test_the_outbox_counts_accepted_events(dsn: str) -> None:
    outbox = PostgresOutbox(dsn, table="counts")
    check_accepted_counts(outbox)
    outbox.close()


def test_concurrent_claims_never_share_a_row(dsn: str) -> None:
    """Four workers, each with its own connection, claim batches at once (FOR UPDATE SKIP
    LOCKED): every row is claimed by exactly one of them."""
    filler = PostgresOutbox(dsn, table="race")
    filler.add([({"event_id": f"r-{i}"}, f"r-{i}") for i in range(400)], timeout=0)
    filler.close()
    start, holding = threading.Barrier(4, timeout=60), threading.Barrier(4, timeout=60)

    def work(name: str) -> list[str]:
        outbox = PostgresOutbox(dsn, table="race")
        start.wait()
        first = outbox.claim(name, 7, lease=600)  # each claims while the others hold theirs
        holding.wait()
        mine = [row.event_id for row in first]
        outbox.done(row.id for row in first)
        while rows := outbox.claim(name, 7, lease=600):
            mine.extend(row.event_id for row in rows)
            outbox.done(row.id for row in rows)
        outbox.close()
        return mine

    with ThreadPoolExecutor(4) as pool:
        claimed = list(pool.map(work, [f"w{n}" for n in range(4)]))
    every = [event_id for found in claimed for event_id in found]
    assert Counter(every) == Counter(f"r-{i}" for i in range(400))  # each once, none lost
    assert all(len(found) >= 7 for found in claimed), "four claims held at once were disjoint"


def test_the_outbox_command_reads_a_postgres_outbox(dsn: str) -> None:
    from click.testing import CliRunner

    from pytt_events.cli import main

    outbox = PostgresOutbox(dsn, table="command")
    outbox.add([({"event_id": "c-1"}, "c-1"), ({"event_id": "c-2"}, "c-2")], timeout=0)
    (first, second) = outbox.claim("w", 2, lease=600)
    outbox.fail([(first.id, 40002, "TikTok code 40002: Invalid value")], owner="w")
    runner = CliRunner()
    args = ["outbox", dsn, "--table", "command"]
    status = runner.invoke(main, args).output.splitlines()
    assert status[:2] == ["1 pending, 1 failed", "failed, by the last error met:"]
    assert status[2].split()[:3] == ["1", "code", "40002,"]
    outbox.release([second.id], 600, owner="w", error=(40105, "TikTok code 40105: token revoked"))
    status = runner.invoke(main, args).output.splitlines()
    assert status[1:3] == ["pending, by the last error met:", status[2]]
    assert status[2].endswith(": TikTok code 40105: token revoked")
    assert runner.invoke(main, [*args, "list"]).output.startswith("c-1\t40002\t")
    assert runner.invoke(main, [*args, "replay"]).output == (
        "1 failed event(s) moved back to pending\n"
    )
    assert (outbox.pending(), outbox.failed()) == (2, [])
    outbox.close()


def test_a_postgres_outbox_that_cannot_be_opened_says_why_and_never_the_password() -> None:
    from click.testing import CliRunner

    from pytt_events.cli import main
    from pytt_events.outbox import OutboxError

    refused = f"postgresql://app:secret-pw@127.0.0.1:{free_port()}/shop"  # nobody listens
    with pytest.raises(OutboxError) as raised:
        PostgresOutbox(refused)
    assert "Connection refused" in str(raised.value)
    assert "secret-pw" not in str(raised.value)
    wrong = CliRunner().invoke(main, ["outbox", refused, "list"])
    assert wrong.exit_code == 1
    assert wrong.output.startswith("Error: PostgreSQL outbox (table prefix tiktok_outbox): ")
    assert "Connection refused" in wrong.output
    assert "secret-pw" not in wrong.output
    short = f"postgresql://app:on@127.0.0.1:{free_port()}/shop"  # a password inside words
    with pytest.raises(OutboxError, match="Connection refused"):  # not "C***nection"
        PostgresOutbox(short)
    bad_user = CliRunner().invoke(
        main, ["outbox", f"postgresql://app:secret-pw@127.0.0.1:{free_port()}/shop?sslmode=x"]
    )  # a DSN libpq refuses before connecting
    assert bad_user.exit_code == 1
    assert "sslmode" in bad_user.output
    assert "secret-pw" not in bad_user.output


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
        counted = server.daily_counts()
    assert accepted == Counter(f"q-{i}" for i in range(50) if i != 3)
    assert [row.event_id for row in outbox.failed()] == ["q-3"]
    # The daily accepted counts, per pixel, event and UTC day: what TikTok counted.
    assert outbox.accepted_counts() == counted
    assert sum(counted.values()) == 49
    outbox.close()
