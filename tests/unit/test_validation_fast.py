"""The fast path of validation (one jsonschema-rs call for a payload with nothing to report,
jsonschema-rs's own errors when they are plain) gives exactly what the rule-by-rule path gives:
the same problems, messages and order, on the corpora and on payloads with each kind of warning,
of unhashed personal data and of error."""

from __future__ import annotations

import copy
import gzip
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytt_events import _conditions, _families, _hashing, _schema
from pytt_events import validation as v
from pytt_events._hashing import EMPTY_SHA256
from pytt_events.validation import Problem, validate_file, validate_payload

ROOT = Path(__file__).resolve().parent.parent
CORPORA = (ROOT / "fixtures" / "corpus", Path("/work/shared/corpus"))
NOW = 1_767_225_600.0  # 2026-01-01
DIGEST = "a" * 64


def reference(
    payload: Any, require_hashed: bool, warn: bool, now: float | None = NOW
) -> list[Problem]:
    """validate_payload as it was before the fast path: every rule walked in Python, the
    errors' messages from jsonschema."""
    family = v.detect_family(payload)
    known = _families.families()
    if family is None:
        return validate_payload(payload)  # the same fixed message either way
    definition = known[family].definition
    problems: list[Problem] = []
    invalid = not v._fast_validator(family, "v1.3").is_valid(payload)
    warnings: list[Problem] = []
    if warn:
        v._soft_problems(payload, _schema.warning_plan(definition), "", now, warnings)
        warnings = _conditions.payload_warnings(payload, definition, "v1.3") + warnings
    if invalid:
        problems = [
            Problem(_conditions.pointer(error.absolute_path), _conditions.describe(error))
            for error in sorted(
                v._validator(family, "v1.3").iter_errors(payload),
                key=lambda e: list(map(str, e.path)),
            )
        ]
    if require_hashed:
        problems.extend(v._unhashed(payload, _schema.pii_plan(definition), ""))
    elif warn:  # a raw value that cannot be a match key
        warnings.extend(v._unusable(payload, _schema.pii_plan(definition), ""))
    return problems + warnings


def corpus() -> Iterator[tuple[str, Any]]:
    for folder in CORPORA:
        for path in sorted(folder.rglob("*.json")) if folder.is_dir() else ():
            yield f"{folder.name}/{path.relative_to(folder)}", json.loads(path.read_text())


CORPUS = list(corpus())


def agree(payload: Any) -> None:
    for require_hashed in (False, True):
        for warn in (False, True):
            assert validate_payload(
                payload, require_hashed=require_hashed, warn=warn, now=NOW
            ) == reference(payload, require_hashed, warn), (require_hashed, warn)


@pytest.mark.parametrize("name", [name for name, _ in CORPUS])
def test_corpus_payloads_get_the_same_problems(name: str) -> None:
    agree(dict(CORPUS)[name])


def event_track() -> dict[str, Any]:
    return {
        "event_source": "web",
        "event_source_id": "COQDA8RC77U2TMR44LI0",
        "data": [
            {
                "event": "Purchase",
                "event_time": int(NOW) - 3600,
                "event_id": "e1",
                "user": {"email": DIGEST, "phone": [DIGEST], "city": "curitiba"},
                "page": {"url": "https://shop.example.com/checkout"},
                "properties": {"currency": "USD", "value": 1.5},
            }
        ],
    }


def pixel_track() -> dict[str, Any]:
    return {
        "pixel_code": "PIXEL",
        "event": "AddToCart",
        "context": {
            "user": {"email": DIGEST},
            "page": {"url": "https://shop.example.com/p/1", "referrer": "posthog.com"},
            "ad": {"callback": "E.C.P.abc"},
        },
        "properties": {"currency": "BRL", "contents": [{"content_id": "1", "quantity": 2}]},
    }


def set_at(payload: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(payload)
    *parents, last = path.split("/")
    node: Any = changed
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node.setdefault(key, {})
    node[last] = value
    return changed


EVENT = "data/0"
# One change per kind of warning, of unhashed personal data and of error, on a quiet payload.
CHANGES: list[tuple[str, str, Any]] = [
    ("event_track", "", None),
    ("pixel_track", "", None),
    # warnings
    ("event_track", f"{EVENT}/event", "CompletePayment"),
    ("event_track", f"{EVENT}/event_time", int(NOW) - 40 * 86400),
    ("event_track", f"{EVENT}/event_time", int(NOW) - 28 * 86400),
    ("event_track", f"{EVENT}/event_time", int(NOW) - 28 * 86400 - 1),
    ("event_track", f"{EVENT}/event_time", int(NOW) + 300),
    ("event_track", f"{EVENT}/event_time", int(NOW) + 301),
    ("event_track", f"{EVENT}/event_time", int(NOW) + 30 * 86400),
    ("event_track", f"{EVENT}/properties/currency", "XAU"),
    ("event_track", f"{EVENT}/properties/currency", ""),
    ("event_track", f"{EVENT}/properties/gtm_version", "1"),
    ("event_track", f"{EVENT}/user/ttclid", "abc"),
    ("event_track", f"{EVENT}/user/ttclid", "E.C.P.abc"),
    ("event_track", f"{EVENT}/user/city", "São Paulo"),
    ("event_track", f"{EVENT}/user/city", "123"),
    ("event_track", f"{EVENT}/user/state", DIGEST),
    ("event_track", f"{EVENT}/user/country", "us"),
    ("event_track", f"{EVENT}/user/country", "brasil"),
    ("event_track", f"{EVENT}/user/country", "zz"),
    ("event_track", f"{EVENT}/user/country", "US"),
    ("event_track", f"{EVENT}/page/url", "https://shop.example.com/?email=ana@example.com"),
    ("event_track", f"{EVENT}/page/url", "https://shop.example.com/?utm_source=tiktok"),
    ("event_track", f"{EVENT}/page/url", "https://shop.example.com/u/ana@example.com"),
    ("event_track", f"{EVENT}/page/url", "https://shop.example.com/#/done?phone=%2B5541"),
    ("event_track", f"{EVENT}/page/url", DIGEST),
    ("event_track", f"{EVENT}/page/referrer", "https://a.example/p%20q"),
    ("event_track", "event_source_id", "PIXEL"),
    ("event_track", "event_source", "app"),
    ("event_track", "event_source", "crm"),
    ("pixel_track", "event", "PlaceAnOrder"),
    ("pixel_track", "timestamp", "2026-01-01T00:05:00Z"),
    ("pixel_track", "timestamp", "2026-01-01T00:05:01Z"),
    ("pixel_track", "timestamp", "2025-12-31T21:05:01-03:00"),
    ("pixel_track", "timestamp", "2026-01-31T00:00:00+00:00"),
    ("pixel_track", "timestamp", "2020-01-01T00:00:00Z"),
    ("pixel_track", "timestamp", "2030-01-01T00:00:00"),
    ("pixel_track", "context/ad/callback", "not-a-ttclid"),
    ("pixel_track", "properties/custom", {"a": 1}),
    # personal data
    ("event_track", f"{EVENT}/user/email", "ana@example.com"),
    ("event_track", f"{EVENT}/user/email", EMPTY_SHA256),
    ("event_track", f"{EVENT}/user/email", EMPTY_SHA256.upper()),
    ("event_track", f"{EVENT}/user/email", DIGEST.upper()),
    ("event_track", f"{EVENT}/user/email", ""),
    ("event_track", f"{EVENT}/user/email", [DIGEST, "ana@example.com", "", 3]),
    ("event_track", f"{EVENT}/user/phone", [[DIGEST]]),
    ("event_track", f"{EVENT}/user/external_id", "user-1"),
    ("event_track", f"{EVENT}/user/first_name", DIGEST + "\n"),
    ("event_track", f"{EVENT}/user/zip_code", "a" * 63),
    ("pixel_track", "context/user/phone_number", "+5541998862934"),
    ("pixel_track", "context/user/external_id", EMPTY_SHA256),
    # errors
    ("event_track", f"{EVENT}/event_time", 1709294400000),
    ("event_track", f"{EVENT}/event_time", "1709294400"),
    ("event_track", f"{EVENT}/event_id", 5),
    ("event_track", f"{EVENT}/properties/value", -1),
    ("event_track", f"{EVENT}/user/ip", "not-an-ip"),
    ("event_track", f"{EVENT}/page/url", "has space"),
    ("event_track", f"{EVENT}/unknown", 1),
    ("event_track", "event_source", "tv"),
    ("event_track", "data", []),
    ("event_track", "data", [1]),
    ("event_track", "data", {"event": "x"}),
    ("event_track", "event_source", "app"),
    ("event_track", "partner_name", ""),
    ("pixel_track", "timestamp", "yesterday"),
    ("pixel_track", "properties/content_type", "product"),
    ("pixel_track", "context/user", {}),
    ("pixel_track", "context/user/email", 5),
    ("pixel_track", "event", ""),
]


@pytest.mark.parametrize(("shape", "path", "value"), CHANGES)
def test_each_kind_of_problem_is_reported_the_same(shape: str, path: str, value: Any) -> None:
    payload = event_track() if shape == "event_track" else pixel_track()
    agree(set_at(payload, path, value) if path else payload)


def test_event_sources_and_batches_get_the_same_problems() -> None:
    """The warnings a rule between fields or a clock mark gives beyond one change: an old
    offline event, an app event in the future, a batch with a future timestamp."""
    old_offline = set_at(event_track(), f"{EVENT}/event_time", int(NOW) - 60 * 86400)
    agree(old_offline | {"event_source": "offline", "event_source_id": "7123456789012345678"})
    future_app = set_at(event_track(), f"{EVENT}/event_time", int(NOW) + 30 * 86400)
    agree(future_app | {"event_source": "app", "event_source_id": "7123456789"})
    item = {key: value for key, value in pixel_track().items() if key != "pixel_code"}
    batch = {
        "pixel_code": "PIXEL",
        "batch": [item, item | {"timestamp": "2026-03-01T00:00:00Z"}, item | {"type": "track"}],
    }
    agree(batch)
    assert [p.path for p in validate_payload(batch, warn=True, now=NOW)] == ["/batch/1/timestamp"]


def test_the_quiet_payloads_are_decided_by_the_fast_path_alone() -> None:
    calls = 0
    slow = v._Checker._slow

    def counted(self: Any, *args: Any) -> Any:
        nonlocal calls
        calls += 1
        return slow(self, *args)

    v._Checker._slow = counted  # type: ignore[method-assign]
    try:
        assert validate_payload(event_track(), require_hashed=True, warn=True, now=NOW) == []
        assert validate_payload(pixel_track(), require_hashed=True, warn=True, now=NOW) == []
        stamped = pixel_track() | {"timestamp": "2025-12-31T21:00:00-03:00"}
        assert validate_payload(stamped, require_hashed=True, warn=True, now=NOW) == []
    finally:
        v._Checker._slow = slow  # type: ignore[method-assign]
    assert calls == 0


def test_random_changes_of_corpus_payloads_get_the_same_problems() -> None:
    chooser = random.Random(1234)
    values = [c[2] for c in CHANGES if c[2] is not None] + [None, True, 0, 1.5, "", "x", {}, []]
    bodies = [body for _, body in CORPUS if isinstance(body, dict)] + [event_track(), pixel_track()]
    for _ in range(400):
        payload = copy.deepcopy(chooser.choice(bodies))
        for _ in range(chooser.randint(1, 3)):
            node: Any = payload
            while isinstance(node, (dict, list)) and node and chooser.random() < 0.7:
                key = chooser.choice(list(node) if isinstance(node, dict) else range(len(node)))
                if not isinstance(node[key], (dict, list)):
                    break
                node = node[key]
            if isinstance(node, dict) and node:
                node[chooser.choice(list(node))] = copy.deepcopy(chooser.choice(values))
            elif isinstance(node, list) and node:
                node[chooser.randrange(len(node))] = copy.deepcopy(chooser.choice(values))
        agree(payload)


def test_native_error_messages_are_jsonschemas() -> None:
    """Where jsonschema-rs's errors give the messages, they are jsonschema's, error for error."""
    told = 0
    for shape, path, value in CHANGES:
        payload = event_track() if shape == "event_track" else pixel_track()
        payload = set_at(payload, path, value) if path else payload
        family = v.detect_family(payload)
        assert family is not None
        native = v._native_problems(family, "v1.3", payload)
        if native is not None:
            told += 1
            checker = v._Checker("v1.3", False, False, NOW)
            assert native == checker._reference(payload, family)
    assert told >= 8


def test_event_ages_are_measured_from_now_by_default() -> None:
    payload = event_track()
    assert validate_payload(payload, warn=True) == reference(payload, False, True, None)
    old = set_at(payload, f"{EVENT}/event_time", int(NOW) - 3600 - 365 * 86400)
    assert validate_payload(old, warn=True) == reference(old, False, True, None)
    assert validate_payload(old, warn=True)[0].message.startswith("is more than 28 days old")


def test_a_registered_url_normalizer_is_not_second_guessed() -> None:
    payload = event_track()
    assert validate_payload(payload, warn=True, now=NOW) == []
    _hashing.register_normalizer("url", lambda url: url.rstrip("/").removesuffix("/checkout"))
    try:
        problems = validate_payload(payload, warn=True, now=NOW)
        assert problems == reference(payload, False, True)
        assert [problem.path for problem in problems] == ["/data/0/page/url"]
    finally:
        _hashing.register_normalizer("url", None)
    assert validate_payload(payload, warn=True, now=NOW) == []


def test_files_get_the_same_results_as_payload_by_payload(tmp_path: Path) -> None:
    bodies = [body for _, body in CORPUS] + [
        set_at(event_track() if s == "event_track" else pixel_track(), p, x) if p else {}
        for s, p, x in CHANGES
    ]
    path = tmp_path / "stored.ndjson.gz"
    with gzip.open(path, "wt") as handle:
        for body in bodies:
            handle.write(json.dumps(body) + "\n")
        handle.write("not json\n\n[1]\n")
    results = list(validate_file(path, require_hashed=True, now=NOW))
    assert len(results) == len(bodies) + 2
    for body, result in zip(bodies, results, strict=False):
        assert list(result.problems) == reference(body, True, True), result.line
    assert results[-2].unreadable
    assert list(results[-1].problems) == validate_payload([1])


def test_the_ndjson_reader_reads_each_line_as_parse_line_does(tmp_path: Path) -> None:
    from pytt_events.stored import parse_line, read_payloads

    lines = [
        '{"a": 1}',
        '  {"a": 2}  ',
        '{"a": 3}\t',
        "",
        "   ",
        "[1, 2]",
        "7",
        '"text"',
        '{"a": NaN}',
        '{"a": 1}{"b": 2}',
        '{"a": 1} x',
        "{not json",
        '{"a": "\\ud800"}',
        '{"a": 1}\r',
        "\u00a0",
        '{"a": 1}\u00a0',
    ]
    path = tmp_path / "lines.ndjson"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    expected = [
        found
        for number, line in enumerate(lines, start=1)
        if (found := parse_line(line + "\n", str(path), number)) is not None
    ]
    assert list(read_payloads(path)) == expected
