"""What a send returns: TikTok's answer to one request, and the summary of a bulk send."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

from pytt_events._constants import PARTIAL_SUCCESS
from pytt_events._coverage import Coverage
from pytt_events._exceptions import FATAL_ERRORS, APIError, PyttEventsError


@dataclass(frozen=True)
class TikTokResponse:
    """TikTok's answer to one request: the envelope {code, message, request_id, data}.

    `response.json()` returns the envelope as TikTok sent it, as the original package's
    `requests.Response` did, so `response.json()['code']` keeps working.
    """

    code: int
    message: str
    request_id: str | None
    data: Mapping[str, Any]
    http_status: int
    #: How many events the request carried.
    events: int
    _envelope: Mapping[str, Any] = field(repr=False, compare=False)
    #: post_event: the match keys its event was sent without (values that cannot be match
    #: keys), each as "path: reason", never the value.
    dropped_keys: tuple[str, ...] = ()

    @property
    def status_code(self) -> int:
        """The HTTP status (as on a requests.Response)."""
        return self.http_status

    @property
    def partial_success(self) -> bool:
        """True when TikTok accepted the request but rejected some of its events (20001)."""
        return self.code == PARTIAL_SUCCESS

    def json(self) -> dict[str, Any]:
        """The envelope as TikTok sent it (a copy)."""
        return copy.deepcopy(dict(self._envelope))


@dataclass(frozen=True)
class FailedEvent:
    """An event of a bulk send that was not accepted: its position in the input, the final
    error, and the event as a request body of its own (hashed, as it was sent), ready to be
    stored and sent again."""

    index: int
    error: PyttEventsError
    payload: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def reason(self) -> str:
        """Why it failed, in one line (code, message and request_id; never the payload)."""
        return str(self.error) or type(self.error).__name__


@dataclass(frozen=True)
class EventOutcome:
    """What became of one event of a bulk send (BulkResponse.outcomes), by its input position.

    status: "accepted"; "partial" (its request was answered 20001: TikTok may have rejected
    some events of it, naming none; sending it again would change nothing); "failed" (`error`
    says why, `payload` is the event as a body of its own, hashed, ready to be sent again).
    `code` is 0, 20001 or TikTok's code (None: no answer), `reason` one line (never the
    payload). `retry_later`: a failed event that a later attempt may deliver (a network
    failure, a rate limit, a server error, or credentials and permissions to fix); False for
    what TikTok refused for good (40002, ...). `dropped_keys`: the match keys it was sent
    without (values that cannot be match keys), each as "path: reason".
    """

    index: int
    status: Literal["accepted", "partial", "failed"]
    event_id: str | None = None
    code: int | None = None
    reason: str | None = None
    request_id: str | None = None
    error: PyttEventsError | None = field(default=None, repr=False)
    retry_later: bool = False
    dropped_keys: tuple[str, ...] = ()
    payload: Mapping[str, Any] | None = field(default=None, repr=False)


def retry_later(error: BaseException) -> bool:
    """Whether a later attempt may deliver what failed with error: anything but TikTok's
    refusal for good (a network failure, a rate limit or a server error; credentials and
    permissions, once fixed)."""
    if not isinstance(error, APIError):
        return True
    return error.retryable or isinstance(error, FATAL_ERRORS)


@dataclass(frozen=True)
class InvalidPayload:
    """A stored payload send_payloads(skip_invalid=True) did not send: its position among the
    payloads given, and each problem as (field path, reason)."""

    number: int
    errors: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class BulkResponse:
    """The outcome of post_events_in_bulk: one TikTokResponse per request sent, and for every
    input event (by position) whether it was accepted or failed.

    `code` is 0 when every request succeeded, 20001 when any was a partial success; `json()`
    gives {code, message, request_id, data: {responses: [...each request's envelope...]}}.
    An empty input sends nothing: no responses, code 0, a message saying so.
    """

    responses: tuple[TikTokResponse, ...]
    accepted: tuple[int, ...]
    failed: tuple[FailedEvent, ...] = ()
    #: For each response, the input positions of the events its request carried.
    response_indices: tuple[tuple[int, ...], ...] = ()
    #: Payloads send_payloads(skip_invalid=True) left out as invalid.
    invalid: tuple[InvalidPayload, ...] = ()
    #: The events sent without some of their match keys (values that cannot be match keys,
    #: left out with a warning): by input position, each key as "path: reason", never the
    #: value. Empty when every key given was used.
    dropped_keys: Mapping[int, tuple[str, ...]] = field(default_factory=dict)
    #: The event_id of each event sent, by input position.
    event_ids: Mapping[int, str | None] = field(default_factory=dict, repr=False)
    #: The match-key coverage of the events sent, accepted or not (pytt_events.coverage):
    #: the share carrying each match key, and each event's match-strength grade (a heuristic).
    coverage: Coverage = field(default_factory=Coverage, repr=False, compare=False)

    @property
    def outcomes(self) -> tuple[EventOutcome, ...]:
        """One EventOutcome per event sent, in input order: what the sender, Spark and the
        replay of a file each report, worked out once."""
        found: list[EventOutcome] = []
        ids, dropped = self.event_ids, self.dropped_keys
        for indices, response in zip(self.response_indices, self.responses, strict=False):
            partial = response.partial_success
            for index in indices:
                found.append(
                    EventOutcome(
                        index,
                        "partial" if partial else "accepted",
                        ids.get(index),
                        response.code if partial else 0,
                        f"TikTok answered {response.code} (partial success: {response.message}): "
                        "it may have rejected this event"
                        if partial
                        else None,
                        response.request_id,
                        dropped_keys=dropped.get(index, ()),
                    )
                )
        for failed in self.failed:
            error = failed.error
            found.append(
                EventOutcome(
                    failed.index,
                    "failed",
                    ids.get(failed.index),
                    getattr(error, "code", None),
                    failed.reason,
                    getattr(error, "request_id", None),
                    error,
                    retry_later(error),
                    dropped.get(failed.index, ()),
                    failed.payload,
                )
            )
        found.sort(key=lambda outcome: outcome.index)
        return tuple(found)

    def __repr__(self) -> str:  # a summary: a result of 10,000 failures is not a 1.6 MB repr
        return (
            f"BulkResponse(accepted={len(self.accepted)}, failed={len(self.failed)}, "
            f"requests={len(self.responses)}, invalid={len(self.invalid)}, code={self.code})"
        )

    def failures_by_reason(self, first: int = 3) -> list[tuple[str, int, tuple[int, ...]]]:
        """The failed events grouped by reason: (reason, how many, the first positions), the
        most frequent reason first."""
        groups: dict[str, list[int]] = {}
        for failed in self.failed:
            groups.setdefault(failed.reason, []).append(failed.index)
        ranked = sorted(groups.items(), key=lambda item: (-len(item[1]), item[1][0]))
        return [(reason, len(indexes), tuple(indexes[:first])) for reason, indexes in ranked]

    @property
    def partial_successes(self) -> tuple[tuple[tuple[int, ...], TikTokResponse], ...]:
        """The requests TikTok answered with 20001 (some events rejected), with the positions of
        their events and TikTok's answer (its message and data say which, as TikTok reports)."""
        return tuple(
            (indices, response)
            for indices, response in zip(self.response_indices, self.responses, strict=False)
            if response.partial_success
        )

    def failed_payloads(self) -> list[dict[str, Any]]:
        """The failed events as request bodies, one event each, in input order."""
        return [dict(failed.payload) for failed in sorted(self.failed, key=lambda f: f.index)]

    def write_failed(self, target: str | Path | IO[str]) -> int:
        """Write the failed events as NDJSON (one request body per line) to a path or an open
        text file; `send_payloads` sends such lines again. Returns the number written."""
        lines = [
            json.dumps(payload, separators=(",", ":")) + "\n" for payload in self.failed_payloads()
        ]
        if isinstance(target, (str, Path)):
            with open(target, "w", encoding="utf-8") as handle:
                handle.writelines(lines)
        else:
            target.writelines(lines)
        return len(lines)

    @property
    def code(self) -> int:
        if any(response.partial_success for response in self.responses):
            return PARTIAL_SUCCESS
        return 0

    @property
    def message(self) -> str:
        if not self.responses and not self.failed and not self.invalid:
            return "no events given: nothing was sent"
        text = f"{len(self.accepted)} event(s) accepted in {len(self.responses)} request(s)"
        if self.failed:
            text += f", {len(self.failed)} failed"
        if self.invalid:
            text += f", {len(self.invalid)} invalid payload(s) not sent"
        if self.dropped_keys:
            text += f", {len(self.dropped_keys)} sent without some match keys (dropped_keys)"
        if self.code == PARTIAL_SUCCESS:
            text += "; TikTok reported a partial success (see responses)"
        return text

    @property
    def request_id(self) -> str | None:
        return self.responses[0].request_id if self.responses else None

    @property
    def request_ids(self) -> tuple[str | None, ...]:
        return tuple(response.request_id for response in self.responses)

    @property
    def status_code(self) -> int:
        return self.responses[-1].http_status if self.responses else 200

    def json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "request_id": self.request_id,
            "data": {"responses": [response.json() for response in self.responses]},
        }
