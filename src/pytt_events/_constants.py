"""Every default and fixed number of the SDK, in one place (as in the Stainless SDKs'
_constants.py): defaults, limits, intervals, counts, and the names of tables, files, cookies
and tokens. Modules import them from here; none writes a second copy. A public module
re-exports those it made public (`pytt_events.sender.MAX_ATTEMPTS`,
`pytt_events.outbox.OUTBOX_SCHEMA_VERSION`, ...).

Not here: what the schema says (endpoints, per-request maximums, field limits), read from the
schema at run time (see _schema and _families); the bound of a memo, written beside it; and
the command line's own defaults (cli.py: it imports only public modules, and its help loads
no more than it needs; a test pins each value it shares with the library).
"""

from __future__ import annotations

from importlib import metadata

try:
    #: The installed package's version (the User-Agent carries it).
    VERSION = metadata.version("pytt-events-api")
except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
    VERSION = "0"

#: The API version used when neither TIKTOK_API_VERSION nor api_version says otherwise.
DEFAULT_API_VERSION = "v1.3"
#: The path of TikTok's API root, which the sandbox serves too (pytt_events.testing).
API_ROOT_PATH = "/open_api/"
#: TikTok's Business API root; TIKTOK_API_BASE_URL replaces it (the sandbox, a proxy).
DEFAULT_BASE_URL = "https://business-api.tiktok.com" + API_ROOT_PATH
#: Sent with every request.
USER_AGENT = f"pytt-events-api/{VERSION}"

#: Seconds to wait for TikTok per attempt.
DEFAULT_TIMEOUT = 10.0
#: Retries after the first attempt, the cap of the first backoff wait, the cap of any backoff
#: wait, and the longest Retry-After honoured (seconds): see RetryPolicy.
DEFAULT_MAX_RETRIES = 3
DEFAULT_INITIAL_DELAY = 0.5
DEFAULT_MAX_DELAY = 8.0
DEFAULT_MAX_RETRY_AFTER = 60.0
#: Requests of one bulk send in flight at once.
DEFAULT_CONCURRENCY = 4
#: The most bytes one request body may carry, as sent (compact JSON, UTF-8): past it, the
#: planner starts a new request, and an event whose own body is larger is refused, naming it.
#: TikTok states no size limit. Tealium's TikTok Events connector caps its batched requests at
#: 1 MB ("Max size of requests: 1 MB", docs.tealium.com/server-side-connectors/
#: tiktok-events-connector, Batch Limits): the one figure a production TikTok integration
#: documents, read as 1,000,000 bytes (the smaller reading). A full request of 1,000 typical
#: events (some 660 bytes each, hashed) stays within it.
REQUEST_BYTE_BUDGET = 1_000_000
#: Stored payloads read and sent at a time by send_file (memory stays bounded by it).
DEFAULT_BATCH_SIZE = 10_000

#: TikTok's code for "partial success": the request was taken, some of its events were
#: rejected. It does not raise.
PARTIAL_SUCCESS = 20001
#: The codes a multi-event request may be refused with because of one of its events (40002,
#: 40700), or because it is too big (40061): worth sending again in parts. Others (a wrong
#: partner_name, unhashed data everywhere) are about the request: every part would fail too.
ISOLATED_CODES = frozenset({40002, 40061, 40700})
#: How many bad events per request isolation looks for before it gives up on the rest: the
#: extra requests stay within 2·k·log2(n) for k up to this many.
MAX_ISOLATED = 8
#: TikTok deduplicates an event_id within this many seconds (48 hours): an event sent again
#: later may be counted twice.
DEDUP_WINDOW_SECONDS = 48 * 3600

# -- TikTok's event statistics (pytt_events._stats) -----------------------------------------

#: TikTok's read-back of the events it received, per pixel and event over a date range (a GET;
#: tiktok/tiktok-business-api-sdk, python_sdk/docs/MeasurementApi.md: pixel_event_stats).
STATS_ENDPOINT = "pixel/event/stats/"
#: The most pixel_ids one statistics request takes ("max 10" in TikTok's documentation as
#: bububa/tiktok-business carries it, pixel/event_stats.go); more go in several requests.
STATS_MAX_PIXEL_IDS = 10
#: The longest date_range TikTok takes, in days ("at most 30 days", the same source): the SDK
#: asks one day a request, so it never meets it; the sandbox refuses longer ranges as TikTok
#: does.
STATS_MAX_RANGE_DAYS = 30
#: The days `pytt-events stats` shows when not told: the last seven UTC days, today included.
STATS_DEFAULT_DAYS = 7

# -- stored payloads (pytt_events.stored) ---------------------------------------------------

#: Bytes read from a file of stored payloads at a time.
READ_CHUNK_BYTES = 1 << 16
#: How many payloads are read between two calls of on_progress.
PROGRESS_EVERY = 256
#: After this many unreadable lines in a row, the input is taken for something else than
#: stored payloads (a binary file, the wrong file) and reading stops, saying so.
MAX_UNREADABLE_IN_A_ROW = 1000

# -- warnings (_soft) -----------------------------------------------------------------------

#: At most this many different warnings are logged per process (custom property names can be
#: endless): then one last warning says so.
MAX_WARNINGS = 1000

# -- Spark (pytt_events.spark) ---------------------------------------------------------------

#: Rows each task of spark.send reads and sends at a time (one call of send_payloads).
SPARK_BATCH_SIZE = 1000
#: The most frequent problem messages spark.summary returns.
SPARK_SUMMARY_TOP = 20
#: The format name of the data source (`df.write.format("tiktok_events")`, Spark >= 4.0).
SPARK_SOURCE_NAME = "tiktok_events"
#: The data source's options whose values would show in explain() and the Spark UI are
#: refused when their name holds one of these words (credentials never travel as options).
SPARK_SECRET_OPTION_WORDS = ("token", "secret", "password")

# -- the background senders (pytt_events.sender) --------------------------------------------

#: Events claimed and sent at a time (one call of send_payloads, regrouped by family).
SENDER_BATCH = 1000
#: Tries after which an event that meets an unexpected error (not TikTok's answer: a bug, a
#: storage error) is moved to the failed events instead of being released again.
SENDER_MAX_ATTEMPTS = 8
#: Seconds between two log lines of the same error code met while sending (the first one is
#: logged at once: a revoked token is an ERROR the moment it is met).
SENDER_LOG_EVERY = 60.0
#: The wait (seconds) before an event that failed for now is sent again: it starts at
#: SENDER_FIRST_BACKOFF and doubles with each try, up to SENDER_MAX_BACKOFF (ResendPolicy).
SENDER_FIRST_BACKOFF = 1.0
SENDER_MAX_BACKOFF = 300.0
#: Seconds between sends of a batch that is not full.
DEFAULT_SEND_INTERVAL = 1.0
#: The bound of an in-memory outbox (MemoryOutbox, and a sender without an outbox file).
DEFAULT_MAX_PENDING = 10_000
#: How long EventSender.track waits for room in a full in-memory outbox (AsyncEventSender's
#: is 0: waiting would stop the event loop that makes room).
DEFAULT_BLOCK_TIMEOUT = 5.0
#: How long close() (and the flush at interpreter exit) waits in all, in seconds.
DEFAULT_EXIT_TIMEOUT = 5.0
#: Seconds a claimed batch is held (its lease), renewed while it is sent.
DEFAULT_LEASE = 120.0
#: A lease is renewed this many times per lease period while its batch is sent.
LEASE_RENEWALS = 3
#: Seconds close waits for the requests in flight past the client's timeout (a margin).
CLOSE_MARGIN = 5.0
#: Seconds between two looks of a flush at whether the worker is done (EventSender's, and
#: AsyncEventSender's, which asks from a thread).
FLUSH_POLL_SECONDS = 0.01
ASYNC_FLUSH_POLL_SECONDS = 0.02

# -- the outboxes (pytt_events.outbox) ------------------------------------------------------

#: SQLite's application_id of an outbox file ("ptte"): `PRAGMA application_id` tells an outbox
#: from any other database (`file` names it too, with a magic file that knows the number).
OUTBOX_APPLICATION_ID = 0x70747465
#: The outbox layout's version, in SQLite's user_version: 2 added each pending event's last
#: error, 3 the daily counts of accepted events (per event source, event and UTC day; no event
#: data). Files of versions 1 and 2 are brought up to date when opened for writing; a file of
#: a newer version is refused (a newer SDK made it).
OUTBOX_SCHEMA_VERSION = 3
#: Seconds an SQLite outbox waits for another connection's lock before it gives up.
SQLITE_BUSY_TIMEOUT = 30.0
#: Rows an SQLite outbox deletes or renews (OUTBOX_SLICE) or claims (OUTBOX_CLAIM_SLICE: a
#: claim writes each row's page again) in one transaction: an `add` on the request path
#: (another thread's) waits at most for one such slice, a few tenths of a millisecond.
OUTBOX_SLICE = 100
OUTBOX_CLAIM_SLICE = 25
#: The bodies an SQLite outbox keeps in memory for the rows this process added checked, so
#: that claiming them parses nothing (past it, rows are still marked, their bodies read back).
OUTBOX_KEPT_BODIES = 10_000
#: Rows settled between two checkpoints of the write-ahead log, which the worker runs
#: (SQLiteOutbox.done); OUTBOX_AUTOCHECKPOINT_PAGES (4 KiB each) is the bound at which any
#: commit checkpoints, should no worker settle rows.
OUTBOX_CHECKPOINT_ROWS = 1_000
OUTBOX_AUTOCHECKPOINT_PAGES = 10_000
#: The prefix of a PostgresOutbox's tables (`<prefix>_pending`, `<prefix>_failed`,
#: `<prefix>_accepted`).
DEFAULT_OUTBOX_TABLE = "tiktok_outbox"

# -- the sandbox (pytt_events.testing) ------------------------------------------------------

#: The access token the sandbox accepts unless told otherwise (a test token, public).
SANDBOX_ACCESS_TOKEN = "sandbox-access-token"  # noqa: S105 - the sandbox's, not a secret
#: The advertiser the sandbox serves statistics for unless told otherwise (a made-up ID).
SANDBOX_ADVERTISER_ID = "7000000000000000001"
#: The problems a sandbox's 40002 message lists before "and N more".
SANDBOX_PROBLEMS_LISTED = 5
#: How often the sandbox's serving thread checks for stop(): short, so tests start and stop
#: it quickly.
SANDBOX_POLL_SECONDS = 0.02

# -- web requests (pytt_events.web) ---------------------------------------------------------

#: The first-party cookie that keeps a landing page's ttclid for later requests.
TTCLID_COOKIE = "ttclid"
#: How long it is kept: TikTok's longest click-through attribution window, 28 days.
TTCLID_MAX_AGE = 28 * 24 * 3600
#: The cookie the TikTok pixel sets in the browser.
TTP_COOKIE = "_ttp"

# pytt_events.convert: the event_source of a Meta or ECAPI event that names no action_source
# or source (Meta requires one; a website is what most events without one come from).
CONVERT_DEFAULT_EVENT_SOURCE = "web"
