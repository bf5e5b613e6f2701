"""Validate and send stored payloads on Apache Spark, where the data already lives (an optional
extra: `pip install 'pytt-events-api[spark]'`, which brings pyarrow, and pyspark when the
runtime has none; Databricks brings its own).

On Spark >= 4.0 (Spark Connect included), the `tiktok_events` data source sends a DataFrame as
any sink is written to (its rows stored payloads, `value` or `payload`, or event columns):

    tts.register(session)                     # or register(session, auth_factory=...)
    lines.write.format("tiktok_events").mode("append").option("failed_path", path).save()
    frame.writeStream.format("tiktok_events").option("checkpointLocation", ...).start()
    tts.summaries(path)                       # what each write and micro-batch committed

Each task sends its rows with send()'s own steps and writes the events TikTok did not take to
failed_path (NDJSON `pytt-events send` takes); the commit sums the tasks' counts, logs them
and keeps them in failed_path/_summary. Credentials are read on the executors (TIKTOK_* or an
auth_factory): an option named like a secret is refused, as options show in explain().

On any Spark >= 3.3, the DataFrame functions:

    lines = session.read.text("s3://lake/tiktok/sent/*.ndjson.gz")   # raw text, a row a line
    verdicts = tts.validate(lines, require_hashed=True)
    print(tts.summary(verdicts))
    verdicts.filter("status != 'valid'").write.parquet("s3://lake/tiktok/problems/")

    outcomes = tts.send(lines, auth_factory=my_credentials)                 # one client per task
    outcomes.write.parquet("s3://lake/tiktok/outcomes/")                    # one action
    tts.write_failed(session.read.parquet("s3://lake/tiktok/outcomes/"), "s3://lake/tiktok/failed/")

Built on DataFrame APIs only (mapInArrow, Spark >= 3.3), so it runs under Spark Connect and in
Databricks' serverless and Standard access modes too. Text in, plain columns out: never SDK
objects (pydantic models would carry personal data into shuffle files).

Rules for sending:
- one action writes the outcomes (each action runs the sends again); speculation off
  (`spark.speculation=false`, the default), so no task runs twice at once;
- a task Spark retries sends its events again with the same event_id (stored ones keep theirs,
  those without get one derived from their content: TikTokEventsApi(missing_event_ids=...)),
  and TikTok deduplicates them within 48 hours;
- the total rate is concurrent tasks x max_concurrency requests in flight: `coalesce` the input
  to bound it.
"""

from __future__ import annotations

import datetime
import decimal
import itertools
import json
import logging
import os
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytt_events import schema as _public_schema
from pytt_events._constants import (
    DEFAULT_CONCURRENCY,
    SPARK_BATCH_SIZE,
    SPARK_SECRET_OPTION_WORDS,
    SPARK_SOURCE_NAME,
    SPARK_SUMMARY_TOP,
)
from pytt_events._exceptions import ConfigurationError, PyttEventsError
from pytt_events.stored import MissingEventIds, checked_missing_event_ids, parse_line

try:  # The Python data source API (df.write.format(...)) came with Spark 4.0.
    from pyspark.sql.datasource import (
        DataSource,
        DataSourceStreamWriter,
        DataSourceWriter,
        WriterCommitMessage,
    )
except ImportError:  # Spark 3.x, or no pyspark: the mapInArrow functions only
    _DATA_SOURCE_API = False
else:
    _DATA_SOURCE_API = True

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import DataFrame, SparkSession

    from pytt_events.auth import TikTokAuth
    from pytt_events.validation import Problem

__all__ = [
    "OUTCOME_SCHEMA",
    "SPARK_SOURCE_NAME",
    "register",
    "send",
    "summaries",
    "summary",
    "validate",
    "validate_files",
    "write_failed",
]

_EMPTY_ROW = "the row is empty: no JSON value"
_PROBLEMS = "problems array<struct<path:string,message:string>>"
_VERDICT = f"status string, severity string, {_PROBLEMS}"
#: The columns of send's outcomes.
OUTCOME_SCHEMA = (
    "event_id string, status string, code int, reason string, request_id string, payload string"
)


def _configure_logging(level: int = logging.WARNING) -> logging.Logger:
    """In a Python worker: the pytt_events logger only, `level` and up, to stderr (the task's
    log, or the driver's for a write's commit); never the root logger, which the runtime
    owns."""
    logger = logging.getLogger("pytt_events")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(level)
    elif logger.level > level:
        logger.setLevel(level)
    return logger


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)


def _verdict(problems: Sequence[Problem], unreadable: bool) -> tuple[str, str | None]:
    errors = any(problem.severity == "error" for problem in problems)
    if unreadable:
        return "unreadable", "error"
    if errors:
        return "invalid", "error"
    return "valid", ("warning" if problems else None)


def _verdict_fields() -> list[Any]:
    """The Arrow fields of a verdict (declared: inference would type an empty problem list
    as a list of nulls)."""
    import pyarrow as pa

    problem = pa.struct([("path", pa.string()), ("message", pa.string())])
    return [
        pa.field("status", pa.string()),
        pa.field("severity", pa.string()),
        pa.field("problems", pa.list_(problem)),
    ]


def _file_schema() -> Any:
    import pyarrow as pa

    return pa.schema(
        [pa.field("source", pa.string()), pa.field("line", pa.int32()), *_verdict_fields()]
    )


def _problem_rows(problems: Iterable[Problem]) -> list[dict[str, str]]:
    return [{"path": problem.path or "/", "message": problem.message} for problem in problems]


def validate(
    df: DataFrame,
    column: str = "value",
    *,
    require_hashed: bool = False,
    family: str | None = None,
    api_version: str | None = None,
    keep: Sequence[str] = (),
) -> DataFrame:
    """One verdict per row of raw text (a stored payload per row, as `spark.read.text` gives,
    or a `_corrupt_record` column): the `keep` columns, then `status` (valid | invalid |
    unreadable), `severity` (error | warning | null) and `problems` (path, message). The same
    verdicts and messages as validate_payload and `pytt-events validate`; messages never hold
    values. Validate raw text, not `spark.read.json` rows: its inferred schema changes them.
    """
    version = api_version or _public_schema.DEFAULT_API_VERSION
    kept = list(keep)
    fields = {field.name: field for field in df.schema.fields}
    schema = ", ".join(
        [f"`{name}` {fields[name].dataType.simpleString()}" for name in kept] + [_VERDICT]
    )

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        import pyarrow as pa

        from pytt_events.validation import Problem, validate_payload

        _configure_logging()
        for batch in batches:
            out: dict[str, list[Any]] = {name: batch.column(name).to_pylist() for name in kept}
            statuses, severities, problem_lists = [], [], []
            for number, value in enumerate(batch.column(column).to_pylist(), start=1):
                parsed = parse_line(_text(value) or "", "<row>", number)
                problems: list[Problem]
                if parsed is None or parsed.error is not None:
                    reason = parsed.error if parsed is not None else _EMPTY_ROW
                    problems = [Problem("", reason or _EMPTY_ROW)]
                    unreadable = True
                else:
                    problems = validate_payload(
                        parsed.payload, family, version, require_hashed, warn=True
                    )
                    unreadable = False
                status, severity = _verdict(problems, unreadable)
                statuses.append(status)
                severities.append(severity)
                problem_lists.append(_problem_rows(problems))
            out["status"] = statuses
            out["severity"] = severities
            out["problems"] = problem_lists
            fields = [batch.schema.field(name) for name in kept] + _verdict_fields()
            yield pa.RecordBatch.from_pydict(out, schema=pa.schema(fields))

    return df.select(*kept, column).mapInArrow(run, schema)


def validate_files(
    spark: SparkSession,
    paths: Sequence[str],
    *,
    require_hashed: bool = False,
    family: str | None = None,
    api_version: str | None = None,
) -> DataFrame:
    """Validate whole files, one task per file, through validate_file: the CLI's exact line
    numbers, `.json` arrays and damaged-gzip reports, for paths the executors can read.
    Columns: source, line, status, severity, problems."""
    version = api_version or _public_schema.DEFAULT_API_VERSION
    frame = spark.createDataFrame([(str(path),) for path in paths], "path string")
    frame = frame.repartition(max(1, len(paths)))
    schema = f"source string, line int, {_VERDICT}"

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        import pyarrow as pa

        from pytt_events.validation import Problem, validate_file

        _configure_logging()
        for batch in batches:
            for path in batch.column("path").to_pylist():
                rows: dict[str, list[Any]] = {
                    "source": [], "line": [], "status": [], "severity": [], "problems": []
                }  # fmt: skip
                try:
                    results = list(validate_file(path, family, version, require_hashed))
                except OSError as error:
                    reason = error.strerror or str(error)
                    rows["source"].append(path)
                    rows["line"].append(0)
                    rows["status"].append("unreadable")
                    rows["severity"].append("error")
                    rows["problems"].append(_problem_rows([Problem("", f"cannot read: {reason}")]))
                    yield pa.RecordBatch.from_pydict(rows, schema=_file_schema())
                    continue
                for result in results:
                    status, severity = _verdict(result.problems, result.unreadable)
                    rows["source"].append(result.source)
                    rows["line"].append(result.line)
                    rows["status"].append(status)
                    rows["severity"].append(severity)
                    rows["problems"].append(_problem_rows(result.problems))
                yield pa.RecordBatch.from_pydict(rows, schema=_file_schema())

    return frame.mapInArrow(run, schema)


def summary(verdicts: DataFrame, top: int = SPARK_SUMMARY_TOP) -> dict[str, Any]:
    """Counts by status, and the most frequent problem messages with their counts, from one
    aggregation (only its small result reaches the driver, never the problem rows)."""
    from pyspark.sql import functions as F  # noqa: N812 - Spark's convention

    exploded = verdicts.select(
        "status", F.posexplode_outer("problems").alias("position", "problem")
    )
    grouped = exploded.groupBy("status", F.col("problem.message").alias("message")).agg(
        F.sum(F.when(F.coalesce(F.col("position"), F.lit(0)) == 0, 1).otherwise(0)).alias("rows"),
        F.count("problem").alias("problems"),
    )
    statuses: dict[str, int] = {}
    messages: dict[str, int] = {}
    for row in grouped.collect():
        statuses[row["status"]] = statuses.get(row["status"], 0) + int(row["rows"])
        if row["message"] is not None:
            messages[row["message"]] = messages.get(row["message"], 0) + int(row["problems"])
    frequent = sorted(messages.items(), key=lambda item: (-item[1], item[0]))[:top]
    return {"rows": sum(statuses.values()), "status": statuses, "problems": frequent}


def send(
    df: DataFrame,
    column: str = "value",
    *,
    settings: Mapping[str, str] | None = None,
    auth_factory: Callable[[], TikTokAuth] | None = None,
    batch_size: int = SPARK_BATCH_SIZE,
    max_concurrency: int = DEFAULT_CONCURRENCY,
    retry: Any = None,
    api_version: str | None = None,
    missing_event_ids: MissingEventIds = "derive",
) -> DataFrame:
    """Send the stored payloads of a column of raw text, one client per task, and give one
    outcome row per event: event_id, status (accepted | partial | failed | invalid), code, reason,
    request_id, payload (the body of a failed event, hashed, as write_failed writes it; the
    raw line of an invalid one is never copied: it may hold unhashed personal data).

    Args:
        settings: TikTokAuth settings under the environment variables' names
            (TIKTOK_ACCESS_TOKEN, TIKTOK_PIXEL_ID, TIKTOK_API_BASE_URL, ...); they travel
            inside the task. auth_factory: builds the credentials on the executor instead
            (from a secret store), so the token need not travel at all.
        batch_size: rows read and sent at a time by each task.
        max_concurrency, retry, missing_event_ids: the client's (requests in flight per
            task; a RetryPolicy; "derive" an event_id from an event's content when it has
            none, so a task Spark retries sends it with the same one, or "refuse" such
            payloads: their rows are "invalid").
    """
    checked_missing_event_ids(missing_event_ids)  # on the driver, before any task runs
    if (settings is None) == (auth_factory is None):
        raise ValueError("give settings or auth_factory (one of them)")
    frozen = dict(settings) if settings is not None else None
    version = api_version

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        import pyarrow as pa

        from pytt_events import BulkSendError, TikTokAuth, TikTokEventsApi
        from pytt_events.replay import event_ids_of

        _configure_logging()
        auth = auth_factory() if auth_factory is not None else TikTokAuth(**frozen or {})
        with TikTokEventsApi(
            max_concurrency=max_concurrency, retry=retry, api_version=version,
            missing_event_ids=missing_event_ids,
        ) as api:  # fmt: skip
            for batch in batches:
                values = batch.column(column).to_pylist()
                for start in range(0, len(values), batch_size):
                    rows = _send_rows(
                        api, auth, values[start : start + batch_size], event_ids_of, BulkSendError
                    )
                    yield pa.RecordBatch.from_pylist(rows, schema=_outcome_arrow_schema())

    outcomes = df.select(column).mapInArrow(run, OUTCOME_SCHEMA)
    # write_failed refuses this lazy frame: computing it again would send every event again.
    # (Without pyspark installed, DataFrame is Any to mypy, and the ignore is unused.)
    outcomes._pytt_events_sends = True  # type: ignore[attr-defined,unused-ignore]
    return outcomes


def _outcome_arrow_schema() -> Any:
    import pyarrow as pa

    return pa.schema(
        [
            ("event_id", pa.string()),
            ("status", pa.string()),
            ("code", pa.int32()),
            ("reason", pa.string()),
            ("request_id", pa.string()),
            ("payload", pa.string()),
        ]
    )


def _send_rows(
    api: Any, auth: Any, values: list[Any], event_ids_of: Any, bulk_error: Any
) -> list[dict[str, Any]]:
    """The outcome rows of one batch of raw lines (or of bodies already built: a dict)."""
    rows: list[dict[str, Any]] = []
    payloads: list[Any] = []
    for value in values:
        if isinstance(value, dict):
            payloads.append(value)
            continue
        parsed = parse_line(_text(value) or "", "<row>", 1)
        if parsed is None or parsed.error is not None:
            reason = _EMPTY_ROW if parsed is None else parsed.error
            rows.append(_outcome(None, "invalid", None, reason, None, None))
        else:
            payloads.append(parsed.payload)
    if not payloads:
        return rows
    version = api.api_version or auth.TIKTOK_API_VERSION
    # Ids and counts from one function, so positions never shift (a body of no known family
    # counts as one event, with no id).
    per_payload = [event_ids_of(payload, version) or [None] for payload in payloads]
    ids: list[str | None] = [event_id for found in per_payload for event_id in found]
    try:
        result = api.send_payloads(payloads, auth, skip_invalid=True)
    except bulk_error as error:
        result = error.result
    # Positions count the events of the payloads sent, in order; invalid payloads take none.
    invalid = {item.number: item for item in result.invalid}
    sent_ids: list[str | None] = []
    cursor = 0
    for number in range(len(payloads)):
        count = len(per_payload[number])
        if number in invalid:
            reason = "; ".join(f"{path}: {why}" for path, why in invalid[number].errors)
            for event_id in ids[cursor : cursor + count] or [None]:
                rows.append(_outcome(event_id, "invalid", None, reason, None, None))
        else:
            sent_ids.extend(ids[cursor : cursor + count])
        cursor += count
    for outcome in result.outcomes:
        rows.append(
            _outcome(
                sent_ids[outcome.index],
                outcome.status,
                outcome.code,
                outcome.reason,
                outcome.request_id,
                None
                if outcome.payload is None
                else json.dumps(outcome.payload, separators=(",", ":")),
            )
        )
    return rows


def _outcome(
    event_id: str | None,
    status: str,
    code: int | None,
    reason: str | None,
    request_id: str | None,
    payload: str | None,
) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "status": status,
        "code": code,
        "reason": reason,
        "request_id": request_id,
        "payload": payload,
    }


def write_failed(outcomes: DataFrame, path: str, *, mode: str = "errorifexists") -> None:
    """Write the failed events of send's outcomes as NDJSON text (a folder of part files, as
    Spark writes; each part is a file `pytt-events send` accepts). `mode` is Spark's save mode
    ("errorifexists": an existing folder is never replaced unless asked, "overwrite", ...).

    Give it outcomes that were written (read back: `spark.read.parquet(...)`) or cached: the
    frame send() returns is lazy, and writing it would send every event again. That frame
    itself is refused; one derived from it (a filter, a repartition) cannot be told apart,
    and would send again.
    """
    if getattr(outcomes, "_pytt_events_sends", False) and not outcomes.is_cached:
        raise ValueError(
            "write_failed was given send()'s own lazy frame: computing it would send every "
            "event again. Write the outcomes first (outcomes.write.parquet(path)) and give "
            "spark.read.parquet(path), or cache them (outcomes.cache(), then an action)"
        )
    failed = outcomes.filter(outcomes.status == "failed").select("payload")
    failed.write.mode(mode).text(path)


# -- the data source: df.write.format("tiktok_events"), writeStream (Spark >= 4.0) ------------

#: The data source's options that are TikTokAuth settings (not secret), by the option's name.
_AUTH_OPTIONS = {
    "pixel_id": "TIKTOK_PIXEL_ID",
    "api_base_url": "TIKTOK_API_BASE_URL",
    "test_event_code": "TIKTOK_TEST_EVENT_CODE",
}
_OPTIONS = (
    *_AUTH_OPTIONS,
    "api_version",
    "batch_size",
    "column",
    "event_source",
    "event_source_id",
    "failed_path",
    "max_concurrency",
    "missing_event_ids",
)
#: The options Spark itself adds to a sink's (writeStream's checkpointLocation).
_SPARK_OPTIONS = ("checkpointlocation",)
#: Where failed_path keeps the reasons of invalid rows and the commits' summaries (names
#: starting with "_": Spark and Hadoop take them for metadata, `failed-*.ndjson` stay alone).
_INVALID_DIR = "_invalid"
_SUMMARY_DIR = "_summary"
_COUNTED = ("accepted", "partial", "failed", "invalid")


@dataclass(frozen=True)
class _WriteOptions:
    """The data source's options, checked on the driver (picklable, no secret)."""

    column: str | None  # the stored payloads' column; None: the rows are events
    auth_settings: dict[str, str] = field(default_factory=dict)
    api_version: str | None = None
    event_source: str | None = None
    event_source_id: str | None = None
    missing_event_ids: MissingEventIds = "derive"
    failed_path: str | None = None
    batch_size: int = SPARK_BATCH_SIZE
    max_concurrency: int = DEFAULT_CONCURRENCY


def _write_options(options: Mapping[str, str], schema: Any) -> _WriteOptions:
    """The options of one write, checked against the rows' schema.

    Raises:
        ConfigurationError: an option would carry a secret, is unknown or has a wrong value,
            or the payload column is not text.
    """
    given = {str(key).lower(): str(value) for key, value in options.items()}
    for key in given:
        if any(word in key for word in SPARK_SECRET_OPTION_WORDS):
            raise ConfigurationError(
                f"the option {key!r} is refused: option values show in explain() and the "
                "Spark UI. Give the access token as the rest of the SDK reads it: "
                "TIKTOK_ACCESS_TOKEN in the executors' environment (spark.executorEnv."
                "TIKTOK_ACCESS_TOKEN, which Spark redacts, or the cluster's environment "
                "variables from a secret scope), or register(spark, auth_factory=...)"
            )
    unknown = sorted(set(given) - set(_OPTIONS) - set(_SPARK_OPTIONS))
    if unknown:
        raise ConfigurationError(
            f"unknown option(s) of {SPARK_SOURCE_NAME}: {', '.join(unknown)} "
            f"(known: {', '.join(sorted(_OPTIONS))})"
        )
    fields = {item.name: item for item in schema.fields}
    column = given.get("column")
    if column is None:
        column = next((name for name in ("value", "payload") if name in fields), None)
    if column is not None:
        if column not in fields:
            raise ConfigurationError(f"option column: the rows have no column {column!r}")
        kind = fields[column].dataType.typeName()
        if kind not in ("string", "binary"):
            raise ConfigurationError(
                f"column {column!r} holds {kind}, not text: a stored payload is a JSON text "
                "(spark.read.text gives it as `value`); to send event columns, name none "
                "`value` or `payload`"
            )
    failed_path = given.get("failed_path")
    if failed_path is not None:
        failed_path = failed_path.removeprefix("file://")
        if "://" in failed_path or not failed_path.strip():
            raise ConfigurationError(
                "option failed_path must be a folder the executors and the driver write as "
                "files (a local or mounted path: /Volumes/..., /dbfs/..., a shared disk), not "
                f"a URL such as {failed_path.split('://')[0]}://..."
            )
    checked = checked_missing_event_ids(given.get("missing_event_ids", "derive"))
    numbers: dict[str, int] = {}
    for name, default in (
        ("batch_size", SPARK_BATCH_SIZE),
        ("max_concurrency", DEFAULT_CONCURRENCY),
    ):
        try:
            numbers[name] = int(given.get(name, default))
        except ValueError:
            raise ConfigurationError(f"option {name} must be a whole number") from None
        if numbers[name] < 1:
            raise ConfigurationError(f"option {name} must be at least 1")
    return _WriteOptions(
        column=column,
        auth_settings={env: given[name] for name, env in _AUTH_OPTIONS.items() if name in given},
        api_version=given.get("api_version"),
        event_source=given.get("event_source"),
        event_source_id=given.get("event_source_id"),
        missing_event_ids=checked,
        failed_path=failed_path,
        batch_size=numbers["batch_size"],
        max_concurrency=numbers["max_concurrency"],
    )


def _plain(value: Any) -> Any:
    """A Spark row's value as JSON would carry it: nulls left out (Spark fills a struct's
    missing fields with them), timestamps as Unix seconds, decimals as numbers."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, datetime.datetime):
        return int(value.timestamp())
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    return value


def _replace_file(folder: str, name: str, lines: Sequence[str]) -> None:
    """Write (or, with no lines, remove) folder/name whole: a task Spark runs again replaces
    its own file, never adds a second copy."""
    path = Path(folder) / name
    if not lines:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{name}.{uuid.uuid4().hex}.tmp")
    partial.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    os.replace(partial, path)


def _write_partition(
    options: _WriteOptions,
    auth_factory: Callable[[], TikTokAuth] | None,
    rows: Iterator[Any],
    run: str,
    partition: int,
) -> tuple[str, int, dict[str, int]]:
    """Send one task's rows (on the executor) through spark.send's own steps; write its
    failed events to failed_path. Returns (run, partition, counts by status)."""
    from pytt_events import BulkSendError, TikTokAuth, TikTokEventsApi
    from pytt_events.replay import event_ids_of

    _configure_logging()
    auth = auth_factory() if auth_factory is not None else TikTokAuth(**options.auth_settings)
    version = options.api_version or auth.TIKTOK_API_VERSION
    top = {
        "event_source": options.event_source or "web",
        "event_source_id": options.event_source_id or auth.TIKTOK_PIXEL_ID,
    }
    if auth.TIKTOK_TEST_EVENT_CODE:
        top["test_event_code"] = auth.TIKTOK_TEST_EVENT_CODE
    events = _public_schema.family("event_track", version)
    counts: Counter[str] = Counter()
    failed: list[str] = []
    invalid: list[str] = []

    def value_of(row: Any) -> Any:
        if options.column is not None:
            return row[options.column]
        return events.single(top, _plain(row.asDict(recursive=True)))

    with TikTokEventsApi(
        max_concurrency=options.max_concurrency, api_version=options.api_version,
        missing_event_ids=options.missing_event_ids,
    ) as api:  # fmt: skip
        while batch := [value_of(row) for row in itertools.islice(rows, options.batch_size)]:
            for outcome in _send_rows(api, auth, batch, event_ids_of, BulkSendError):
                counts[outcome["status"]] += 1
                if outcome["status"] == "failed" and outcome["payload"] is not None:
                    failed.append(outcome["payload"])
                elif outcome["status"] == "invalid":
                    reason = {"event_id": outcome["event_id"], "reason": outcome["reason"]}
                    invalid.append(json.dumps(reason, separators=(",", ":")))
    if (failed or invalid) and options.failed_path is None:
        raise PyttEventsError(
            f"{SPARK_SOURCE_NAME}: {len(failed)} event(s) failed and {len(invalid)} row(s) "
            "were invalid, and the option failed_path is not set: set it to keep them "
            "(the failed events as NDJSON `pytt-events send` takes)"
        )
    if options.failed_path is not None:
        name = f"{run}-p{partition:05d}.ndjson"
        _replace_file(options.failed_path, f"failed-{name}", failed)
        _replace_file(os.path.join(options.failed_path, _INVALID_DIR), f"invalid-{name}", invalid)
    return run, partition, {status: counts[status] for status in _COUNTED}


def _commit(
    options: _WriteOptions,
    counts: Sequence[Mapping[str, int]],
    run: str | None,
    batch_id: int | None,
) -> dict[str, Any]:
    """Sum the tasks' counts on the driver, log them, and keep them beside the failed
    events (failed_path/_summary/<run>.json), where summaries() reads them."""
    totals = {status: sum(count.get(status, 0) for count in counts) for status in _COUNTED}
    report: dict[str, Any] = {
        "run": run,
        "batch_id": batch_id,
        "committed_at": time.time(),
        "rows": sum(totals.values()),
        **totals,
        "failed_path": options.failed_path,
    }
    logger = _configure_logging(logging.INFO)
    where = "" if batch_id is None else f" micro-batch {batch_id}"
    logger.log(
        logging.WARNING if totals["failed"] or totals["invalid"] else logging.INFO,
        "%s%s: %d rows: %d accepted, %d partial, %d failed, %d invalid%s",
        SPARK_SOURCE_NAME, where, report["rows"], totals["accepted"], totals["partial"],
        totals["failed"], totals["invalid"],
        f" (failed events in {options.failed_path})" if totals["failed"] else "",
    )  # fmt: skip
    if options.failed_path is not None and run is not None:
        _replace_file(
            os.path.join(options.failed_path, _SUMMARY_DIR), f"{run}.json", [json.dumps(report)]
        )
    return report


def summaries(failed_path: str) -> list[dict[str, Any]]:
    """The summaries the writes to failed_path committed, oldest first: one per batch write
    and one per streaming micro-batch, each with run, batch_id (None for a batch write),
    committed_at, rows, accepted, partial, failed, invalid."""
    folder = Path(failed_path) / _SUMMARY_DIR
    found = [json.loads(path.read_text()) for path in folder.glob("*.json")]
    return sorted(found, key=lambda report: (report["committed_at"], str(report["run"])))


def _task_place() -> tuple[int, str | None, str | None]:
    """This task's partition, and the streaming query and micro-batch it writes (if any)."""
    from pyspark import TaskContext

    context = TaskContext.get()
    if context is None:  # pragma: no cover - Spark always runs a write in a task
        return 0, None, None
    return (
        context.partitionId(),
        context.getLocalProperty("sql.streaming.queryId"),
        context.getLocalProperty("streaming.sql.batchId"),
    )


def register(spark: SparkSession, *, auth_factory: Callable[[], TikTokAuth] | None = None) -> None:
    """Make `df.write.format("tiktok_events")` and `df.writeStream.format("tiktok_events")`
    known to a session (Spark >= 4.0, Spark Connect included). auth_factory: builds the
    credentials on the executor (from a secret store) instead of TikTokAuth() reading
    TIKTOK_* from the executors' environment.

    Raises:
        ConfigurationError: this Spark has no Python data source API (Spark 3.x): use
            send() and validate(), which run on Spark >= 3.3.
    """
    if not _DATA_SOURCE_API or not hasattr(spark, "dataSource"):
        try:
            import pyspark

            found = f"pyspark {pyspark.__version__}"
        except ImportError:
            found = "no pyspark"
        raise ConfigurationError(
            f"pytt_events.spark.register needs Spark >= 4.0 (its Python data source API, "
            f"pyspark.sql.datasource), and this is {found}. On Spark 3.x, send with "
            "pytt_events.spark.send(df, ...) and validate with validate(df): they run on "
            "Spark >= 3.3"
        )
    source: type[TikTokEventsDataSource] = TikTokEventsDataSource
    if auth_factory is not None:
        source = type(
            "TikTokEventsDataSource",
            (TikTokEventsDataSource,),
            {"auth_factory": staticmethod(auth_factory)},
        )
    spark.dataSource.register(source)


if _DATA_SOURCE_API:

    @dataclass(frozen=True)
    class TikTokWriteCommit(WriterCommitMessage):  # type: ignore[misc,unused-ignore]
        """What one task of a write sent: its counts by status (the commit message)."""

        run: str
        partition: int
        counts: dict[str, int]

    class TikTokEventsDataSource(DataSource):  # type: ignore[misc,unused-ignore]
        """The `tiktok_events` data source: a batch writer and a streaming sink."""

        auth_factory: Callable[[], TikTokAuth] | None = None

        @classmethod
        def name(cls) -> str:
            return SPARK_SOURCE_NAME

        def writer(self, schema: Any, overwrite: bool) -> TikTokEventsWriter:
            return TikTokEventsWriter(_write_options(self.options, schema), self.auth_factory)

        def streamWriter(self, schema: Any, overwrite: bool) -> TikTokEventsStreamWriter:  # noqa: N802 - Spark's name
            return TikTokEventsStreamWriter(_write_options(self.options, schema), self.auth_factory)

    class TikTokEventsWriter(DataSourceWriter):  # type: ignore[misc,unused-ignore]
        """Sends each task's rows; the commit sums and logs the counts."""

        def __init__(
            self, options: _WriteOptions, auth_factory: Callable[[], TikTokAuth] | None
        ) -> None:
            self.options = options
            self.auth_factory = auth_factory
            self.run = f"write-{uuid.uuid4().hex[:16]}"  # on the driver: one per write

        def write(self, iterator: Iterator[Any]) -> TikTokWriteCommit:
            partition, _, _ = _task_place()
            found = _write_partition(self.options, self.auth_factory, iterator, self.run, partition)
            return TikTokWriteCommit(*found)

        def commit(self, messages: list[WriterCommitMessage | None]) -> None:
            done = [message for message in messages if isinstance(message, TikTokWriteCommit)]
            _commit(self.options, [message.counts for message in done], self.run, None)

        def abort(self, messages: list[WriterCommitMessage | None]) -> None:
            done = [message for message in messages if isinstance(message, TikTokWriteCommit)]
            _configure_logging().error(
                "%s: the write failed after %d task(s) sent their events; sending again "
                "is harmless within 48 hours (TikTok deduplicates on event_id)",
                SPARK_SOURCE_NAME, len(done),
            )  # fmt: skip

    class TikTokEventsStreamWriter(DataSourceStreamWriter):  # type: ignore[misc,unused-ignore]
        """Sends each micro-batch's rows; a micro-batch run again after a restart sends its
        events again under the same event_ids, which TikTok deduplicates."""

        def __init__(
            self, options: _WriteOptions, auth_factory: Callable[[], TikTokAuth] | None
        ) -> None:
            self.options = options
            self.auth_factory = auth_factory

        def write(self, iterator: Iterator[Any]) -> TikTokWriteCommit:
            partition, query, batch = _task_place()
            # The query's id survives restarts (its checkpoint keeps it): a micro-batch run
            # again replaces its own failure file.
            run = f"stream-{query or 'query'}-{batch or 0}"
            found = _write_partition(self.options, self.auth_factory, iterator, run, partition)
            return TikTokWriteCommit(*found)

        def commit(self, messages: list[WriterCommitMessage | None], batchId: int) -> None:  # noqa: N803 - Spark's name
            done = [message for message in messages if isinstance(message, TikTokWriteCommit)]
            run = done[0].run if done else None
            _commit(self.options, [message.counts for message in done], run, batchId)

        def abort(self, messages: list[WriterCommitMessage | None], batchId: int) -> None:  # noqa: N803 - Spark's name
            _configure_logging().error(
                "%s: micro-batch %d failed; the query sends it again when it restarts "
                "from its checkpoint (the same event_ids: TikTok deduplicates them)",
                SPARK_SOURCE_NAME, batchId,
            )  # fmt: skip
