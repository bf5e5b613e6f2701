"""Normalizers and hashing, as tables: input -> normalized -> digest."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest

from pytt_events import (
    hash_value,
    is_sha256_hex,
    normalize_email,
    normalize_external_id,
    normalize_phone,
    register_normalizer,
    sha256_hex,
)
from pytt_events._hashing import PersonalDataError, apply_plan, normalize


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


EMAILS = [
    ("test@test.com", "test@test.com"),
    ("  Test@Test.COM \n", "test@test.com"),
    ("\tJOHN.Doe+tag@Example.co.uk", "john.doe+tag@example.co.uk"),
    ("Zoë.Ünïcødé@Exämple.de", "zoë.ünïcødé@exämple.de"),
]
PHONES = [
    ("+5541998862934", "+5541998862934"),
    ("+55 (41)9.9886-2934", "+5541998862934"),
    (" +55 41 99886 2934 ", "+5541998862934"),
    ("+1 415-555-0132", "+14155550132"),
    ("+1 (415) 555 0132", "+14155550132"),
    ("+44 20 7946 0958", "+442079460958"),
]
EXTERNAL_IDS = [
    ("123456", "123456"),
    ("  123456\t", "123456"),
    ("User-ABC", "User-ABC"),  # case is kept
    ("ид-пользователя", "ид-пользователя"),
]


@pytest.mark.parametrize(("raw", "normalized"), EMAILS)
def test_email_normalization_and_digest(raw: str, normalized: str) -> None:
    assert normalize_email(raw) == normalized
    assert hash_value("email", raw) == digest(normalized)


@pytest.mark.parametrize(("raw", "normalized"), PHONES)
def test_phone_normalization_and_digest(raw: str, normalized: str) -> None:
    assert normalize_phone(raw) == normalized
    assert hash_value("phone", raw) == digest(normalized)


@pytest.mark.parametrize(("raw", "normalized"), EXTERNAL_IDS)
def test_external_id_normalization_and_digest(raw: str, normalized: str) -> None:
    assert normalize_external_id(raw) == normalized
    assert hash_value("external_id", raw) == digest(normalized)


def test_pinned_digests_of_the_quick_start() -> None:
    # Literal values: the bytes on the wire must never drift.
    assert hash_value("email", "test@test.com") == (
        "f660ab912ec121d1b1e928a0bb4bc61b15f5ad44d5efdc4e1c92a25e99b8e44a"
    )
    assert hash_value("phone", "+55 (41)9.9886-2934") == (
        "e379a7879266c54b8876bcb2bba6401cc5a3035dcd97b3a7846ed28ea0ca3360"
    )
    assert hash_value("external_id", " 123456 ") == (
        "8d969eef6ecad3c29a3a629280e686cf0c3f5d5a86aff3ca12020c923adc6c92"
    )


@pytest.mark.parametrize("mark", ["email", "phone", "external_id"])
def test_already_hashed_values_pass_through_lowercased(mark: str) -> None:
    hashed = sha256_hex("anything")
    assert hash_value(mark, hashed) == hashed
    assert hash_value(mark, hashed.upper()) == hashed
    assert hash_value(mark, f"  {hashed}\n") == hashed
    assert is_sha256_hex(hashed)
    assert not is_sha256_hex(hashed[:-1])
    assert not is_sha256_hex(hashed[:-1] + "g")


@pytest.mark.parametrize(("mark", "raw"), [("email", "A@B.co"), ("phone", "+14155550132")])
def test_hashing_is_idempotent(mark: str, raw: str) -> None:
    once = hash_value(mark, raw)
    assert hash_value(mark, once) == once


@pytest.mark.parametrize(
    ("normalizer", "raw"),
    [
        (normalize_email, "not-an-email"),
        (normalize_email, "two@@signs.com"),
        (normalize_email, "spaces in@side.com"),
        (normalize_phone, "5541998862934"),
        (normalize_phone, "+55 12"),
        (normalize_phone, "call me"),
        (normalize_external_id, "   "),
    ],
)
def test_refused_values_never_appear_in_the_message(normalizer: object, raw: str) -> None:
    with pytest.raises(ValueError, match=r".+") as caught:
        normalizer(raw)  # type: ignore[operator]
    assert raw.strip() not in str(caught.value) or not raw.strip()


def test_phone_with_a_default_region_accepts_national_numbers() -> None:
    assert normalize_phone("(41) 99886-2934", default_region="BR") == "+5541998862934"


@pytest.fixture
def national_phones() -> Iterator[None]:
    register_normalizer("phone", lambda value: normalize_phone(value, default_region="BR"))
    yield
    register_normalizer("phone", None)


def test_register_normalizer_applies_and_resets(national_phones: None) -> None:
    assert hash_value("phone", "(41) 99886-2934") == digest("+5541998862934")
    register_normalizer("phone", None)
    with pytest.raises(ValueError, match="international format"):
        hash_value("phone", "(41) 99886-2934")


def test_a_normalizer_registered_for_a_cheap_mark_replaces_the_default() -> None:
    # The default e-mail rule runs without the memo; one registered in its place is used
    # (and remembered), and None brings the default back.
    register_normalizer("email", lambda value: value.strip().upper())
    try:
        assert normalize("email", " ana@example.com ") == "ANA@EXAMPLE.COM"
        assert normalize("email", "A" * 64) == "a" * 64  # a digest still passes through
    finally:
        register_normalizer("email", None)
    assert normalize("email", " Ana@Example.com ") == "ana@example.com"


def test_unknown_mark_says_how_to_register() -> None:
    with pytest.raises(KeyError, match="register_normalizer"):
        hash_value("first_name", "Ana")


PLAN = {"context": {"user": {"email": "email", "phone_number": "phone"}}, "ids": "external_id"}


def test_apply_plan_hashes_marked_paths_and_never_mutates_input() -> None:
    payload = {
        "event": "ViewContent",
        "context": {"user": {"email": " A@B.com", "phone_number": "+14155550132", "ttp": "x"}},
        "ids": ["1", "", " 2 "],
    }
    before = repr(payload)
    out = apply_plan(payload, PLAN)
    assert repr(payload) == before
    assert out["context"]["user"] == {
        "email": digest("a@b.com"),
        "phone_number": digest("+14155550132"),
        "ttp": "x",
    }
    assert out["ids"] == [digest("1"), digest("2")]  # the empty string is dropped
    assert out["event"] == "ViewContent"


def test_apply_plan_drops_empty_strings_instead_of_hashing_them() -> None:
    out = apply_plan({"context": {"user": {"email": "", "phone_number": "  "}}}, PLAN)
    assert out == {"context": {"user": {}}}


def test_apply_plan_walks_lists_of_objects() -> None:
    plan = {"batch": {"context": {"user": {"email": "email"}}}}
    payload = {"batch": [{"context": {"user": {"email": "a@b.co"}}}, {"context": {}}]}
    out = apply_plan(payload, plan)
    assert out["batch"][0]["context"]["user"]["email"] == digest("a@b.co")
    assert out["batch"][1] == {"context": {}}


def test_apply_plan_without_hashing_requires_digests() -> None:
    hashed = sha256_hex("a@b.co")
    ok = apply_plan({"context": {"user": {"email": hashed}}}, PLAN, hash_values=False)
    assert ok["context"]["user"]["email"] == hashed
    with pytest.raises(PersonalDataError, match=r"context\.user\.email: must already be") as error:
        apply_plan({"context": {"user": {"email": "a@b.co"}}}, PLAN, hash_values=False)
    assert "a@b.co" not in str(error.value)


def test_apply_plan_refuses_non_string_personal_data() -> None:
    with pytest.raises(PersonalDataError, match="must be a string"):
        apply_plan({"context": {"user": {"email": 5}}}, PLAN)
