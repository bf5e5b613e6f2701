"""A local emulation of TikTok's Events API, for tests and for trying the SDK without an account.

    with SandboxServer() as sandbox:            # a real HTTP server on 127.0.0.1, any free port
        auth = TikTokAuth(TIKTOK_ACCESS_TOKEN=sandbox.access_token, TIKTOK_PIXEL_ID="PIXEL",
                          TIKTOK_API_BASE_URL=sandbox.base_url)
        TikTokEventsApi().post_event(event, auth=auth)
        sandbox.received[-1].body               # what "TikTok" got

It serves POST /open_api/<version>/<endpoint> for every request family of every schema in this
build, checks the Access-Token header, validates the body against the same schema the models
come from, records what it received, and answers as TikTok does: HTTP 200 and
{"code", "message", "request_id", "data"}; 40105 for a missing or wrong token, 40002 naming
the field for a body that fails the schema (or, by default, carries unhashed personal data).

Fault modes make it misbehave like TikTok or the network sometimes do, per instance:

    SandboxServer(faults=[FaultPlan(Fault.RATE_LIMIT, first=3, retry_after=1)])

    Fault.RATE_LIMIT    answer code 40100 (with Retry-After when retry_after is set)
    Fault.SERVER_ERROR  answer HTTP 500 with no envelope
    Fault.DELAY         wait `delay` seconds, then process and answer normally
    Fault.TIMEOUT       wait `delay` seconds, then close the connection unanswered, unprocessed
    Fault.DROP          close the connection without an answer, before processing
    Fault.MALFORMED     process the request, then answer HTTP 200 with a body that is not JSON
    Fault.PARTIAL       process a valid request, then answer code 20001 (partial success)

A plan picks its requests in one of two ways:

    FaultPlan(Fault.DROP, attempts=2, share=0.5, seed=1)   by content: the same in every run
    FaultPlan(Fault.DROP, first=3, every=5)                 by arrival order
    FaultPlan(Fault.DELAY, every=1, delay=3)                every request

A plan that would pick no request (`FaultPlan(Fault.DELAY, delay=3)`: none of attempts, first,
every), or that says more than it can do (both ways at once, share or seed without attempts,
retry_after for a fault that never answers with it), is refused with a ConfigurationError.

By content, a plan picks a share of the distinct requests (told apart by the event_ids they
carry, or by their bytes) with a seeded hash, and each picked request meets the fault on its
first `attempts` deliveries, then passes. Which requests meet which faults then depends on
nothing but the requests themselves, never on the order concurrent requests arrive in: use it
for every test that sends concurrently. By arrival, a plan applies to the first `first` requests
and then to every `every`-th one, counted as they arrive: exact with one request at a time.

`bad_events` (event_ids) makes it refuse, like TikTok, a whole request with 40002 when one of
its events is bad for a reason the SDK cannot see, naming the bad event's index only with
`name_bad_index=True`: for tests of the clients' isolation of bad events.

Raw personal data anywhere in a body (a value shaped like an e-mail address or an
international phone number, percent-encoded or not: a URL's query, a description, a custom
property) is noted in the request's record (`raw_personal_data`: the JSON paths, never the
values); with `strict_personal_data=True` such a request is refused with 40002 naming the
paths. TikTok takes such bodies, so the default is not strict; the SDK's own tests run strict
(they set `Sandbox.strict_personal_data_default`).

It deduplicates as TikTok does (TikTok's help page "event-deduplication", as the project's
../shared/TIKTOK-API-NOTES.md reads it in "Deduplication"), so a test can show that a resend
is harmless. An event's key (`DedupKey`) is its pixel (pixel_code; or
its event set: event_source_id) + its event name + its event_id; an event without an event_id
but with a `_ttp` cookie (context.user.ttp in 1.0, user.ttp in 2.0) is keyed on the cookie
instead ("TikTok will attempt to deduplicate" on it); an event with neither always counts. A
copy that arrives within 48 hours of the first counted copy of its key is a duplicate; the
first copy after that counts again and opens a new window. Inside one batch, the later items
are the copies. TikTok answers a duplicate like any other event (code 0): only the record
tells them apart.

    clock = ManualClock()                                 # a clock that moves when told
    with SandboxServer(clock=clock) as sandbox:
        ...                                               # send the same event twice
        sandbox.received[-1].counted                      # (False,): a duplicate
        sandbox.counted_by_key()                          # {DedupKey(...): [the first copy]}
        clock.advance(48 * 3600)                          # now a copy counts again

Each request TikTok took (code 0, or 20001 for Fault.PARTIAL; under Fault.DELAY and
Fault.MALFORMED too, which process the request) says per event whether it counted
(`ReceivedRequest.counted`); a request TikTok refused (a wrong token, a body that fails the
schema, bad_events) or that a fault kept from being processed (RATE_LIMIT, SERVER_ERROR,
TIMEOUT, DROP) counts nothing. The time is the sandbox's `clock` (default time.time).

`keep=N` keeps only the latest N requests in `received` (`keep=0`: none), so a long load
test does not grow the sandbox to gigabytes; `requests_received`, `events_accepted`,
`events_counted` and `duplicates` count everything all the same, and deduplication remembers
every key (the key and a time, not the event).

It serves TikTok's read-back of what it received too, GET /open_api/<version>/pixel/event/stats/
(advertiser_id, pixel_ids and date_range, the last two as JSON text, as TikTok's own SDK sends
them), from what it counted: the events that counted (duplicates left out), per pixel (or event
source id), event name and UTC day of the event's time (event_time; 1.0: timestamp), summed
over the range as TikTok does, in the shape described in pytt_events._stats (a standard
event's name under pixel_event_type, another under custom_event_type). It checks the token
(40105) and the advertiser (`advertiser_id`, SANDBOX_ADVERTISER_ID by default; another is
answered 40001), and refuses more than 10 pixel ids or a range of more than 30 days (40002).
`deny_stats=True` answers every statistics request with TikTok's permission error (40001),
as for a token without the permission to read them. Fault plans apply to these requests too
(RATE_LIMIT, SERVER_ERROR, TIMEOUT and DROP as to any request, DELAY delays the answer;
MALFORMED and PARTIAL, which are about events, pass them by); such a request is recorded in
`received` with no family and no events. `daily_counts()` gives the same counts,
per day.

The same sandbox can also serve in-process: `sandbox.transport()` is an httpx transport (sync
and async) driven by the same handler, for fine-grained tests without sockets.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import functools
import hashlib
import itertools
import json
import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping, MutableSequence, Sequence
from dataclasses import dataclass, field
from enum import Enum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple
from urllib.parse import parse_qs

from pytt_events import _families, _schema, _stats
from pytt_events._constants import (
    API_ROOT_PATH,
    DEDUP_WINDOW_SECONDS,
    DEFAULT_API_VERSION,
    PARTIAL_SUCCESS,
    SANDBOX_ADVERTISER_ID,
    SANDBOX_POLL_SECONDS,
    SANDBOX_PROBLEMS_LISTED,
    STATS_ENDPOINT,
    STATS_MAX_PIXEL_IDS,
    STATS_MAX_RANGE_DAYS,
)
from pytt_events._constants import SANDBOX_ACCESS_TOKEN as DEFAULT_ACCESS_TOKEN
from pytt_events._exceptions import ConfigurationError
from pytt_events._hashing import raw_personal_data
from pytt_events._mock_transport import SimulatedNetworkError, mock_transport

if TYPE_CHECKING:
    from pytt_events.event import Event

__all__ = [
    "DEFAULT_ACCESS_TOKEN",
    "SANDBOX_ADVERTISER_ID",
    "DedupKey",
    "Fault",
    "FaultPlan",
    "ManualClock",
    "ReceivedRequest",
    "Sandbox",
    "SandboxServer",
    "quick_start_event",
    "request_key",
]


class Fault(str, Enum):
    """A way the sandbox can misbehave (see the module's documentation)."""

    RATE_LIMIT = "rate_limit"
    SERVER_ERROR = "server_error"
    DELAY = "delay"
    TIMEOUT = "timeout"
    DROP = "drop"
    MALFORMED = "malformed"
    PARTIAL = "partial"


@dataclass(frozen=True)
class FaultPlan:
    """Which requests meet a fault (see the module's documentation).

    By content (`attempts` > 0): `share` (0 to 1) of the distinct requests, picked by a hash of
    `seed` and the request's key (`request_key`), each meet the fault on their first `attempts`
    deliveries (retries of the same request count as further deliveries); order-independent.
    By arrival (`attempts` = 0): the first `first` requests, counted from 1 per sandbox, then
    every `every`-th (0: none; 1: every request). `delay` is for DELAY and TIMEOUT;
    `retry_after` (seconds) adds a Retry-After header to RATE_LIMIT and SERVER_ERROR answers.

    Raises:
        ConfigurationError: the plan would pick no request (none of attempts, first, every
            given), mixes both ways, gives share or seed without attempts, or retry_after
            for a fault that never answers with it."""

    fault: Fault
    first: int = 0
    every: int = 0
    delay: float = 0.5
    retry_after: float | None = None
    attempts: int = 0
    share: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0.0 <= self.share <= 1.0:
            raise ConfigurationError(f"share must be between 0 and 1, not {self.share!r}")
        if self.attempts < 0 or self.first < 0 or self.every < 0:
            raise ConfigurationError("attempts, first and every must not be negative")
        # A plan does what it says or is refused: none picks no request, or ignores an option.
        name = f"FaultPlan(Fault.{self.fault.name})"
        if self.attempts > 0 and (self.first or self.every):
            raise ConfigurationError(
                f"{name}: attempts picks requests by content, first and every by arrival: "
                "give one or the other"
            )
        if not (self.attempts or self.first or self.every):
            if self.share != 1.0 or self.seed != 0:
                raise ConfigurationError(
                    f"{name}: share and seed pick requests by content: give attempts= too "
                    "(how many deliveries of each picked request meet the fault)"
                )
            raise ConfigurationError(
                f"{name} picks no request: give attempts= (by content, with share= and "
                "seed=), or first= and/or every= (by arrival; every=1: every request)"
            )
        if self.retry_after is not None and self.fault not in _RETRY_AFTER_FAULTS:
            raise ConfigurationError(
                f"{name}: retry_after is for RATE_LIMIT and SERVER_ERROR answers only"
            )

    def picks(self, key: str) -> bool:
        """Whether this plan picks the request with this key (`request_key`), by content."""
        digest = hashlib.sha256(f"{self.seed}:{key}".encode()).digest()
        return int.from_bytes(digest[:8], "big") < self.share * 2**64

    def selects(self, body: Any) -> bool:
        """Whether a by-content plan picks the request with this (decoded JSON) body."""
        return self.attempts > 0 and self.picks(request_key(body, b""))

    def applies(self, number: int, key: str = "", delivery: int = 1) -> bool:
        """Whether the `number`-th request to arrive, the `delivery`-th with this key, meets it."""
        if self.attempts > 0:
            return delivery <= self.attempts and self.picks(key)
        return number <= self.first or (self.every > 0 and number % self.every == 0)


_RETRY_AFTER_FAULTS = (Fault.RATE_LIMIT, Fault.SERVER_ERROR)


def _listed(problems: Iterable[str]) -> str:
    """The message of a 40002: the first problems, and how many more."""
    problems = list(problems)
    shown = "; ".join(problems[:SANDBOX_PROBLEMS_LISTED])
    more = len(problems) - SANDBOX_PROBLEMS_LISTED
    return f"{shown}; and {more} more" if more > 0 else shown


#: The faults that keep a request from being processed (no event of it is counted).
_UNPROCESSED = frozenset({Fault.RATE_LIMIT, Fault.SERVER_ERROR, Fault.TIMEOUT, Fault.DROP})


def request_key(payload: Any, body: bytes) -> str:
    """What tells requests apart for by-content fault plans: the event_ids of the events the
    body carries, in order (a retry carries the same ones), or the body's bytes when an event
    has none."""
    events = _families.events_of(payload)
    ids = [event.get("event_id") for event in events if isinstance(event, dict)]
    strings = [i for i in ids if isinstance(i, str) and i]
    if events and len(strings) == len(events):
        return "ids:" + "\n".join(strings)
    return "sha256:" + hashlib.sha256(body).hexdigest()


class DedupKey(NamedTuple):
    """What TikTok deduplicates an event on (../shared/TIKTOK-API-NOTES.md, "Deduplication"):
    "the pixel (or event set) + event + event_id". `source` is the pixel code (pixel_code in
    Events 1.0) or the event source's ID (event_source_id in 2.0): a web event sent through
    either for the same pixel has the same key. An event without an event_id but with a `_ttp`
    cookie, which TikTok "will attempt to deduplicate" on, is keyed on the cookie: `event_id`
    is None and `ttp` holds it."""

    source: str
    event: str
    event_id: str | None
    ttp: str | None = None


def _dedup_keys(family: str, body: Any, api_version: str | None) -> list[DedupKey | None]:
    """The deduplication key (`DedupKey`) of each event of a body of a request family, in the
    order of its events (None for an event with neither an event_id nor a `_ttp` cookie, or not
    an object: such an event always counts)."""
    owner = _families.family(family, api_version or DEFAULT_API_VERSION)
    try:
        top, events = owner.split(body)
    except (ValueError, AttributeError):
        return []
    return [_key_of({**top, **event}) if isinstance(event, dict) else None for event in events]


def _count_keys(
    family: str, body: Any, api_version: str | None, now: float
) -> list[_stats.CountKey | None]:
    """The key each event of a body is counted under in the statistics (_stats.count_key), in
    the order of its events."""
    owner = _families.family(family, api_version or DEFAULT_API_VERSION)
    try:
        top, events = owner.split(body)
    except (ValueError, AttributeError):
        return []
    return [_stats.count_key(top, e, now) if isinstance(e, dict) else None for e in events]


def _key_of(event: Mapping[str, Any]) -> DedupKey | None:
    """One event's key, its request-level fields merged in (a batch's pixel_code, a 2.0 body's
    event_source_id). The rule, from ../shared/TIKTOK-API-NOTES.md ("Deduplication"): pixel
    (or event set) + event + event_id; without an event_id, the `_ttp` cookie (1.0:
    context.user.ttp, 2.0: user.ttp) in its place; with neither, no key."""
    source = event.get("pixel_code") or event.get("event_source_id")
    name = event.get("event")
    if not isinstance(source, str) or not isinstance(name, str):
        return None
    event_id = event.get("event_id")
    if isinstance(event_id, str) and event_id:
        return DedupKey(source, name, event_id)
    ttp = _dig(event, "user", "ttp") or _dig(event, "context", "user", "ttp")
    if isinstance(ttp, str) and ttp:
        return DedupKey(source, name, None, ttp)
    return None


@functools.cache
def _standard_events() -> frozenset[str]:
    """TikTok's standard web event names (the models' SupportedEvents): the sandbox's
    statistics name them under pixel_event_type, any other under custom_event_type."""
    from pytt_events.models.v1_3 import SupportedEvents

    return frozenset(str(member.value) for member in SupportedEvents)


def _dig(node: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node


class ManualClock:
    """A clock for the sandbox that moves only when told, so a test crosses TikTok's 48-hour
    deduplication window without waiting: `SandboxServer(clock=clock)`, then
    `clock.advance(48 * 3600)`. It starts at `start` (default: the time it is made)."""

    def __init__(self, start: float | None = None) -> None:
        self._now = time.time() if start is None else float(start)
        self._lock = threading.Lock()

    def __call__(self) -> float:
        """The current time, in seconds since the epoch."""
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        """Move the clock on by `seconds` (not back: a negative value is refused); returns the
        new time.

        Raises:
            ConfigurationError: seconds is negative."""
        if seconds < 0:
            raise ConfigurationError("a ManualClock moves forward only")
        with self._lock:
            self._now += seconds
            return self._now


@dataclass(frozen=True)
class Answer:
    """What the sandbox does with one request: answer (status, headers, content), after
    waiting `delay` seconds, unless `drop` ("drop" or "timeout") says to close the connection
    unanswered."""

    status: int
    headers: Mapping[str, str]
    content: bytes
    delay: float = 0.0
    drop: str | None = None
    record: ReceivedRequest | None = field(default=None, repr=False)


@dataclass(frozen=True)
class ReceivedRequest:
    """One request the sandbox received, and the code it answered."""

    path: str
    api_version: str | None
    family: str | None
    body: Any
    #: The TikTok code answered (None when a fault left no envelope: HTTP 500, drop, ...).
    code: int | None
    request_id: str
    headers: Mapping[str, str] = field(repr=False)
    fault: Fault | None = None
    #: Where the body carried raw personal data (dotted JSON paths, e.g. "data.0.page.url"; never
    #: the values): a value shaped like an e-mail address or an international phone number.
    raw_personal_data: tuple[str, ...] = ()
    #: Per event of `events`, in order: True if it counted, False if it was a duplicate of an
    #: event counted less than 48 hours earlier (see the module's documentation). Empty when
    #: TikTok did not take the request (refused, or a fault kept it from being processed).
    counted: tuple[bool, ...] = ()
    #: Per event of `events`, in order: its deduplication key (None: neither event_id nor
    #: `_ttp`, so it always counts). Empty when TikTok did not take the request.
    dedup_keys: tuple[DedupKey | None, ...] = ()

    @property
    def events(self) -> list[Any]:
        """The events the body carried (one for a single-event body)."""
        return _families.events_of(self.body)

    @property
    def counted_events(self) -> list[Any]:
        """The events of this request that counted (none when TikTok did not take it)."""
        return [event for event, counted in zip(self.events, self.counted, strict=False) if counted]

    @property
    def duplicate_events(self) -> list[Any]:
        """The events of this request that TikTok took but dropped as duplicates."""
        return [
            event for event, counted in zip(self.events, self.counted, strict=False) if not counted
        ]


class Sandbox:
    """The emulator's logic, with no I/O: `respond()` maps a request to TikTok's answer."""

    #: strict_personal_data of a sandbox built without it: False, as TikTok takes such bodies.
    #: The SDK's own test suite sets it to True (tests/conftest.py), so every test runs strict.
    strict_personal_data_default: ClassVar[bool] = False

    def __init__(
        self,
        access_token: str = DEFAULT_ACCESS_TOKEN,
        *,
        require_hashed: bool = True,
        strict_personal_data: bool | None = None,
        faults: FaultPlan | Sequence[FaultPlan] = (),
        bad_events: Collection[str] = (),
        name_bad_index: bool = False,
        keep: int | None = None,
        clock: Callable[[], float] = time.time,
        advertiser_id: str = SANDBOX_ADVERTISER_ID,
        deny_stats: bool = False,
    ) -> None:
        if keep is not None and keep < 0:
            raise ConfigurationError("keep must be None (everything) or at least 0")
        self.access_token = access_token
        self.require_hashed = require_hashed
        #: Refuse (40002, naming the paths) a body with raw personal data anywhere, instead of
        #: only noting it in the record (None: strict_personal_data_default).
        self.strict_personal_data = (
            self.strict_personal_data_default
            if strict_personal_data is None
            else strict_personal_data
        )
        #: event_ids of events TikTok would refuse for a reason the SDK cannot see: a request
        #: carrying any of them is refused whole with 40002, as TikTok does (naming the bad
        #: event's index only with name_bad_index, as TikTok often does not).
        self.bad_events = frozenset(bad_events)
        self.name_bad_index = name_bad_index
        self.faults: tuple[FaultPlan, ...] = (
            (faults,) if isinstance(faults, FaultPlan) else tuple(faults)
        )
        #: The requests received, oldest first: all of them, or (keep=N) the latest N only, so
        #: a long load test does not grow the sandbox without bound (keep=0: none).
        self.received: MutableSequence[ReceivedRequest] = (
            [] if keep is None else collections.deque(maxlen=keep)
        )
        #: The sandbox's time (seconds since the epoch): deduplication windows and request_ids.
        #: A ManualClock lets a test move it on (`clock.advance(48 * 3600)`).
        self.clock = clock
        #: Requests received and events accepted (code 0 or 20001, duplicates included), whatever
        #: is kept; of the accepted events, those that counted and the duplicates.
        self.requests_received = 0
        self.events_accepted = 0
        self.events_counted = 0
        self.duplicates = 0
        # Per key: when its current window opened (its latest counted copy), by self.clock.
        self._windows: dict[DedupKey, float] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._requests = itertools.count(1)
        self._deliveries: collections.Counter[str] = collections.Counter()
        #: The advertiser whose statistics it serves (GET pixel/event/stats/), and whether it
        #: refuses them all with TikTok's permission error (40001).
        self.advertiser_id = advertiser_id
        self.deny_stats = deny_stats
        # The events that counted, per (pixel or event source id, event, UTC day of its time).
        self._daily: collections.Counter[_stats.CountKey] = collections.Counter()

    def daily_counts(self) -> dict[tuple[str, str, dt.date], int]:
        """The events that counted (duplicates left out), per (pixel or event source id, event
        name, UTC day of the event's time): what its statistics endpoint answers from."""
        with self._lock:
            daily = dict(self._daily)
        return {(s, e, dt.date.fromisoformat(d)): n for (s, e, d), n in daily.items()}

    def deliveries(self) -> collections.Counter[str]:
        """How many times each event_id reached the sandbox, whatever it answered."""
        with self._lock:
            requests = list(self.received)
        return collections.Counter(
            str(event.get("event_id"))
            for request in requests
            for event in request.events
            if isinstance(event, dict)
        )

    def transport(self) -> Any:
        """An in-process httpx transport (sync and async) answered by this sandbox."""

        def handler(
            method: str, path: str, headers: Mapping[str, str], body: bytes
        ) -> tuple[int, Mapping[str, str], bytes]:
            answer = self.respond(method, path, headers, body)
            if answer.delay:
                time.sleep(answer.delay)
            if answer.drop:
                raise SimulatedNetworkError(answer.drop)
            return answer.status, answer.headers, answer.content

        return mock_transport(handler)

    def accepted_events(self) -> list[Any]:
        """Every event of every request answered with code 0 or 20001, in arrival order."""
        with self._lock:
            requests = list(self.received)
        return [
            event
            for request in requests
            if request.code in (0, PARTIAL_SUCCESS)
            for event in request.events
        ]

    def counted_events(self) -> list[Any]:
        """Every event that counted (not a duplicate), in arrival order, of the requests kept
        (see keep); events without a key included."""
        with self._lock:
            requests = list(self.received)
        return [event for request in requests for event in request.counted_events]

    def counted_by_key(self) -> dict[DedupKey, list[Any]]:
        """The events that counted, per deduplication key, oldest first, of the requests kept
        (see keep): one per key, unless copies came 48 hours or more apart. Events with no key
        (neither event_id nor `_ttp`) are not here: see counted_events."""
        with self._lock:
            requests = list(self.received)
        found: dict[DedupKey, list[Any]] = {}
        for request in requests:
            # counted and dedup_keys are empty for a request TikTok did not take.
            outcomes = zip(request.events, request.dedup_keys, request.counted, strict=False)
            for event, key, counted in outcomes:
                if counted and key is not None:
                    found.setdefault(key, []).append(event)
        return found

    def reset(self) -> None:
        """Forget what was received (and how often each request was delivered, so by-content
        fault plans start over, and which events counted, so every key counts again)."""
        with self._lock:
            self.received.clear()
            self._deliveries.clear()
            self._windows.clear()
            self._daily.clear()
            self.requests_received = self.events_accepted = 0
            self.events_counted = self.duplicates = 0

    def _route(self, path: str) -> tuple[str | None, str | None]:
        if not path.startswith(API_ROOT_PATH):
            return None, None
        version, _, endpoint = path.removeprefix(API_ROOT_PATH).partition("/")
        if version not in _schema.known_versions():
            return version, None
        wanted = endpoint.strip("/")
        for family in _families.families(version).values():
            if family.endpoint.strip("/") == wanted:
                return version, family.name
        return version, None

    def respond(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> Answer:
        """What TikTok (with this sandbox's faults) does with a request."""
        number = next(self._requests)
        fault = self._fault_for(number, body)
        stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime(self.clock()))
        request_id = f"{stamp}{next(self._ids):012X}"
        path, _, query = path.partition("?")
        version, family = self._route(path)
        lowered = {key.lower(): value for key, value in headers.items()}
        payload: Any = None
        status = 200
        code: int | None
        stats_path = f"{API_ROOT_PATH}{version}/{STATS_ENDPOINT}"
        if method == "GET" and version in _schema.known_versions() and path == stats_path:
            # The faults that keep a request from being processed meet a read too (a test of
            # its retries); DELAY delays it; MALFORMED and PARTIAL are about events.
            if fault is not None and fault.fault in _UNPROCESSED:
                return self._fault(fault, path, version, None, lowered, body, request_id)
            answer = self._stats_answer(lowered, query, request_id)
            if fault is not None and fault.fault is Fault.DELAY:
                answer = dataclasses.replace(answer, delay=fault.delay)
            return answer
        if method != "POST":
            status, code, message = 405, 40000, f"{method} is not supported; use POST"
        elif family is None:
            status, code = 404, 40400
            message = f"no such endpoint: {path}"
        elif fault is not None and fault.fault not in (Fault.DELAY, Fault.MALFORMED, Fault.PARTIAL):
            return self._fault(fault, path, version, family, lowered, body, request_id)
        else:
            code, message, payload = self._check(version or "", family, lowered, body)
        if fault is not None and fault.fault is Fault.PARTIAL and code == 0:
            code, message = (
                PARTIAL_SUCCESS,
                "Partial success: some events were rejected (sandbox fault)",
            )
        record = self._record(path, version, family, payload, code, request_id, lowered, fault)
        envelope = {"code": code, "message": message, "request_id": request_id, "data": {}}
        content = json.dumps(envelope).encode("utf-8")
        if fault is not None and fault.fault is Fault.MALFORMED:
            content = content[: len(content) // 2]
        return Answer(
            status,
            {"Content-Type": "application/json"},
            content,
            delay=fault.delay if fault is not None and fault.fault is Fault.DELAY else 0.0,
            record=record,
        )

    def _stats_answer(self, headers: Mapping[str, str], query: str, request_id: str) -> Answer:
        """TikTok's answer to GET pixel/event/stats/, from what this sandbox counted."""
        code, message, data = self._stats_check(headers, parse_qs(query))
        envelope = {"code": code, "message": message, "request_id": request_id, "data": data}
        return Answer(200, {"Content-Type": "application/json"}, json.dumps(envelope).encode())

    def _stats_check(
        self, headers: Mapping[str, str], query: Mapping[str, list[str]]
    ) -> tuple[int, str, dict[str, Any]]:
        token = headers.get("access-token")
        if not token:
            return 40105, "Access token is null, please check your Access-Token header.", {}
        if token != self.access_token:
            return 40105, "Access token is incorrect or has been revoked.", {}
        advertiser = (query.get("advertiser_id") or [""])[0]
        if not advertiser:
            return 40002, "advertiser_id: Missing data for required field.", {}
        if self.deny_stats or advertiser != self.advertiser_id:
            return 40001, (
                f"No permission to operate advertiser {advertiser} (sandbox"
                f"{' deny_stats' if self.deny_stats else ': not its advertiser_id'})."
            ), {}  # fmt: skip
        try:
            pixels = json.loads((query.get("pixel_ids") or [""])[0])
            span = json.loads((query.get("date_range") or [""])[0])
            start = dt.date.fromisoformat(span["start_date"])
            end = dt.date.fromisoformat(span["end_date"])
        except (ValueError, TypeError, KeyError):
            return 40002, (
                "pixel_ids (a JSON list) and date_range (a JSON object of start_date and "
                "end_date, YYYY-MM-DD) are required."
            ), {}  # fmt: skip
        if not isinstance(pixels, list) or not pixels or len(pixels) > STATS_MAX_PIXEL_IDS:
            return 40002, f"pixel_ids: 1 to {STATS_MAX_PIXEL_IDS} pixel ids.", {}
        if end < start or (end - start).days >= STATS_MAX_RANGE_DAYS:
            return 40002, f"date_range: at most {STATS_MAX_RANGE_DAYS} days, start first.", {}
        standard = _standard_events()
        totals: dict[str, collections.Counter[str]] = {
            str(p): collections.Counter() for p in pixels
        }
        with self._lock:
            daily = list(self._daily.items())
        for (source, event, day), count in daily:
            if source in totals and start.isoformat() <= day <= end.isoformat():
                totals[source][event] += count
        return 0, "OK", {
            "list": [
                {
                    "pixel_id": pixel,
                    "statistics": [
                        {
                            "pixel_event_type" if event in standard else "custom_event_type": event,
                            "total_count": count,
                            "server_event_total_count": count,
                            "browser_event_total_count": 0,
                            "attributed_count": 0,
                            "preview_count": 0,
                        }
                        for event, count in sorted(counts.items())
                    ],
                }
                for pixel, counts in totals.items()
            ]
        }  # fmt: skip

    def _fault_for(self, number: int, body: bytes) -> FaultPlan | None:
        """The first plan that applies to this request, if any."""
        if not self.faults:
            return None
        key = ""
        delivery = 1
        if any(plan.attempts > 0 for plan in self.faults):
            try:
                payload = json.loads(body)
            except ValueError:
                payload = None
            key = request_key(payload, body)
            with self._lock:
                self._deliveries[key] += 1
                delivery = self._deliveries[key]
        return next((plan for plan in self.faults if plan.applies(number, key, delivery)), None)

    def _fault(
        self,
        plan: FaultPlan,
        path: str,
        version: str | None,
        family: str | None,
        headers: Mapping[str, str],
        body: bytes,
        request_id: str,
    ) -> Answer:
        """An answer for the faults that keep the request from being processed."""
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        extra = {"Retry-After": f"{plan.retry_after:g}"} if plan.retry_after is not None else {}
        code: int | None = None
        if plan.fault is Fault.RATE_LIMIT:
            code = 40100
            envelope = {
                "code": code,
                "message": "Too many requests. Please retry in some time.",
                "request_id": request_id,
                "data": {},
            }
            answer = Answer(
                200, {"Content-Type": "application/json", **extra}, json.dumps(envelope).encode()
            )
        elif plan.fault is Fault.SERVER_ERROR:
            answer = Answer(500, {"Content-Type": "text/plain", **extra}, b"Internal Server Error")
        elif plan.fault is Fault.TIMEOUT:
            answer = Answer(200, {}, b"", delay=plan.delay, drop="timeout")
        else:  # Fault.DROP
            answer = Answer(200, {}, b"", drop="drop")
        record = self._record(path, version, family, payload, code, request_id, headers, plan)
        return dataclasses.replace(answer, record=record)

    def _record(
        self,
        path: str,
        version: str | None,
        family: str | None,
        payload: Any,
        code: int | None,
        request_id: str,
        headers: Mapping[str, str],
        fault: FaultPlan | None,
    ) -> ReceivedRequest:
        taken = code in (0, PARTIAL_SUCCESS) and family is not None
        keys = tuple(_dedup_keys(family, payload, version)) if taken and family else ()
        now = self.clock()
        counting = _count_keys(family, payload, version, now) if taken and family else []
        record = ReceivedRequest(
            path=path,
            api_version=version,
            family=family,
            body=payload,
            code=code,
            request_id=request_id,
            headers={k: v for k, v in headers.items() if k != "access-token"},
            fault=fault.fault if fault is not None else None,
            raw_personal_data=tuple(path for path, _ in raw_personal_data(payload)),
            dedup_keys=keys,
        )
        with self._lock:
            # Under the lock: a request's events are deduplicated together, against every
            # request recorded before it (the later items of a batch are the copies).
            if taken:
                record = dataclasses.replace(record, counted=self._deduplicate(keys))
                for counted, key in zip(record.counted, counting, strict=False):
                    if counted and key is not None:
                        self._daily[key] += 1
                self.events_accepted += len(record.events)
                self.events_counted += sum(record.counted)
                self.duplicates += len(keys) - sum(record.counted)
            self.received.append(record)
            self.requests_received += 1
        return record

    def _deduplicate(self, keys: Sequence[DedupKey | None]) -> tuple[bool, ...]:
        """Whether each event of a request TikTok took counts (with self._lock held). TikTok
        drops an Events API copy "within 48 hours of the first" (../shared/TIKTOK-API-NOTES.md,
        "Deduplication"): a key's window opens at the copy that counts and lasts
        DEDUP_WINDOW_SECONDS; the first copy at or after its end counts and opens a new one."""
        now = self.clock()
        counted: list[bool] = []
        for key in keys:
            opened = self._windows.get(key) if key is not None else None
            if opened is not None and now - opened < DEDUP_WINDOW_SECONDS:
                counted.append(False)
                continue
            if key is not None:
                self._windows[key] = now
            counted.append(True)
        return tuple(counted)

    def _check(
        self, version: str, family: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, str, Any]:
        token = headers.get("access-token")
        if not token:
            return 40105, "Access token is null, please check your Access-Token header.", None
        if token != self.access_token:
            return 40105, "Access token is incorrect or has been revoked.", None
        try:
            payload = json.loads(body)
        except ValueError:
            return 40002, "The request body is not valid JSON.", None
        # Imported at the first request: a process that starts a sandbox loads the schema
        # validators when it is sent something, as one that sends to TikTok does.
        from pytt_events.validation import validate_payload

        # TikTok takes what only earns a warning: errors only.
        problems = validate_payload(
            payload, family, api_version=version, require_hashed=self.require_hashed, warn=False
        )
        if problems:
            return 40002, _listed(
                f"{problem.path.strip('/').replace('/', '.') or '<body>'}: {problem.message}"
                for problem in problems
            ), payload  # fmt: skip
        if self.strict_personal_data:
            found = list(raw_personal_data(payload))
            if found:
                return 40002, _listed(
                    f"{path}: Invalid value: raw personal data ({kind}); TikTok takes personal "
                    "data only SHA-256-hashed (sandbox strict_personal_data)"
                    for path, kind in found
                ), payload  # fmt: skip
        if self.bad_events:
            for index, event in enumerate(_families.events_of(payload)):
                if isinstance(event, dict) and event.get("event_id") in self.bad_events:
                    key = _families.family(family, version).events_key if family else None
                    where = (
                        f"{key}.{index}." if self.name_bad_index and key and key in payload else ""
                    )
                    return 40002, f"{where}event_id: Invalid value (sandbox bad_events)", payload
        return 0, "OK", payload


class SandboxServer(Sandbox):
    """The sandbox behind a real HTTP server on 127.0.0.1 (port 0: any free port), served from
    a background thread. Use it as a context manager, or call start() and stop()."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        access_token: str = DEFAULT_ACCESS_TOKEN,
        *,
        require_hashed: bool = True,
        strict_personal_data: bool | None = None,
        on_request: Callable[[ReceivedRequest], None] | None = None,
        faults: FaultPlan | Sequence[FaultPlan] = (),
        bad_events: Collection[str] = (),
        name_bad_index: bool = False,
        keep: int | None = None,
        clock: Callable[[], float] = time.time,
        advertiser_id: str = SANDBOX_ADVERTISER_ID,
        deny_stats: bool = False,
    ) -> None:
        super().__init__(
            access_token,
            require_hashed=require_hashed,
            strict_personal_data=strict_personal_data,
            faults=faults,
            bad_events=bad_events,
            name_bad_index=name_bad_index,
            keep=keep,
            clock=clock,
            advertiser_id=advertiser_id,
            deny_stats=deny_stats,
        )
        self._address = (host, port)
        self._on_request = on_request
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise ConfigurationError("the sandbox is not running: call start() (or bind())")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """The value for TIKTOK_API_BASE_URL: http://127.0.0.1:<port>/open_api/."""
        return f"http://{self._address[0]}:{self.port}{API_ROOT_PATH}"

    def bind(self) -> SandboxServer:
        """Open the listening socket (so `port` and `base_url` are known); returns self."""
        if self._server is None:
            self._server = _QuietServer(self._address, _handler_for(self))
        return self

    def start(self) -> SandboxServer:
        """Start serving in a background thread; returns self."""
        if self._thread is not None:
            return self
        server = self.bind()._server
        assert server is not None
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": SANDBOX_POLL_SECONDS},
            name="pytt-events-sandbox",
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted (KeyboardInterrupt), then release the port."""
        server = self.bind()._server
        assert server is not None
        try:
            server.serve_forever(poll_interval=SANDBOX_POLL_SECONDS)
        finally:
            server.server_close()
            self._server = None

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._server is None:
            return
        if self._thread is not None:
            self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _notify(self, record: ReceivedRequest) -> None:
        if self._on_request is not None:
            self._on_request(record)


class _QuietServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer that does not print a traceback when a client hangs up (clients
    time out on DELAY and TIMEOUT faults: that is the point)."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        error = sys.exc_info()[1]
        if isinstance(error, (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)):
            return
        super().handle_error(request, client_address)


def _handler_for(sandbox: SandboxServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "pytt-events-sandbox"
        # Headers and body go out in two writes: without this, Nagle's algorithm holds the
        # body back until the client's delayed ACK, some 40 ms per request on keep-alive.
        disable_nagle_algorithm = True

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            answer = sandbox.respond(self.command, self.path, dict(self.headers), body)
            if answer.delay:
                time.sleep(answer.delay)
            if answer.drop:
                self.close_connection = True
            else:
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)
            if answer.record is not None:
                sandbox._notify(answer.record)

        do_POST = _answer  # noqa: N815 - http.server's naming
        do_GET = _answer  # noqa: N815
        do_PUT = _answer  # noqa: N815

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the sandbox's own records say what happened."""

    return Handler


def quick_start_event(pixel_code: str, test_event_code: str | None = None) -> Event:
    """The event of the original package's Quick Start (personal data included, as there):
    what `pytt-events demo` sends, and what tests build on."""
    from pytt_events.context import Ad, Context, Page, User
    from pytt_events.event import Event
    from pytt_events.properties import Content, ContentType, Properties

    context = Context(
        user_agent="Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/98.0.4758.109 Safari/537.36",
        ip="13.57.97.131",
        ad=Ad(callback="E.C.P.v3fQ2RHacdkfKfofPmlyuStIIHJ4Af1tKYxF9zz2c2PLx1Oaw15oHpcfl5AH"),
        page=Page(url="https://www.example.com", referrer="https://www.google.com"),
        user=User(
            external_id="123456",
            email="test@test.com",
            phone_number="+5541998862934",
            ttp="94e2a4j9-h3ss-k2h5-98cc-c84a745mk098",
        ),
    )
    properties = Properties(
        currency="BRL",
        value=1.00,
        description="mock description",
        query="mock query",
        status="mock status",
        contents=[
            Content(
                content_type=ContentType.PRODUCT,
                content_id="123456789",
                content_name="mock content name",
                content_category="mock content category",
                price=1.00,
                quantity=1,
            )
        ],
    )
    return Event(
        pixel_code=pixel_code,
        test_event_code=test_event_code,
        event="ViewContent",
        event_id="123456789",
        timestamp="2023-02-01T00:00:00-03:00",
        context=context,
        properties=properties,
    )
