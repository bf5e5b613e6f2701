"""Shared fixtures: a clean environment, a real sandbox on 127.0.0.1, and the Quick Start's
objects. Raw personal data used in tests is listed in RAW_PERSONAL_DATA so privacy tests can
assert it never shows up where it must not."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytt_events.auth import TikTokAuth
from pytt_events.event import Event
from pytt_events.testing import Sandbox, SandboxServer, quick_start_event
from pytt_events.tiktok_events_api import TikTokEventsApi
from pytt_events.validation import Problem

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "test-token-7f3a9c1e5b"
PIXEL = "C4PIXELCODE123"
# The external_id "123456" is also a prefix of the event and content ids: look for it quoted.
RAW_PERSONAL_DATA = ("test@test.com", "+5541998862934", "5541998862934", '"123456"')
QUICK_START_DIGESTS = {
    "email": "f660ab912ec121d1b1e928a0bb4bc61b15f5ad44d5efdc4e1c92a25e99b8e44a",
    "phone_number": "e379a7879266c54b8876bcb2bba6401cc5a3035dcd97b3a7846ed28ea0ca3360",
    "external_id": "8d969eef6ecad3c29a3a629280e686cf0c3f5d5a86aff3ca12020c923adc6c92",
}


# Every sandbox of the suite refuses raw personal data anywhere in a body (an e-mail address or
# phone number in a URL's query, a description, ...): what the SDK sends must never carry any.
Sandbox.strict_personal_data_default = True


#: Test files (or folders, ending in "/") whose tests share one expensive server (a local Spark
#: for every file of tests/spark/, a PostgreSQL server): in a parallel run (pytest-xdist's -n),
#: each runs whole on one worker, which starts its server once. (xdist's `--dist loadgroup`
#: would group by mark, but on pytest 9.2 it silently does not: pytest-xdist issue 1386.)
ONE_WORKER_FILES = ("tests/spark/", "tests/sandbox/test_postgres_outbox.py")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """-n's default distribution (load: test by test), but each of ONE_WORKER_FILES whole."""
    if config.getoption("dist") != "load":
        return None  # a --dist given on the command line: xdist's own
    from xdist.scheduler import LoadScopeScheduling

    class OneWorkerFiles(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            shared = (scope for scope in ONE_WORKER_FILES if path.startswith(scope))
            return next(shared, nodeid)

    return OneWorkerFiles(config, log)


def errors(problems: list[Problem]) -> list[Problem]:
    """The problems that are errors (what TikTok refuses); warnings are left out."""
    return [problem for problem in problems if problem.severity == "error"]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No TIKTOK_* variable and no .env file leaks in from the developer's machine."""
    for name in (
        "TIKTOK_ACCESS_TOKEN",
        "TIKTOK_ACESS_TOKEN",
        "TIKTOK_PIXEL_ID",
        "TIKTOK_API_VERSION",
        "TIKTOK_TEST_EVENT_CODE",
        "TIKTOK_API_BASE_URL",
        "TIKTOK_DEFAULT_PHONE_REGION",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(access_token=TOKEN, strict_personal_data=True) as server:
        yield server


def auth_for(server: SandboxServer, token: str = TOKEN) -> TikTokAuth:
    """Credentials that send to this sandbox (with its token, unless another is given)."""
    return TikTokAuth(
        TIKTOK_ACCESS_TOKEN=token, TIKTOK_PIXEL_ID=PIXEL, TIKTOK_API_BASE_URL=server.base_url
    )


@pytest.fixture
def auth(sandbox: SandboxServer) -> TikTokAuth:
    return auth_for(sandbox)


@pytest.fixture
def api() -> Iterator[TikTokEventsApi]:
    with TikTokEventsApi() as client:
        yield client


@pytest.fixture
def event() -> Event:
    built: Event = quick_start_event(PIXEL, None)
    return built
