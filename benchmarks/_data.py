"""A deterministic generator of realistic events for the benchmarks: customers who come back
(identities repeat, as in real traffic) or, with as many customers as events, never seen
before; mixed phone formats, 1-3 contents, unicode names."""

from __future__ import annotations

import random
from typing import Any

FIRST = ["Ana", "José", "Zoë", "Łukasz", "Mei", "Søren", "Chloé", "Jürgen", "Aiyana", "Björk"]
LAST = ["Silva", "Müller", "O'Brien", "Nguyễn", "García", "Kowalski", "Dubois", "Rossi"]
CITIES = ["São Paulo", "Curitiba", "München", "New York", "Kraków", "Zürich", "Lyon"]
PHONES = [
    "+55 (41)9.9886-{:04d}",
    "+1 415-555-{:04d}",
    "+44 20 7946 {:04d}",
    "+5541998{:06d}",
    "+49 30 9018{:04d}",
]


def customer(rng: random.Random, number: int) -> dict[str, str]:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    # The format by number, the digits from the rest: up to 50,000 customers, no two share a
    # phone number (a customer never seen before is one whose identities are all new).
    phone = PHONES[number % len(PHONES)]
    digits = (number // len(PHONES)) % (10_000 if "{:04d}" in phone else 1_000_000)
    return {
        "email": f" {first}.{last}{number}@Example.com ".replace("'", ""),
        "phone": phone.format(digits),
        "external_id": f"cust-{number:06d}",
        "first_name": first,
        "last_name": last,
        "city": rng.choice(CITIES),
    }


def raw_events(
    count: int, customers: int = 2_000, seed: int = 7, *, fresh: bool = False
) -> list[dict[str, Any]]:
    """`count` raw events (plain values, as an app has them), from `customers` customers drawn
    at random; with fresh, each event is a customer of its own, never seen before."""
    rng = random.Random(seed)
    people = [customer(rng, n) for n in range(count if fresh else customers)]
    events = []
    for i in range(count):
        person = people[i] if fresh else people[rng.randrange(customers)]
        contents = [
            {
                "content_id": f"sku-{rng.randrange(500)}",
                "content_name": f"Café crème nº{rng.randrange(9)}",
                "price": round(rng.uniform(1, 300), 2),
                "quantity": rng.randrange(1, 4),
            }
            for _ in range(rng.randrange(1, 4))
        ]
        events.append(
            {
                "event": rng.choice(["ViewContent", "AddToCart", "CompletePayment", "Search"]),
                "event_id": f"evt-{i}",
                "unix": 1709294400 + i,
                "ip": f"13.57.{rng.randrange(256)}.{rng.randrange(256)}",
                "user_agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)",
                "url": "https://shop.example.com/p/1",
                "ttclid": "E.C.P.v3fQ2RHacdkfKfofPmlyuStIIHJ4Af1tKYxF9zz2c2PLx1Oaw15oHpcfl5AH",
                "currency": "BRL",
                "value": round(sum(c["price"] * c["quantity"] for c in contents), 2),
                "contents": contents,
                **person,
            }
        )
    return events
