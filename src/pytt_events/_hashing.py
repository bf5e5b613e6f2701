"""Personal data: one normalizer per schema mark (`x-pii`, hashed; `x-normalize`, sent raw),
SHA-256 hashing, and the hook that applies them to an outgoing payload.

Normalization rules (TikTok's Events API "hashing" guidance and TikTok's own code, as collected in
the schema's descriptions):

    x-pii         rule before hashing                                  example
    email         trim, lowercase, must look like an address          " A@B.com " -> "a@b.com"
    phone         E.164 with the leading "+" (parsed by phonenumbers)  "+55 (41)9.9886-2934"
                                                                        -> "+5541998862934"
                  China (+86): hashed without the country code         "+86 138 0000 0000"
                                                                        -> "13800000000"
    external_id   trim surrounding whitespace (case is kept)           " 123456 " -> "123456"
    name          no whitespace at all, lowercase                      " Ana Luiza " -> "analuiza"
    zip_code      no whitespace at all, lowercase                      "SW1A 1AA" -> "sw1a1aa"
    advertising_id  trim, lowercase (IDFA, GAID)                       "6D92...-AB" -> "6d92...-ab"

    x-normalize   rule (the value is sent raw, never hashed)
    location      ASCII letters and digits only, lowercase             "São Paulo" -> "sopaulo"
    country       the same; a known code or country name is expected  "United States"
                                                                        -> "unitedstates"
    url           without the parts that carry raw personal data (query parameters, path
                  segments, a fragment: without_personal_query)         "/p?email=a%40b.co&k=v"
                                                                        -> "/p?k=v"

raw_personal_data finds what looks like a raw e-mail address or international phone number
anywhere in a JSON body (the sandbox's check): the same shapes the url rule removes.

A value that already is a 64-character hex SHA-256 digest is taken as hashed upstream and
passes through (trimmed, lowercased), so hashing twice never double-hashes. An empty string means
"absent" and is never hashed: sha256("") matches nobody (and that digest is dropped too).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeAlias
from urllib.parse import unquote, unquote_plus

import phonenumbers
from phonenumbers import PhoneMetadata

from pytt_events._exceptions import ConfigurationError

Normalizer: TypeAlias = Callable[[str], str]
# A hashing plan: for each key, either the x-pii mark of that field or the plan of the object
# below it. Lists are walked transparently (a plan applies to every item).
PiiPlan: TypeAlias = Mapping[str, "str | PiiPlan"]

_SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")
#: sha256(""): sent by at least one public integration for a missing value. It matches nobody,
#: so it is treated as absent, like the empty string itself.
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
# Deliberately permissive: one "@", no whitespace, a dot in the domain. TikTok matches on the
# hash, so the aim is to catch values that are not e-mail addresses at all (a name, a phone).
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
_CACHE_SIZE = 16_384


def is_absent(value: str) -> bool:
    """True for a value that means "no value": empty, blank, or the SHA-256 of the empty string."""
    if not value or value.isspace():
        return True
    return len(value) >= 64 and value.strip().lower() == EMPTY_SHA256


def is_sha256_hex(value: str) -> bool:
    """True when value is a 64-character hexadecimal string (a SHA-256 digest)."""
    return len(value) == 64 and _SHA256_HEX.fullmatch(value) is not None


def sha256_hex(value: str) -> str:
    """Lowercase hex SHA-256 of the UTF-8 bytes of value."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def normalize_email(value: str) -> str:
    """Trim and lowercase an e-mail address (TikTok: "remove spaces, lowercase").

    Raises:
        ValueError: the value does not look like an e-mail address. The message never
            contains the value.
    """
    normalized = value.strip().lower()
    if not _EMAIL.fullmatch(normalized):
        raise ValueError("not a valid e-mail address (expected name@domain.tld)")
    return normalized


#: Region used for phone numbers without a country code; None: they are refused. Set by
#: set_default_phone_region (TikTokEventsApi(default_phone_region=...), or the environment
#: variable TIKTOK_DEFAULT_PHONE_REGION).
_default_phone_region: str | None = None  # set below from TIKTOK_DEFAULT_PHONE_REGION
# China: TikTok's own server-side tag says to hash +86 numbers without the country code ("If
# the country code is 86, then do not include country code (example: 13800000000)",
# tiktok/gtm-template-eapi template.tpl, help of the phone field): see phone_hash_form.


def normalize_phone(value: str, default_region: str | None = None) -> str:
    """Format a phone number as E.164 with its leading "+" (TikTok: "+" and country code).
    (A Chinese number is hashed without its +86: see phone_hash_form.)

    Without default_region (nor a default set with set_default_phone_region) the number must
    carry its country code ("+55 41 99886-2934"); with it (an ISO 3166-1 alpha-2 region such
    as "BR"), national numbers are accepted too.

    Raises:
        ValueError: the value is not a possible phone number. The message never contains it.
    """
    canonical = _canonical_e164(_compact(value))
    if canonical is not None:
        return canonical
    region = default_region or _default_phone_region
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        if region is None and value.strip()[:1] != "+" and any(c.isdigit() for c in value):
            raise ValueError(NATIONAL_WITHOUT_REGION) from None
        raise ValueError(
            "not a phone number in international format "
            "(expected '+', the country code and the number, e.g. +44 20 7946 0958)"
        ) from None
    if not phonenumbers.is_possible_number(number):
        raise ValueError("not a possible phone number for its country code")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


#: Why a number without "+" and its country code cannot be read when no region is set.
NATIONAL_WITHOUT_REGION = (
    "not in international format ('+' and the country code) and no default phone region is "
    'set to read a national number: set one (TikTokEventsApi(default_phone_region="BR"), '
    "the environment variable TIKTOK_DEFAULT_PHONE_REGION, or --phone-region)"
)

_E164 = re.compile(r"\+([1-9][0-9]{1,16})")
# The separators people write international numbers with ("+55 (41) 9.9886-2934").
_SEPARATORS = str.maketrans("", "", " -.()/")


def _compact(value: str) -> str:
    """An international number without its separators ("+1 415-555-0123" -> "+14155550123"),
    for the fast path; any other value as it is. Only surrounding whitespace and the
    separators go: a letter, an extension or a second "+" stays, for the parser to decide.
    A test compares the fast path on such forms with the parser."""
    text = value.strip()
    if text[:1] != "+":
        return value
    return "+" + text[1:].translate(_SEPARATORS)


def _canonical_e164(value: str) -> str | None:
    """value itself when it already is the E.164 form normalize_phone would give ("+" and
    digits only, a country code, a national number of a possible length for it, not starting
    with a national prefix or 0); None otherwise, and then the parser decides. Parsing is the
    costliest step of normalizing, and numbers stored or sent before are in this form.
    A test compares this with the parser over every country code and possible length."""
    match = _E164.fullmatch(value)
    if match is None:
        return None
    digits = match.group(1)
    for size in (1, 2, 3):
        metadata = _metadata_of_code(digits[:size])
        if metadata is not None:
            break
    else:
        return None
    national = digits[size:]
    general = metadata.general_desc
    if (
        not national
        or national[0] == "0"
        or general is None
        or len(national) not in general.possible_length
        or (metadata.national_prefix and national.startswith(metadata.national_prefix))
        or (
            metadata.national_prefix_for_parsing
            and re.match(metadata.national_prefix_for_parsing, national)
        )
    ):
        return None
    return value


@functools.lru_cache(maxsize=1024)
def _metadata_of_code(code: str) -> Any:
    """The phone metadata of a country calling code (its main region's), or None."""
    number = int(code)
    if number not in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
        return None
    region = phonenumbers.region_code_for_country_code(number)
    return PhoneMetadata.metadata_for_region_or_calling_code(number, region)


def load_phone_metadata() -> None:
    """Load the phone metadata of every region now, and compile the national-prefix pattern the
    E.164 check matches: phonenumbers loads a region's on the first number of that country
    (about 0.5 ms each, paid by whichever event brings it). A warm-up's part: some 0.1 s and
    1.6 MB for all of them."""
    for region in phonenumbers.SUPPORTED_REGIONS:
        metadata = PhoneMetadata.metadata_for_region(region)
        if metadata is not None and metadata.national_prefix_for_parsing:
            re.compile(metadata.national_prefix_for_parsing)  # re's own cache keeps it
    for code in phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS:
        PhoneMetadata.metadata_for_nongeo_region(code)


def phone_hash_form(normalized: str) -> str:
    """What is hashed for a normalized (E.164) phone number: the number itself, but for China
    (+86) the national number without the country code, as TikTok's own server-side tag
    documents ("+8613800000000" -> "13800000000")."""
    return normalized[3:] if normalized.startswith("+86") else normalized


def set_default_phone_region(region: str | None) -> None:
    """Read phone numbers without a country code as numbers of region (ISO 3166-1 alpha-2,
    e.g. "BR"); None: without a region, such a number cannot be a match key (see
    invalid_match_keys). Process-wide, like register_normalizer.

    Raises:
        ConfigurationError: region is not a region phonenumbers knows.
    """
    global _default_phone_region
    if region is not None:
        region = region.strip().upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ConfigurationError(
                "not an ISO 3166-1 alpha-2 region known to phonenumbers (e.g. 'BR')"
            )
    with _lock:
        if region != _default_phone_region:
            _default_phone_region = region
            _memo.clear()


def _region_from_environment() -> None:
    region = os.environ.get("TIKTOK_DEFAULT_PHONE_REGION", "").strip()
    if region:
        # A wrong one is refused again, with the message, when a client is built.
        with contextlib.suppress(ValueError):
            set_default_phone_region(region)


def default_phone_region() -> str | None:
    """The region set with set_default_phone_region (None: numbers need a country code)."""
    return _default_phone_region


def normalize_external_id(value: str) -> str:
    """Trim whitespace around an external ID; its case is kept.

    Raises:
        ValueError: nothing is left after trimming.
    """
    normalized = value.strip()
    if not normalized:
        raise ValueError("empty after trimming whitespace")
    return normalized


def _nonempty(normalized: str) -> str:
    if not normalized:
        raise ValueError("empty after normalization")
    return normalized


def normalize_name(value: str) -> str:
    """Remove all whitespace from a first or last name and lowercase it ("Ana Luiza" ->
    "analuiza"), as TikTok's code does (Segment's TikTok destinations, formatString).

    Raises:
        ValueError: nothing is left.
    """
    return _nonempty("".join(value.split()).lower())


def normalize_zip_code(value: str) -> str:
    """Remove all whitespace from a postal code and lowercase it ("SW1A 1AA" -> "sw1a1aa").

    Raises:
        ValueError: nothing is left.
    """
    return _nonempty("".join(value.split()).lower())


_NOT_ASCII_ALNUM = re.compile(r"[^A-Za-z0-9]+")


def normalize_location(value: str) -> str:
    """A city or state as TikTok's code sends it, raw: every character outside A-Z, a-z and
    0-9 removed, then lowercased ("New York" -> "newyork", "São Paulo" -> "sopaulo"; Segment's
    TikTok destinations, formatAddress). An empty result means absent."""
    return _NOT_ASCII_ALNUM.sub("", value).lower()


def normalize_country(value: str) -> str:
    """A country as TikTok's code sends it, raw: like normalize_location ("US" -> "us",
    "United States" -> "unitedstates"). is_known_country tells whether it is as expected."""
    return normalize_location(value)


_country_names: frozenset[str] | None = None


def is_known_country(normalized: str) -> bool:
    """Whether a normalized country is an ISO 3166-1 alpha-2 code or a country's name in one
    of the languages of phonenumbers' region data ("us", "unitedstates", "brasil")."""
    global _country_names
    if len(normalized) == 2:
        return normalized.upper() in phonenumbers.SUPPORTED_REGIONS
    if _country_names is None:
        from phonenumbers.geodata.locale import LOCALE_DATA

        _country_names = frozenset(
            normalize_location(name)
            for names in LOCALE_DATA.values()
            for name in names.values()
            if not name.startswith("*")
        )
    return normalized in _country_names


def normalize_advertising_id(value: str) -> str:
    """Trim and lowercase a mobile advertising ID (IDFA, GAID).

    Raises:
        ValueError: nothing is left.
    """
    return _nonempty(value.strip().lower())


#: Words that mark a query parameter's name as raw personal data (left out of a URL: TikTok
#: takes such data only hashed). A name matches when one of its words is one of these (`tel`,
#: `billing_tel`) or, for the longer ones, when it holds one (`customerEmail`).
PERSONAL_QUERY_WORDS = frozenset({"email", "mail", "phone", "tel", "mobile", "msisdn", "cell"})
_HELD_WORDS = ("email", "phone", "mobile", "msisdn")
_WORDS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
# What a raw e-mail address looks like inside any text (a URL's query, a description).
_EMAIL_IN_TEXT = re.compile(
    r"[^@\s/?&=#:;,\"'<>()\[\]]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
)
# An international phone number inside any text: "+", then 8 to 15 digits with the usual
# separators. Not after a letter, digit or "+" (a base64 ttclid, a time's "+03:00" offset),
# not followed by a letter or digit. Bare digits are never taken for a phone: ids look alike.
_PHONE_IN_TEXT = re.compile(r"(?<![\w+])\+\d[\d ().+\-]{6,28}\d(?!\w)")
_DIGIT = re.compile(r"\d")


# A URL's user:password@host is not an e-mail address.
_USERINFO_BEFORE = re.compile(r"//[^/?#@\s]*$")


#: Endings of file names, which `logo@2x.png` has where an e-mail address has a domain's.
_FILE_ENDINGS = frozenset(
    {"png", "jpg", "jpeg", "gif", "webp", "svg", "ico", "avif", "css", "js", "json", "html",
     "htm", "pdf", "mp4", "webm", "woff", "woff2", "txt", "xml"}
)  # fmt: skip


def _email_in(text: str) -> bool:
    for match in _EMAIL_IN_TEXT.finditer(text):
        if _USERINFO_BEFORE.search(text, 0, match.start()):
            continue
        if match.group().rsplit(".", 1)[1].lower() in _FILE_ENDINGS:
            continue
        return True
    return False


def _phone_in(text: str) -> bool:
    for match in _PHONE_IN_TEXT.finditer(text):
        if 8 <= len(_DIGIT.findall(match.group())) <= 15:
            return True
    return False


def personal_data_kind(text: str) -> str | None:
    """What raw personal data a text carries, by shape: "an e-mail address", "a phone
    number" (international: "+" and 8 to 15 digits), or None. Percent-encoding is read
    ("ana%40example.com"). A SHA-256 digest carries none."""
    if "@" in text or "%40" in text.lower() or "%2540" in text.lower():
        for form in (text, unquote(text), unquote_plus(text), unquote(unquote(text))):
            if _email_in(form):
                return "an e-mail address"
    if "+" in text or "%2b" in text.lower():
        for form in (text, unquote(text)):
            if _phone_in(form):
                return "a phone number"
    return None


def _personal_name(name: str) -> bool:
    text = unquote_plus(name)
    lowered = text.lower()
    if any(word in lowered for word in _HELD_WORDS):
        return True
    return any(word.lower() in PERSONAL_QUERY_WORDS for word in _WORDS.findall(text))


def without_query(url: str) -> str:
    """The URL up to its query or fragment (plain text: it need not parse)."""
    return re.split(r"[?#]", url, maxsplit=1)[0]


def without_personal_query(url: str | None) -> str | None:
    """The URL without the parts that carry raw personal data: query parameters (in the query,
    or in a fragment's own query, as single-page apps route: `#/done?email=...`) whose value
    is shaped like an e-mail address or an international phone number (percent-encoded or
    not) or whose name has a word of PERSONAL_QUERY_WORDS (`email`, `billing_phone`,
    `phoneNumber`, `email[]`), and path segments or a fragment shaped like one
    (`/users/ana@example.com/orders`). Every other byte is kept: a URL with nothing to remove
    comes back unchanged. Names, street addresses and other free text have no shape to tell
    them by.

    The rule of the `x-normalize: url` mark (page.url, page.referrer): every event passes it,
    whatever sends it."""
    if not url or not _MAY_CARRY.search(url):
        return url
    rest, hash_sign, fragment = url.partition("#")
    rest, question, query = rest.partition("?")
    origin, path = _origin_and_path(rest)
    cleaned = origin + _clean_path(path)
    if question:
        kept = _kept_query(query)
        cleaned += f"?{kept}" if kept or not query else ""
    if hash_sign:
        route, inner, inner_query = fragment.partition("?")
        if inner:
            kept = _kept_query(inner_query)
            fragment = _clean_path(route) + (f"?{kept}" if kept or not inner_query else "")
        elif "=" in fragment:
            fragment = _kept_query(fragment)
        elif personal_data_kind(fragment) is not None:
            fragment = ""
        cleaned += f"#{fragment}" if fragment or url.endswith("#") else ""
    return url if cleaned == url else cleaned


# What a URL needs to carry personal data by the rule above: a query or fragment (named
# parameters), or an address's "@" or a number's "+", plain or percent-encoded. Most page URLs
# have none of these and come back at once.
_MAY_CARRY = re.compile(r"[?#@+%]")
_ORIGIN = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:(?://[^/]*)?")


def _origin_and_path(text: str) -> tuple[str, str]:
    """scheme://user@host:port (never looked into: user:password@ is not an e-mail), and the
    path after it."""
    found = _ORIGIN.match(text)
    end = found.end() if found else 0
    return text[:end], text[end:]


def _clean_path(path: str) -> str:
    return "/".join(segment for segment in path.split("/") if personal_data_kind(segment) is None)


def _kept_query(query: str) -> str:
    kept = []
    for piece in query.split("&"):
        name = piece.partition("=")[0]
        if _personal_name(name) or personal_data_kind(piece) is not None:
            continue
        kept.append(piece)
    return "&".join(kept)


def normalize_url(value: str) -> str:
    """A page URL or referrer as sent: without the parts that carry raw personal data
    (without_personal_query); empty when nothing else was left. Never refused: the event is
    sent, without them."""
    return without_personal_query(value) or ""


def raw_personal_data(payload: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(dotted path, kind) of each string in a JSON value that carries a raw e-mail address or
    international phone number (personal_data_kind); never the value itself. Keys are not
    looked at; SHA-256 digests, IPs, user agents and ids carry none of these shapes."""
    if isinstance(payload, str):
        kind = personal_data_kind(payload)
        if kind is not None:
            yield path, kind
    elif isinstance(payload, dict):
        for key, value in payload.items():
            yield from raw_personal_data(value, f"{path}.{key}" if path else str(key))
    elif isinstance(payload, list):
        for index, value in enumerate(payload):
            yield from raw_personal_data(value, f"{path}.{index}" if path else str(index))


DEFAULT_NORMALIZERS: Mapping[str, Normalizer] = {
    # x-pii marks: normalized, then hashed
    "email": normalize_email,
    "phone": normalize_phone,
    "external_id": normalize_external_id,
    "name": normalize_name,
    "zip_code": normalize_zip_code,
    "advertising_id": normalize_advertising_id,
    # x-normalize marks: normalized and sent raw
    "location": normalize_location,
    "country": normalize_country,
    "url": normalize_url,
}
_normalizers: dict[str, Normalizer] = dict(DEFAULT_NORMALIZERS)
_lock = threading.Lock()


def register_normalizer(mark: str, normalizer: Normalizer | None) -> None:
    """Use normalizer for every field whose schema mark is `x-pii: mark` (None: the default).

    It applies process-wide, to model validation and to outgoing payloads alike. It takes the
    raw string and returns the normalized one, raising ValueError (without the value in the
    message) for input it refuses. It must be idempotent (normalizing a normalized value gives
    it back): models store normalized values, and they are normalized again when hashed.
    Example: national Brazilian numbers::

        register_normalizer("phone", lambda v: normalize_phone(v, default_region="BR"))
    """
    with _lock:
        if normalizer is None:
            default = DEFAULT_NORMALIZERS.get(mark)
            if default is None:
                _normalizers.pop(mark, None)
            else:
                _normalizers[mark] = default
        else:
            _normalizers[mark] = normalizer
        _direct.clear()
        _direct.update(_cheap_normalizers())
        _memo.clear()


def normalizer_for(mark: str) -> Normalizer:
    """The normalizer registered for a schema mark.

    Raises:
        KeyError: no normalizer is registered for the mark.
    """
    try:
        return _normalizers[mark]
    except KeyError:
        raise KeyError(
            f"no normalizer for personal-data mark x-pii={mark!r}; "
            "register one with pytt_events.register_normalizer()"
        ) from None


class _Memo:
    """Normalized values and digests of personal data, by (mark, value), bounded.

    The same customer's identity repeats across events, and phone parsing is the costliest
    step: each raw value is normalized once. Values the models already normalized are hashed
    without it (clean_payload's normalized), so only raw values are kept: 16,384 of them
    (about 3 MB), which holds a few thousand returning customers. When full, the memo is
    emptied and refills (simple and bounded, without per-hit bookkeeping).
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.normalized: dict[tuple[str, str], str] = {}
        self.digests: dict[tuple[str, str], str] = {}

    def clear(self) -> None:
        self.normalized.clear()
        self.digests.clear()

    def normalize(self, mark: str, value: str) -> str:
        key = (mark, value)
        found = self.normalized.get(key)
        if found is not None:
            return found
        stripped = value.strip()
        result = stripped.lower() if is_sha256_hex(stripped) else normalizer_for(mark)(value)
        if len(self.normalized) >= self.size:
            self.normalized.clear()
        self.normalized[key] = result
        return result

    def digest(self, mark: str, value: str) -> str:
        key = (mark, value)
        found = self.digests.get(key)
        if found is not None:
            return found
        normalized = self.normalize(mark, value)
        if is_sha256_hex(normalized):
            result = normalized
        else:
            result = sha256_hex(phone_hash_form(normalized) if mark == "phone" else normalized)
        if len(self.digests) >= self.size:
            self.digests.clear()
        self.digests[key] = result
        return result


_memo = _Memo(_CACHE_SIZE)

#: The default normalizers that cost less than remembering their result (a strip and a
#: lower case, one pattern): run directly, not through the memo, which keeps the values worth
#: keeping (phone numbers, and any normalizer registered in place of these).
_CHEAP = frozenset({"email", "external_id", "name", "zip_code", "advertising_id"})


def _cheap_normalizers() -> dict[str, Normalizer]:
    return {
        mark: normalizer
        for mark, normalizer in _normalizers.items()
        if mark in _CHEAP and normalizer is DEFAULT_NORMALIZERS[mark]
    }


_direct: dict[str, Normalizer] = _cheap_normalizers()


def normalize(mark: str, value: str) -> str:
    """Normalize a personal-data value for its mark; a SHA-256 digest passes through.

    Memoized (bounded) where normalizing costs more than remembering (phone numbers, and
    normalizers registered by the application): the same customer's identity repeats.

    Raises:
        ValueError: the normalizer refuses the value.
    """
    normalizer = _direct.get(mark)
    if normalizer is None:
        return _memo.normalize(mark, value)
    if len(value) >= 64:
        stripped = value.strip()
        if is_sha256_hex(stripped):
            return stripped.lower()
    return normalizer(value)


def hash_value(mark: str, value: str) -> str:
    """Normalize then SHA-256-hash a personal-data value; a SHA-256 digest passes through.

    Raises:
        ValueError: the normalizer refuses the value.
    """
    return _memo.digest(mark, value)


class PersonalDataError(ValueError):
    """A personal-data field could not be prepared; `path` names it, the value is never shown."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def _digest_normalized(mark: str, value: str) -> str:
    """The digest of a value already normalized (a SHA-256 digest passes through, lowercase,
    as the models leave it): no memo, no normalizer."""
    if is_sha256_hex(value):
        return value.lower()
    return sha256_hex(phone_hash_form(value) if mark == "phone" else value)


class UnusableValue(str):
    """What a model holds for a personal-data value that cannot be a match key (a phone
    number that cannot exist, a text that is no e-mail address, a national number without a
    region): an empty string, which means absent, so it is never sent; `reason` says why (the
    value itself is not kept). The event goes out with its other match keys."""

    reason: str

    def __new__(cls, reason: str) -> UnusableValue:
        made = super().__new__(cls, "")
        made.reason = reason
        return made

    def __repr__(self) -> str:
        return f"UnusableValue({self.reason!r})"


class PartlyUsable(list[str]):
    """A list of personal-data values some of which cannot be match keys: the usable ones,
    normalized; `reasons` holds (position in the list given, reason) for each left out."""

    __slots__ = ("reasons",)
    reasons: tuple[tuple[int, str], ...]

    def __init__(self, usable: list[str], reasons: tuple[tuple[int, str], ...]) -> None:
        super().__init__(usable)
        self.reasons = reasons


class WireContext:
    """The serialization context under which a model's personal-data fields serialize as sent
    (see wire_value): hashed (hash=True) or as the model holds them, with `dropped` set when
    the model held a value that cannot be a match key (UnusableValue, PartlyUsable). Any other
    context, or none, leaves every value as the model holds it."""

    __slots__ = ("dropped", "hash")

    def __init__(self, hash: bool = True) -> None:
        self.hash = hash
        self.dropped = False


def wire_value(mark: str, value: Any, info: Any) -> Any:
    """The serializer of a personal-data field (x-pii) of a model: under a WireContext, its
    value as sent, hashed (the models hold it normalized: a string, or a list of them);
    otherwise the value as it is. One pass of pydantic's serializer then makes the body, with
    no walk over it afterwards. A value that cannot be a match key serializes as "" (absent,
    left out of the body) and is told to the context."""
    context = info.context
    if type(context) is not WireContext:
        return value
    if type(value) is str:
        if not context.hash:
            return value
        if len(value) == 64 and _SHA256_HEX.fullmatch(value):
            return value.lower()  # hashed upstream
        if mark == "phone" and value.startswith("+86"):
            value = value[3:]  # phone_hash_form, inline: this runs for every field sent
        return hashlib.sha256(value.encode()).hexdigest()
    if type(value) is list:
        return [_digest_normalized(mark, item) for item in value] if context.hash else value
    if isinstance(value, UnusableValue):
        context.dropped = True
        return ""
    if isinstance(value, PartlyUsable):
        context.dropped = True
        return [_digest_normalized(mark, item) for item in value] if context.hash else list(value)
    return value


def _require_hashed(mark: str, value: str) -> str:
    if not is_sha256_hex(value):
        raise ValueError("must already be a SHA-256 hex digest (hashing is turned off)")
    return value.lower()


def apply_plan(payload: Any, plan: PiiPlan, *, hash_values: bool = True, path: str = "") -> Any:
    """Return payload with every field named by plan hashed (or, with hash_values=False,
    checked to be hashed already). Containers on those paths are copied; the input is never
    mutated. Empty strings in marked fields are dropped as absent.

    Raises:
        PersonalDataError: a marked value is not a string, or its normalizer refuses it.
    """
    try:
        return _apply(payload, plan, hash_values)
    except _RefusedError as refused:
        where = ".".join([*([path] if path else []), *reversed(refused.parts)])
        raise PersonalDataError(where, refused.reason) from None


def clean_payload(
    payload: dict[str, Any],
    plan: PiiPlan,
    *,
    hash_values: bool = True,
    normalized: bool = False,
    path: str = "",
) -> dict[str, Any]:
    """A serialized model as it is sent, in one walk: without what means "absent" to TikTok
    (None and empty strings, in lists too), and with every field named by plan hashed (or,
    with hash_values=False, checked to be hashed already). The same as drop_empty, then
    apply_plan. The input is not mutated. normalized: the values are already normalized (a
    model's, whose validators normalized them), so they are hashed as they are.

    Raises:
        PersonalDataError: a marked value is not a string, or its normalizer refuses it.
    """
    if not hash_values:
        prepare: Callable[[str, str], str] = _require_hashed
    else:
        prepare = _digest_normalized if normalized else _memo.digest
    try:
        return _clean(payload, plan, prepare)
    except _RefusedError as refused:
        where = ".".join([*([path] if path else []), *reversed(refused.parts)])
        raise PersonalDataError(where, refused.reason) from None


_CONTAINERS = (dict, list)


def _clean(
    payload: dict[str, Any], plan: Any, prepare: Callable[[str, str], str]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in payload.items():
        if value is None or value == "":
            continue
        rule = plan.get(key) if plan else None
        kind = type(value)
        try:
            if rule is None:
                if kind is dict:
                    value = _clean(value, None, prepare)
                elif kind is list:
                    value = _clean_list(value, None, prepare)
            elif type(rule) is str:
                if kind is list:
                    value = [item for item in value if item is not None and item != ""]
                value = _prepare(rule, value, prepare)
                if value is _ABSENT:
                    continue
            elif kind is dict:
                value = _clean(value, rule, prepare)
            elif kind is list:
                value = _clean_list(value, rule, prepare)
        except _RefusedError as refused:
            refused.parts.append(key)
            raise
        out[key] = value
    return out


def _clean_list(items: list[Any], plan: Any, prepare: Callable[[str, str], str]) -> list[Any]:
    out = []
    for index, item in enumerate(items):
        if item is None or item == "":
            continue
        kind = type(item)
        try:
            if kind is dict:
                item = _clean(item, plan, prepare)
            elif kind is list:
                item = _clean_list(item, plan, prepare)
        except _RefusedError as refused:
            refused.parts.append(str(index))
            raise
        out.append(item)
    return out


class _RefusedError(Exception):
    """A refusal on its way up: each level adds its key (the path is built only on errors)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.parts: list[str] = []


_ABSENT: Any = object()


def _apply(payload: Any, plan: PiiPlan, hash_values: bool) -> Any:
    if type(payload) is list:
        items = []
        for index, item in enumerate(payload):
            try:
                items.append(_apply(item, plan, hash_values))
            except _RefusedError as refused:
                refused.parts.append(str(index))
                raise
        return items
    if type(payload) is not dict:
        return payload
    out: dict[str, Any] | None = None
    for key, rule in plan.items():
        value = payload.get(key)
        if value is None:
            continue
        try:
            if isinstance(rule, str):
                new_value = _prepare(rule, value, _memo.digest if hash_values else _require_hashed)
            else:
                new_value = _apply(value, rule, hash_values)
        except _RefusedError as refused:
            refused.parts.append(key)
            raise
        if new_value is not value:
            if out is None:
                out = dict(payload)
            if new_value is _ABSENT:
                del out[key]
            else:
                out[key] = new_value
    return payload if out is None else out


def _prepare(mark: str, value: Any, prepare: Callable[[str, str], str]) -> Any:
    if type(value) is str:
        if is_absent(value):
            return _ABSENT
        try:
            return prepare(mark, value)
        except ValueError as error:
            raise _RefusedError(str(error)) from None
    if isinstance(value, list):
        items = []
        for index, item in enumerate(value):
            try:
                prepared = _prepare(mark, item, prepare)
            except _RefusedError as refused:
                refused.parts.append(str(index))
                raise
            if prepared is not _ABSENT:
                items.append(prepared)
        return items
    if isinstance(value, str):  # a str subclass
        return _prepare(mark, str(value), prepare)
    raise _RefusedError(f"personal data must be a string, not {type(value).__name__}")


_region_from_environment()
