"""Preparing events: the public building block the client's methods, EventSender, the replay
of a file and Spark go through. Events in, validated and hashed bodies with their event ids
out, grouped as the family groups them, no HTTP request built; send_prepared sends them (over
real HTTP to the sandbox)."""

from __future__ import annotations

import ast
import asyncio
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from pytt_events import BulkResponse, ConfigurationError, PayloadValidationError, sha256_hex
from pytt_events._plan import Chunk, PreparedEvents
from pytt_events.auth import TikTokAuth
from pytt_events.testing import SandboxServer
from pytt_events.tiktok_events_api import AsyncTikTokEventsApi, TikTokEventsApi
from tests.conftest import PIXEL, TOKEN, auth_for

SRC = Path(__file__).resolve().parents[2] / "src" / "pytt_events"


def track_event(event_id: str | None, email: str = "ana@example.com") -> dict[str, Any]:
    event: dict[str, Any] = {
        "event": "Purchase",
        "event_time": 1_900_000_000,
        "user": {"email": email},
    }
    if event_id is not None:
        event["event_id"] = event_id
    return event


def web_event(event_id: str | None) -> dict[str, Any]:
    event: dict[str, Any] = {
        "pixel_code": PIXEL,
        "event": "ViewContent",
        "context": {"user": {"email": "ana@example.com"}},
    }
    if event_id is not None:
        event["event_id"] = event_id
    return event


def test_prepared_events_are_bodies_with_ids_and_no_request() -> None:
    auth = TikTokAuth(TIKTOK_ACCESS_TOKEN=TOKEN, TIKTOK_PIXEL_ID=PIXEL)
    with TikTokEventsApi() as api:
        prepared = api.prepare_track([track_event(f"t-{n}") for n in range(1_500)], auth=auth)
    assert prepared.events == 1_500
    assert [len(chunk.indices) for chunk in prepared.requests] == [1_000, 500]  # as grouped
    assert prepared.event_ids[1_499] == "t-1499"
    first = prepared.requests[0]
    assert first.family.endpoint == "event/track/"
    assert not hasattr(first, "request")  # no HTTP request is built
    body = json.loads(first.content or b"")
    assert body["event_source_id"] == PIXEL
    assert body["data"][0]["user"]["email"] == sha256_hex("ana@example.com")
    (index, event_id, single), *_ = prepared.single_payloads()
    assert (index, event_id) == (0, "t-0")
    assert single["data"] == [body["data"][0]]


def test_send_prepared_sends_them_as_prepared(sandbox: SandboxServer, auth: TikTokAuth) -> None:
    with TikTokEventsApi() as api:
        prepared = api.prepare_events([web_event("w-1"), web_event("w-2")], auth)
        result = api.send_prepared(prepared, auth)
    (request,) = sandbox.received
    assert request.path.endswith("/pixel/batch/")
    assert request.body == json.loads(prepared.requests[0].content or b"")  # as prepared
    assert [outcome.event_id for outcome in result.outcomes] == ["w-1", "w-2"]


def test_the_async_client_sends_prepared_events(sandbox: SandboxServer, auth: TikTokAuth) -> None:
    async def send() -> BulkResponse:
        async with AsyncTikTokEventsApi() as api:
            prepared = api.prepare_track([track_event("a-1")], auth=auth)
            return await api.send_prepared(prepared, auth)

    assert asyncio.run(send()).accepted == (0,)
    assert sandbox.accepted_events()[0]["event_id"] == "a-1"


def test_own_event_ids_gives_an_event_without_one_a_uuid_once() -> None:
    auth = TikTokAuth(TIKTOK_ACCESS_TOKEN=TOKEN, TIKTOK_PIXEL_ID=PIXEL)
    with TikTokEventsApi() as api:
        plain = api.prepare_event(web_event(None), auth)
        owned = api.prepare_event(web_event(None), auth, own_event_ids=True)
        kept = api.prepare_event(web_event("mine"), auth, own_event_ids=True)
    assert plain.event_ids == {0: None}
    (_, event_id, body), = owned.single_payloads()  # fmt: skip
    assert event_id is not None
    assert body["event_id"] == event_id  # in the body it sends
    assert len(event_id) == 36
    assert kept.event_ids == {0: "mine"}


def test_a_queue_of_prepared_payloads_sends_them_later(
    sandbox: SandboxServer, auth: TikTokAuth
) -> None:
    """A queue of one message an event (Celery, a Kafka producer): the bodies go through it as
    JSON, and the worker sends them as stored payloads."""
    with TikTokEventsApi() as api:
        prepared = api.prepare_track([track_event("q-1"), track_event("q-2")], auth=auth)
        queue = [json.dumps(body) for _, _, body in prepared.single_payloads()]
        result = api.send_payloads([json.loads(message) for message in queue], auth)
    assert result.accepted == (0, 1)
    assert [event["event_id"] for event in sandbox.accepted_events()] == ["q-1", "q-2"]


def test_prepare_refuses_what_send_refuses_and_prepare_payloads_can_skip() -> None:
    auth = TikTokAuth(TIKTOK_ACCESS_TOKEN=TOKEN, TIKTOK_PIXEL_ID=PIXEL)
    with TikTokEventsApi() as api:
        with pytest.raises(PayloadValidationError, match=r"events\.0\.event"):
            api.prepare_track([{"event_time": 1_900_000_000}], auth=auth)
        good = api.prepare_track([track_event("p-1")], auth=auth).single_payloads()[0][2]
        prepared = api.prepare_payloads([{"nonsense": 1}, good], auth, skip_invalid=True)
    assert [item.number for item in prepared.invalid] == [0]
    assert prepared.event_ids == {0: "p-1"}


def test_prepared_for_one_version_is_not_sent_with_another(sandbox: SandboxServer) -> None:
    """(This build knows one version: the bodies are made as another version's would be.)"""
    auth = auth_for(sandbox)
    with TikTokEventsApi() as api:
        (chunk,) = api.prepare_track([track_event("v-1")], auth=auth).requests
        family = dataclasses.replace(chunk.family, api_version="v1.2")
        other = PreparedEvents((Chunk(chunk.indices, None, family, chunk.content),), "track")
        with pytest.raises(ConfigurationError, match=r"prepared for API version v1\.2"):
            api.send_prepared(other, auth)
    assert sandbox.received == []


@pytest.mark.parametrize("module", ["sender.py", "spark.py", "replay.py"])
def test_the_wing_uses_only_the_clients_public_building_blocks(module: str) -> None:
    tree = ast.parse((SRC / module).read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            assert node.module not in ("pytt_events._base_client",), (module, node.lineno)
        if isinstance(node, ast.Attribute) and node.attr in (
            "_plan_track", "_plan_event", "_plan_bulk", "_plan_payloads", "_prepare_items",
            "_send_plan", "_payload_items",
        ):  # fmt: skip
            raise AssertionError(f"{module}:{node.lineno} calls the client's {node.attr}")


@pytest.mark.parametrize(
    "module", ["sender.py", "outbox.py", "spark.py", "replay.py", "web.py", "cli.py"]
)
def test_the_wing_reads_no_events_key_by_hand(module: str) -> None:
    """(The families split and join bodies: Family.split, join, single.)"""
    text = (SRC / module).read_text()
    for key in ('.get("data")', '["data"]', '.get("batch")', '["batch"]'):
        assert key not in text, (module, key)
