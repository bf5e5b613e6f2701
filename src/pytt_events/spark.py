"""Validate and send stored payloads on Apache Spark, where the data already lives (an optional
extra: `pip install 'pytt-events-api[spark]'`, which brings pyarrow, and pyspark when the
runtime has none; Databricks brings its own).

    from pytt_events import spark as tts

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

import json
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pytt_events import schema as _public_schema
from pytt_events._constants import DEFAULT_CONCURRENCY, SPARK_BATCH_SIZE, SPARK_SUMMARY_TOP
from pytt_events.stored import MissingEventIds, checked_missing_event_ids, parse_line

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import DataFrame, SparkSession

    from pytt_events.auth import TikTokAuth
    from pytt_events.validation import Problem

__all__ = ["OUTCOME_SCHEMA", "send", "summary", "validate", "validate_files", "write_failed"]

_EMPTY_ROW = "the row is empty: no JSON value"
_PROBLEMS = "problems array<struct<path:string,message:string>>"
_VERDICT = f"status string, severity string, {_PROBLEMS}"
#: The columns of send's outcomes.
OUTCOME_SCHEMA = (
    "event_id string, status string, code int, reason string, request_id string, payload string"
)


def _configure_logging() -> None:
    """On an executor: the pytt_events logger only, warnings and up, to stderr (the task's
    log); never the root logger, which the runtime owns."""
    logger = logging.getLogger("pytt_events")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.WARNING)


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
    """The outcome rows of one batch of raw lines."""
    rows: list[dict[str, Any]] = []
    payloads: list[Any] = []
    for value in values:
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
