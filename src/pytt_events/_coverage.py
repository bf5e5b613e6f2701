"""Match-key coverage: which match keys each event carries, and the share of events carrying
each over a batch, with a coarse match-strength grade per event. The public face is
pytt_events.coverage; this module is pure (it imports nothing of the package), so the
planner, the responses and the validator all count with it.

The keys are the schema's x-match-key marks (_schema.match_key_plan reads where they sit);
an event's keys are held as one int, a bit a key (KEYS' order), so an event costs one walk of
a small plan and a batch a Counter of a few distinct ints.

The grade is a heuristic of this SDK: TikTok publishes no formula of how much each key
weighs. The rule (GRADE_RULE):
    strong  a ttclid, or an advertising ID (idfa or gaid), or an e-mail address or phone
            number together with the IP address and the user agent
    medium  an e-mail address, a phone number or an external_id; or the _ttp cookie together
            with the IP address and the user agent
    weak    anything less: the IP address and the user agent (or one of them), the _ttp
            cookie alone
    none    no match key at all
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any, TypeAlias

__all__ = ["GRADES", "GRADE_RULE", "KEYS", "ROWS", "Coverage", "grade_of", "keys_in", "names_of"]

#: The match keys, as the schema's x-match-key marks name them, in the order of the table.
KEYS = ("email", "phone", "external_id", "ttclid", "ttp", "ip", "user_agent", "idfa", "gaid")

BITS = {key: 1 << position for position, key in enumerate(KEYS)}

#: The rows of the coverage table: each key, and two pairs TikTok uses together:
#: (name, the keys' bits, whether all of them are needed (True) or any (False)).
ROWS: tuple[tuple[str, int, bool], ...] = (
    *((key, BITS[key], True) for key in KEYS[:7]),
    ("ip+user_agent", BITS["ip"] | BITS["user_agent"], True),
    *((key, BITS[key], True) for key in KEYS[7:]),
    ("idfa|gaid", BITS["idfa"] | BITS["gaid"], False),
    ("any key", (1 << len(KEYS)) - 1, False),
)
_ROWS = {name: (bits, every) for name, bits, every in ROWS}

#: The match-strength grades, strongest first.
GRADES = ("strong", "medium", "weak", "none")

#: The grade rule in one line a grade (a heuristic: TikTok publishes no formula).
GRADE_RULE = {
    "strong": "ttclid; or idfa/gaid; or email or phone with ip+user_agent",
    "medium": "email, phone or external_id; or ttp with ip+user_agent",
    "weak": "ip and/or user_agent, or ttp, without the above",
    "none": "no match key",
}

#: Where the match keys sit below an event, compiled for the walk: the fields holding a key
#: (field, its bit), then the objects below that hold some (field, their plan).
KeyPlan: TypeAlias = tuple[tuple[tuple[str, int], ...], tuple[tuple[str, "KeyPlan"], ...]]


def _grade(mask: int) -> str:
    has = {key for key, bit in BITS.items() if mask & bit}
    ip_ua = {"ip", "user_agent"} <= has
    if "ttclid" in has or has & {"idfa", "gaid"} or (has & {"email", "phone"} and ip_ua):
        return "strong"
    if has & {"email", "phone", "external_id"} or ("ttp" in has and ip_ua):
        return "medium"
    return "weak" if has else "none"


#: The grade of every combination of keys, worked out once.
_GRADE_OF = tuple(_grade(mask) for mask in range(1 << len(KEYS)))


def grade_of(mask: int) -> str:
    """The match-strength grade of an event carrying the keys of mask (a heuristic)."""
    return _GRADE_OF[mask]


def names_of(mask: int) -> frozenset[str]:
    """The names of the keys in mask."""
    return frozenset(key for key, bit in BITS.items() if mask & bit)


def compile_plan(plan: Mapping[str, Any], where: str = "") -> KeyPlan:
    """A plan of key names ({field: x-match-key value or the plan below}) as a KeyPlan.

    Raises:
        ValueError: a mark names no known match key.
    """
    leaves: list[tuple[str, int]] = []
    children: list[tuple[str, KeyPlan]] = []
    for field, mark in plan.items():
        if isinstance(mark, str):
            if mark not in BITS:
                known = ", ".join(KEYS)
                raise ValueError(f"{where}{field}: x-match-key {mark!r} is none of {known}")
            leaves.append((field, BITS[mark]))
        else:
            children.append((field, compile_plan(mark, f"{where}{field}.")))
    return tuple(leaves), tuple(children)


def keys_in(event: Any, plan: KeyPlan) -> int:
    """The match keys an event (a JSON-ready dict, as sent) carries, as bits: a key counts when
    its value is sent, a non-empty string or a list holding one (a value that cannot be a
    match key was left out of the event, so it does not count)."""
    mask = 0
    if type(event) is not dict:
        return mask
    leaves, children = plan
    get = event.get
    for field, bit in leaves:
        value = get(field)
        if value and (  # not None, "" or []
            type(value) is str
            or (type(value) is list and any(type(item) is str and item for item in value))
        ):
            mask |= bit
    for field, below in children:
        value = get(field)
        if value:
            mask |= keys_in(value, below)
    return mask


class Coverage:
    """Match-key coverage over a batch of events: how many events carry each match key (and
    the pairs of ROWS), and how many events have each match-strength grade (a heuristic, see
    pytt_events.coverage). Added with `+` (or merged), compared with `==`; `table()` renders
    it as text, `as_dict()` as numbers.

    Args:
        masks: each event's keys as bits (what the planner works out); or, with counts, a
            mapping of such bits to how many events carry exactly those keys.
    """

    __slots__ = ("_masks",)

    def __init__(self, masks: Iterable[int] | Mapping[int, int] = ()) -> None:
        self._masks: Counter[int] = Counter(masks)
        if isinstance(masks, Mapping):
            self._masks = Counter(dict(masks))

    @classmethod
    def merge(cls, parts: Iterable[Coverage]) -> Coverage:
        """The coverage of several batches together."""
        total = cls()
        for part in parts:
            total += part
        return total

    def __add__(self, other: object) -> Coverage:
        if not isinstance(other, Coverage):
            return NotImplemented
        return Coverage(self._masks + other._masks)

    def __iadd__(self, other: object) -> Coverage:
        if not isinstance(other, Coverage):
            return NotImplemented
        self._masks.update(other._masks)
        return self

    def add(self, mask: int, count: int = 1) -> None:
        """Count count events carrying the keys of mask."""
        self._masks[mask] += count

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Coverage):
            return NotImplemented
        return +self._masks == +other._masks

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        keys = ", ".join(f"{key}={self.count(key)}" for key in KEYS if self.count(key))
        return f"Coverage(events={self.events}{', ' if keys else ''}{keys})"

    @property
    def masks(self) -> Mapping[int, int]:
        """How many events carry exactly each combination of keys (as bits, KEYS' order)."""
        return dict(self._masks)

    @property
    def events(self) -> int:
        """How many events were counted."""
        return sum(self._masks.values())

    def count(self, key: str) -> int:
        """How many events carry key: a match key (KEYS) or a row of the table (ROWS:
        "ip+user_agent" both, "idfa|gaid" either, "any key").

        Raises:
            KeyError: key is neither.
        """
        try:
            bits, every = _ROWS[key]
        except KeyError:
            raise KeyError(f"{key!r}: no match key; known: {', '.join(_ROWS)}") from None
        if every:
            return sum(n for mask, n in self._masks.items() if mask & bits == bits)
        return sum(n for mask, n in self._masks.items() if mask & bits)

    def share(self, key: str) -> float:
        """The share of events carrying key (see count), from 0 to 1 (0 when no events)."""
        events = self.events
        return self.count(key) / events if events else 0.0

    @property
    def grades(self) -> dict[str, int]:
        """How many events have each match-strength grade (GRADES' order; a heuristic)."""
        found = dict.fromkeys(GRADES, 0)
        for mask, n in self._masks.items():
            found[_GRADE_OF[mask]] += n
        return found

    def as_dict(self) -> dict[str, Any]:
        """{"events": n, "keys": {row: events}, "grades": {grade: events}}: JSON-ready."""
        return {
            "events": self.events,
            "keys": {name: self.count(name) for name, _, _ in ROWS},
            "grades": self.grades,
        }

    def table(self) -> str:
        """The coverage as a text table: each key's events and share, then each grade's."""
        events = self.events
        width = max(len(name) for name in (*_ROWS, *GRADES))
        digits = max(len(f"{events:,}"), len("events"))

        def line(name: str, count: int) -> str:
            share = f"{count / events:6.1%}" if events else "     -"
            return f"  {name:<{width}}  {count:>{digits},}  {share}"

        lines = [f"match-key coverage of {events:,} event(s)"]
        lines.append(f"  {'match key':<{width}}  {'events':>{digits}}   share")
        lines += [line(name, self.count(name)) for name, _, _ in ROWS]
        lines.append(f"  {'grade (heuristic)':<{width}}")
        grades = self.grades
        lines += [line(grade, grades[grade]) for grade in GRADES]
        return "\n".join(lines)
