"""When to send a request again, and how long to wait first: a frozen policy and the attempt
flow that both clients drive (the sync one with time.sleep, the async one with asyncio.sleep).

The flow is a generator in the shape of httpx's auth_flow: it yields Send(request) and
Sleep(seconds) steps and is sent back each outcome (a TikTokResponse or the exception), so the
decisions live here once and the twins only do I/O.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

from pytt_events._constants import (
    DEFAULT_INITIAL_DELAY,
    DEFAULT_MAX_DELAY,
    DEFAULT_MAX_RETRIES,
    DEFAULT_MAX_RETRY_AFTER,
    SENDER_FIRST_BACKOFF,
    SENDER_MAX_ATTEMPTS,
    SENDER_MAX_BACKOFF,
)
from pytt_events._exceptions import (
    APIConnectionError,
    APIError,
    ConfigurationError,
    PyttEventsError,
)
from pytt_events._response import TikTokResponse


@dataclass(frozen=True)
class RetryEvent:
    """What an on_retry hook is told before each wait: attempt that failed (1 = the first
    send), the error, and the seconds it will wait before attempt + 1."""

    attempt: int
    error: PyttEventsError
    delay: float
    url_path: str


@dataclass(frozen=True)
class RetryPolicy:
    """How failed requests are sent again.

    Retried: the errors whose class is retryable (`error.retryable`): rate limits (40100,
    40132, 61000), maintenance (60001) and 5xxxx server codes, HTTP 429 and 5xx, timeouts and
    connection errors. Never retried: permission, token, parameter and validation errors
    (40001, 40002, 40105, 40700, ...) and retired endpoints (41001, 41002). The wait before
    retry n (0-based) is uniform in [0, min(max_delay, initial_delay * 2**n)] ("full jitter");
    a Retry-After from TikTok is honoured instead, up to max_retry_after.

    Args:
        max_retries: retries after the first attempt (0 disables retrying).
        initial_delay: the cap of the first wait, in seconds.
        max_delay: the cap of any backoff wait.
        max_retry_after: the longest Retry-After honoured.
        random: the jitter source, returning [0, 1) (injected by tests).
    """

    max_retries: int = DEFAULT_MAX_RETRIES
    initial_delay: float = DEFAULT_INITIAL_DELAY
    max_delay: float = DEFAULT_MAX_DELAY
    max_retry_after: float = DEFAULT_MAX_RETRY_AFTER
    random: Callable[[], float] = field(default=random.random, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ConfigurationError("max_retries must be >= 0")
        if self.initial_delay < 0 or self.max_delay < 0 or self.max_retry_after < 0:
            raise ConfigurationError("delays must be >= 0")

    def should_retry(self, error: BaseException, retries_done: int) -> bool:
        """Whether error deserves another attempt after retries_done retries."""
        return retries_done < self.max_retries and is_retryable(error)

    def stopped(self) -> bool:
        """Whether no new request may start now (False here). A policy that can stop (the
        one a closing EventSender sends with) says True: no retry starts, even after its
        wait, and requests not yet sent fail as not sent (see not_sent)."""
        return False

    def delay(self, retries_done: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number retries_done + 1."""
        if retry_after is not None and retry_after >= 0:
            return min(retry_after, self.max_retry_after)
        cap = min(self.max_delay, self.initial_delay * (2**retries_done))
        return float(cap * self.random())


def is_retryable(error: BaseException) -> bool:
    """True for errors that another attempt may cure (rate limits, server errors, timeouts,
    connection failures); False for everything else."""
    if isinstance(error, APIError):
        return error.retryable
    return isinstance(error, APIConnectionError)


NO_RETRIES = RetryPolicy(max_retries=0)


@dataclass(frozen=True)
class ResendPolicy:
    """When an EventSender sends again an event its client could not get through, and when it
    gives up: the outbox's policy, above the client's RetryPolicy (which retries a request
    within one send).

    An event that failed for now (a retryable error once the client's retries are spent, or
    credentials to fix) waits in the outbox and is sent again after `delay(attempts)`: the
    first wait is first_delay, doubling with each try, up to max_delay; TikTok's 48-hour
    deduplication window, not a count, ends its tries (an older event is moved to the failed
    ones). An event that meets an unexpected error (not TikTok's answer: a bug, a storage
    error) is tried at most max_attempts times, then moved to the failed events.

    Args:
        first_delay: seconds before the first resend.
        max_delay: the longest wait before a resend.
        max_attempts: tries of an event that meets unexpected errors (at least 1).
    """

    first_delay: float = SENDER_FIRST_BACKOFF
    max_delay: float = SENDER_MAX_BACKOFF
    max_attempts: int = SENDER_MAX_ATTEMPTS

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ConfigurationError("max_attempts must be >= 1")
        if self.first_delay < 0 or self.max_delay < 0:
            raise ConfigurationError("delays must be >= 0")

    def delay(self, attempts: int) -> float:
        """Seconds before an event tried `attempts` times already (0: never failed before) is
        sent again."""
        # 2**attempts grows past any max_delay long before it overflows a float: bounded.
        return float(min(self.max_delay, self.first_delay * 2.0 ** min(attempts, 64)))

    def gives_up(self, attempts: int) -> bool:
        """Whether an event that met an unexpected error on its try number `attempts` (1: the
        first) is failed for good instead of sent again."""
        return attempts >= self.max_attempts


def not_sent() -> APIConnectionError:
    """The error of a request that was not sent because its policy stopped (retryable)."""
    return APIConnectionError("not sent: no new request starts (the sender is closing)")


@dataclass(frozen=True)
class Send:
    request: Any


@dataclass(frozen=True)
class Sleep:
    seconds: float


Step = Send | Sleep
Outcome = TikTokResponse | PyttEventsError | None


def attempt_flow(
    request: Any,
    policy: RetryPolicy,
    on_retry: Callable[[RetryEvent], None] | None,
    url_path: str,
) -> Generator[Step, Outcome, TikTokResponse]:
    """Send request until it succeeds, fails for good, or the policy gives up.

    Raises:
        PyttEventsError: the last error, when it is not retryable or retries are exhausted.
            Its `attempts` attribute says how many times the request was sent.
    """
    retries = 0
    while True:
        outcome = yield Send(request)
        if isinstance(outcome, TikTokResponse):
            return outcome
        if not isinstance(outcome, PyttEventsError):  # pragma: no cover - drivers send one
            raise TypeError(f"unexpected outcome {outcome!r}")
        outcome.attempts = retries + 1
        if not policy.should_retry(outcome, retries):
            raise outcome
        wait = policy.delay(retries, getattr(outcome, "retry_after", None))
        if on_retry is not None:
            on_retry(RetryEvent(retries + 1, outcome, wait, url_path))
        retries += 1
        yield Sleep(wait)
        if policy.stopped():  # it stopped while waiting: no new attempt
            raise outcome
