"""warm_up(): what the first event sent would build is built at start. After it, the first
EventSender.track of a process imports nothing (ours, the validators', or the phone metadata
of the customer's country, which phonenumbers reads per country on first use) and builds no
model, validator or plan."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading

import pytest

from pytt_events import AsyncTikTokEventsApi, TikTokEventsApi, UnknownApiVersionError

# Run in a process of its own: the suite's has long built everything.
FIRST_TRACK = r"""
import json, os, sys, time

from pytt_events import TikTokAuth, TikTokEventsApi, _families, _schema
from pytt_events.sender import EventSender
from pydantic._internal import _generate_schema

auth = TikTokAuth(
    TIKTOK_ACCESS_TOKEN="token", TIKTOK_PIXEL_ID="CWARMUPPIXEL00000000",
    TIKTOK_API_BASE_URL="http://127.0.0.1:9/open_api/",
)
sender = EventSender(auth, interval=3600)
# The worker thread the first track starts would open its connection meanwhile: what is
# measured is the track alone.
sender._start = lambda: None
loaded_before = sorted(m for m in ("jsonschema", "jsonschema_rs") if m in sys.modules)
WARM_UP

def caches():
    conditions = sys.modules.get("pytt_events._conditions")
    return [
        _families._field_adapter.cache_info().currsize,
        _schema.pii_plan.cache_info().currsize,
        _schema.warning_plan.cache_info().currsize,
        len(conditions._conditions_cache) if conditions is not None else 0,
    ]

builds = []
build = _generate_schema.GenerateSchema.generate_schema
def counted(self, *args, **kwargs):
    builds.append(1)
    return build(self, *args, **kwargs)
_generate_schema.GenerateSchema.generate_schema = counted

modules, cached = set(sys.modules), caches()
sender.track({
    "event": "Purchase",
    "event_time": int(time.time()),
    "event_id": "first-1",
    "user": {"email": "ana@example.com", "phone": "+55 41 99886-2934", "external_id": "c-1"},
    "page": {"url": "https://shop.example.com/p/1"},
    "properties": {"currency": "BRL", "value": 12.5, "contents": [{"content_id": "sku-1"}]},
})
print(json.dumps({
    "loaded_before": loaded_before,
    "new_modules": sorted(set(sys.modules) - modules),
    "builds": len(builds),
    "caches": [cached, caches()],
}))
sys.stdout.flush()
os._exit(0)  # nothing is sent: the sandbox is not running
"""


def first_track(warm_up: str) -> tuple[dict[str, object], str]:
    code = FIRST_TRACK.replace("WARM_UP", warm_up)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(done.stdout), done.stderr


def test_after_warm_up_the_first_track_imports_and_builds_nothing() -> None:
    found, logged = first_track("sender.api.warm_up()")
    assert found["loaded_before"] == []  # nothing was loaded before warm_up
    assert found["new_modules"] == []
    assert found["builds"] == 0
    before, after = found["caches"]
    assert before == after
    assert logged == ""  # the warm-up logs nothing: no warning is used up


def test_without_warm_up_the_first_track_builds_what_warm_up_would() -> None:
    """The other side of the test above: what it checks is what the first track pays."""
    found, _ = first_track("pass")
    new_modules = set(found["new_modules"])
    assert "jsonschema_rs" in new_modules  # the rules between fields, compiled (_conditions)
    # The model engine does not load the file validator, nor jsonschema: only the messages of
    # a rule between fields that refuses something need it.
    assert not {"jsonschema", "pytt_events.validation"} & new_modules
    before, after = found["caches"]
    assert before != after


@pytest.mark.parametrize("client_cls", [TikTokEventsApi, AsyncTikTokEventsApi])
def test_both_clients_warm_up_and_again_costs_nothing(client_cls: type) -> None:
    from pytt_events import _families

    client = client_cls(api_version="v1.3")
    client.warm_up()
    adapters = _families._field_adapter.cache_info()
    client.warm_up()
    client.warm_up("v1.3")
    assert _families._field_adapter.cache_info().misses == adapters.misses


def test_warm_up_of_an_unknown_version_is_refused() -> None:
    with pytest.raises(UnknownApiVersionError, match=r"v9\.9"):
        TikTokEventsApi().warm_up("v9.9")


def test_sender_warm_up_builds_what_the_first_track_would() -> None:
    found, logged = first_track("sender.warm_up()")
    assert found["new_modules"] == []
    assert found["builds"] == 0
    before, after = found["caches"]
    assert before == after
    assert logged == ""


def _worker_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name == "pytt-events-sender"]


def test_sender_warm_up_starts_the_worker_and_sends_nothing() -> None:
    from pytt_events import TikTokAuth
    from pytt_events.sender import EventSender

    auth = TikTokAuth(
        TIKTOK_ACCESS_TOKEN="token", TIKTOK_PIXEL_ID="CWARMUPPIXEL00000000",
        TIKTOK_API_BASE_URL="http://127.0.0.1:9/open_api/",
    )  # fmt: skip
    before = len(_worker_threads())
    sender = EventSender(auth, interval=3600)
    try:
        assert len(_worker_threads()) == before  # nothing pending: no worker yet
        sender.warm_up()
        assert len(_worker_threads()) == before + 1
        assert sender.outbox.pending() == 0
    finally:
        assert sender.close(timeout=5)


def test_async_sender_warm_up_starts_its_task_on_the_loop_and_waits_outside_it() -> None:
    from pytt_events import TikTokAuth
    from pytt_events.sender import AsyncEventSender

    auth = TikTokAuth(
        TIKTOK_ACCESS_TOKEN="token", TIKTOK_PIXEL_ID="CWARMUPPIXEL00000000",
        TIKTOK_API_BASE_URL="http://127.0.0.1:9/open_api/",
    )  # fmt: skip
    AsyncEventSender(auth).warm_up()  # no loop running: models built, no task, no error

    async def on_the_loop() -> list[str]:
        sender = AsyncEventSender(auth, interval=3600)
        sender.warm_up()
        names = [task.get_name() for task in asyncio.all_tasks()]
        assert await sender.aclose(timeout=5)
        return names

    assert "pytt-events-sender" in asyncio.run(on_the_loop())
