"""What becomes of the requests of a bulk send, with no I/O: each planned request sent, and,
when TikTok refuses it whole for one bad event, its parts (isolation, within a budget); the
progress told after each; and the BulkResponse made of every request's outcome. Both clients
drive the generator (_base_client's decisions); _response holds the result types.
"""

from __future__ import annotations

import logging
import math
import re
import threading
from collections import Counter
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from typing import Any

from pytt_events import _families
from pytt_events._constants import ISOLATED_CODES, MAX_ISOLATED
from pytt_events._coverage import Coverage
from pytt_events._exceptions import (
    FATAL_ERRORS,
    BulkSendError,
    InvalidRequestError,
    PyttEventsError,
)
from pytt_events._plan import Plan, PlannedRequest
from pytt_events._response import (
    BulkResponse,
    FailedEvent,
    TikTokResponse,
    retry_later,
)
from pytt_events._retry import RetryPolicy, not_sent
from pytt_events._transport import with_body

logger = logging.getLogger("pytt_events")


def _named_index(events_key: str, message: str) -> int | None:
    """The position TikTok's message names in a request's events ("data.3.event_id: ...",
    "Batch.0.properties...": the family's events key, then the position), or None."""
    match = re.match(rf"\s*{re.escape(events_key)}[.\[](\d+)", message, re.IGNORECASE)
    return int(match.group(1)) if match else None


def isolate(planned: PlannedRequest, error: PyttEventsError) -> list[PlannedRequest] | None:
    """What to send instead of a multi-event request TikTok refused whole for its parameters
    (TikTok refuses a whole request with 40002 when one event is bad), so that one bad event
    does not cost the others: None when there is nothing to isolate.

    When TikTok's message names an event ("data.3.event_id: ...", "Batch.0.properties..."),
    that event alone and the others together; otherwise the two halves.
    """
    chunk = planned.chunk
    count = len(chunk.indices)
    if (
        count < 2
        or chunk.events_key is None
        or not isinstance(error, InvalidRequestError)
        or error.code not in ISOLATED_CODES
    ):
        return None
    named = _named_index(chunk.events_key, getattr(error, "message", "") or "")
    if named is not None and 0 <= named < count:
        cuts = [(named, named + 1), (0, named), (named + 1, count)]
    else:
        half = count // 2
        cuts = [(0, half), (half, count)]
    parts = []
    for start, stop in cuts:
        if start < stop:
            part = chunk.part(start, stop)
            parts.append(
                PlannedRequest(part, with_body(planned.request, part.body, len(part.indices)))
            )
    return parts


def isolation_budget(events: int) -> int:
    """The most extra requests isolation sends for one refused request of `events` events."""
    return 2 * MAX_ISOLATED * max(1, math.ceil(math.log2(max(events, 2))))


#: What became of the events of one planned request: each request actually sent (the planned
#: one, or the parts it was split into) with its outcome (None: not sent, after a fatal error).
Delivery = list[tuple[PlannedRequest, "TikTokResponse | PyttEventsError | None"]]


@dataclass(frozen=True)
class BulkProgress:
    """How far a bulk send is, after each request: events and requests done of the total
    (a request split to isolate bad events counts once, when all its parts are done)."""

    events_done: int
    events_total: int
    requests_done: int
    requests_total: int


class ProgressTracker:
    """Counts the finished requests of a plan and tells on_progress (from any thread)."""

    def __init__(self, plan: Plan, on_progress: Callable[[BulkProgress], None] | None) -> None:
        self._on_progress = on_progress
        self._lock = threading.Lock()
        self._events = 0
        self._requests = 0
        self._events_total = plan.events
        self._requests_total = len(plan.requests)

    def finished(self, planned: PlannedRequest) -> None:
        if self._on_progress is None:
            return
        # Told under the lock: the counts a callback sees never go back.
        with self._lock:
            self._events += len(planned.chunk.indices)
            self._requests += 1
            self._on_progress(
                BulkProgress(self._events, self._events_total, self._requests, self._requests_total)
            )


def deliveries(
    planned: PlannedRequest, policy: RetryPolicy, isolate_invalid: bool = True
) -> Generator[PlannedRequest, TikTokResponse | PyttEventsError, Delivery]:
    """What to send for one planned request, and what became of its events: sent, then,
    when TikTok refuses it whole for one bad event, its parts (see isolate), one at a time,
    within isolation_budget. Each twin drives it: it is sent each part's outcome (it may
    return before yielding anything). A fatal error (authentication, permission) stops the
    parts not yet sent; so does a retry policy that stopped (they fail as not sent)."""
    delivery: Delivery = []
    pending = [planned]
    budget = isolation_budget(len(planned.chunk.indices))
    while pending:
        part = pending.pop(0)
        if policy.stopped():
            delivery.extend((rest, not_sent()) for rest in (part, *pending))
            break
        outcome = yield part
        parts = None
        if isinstance(outcome, PyttEventsError) and isolate_invalid:
            parts = isolate(part, outcome)
            if parts is not None and len(parts) > budget:
                parts = None  # past the budget: the rest fail with TikTok's answer
        if parts is None:
            delivery.append((part, outcome))
            if isinstance(outcome, FATAL_ERRORS):
                delivery.extend((rest, None) for rest in pending)  # not sent
                break
            continue
        if part is planned:
            logger.info(
                "TikTok refused a request of %d events (code %s); sending it again in "
                "parts to isolate the bad events",
                len(part.chunk.indices),
                getattr(outcome, "code", None),
            )
        budget -= len(parts)
        pending[0:0] = parts  # depth first: the parts of a part go next, in order
    return delivery


def bulk_result(plan: Plan, deliveries: Sequence[Delivery | None]) -> BulkResponse:
    """The result of a plan from what became of each planned request (None: not sent,
    after a fatal error, which then counts for it too).

    Raises:
        BulkSendError: some events failed; its result lists every one.
    """
    if not plan.requests:
        if not plan.invalid:
            logger.info("%s: no events given, nothing was sent", plan.caller)
        return BulkResponse(responses=(), accepted=(), invalid=plan.invalid)
    pairs: list[tuple[PlannedRequest, TikTokResponse | PyttEventsError | None]] = []
    for planned, delivery in zip(plan.requests, deliveries, strict=True):
        pairs.extend(delivery if delivery is not None else [(planned, None)])
    fatal = next((o for _, o in pairs if isinstance(o, FATAL_ERRORS)), None)
    responses: list[TikTokResponse] = []
    response_indices: list[tuple[int, ...]] = []
    accepted: list[int] = []
    failed: list[FailedEvent] = []
    for planned, outcome in pairs:
        chunk = planned.chunk
        if isinstance(outcome, TikTokResponse):
            responses.append(outcome)
            response_indices.append(chunk.indices)
            accepted.extend(chunk.indices)
            continue
        error = outcome if outcome is not None else fatal
        assert error is not None
        failed.extend(
            FailedEvent(index, error, payload)
            for index, payload in zip(chunk.indices, chunk.single_payloads(), strict=True)
        )
    failed.sort(key=lambda item: item.index)
    result = BulkResponse(
        responses=tuple(responses),
        accepted=tuple(sorted(accepted)),
        failed=tuple(failed),
        response_indices=tuple(response_indices),
        invalid=plan.invalid,
        dropped_keys=plan.dropped,
        event_ids=plan.event_ids,
        coverage=plan.coverage,
    )
    logger.debug("%s: %s", plan.caller, result.message)
    if failed:
        first = failed[0].error
        raise BulkSendError(f"{result.message}; first failure: {first}", result) from first
    return result


#: The event source of the families whose bodies name none (Events 1.0: web events).
WEB_SOURCE = "web"

#: Events counted for telemetry: (outcome, family, event source, code, error type) -> count.
EventCounts = Counter[tuple[str, str, str, "int | None", "str | None"]]


def chunk_source(planned: PlannedRequest) -> tuple[str, str]:
    """The family and event source of a planned request's events."""
    chunk = planned.chunk
    return chunk.family.name, str(chunk.top.get("event_source") or WEB_SOURCE)


def body_source(body: Any, version: str) -> tuple[str, str]:
    """The family and event source of a stored one-event body ("", "" when it is of no
    family: a body that is not valid)."""
    family = _families.detect(body, version)
    if family is None:
        return "", ""
    try:
        top = family.split(body)[0]
    except ValueError:
        return family.name, ""
    return family.name, str(top.get("event_source") or WEB_SOURCE)


def event_counts(plan: Plan, result: BulkResponse) -> EventCounts:
    """The events of a bulk send for telemetry: by outcome, family, event source, TikTok's
    code and the error's type (payloads left out as invalid were not sent: not counted). As
    BulkResponse.outcomes says, counted a request at a time (no object an event)."""
    where: dict[int, tuple[str, str]] = {}
    for planned in plan.requests:
        where.update(dict.fromkeys(planned.chunk.indices, chunk_source(planned)))
    counts: EventCounts = Counter()
    dropped = result.dropped_keys
    for indices, response in zip(result.response_indices, result.responses, strict=False):
        if not indices:
            continue
        family, source = where[indices[0]]  # (a request's events share them)
        if response.partial_success:
            counts[("partial", family, source, response.code, None)] += len(indices)
            continue
        without = sum(1 for index in indices if index in dropped) if dropped else 0
        if without:
            counts[("accepted_keys_dropped", family, source, 0, None)] += without
        if len(indices) > without:
            counts[("accepted", family, source, 0, None)] += len(indices) - without
    for failed in result.failed:
        family, source = where[failed.index]
        error = failed.error
        name = "retried" if retry_later(error) else "failed"
        code = getattr(error, "code", None)
        counts[(name, family, source, code, type(error).__name__)] += 1
    return counts


def delivered_coverage(plan: Plan, result: BulkResponse) -> dict[tuple[str, str], Coverage]:
    """The match-key coverage of the events TikTok got (accepted, or in a request answered
    20001), by family and event source, for telemetry: an event failed now and sent again
    later is counted when it gets there, once."""
    where: dict[int, tuple[int, tuple[str, str]]] = {}
    for planned in plan.requests:
        source = chunk_source(planned)
        chunk = planned.chunk
        for index, mask in zip(chunk.indices, chunk.match_keys, strict=True):
            where[index] = (mask, source)
    found: dict[tuple[str, str], Coverage] = {}
    for indices in result.response_indices:
        for index in indices:
            mask, source = where[index]
            coverage = found.get(source)
            if coverage is None:
                coverage = found[source] = Coverage()
            coverage.add(mask)
    return found


def single_counts(plan: Plan, outcome: TikTokResponse | PyttEventsError) -> EventCounts:
    """The one event of post_event for telemetry (see event_counts)."""
    family, source = chunk_source(plan.requests[0])
    if isinstance(outcome, TikTokResponse):
        status = "partial" if outcome.partial_success else "accepted"
        if status == "accepted" and plan.dropped.get(0):
            status = "accepted_keys_dropped"
        return Counter({(status, family, source, outcome.code, None): 1})
    name = "retried" if retry_later(outcome) else "failed"
    code = getattr(outcome, "code", None)
    return Counter({(name, family, source, code, type(outcome).__name__): 1})
