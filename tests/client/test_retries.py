"""Both clients against the sandbox's own handler, in process (httpx.MockTransport): every
retryable and non-retryable case, Retry-After, timeouts, the retry hook, and clean logs.

Each test runs twice through the client_cls fixture, with TikTokEventsApi and with
AsyncTikTokEventsApi (Harness.call runs the async client's coroutines with asyncio.run).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from typing import Any

import pytest

from pytt_events import (
    APIConnectionError,
    APITimeoutError,
    AsyncTikTokEventsApi,
    AuthenticationError,
    InvalidRequestError,
    RateLimitError,
    RetryEvent,
    RetryPolicy,
    ServerError,
    TikTokEventsApi,
)
from pytt_events.auth import TikTokAuth
from pytt_events.context import Context
from pytt_events.event import Event
from pytt_events.properties import Properties
from pytt_events.testing import Fault, FaultPlan, Sandbox
from tests.conftest import PIXEL, RAW_PERSONAL_DATA, TOKEN

FAST = RetryPolicy(max_retries=3, initial_delay=0.001, max_delay=0.004, random=lambda: 1.0)


class Harness:
    """A sandbox, a client on its in-process transport, and the waits the client asked for."""

    def __init__(self, client_cls: type[Any], *faults: FaultPlan, **options: Any) -> None:
        self.sandbox = Sandbox(access_token=TOKEN, faults=faults)
        self.sleeps: list[float] = []
        self.retries: list[RetryEvent] = []
        self.is_async = client_cls is AsyncTikTokEventsApi

        async def async_sleep(seconds: float) -> None:
            self.sleeps.append(seconds)

        options.setdefault("retry", FAST)
        self.client = client_cls(
            transport=self.sandbox.transport(),
            sleep=async_sleep if self.is_async else self.sleeps.append,
            on_retry=self.retries.append,
            **options,
        )
        self.auth = TikTokAuth(
            TIKTOK_ACCESS_TOKEN=TOKEN,
            TIKTOK_PIXEL_ID=PIXEL,
            TIKTOK_API_BASE_URL="http://sandbox/open_api/",
        )

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        result = getattr(self.client, method)(*args, **kwargs)
        if inspect.isawaitable(result):
            return asyncio.run(_run_and_close(result, self.client))
        return result


async def _run_and_close(awaitable: Any, client: AsyncTikTokEventsApi) -> Any:
    try:
        return await awaitable
    finally:
        await client.aclose()


CLIENTS = [TikTokEventsApi, AsyncTikTokEventsApi]


@pytest.fixture(params=CLIENTS, ids=["sync", "async"])
def client_cls(request: pytest.FixtureRequest) -> type[Any]:
    cls: type[Any] = request.param
    return cls


def test_both_clients_expose_the_same_public_names() -> None:
    def public(cls: type[Any]) -> set[str]:
        return {name for name in dir(cls) if not name.startswith("_")}

    sync_names = public(TikTokEventsApi) - {"close"}
    async_names = public(AsyncTikTokEventsApi) - {"aclose"}
    assert sync_names == async_names
    for name in ("post_event", "post_events_in_bulk", "track", "send_payloads"):
        sync_sig = inspect.signature(getattr(TikTokEventsApi, name))
        async_sig = inspect.signature(getattr(AsyncTikTokEventsApi, name))
        assert list(sync_sig.parameters) == list(async_sig.parameters), name
        assert inspect.iscoroutinefunction(getattr(AsyncTikTokEventsApi, name))


@pytest.mark.parametrize(
    "fault", [Fault.RATE_LIMIT, Fault.SERVER_ERROR, Fault.TIMEOUT, Fault.DROP, Fault.MALFORMED]
)
def test_retryable_faults_are_retried_until_success(
    client_cls: type[Any], event: Event, fault: Fault
) -> None:
    harness = Harness(client_cls, FaultPlan(fault, first=2, delay=0.0))
    response = harness.call("post_event", event, harness.auth)
    assert response.code == 0
    assert len(harness.sandbox.received) == 3
    assert harness.sleeps == [0.001, 0.002]
    assert [(r.attempt, r.delay, r.url_path) for r in harness.retries] == [
        (1, 0.001, "/open_api/v1.3/pixel/track/"),
        (2, 0.002, "/open_api/v1.3/pixel/track/"),
    ]


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault.RATE_LIMIT, RateLimitError),
        (Fault.SERVER_ERROR, ServerError),
        (Fault.TIMEOUT, APITimeoutError),
        (Fault.DROP, APIConnectionError),
    ],
)
def test_retries_stop_at_the_budget(
    client_cls: type[Any], event: Event, fault: Fault, error: type[Exception]
) -> None:
    harness = Harness(client_cls, FaultPlan(fault, first=99, delay=0.0))
    with pytest.raises(error) as caught:
        harness.call("post_event", event, harness.auth)
    assert caught.value.attempts == 4  # type: ignore[attr-defined]
    assert len(harness.sandbox.received) == 4
    assert len(harness.sleeps) == 3


def test_retry_after_is_honoured(client_cls: type[Any], event: Event) -> None:
    harness = Harness(client_cls, FaultPlan(Fault.RATE_LIMIT, first=2, retry_after=1.5))
    assert harness.call("post_event", event, harness.auth).code == 0
    assert harness.sleeps == [1.5, 1.5]


def test_authentication_errors_are_not_retried(client_cls: type[Any], event: Event) -> None:
    harness = Harness(client_cls)
    wrong = harness.auth.model_copy(update={"TIKTOK_ACCESS_TOKEN": "wrong"})
    with pytest.raises(AuthenticationError) as caught:
        harness.call("post_event", event, wrong)
    assert caught.value.attempts == 1
    assert len(harness.sandbox.received) == 1
    assert harness.sleeps == []


def test_invalid_requests_are_not_retried(client_cls: type[Any]) -> None:
    harness = Harness(client_cls)
    unchecked = Event.model_construct(
        pixel_code=PIXEL,
        event="Search",
        context=Context(user_agent="ua"),
        properties=Properties.model_construct(value=-1.0),
    )
    with pytest.raises(InvalidRequestError):
        harness.call("post_event", unchecked, harness.auth)
    assert len(harness.sandbox.received) == 1


def test_retry_policy_per_call(client_cls: type[Any], event: Event) -> None:
    harness = Harness(client_cls, FaultPlan(Fault.SERVER_ERROR, first=1))
    with pytest.raises(ServerError):
        harness.call("post_event", event, harness.auth, retry=RetryPolicy(max_retries=0))
    assert len(harness.sandbox.received) == 1


def test_partial_success_is_reported_not_retried(client_cls: type[Any], event: Event) -> None:
    harness = Harness(client_cls, FaultPlan(Fault.PARTIAL, first=1))
    result = harness.call("post_events_in_bulk", [event, event], harness.auth)
    assert result.code == 20001
    assert result.accepted == (0, 1)
    ((indices, response),) = result.partial_successes
    assert indices == (0, 1)
    assert response.partial_success
    assert len(harness.sandbox.received) == 1


def test_the_same_bytes_are_resent(client_cls: type[Any]) -> None:
    harness = Harness(client_cls, FaultPlan(Fault.DROP, first=2))
    result = harness.call(
        "track", {"event": "Purchase", "event_time": 1709294400}, auth=harness.auth
    )
    assert result.accepted == (0,)
    ids = [request.body["data"][0]["event_id"] for request in harness.sandbox.received]
    assert len(set(ids)) == 1  # generated once, reused by every attempt


def test_logs_carry_attempts_but_no_secrets(
    client_cls: type[Any], event: Event, caplog: pytest.LogCaptureFixture
) -> None:
    harness = Harness(client_cls, FaultPlan(Fault.RATE_LIMIT, first=1))
    with caplog.at_level(logging.DEBUG, logger="pytt_events"):
        harness.call("post_events_in_bulk", [event] * 3, harness.auth)
    assert "code 40100" in caplog.text
    assert "(attempt 2, 3 events" in caplog.text
    for secret in (*RAW_PERSONAL_DATA, TOKEN):
        assert secret not in caplog.text


def test_exception_texts_carry_no_secrets(client_cls: type[Any], event: Event) -> None:
    harness = Harness(client_cls, FaultPlan(Fault.SERVER_ERROR, first=99))
    texts: list[str] = []
    for call in (
        lambda: harness.call("post_event", event, harness.auth),
        lambda: harness.call("post_events_in_bulk", [event], harness.auth),
    ):
        with pytest.raises(Exception) as caught:  # noqa: PT011 - any error: its text is checked
            call()
        texts += [str(caught.value), repr(caught.value), str(caught.value.__cause__)]
    joined = "\n".join(texts)
    for secret in (*RAW_PERSONAL_DATA, TOKEN):
        assert secret not in joined
