"""The fast path for phone numbers already in E.164 form gives what the parser gives: over every
country calling code phonenumbers knows, each of its possible lengths, and national numbers
starting with each digit (national prefixes among them), plus the forms it must leave to the
parser."""

from __future__ import annotations

import phonenumbers
import pytest
from phonenumbers import PhoneMetadata

from pytt_events._hashing import _canonical_e164, _compact


def slow(value: str) -> str | None:
    """What normalize_phone's parser path gives (None: refused)."""
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def candidates() -> list[str]:
    found = []
    for code in sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE):
        region = phonenumbers.region_code_for_country_code(code)
        metadata = PhoneMetadata.metadata_for_region_or_calling_code(code, region)
        if metadata is None or metadata.general_desc is None:
            continue
        lengths = set(metadata.general_desc.possible_length) - {-1}
        for length in sorted(lengths | {min(lengths, default=4) - 1, max(lengths, default=4) + 1}):
            for first in "0123456789":
                for fill in ("0", "5", "9"):
                    national = (first + fill * 20)[: max(length, 1)]
                    found.append(f"+{code}{national}")
    return found


CANDIDATES = candidates()


def test_there_are_many_candidates() -> None:
    assert len(CANDIDATES) > 10_000


def test_the_fast_path_agrees_with_the_parser_wherever_it_answers() -> None:
    answered = 0
    for value in CANDIDATES:
        fast = _canonical_e164(value)
        if fast is not None:
            answered += 1
            assert fast == slow(value), value
    assert answered > len(CANDIDATES) // 4  # it answers for most real numbers


@pytest.mark.parametrize(
    "value",
    [
        "+55 41 99886-2934",  # not canonical: spaces, dash
        "5541998862934",  # no "+"
        "+5541998862934 ",  # trailing space
        "+0123456789",  # no country code starts with 0
        "+4402079460958",  # a national prefix after the country code: the parser decides
        "+390612345678",  # Italy's leading zero: the parser decides
        "+999123456789",  # no such country code
        "+55419988629345555",  # too long for Brazil
    ],
)
def test_forms_left_to_the_parser(value: str) -> None:
    assert _canonical_e164(value) is None


def test_a_canonical_number_is_its_own_form() -> None:
    assert _canonical_e164("+5541998862934") == "+5541998862934"
    assert _canonical_e164("+14155550123") == "+14155550123"


def written_forms(value: str) -> list[str]:
    """value ("+" and digits) as people write it: separators after the country code and
    between groups, parentheses around the area code, surrounding whitespace."""
    digits = value[1:]
    forms = []
    for cut in (1, 2, 3):
        head, rest = digits[:cut], digits[cut:]
        middle = len(rest) // 2
        forms += [
            f"+{head} {rest[:middle]} {rest[middle:]}",
            f"+{head} ({rest[:2]}) {rest[2:middle]}-{rest[middle:]}",
            f"+{head}.{rest[:middle]}.{rest[middle:]}",
            f" +{head}-{rest[:middle]}/{rest[middle:]} ",
            f"+ {head}({rest[:3]}){rest[3:]}",
        ]
    return forms


def test_written_forms_agree_with_the_parser_wherever_the_fast_path_answers() -> None:
    answered = 0
    for value in CANDIDATES[::7]:
        for form in written_forms(value):
            fast = _canonical_e164(_compact(form))
            if fast is not None:
                answered += 1
                assert fast == slow(form), form
    assert answered > 5_000


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("+55 (41)9.9886-2934", "+5541998862934"),
        ("+1 415-555-0123", "+14155550123"),
        ("+44 20 7946 0958", "+442079460958"),
        ("+49 30 9018 1234", "+493090181234"),
    ],
)
def test_common_written_forms_take_the_fast_path(value: str, expected: str) -> None:
    assert _canonical_e164(_compact(value)) == expected == slow(value)


@pytest.mark.parametrize(
    "value",
    [
        "+44 (0)20 7946 0958",  # the national prefix in parentheses: the parser decides
        "+1 415-555-0123 ext. 7",  # an extension
        "+1 415 555 0123 x7",
        "+55+41998862934",  # a second "+"
        "(41) 99886-2934",  # national: the parser decides, with the default region
        "+\uff11 415 555 0123",  # a full-width digit
    ],
)
def test_written_forms_left_to_the_parser(value: str) -> None:
    assert _canonical_e164(_compact(value)) is None
