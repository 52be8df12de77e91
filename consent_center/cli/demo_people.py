"""The demo's people: names, addresses and numbers drawn from a seeded random generator.

Only reserved example domains (RFC 2606) and numbers no one is reached at
from a demo; the same seed draws the same people.
"""
from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta

FIRST = {
    "fr": ["Camille", "Léa", "Manon", "Chloé", "Inès", "Louise", "Jade", "Hugo", "Lucas", "Théo", "Nathan",
           "Louis", "Arthur", "Gabriel", "Zoé", "Émile", "Jules", "Margaux", "Noémie", "Mathis"],
    "nl": ["Lotte", "Emma", "Noor", "Lien", "Fien", "Marie", "Sara", "Jonas", "Lars", "Wout", "Arne",
           "Bram", "Sem", "Milan", "Ruben", "Elke", "Joris", "Ine", "Pieter", "Anouk"],
    "en": ["Olivia", "Amelia", "Isla", "Ava", "Grace", "Sophie", "Oliver", "George", "Harry", "Noah",
           "Jack", "Leo", "Freddie", "Alfie", "Ella", "Ruby", "Thomas", "Evie", "Oscar", "Mia"],
}
LAST = {
    "fr": ["Martin", "Bernard", "Dubois", "Lefèvre", "Moreau", "Laurent", "Simon", "Michel", "Garcia",
           "Roux", "Fournier", "Girard", "Bonnet", "Dupont", "Lambert", "Fontaine", "Rousseau", "Mercier"],
    "nl": ["Peeters", "Janssens", "Maes", "Jacobs", "Mertens", "Willems", "Claes", "Goossens", "Wouters",
           "De Smet", "Dubois", "Lambrecht", "Van den Broeck", "Vermeulen", "De Vos", "Hermans"],
    "en": ["Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel",
           "Wright", "Walker", "Evans", "Roberts", "Green", "Hall", "Wood", "Clarke", "Hughes"],
}
DOMAINS = ("example.com", "example.org", "example.net")
CITIES = {"fr": "75011 Paris", "nl": "9000 Gent", "en": "1000 Bruxelles"}


@dataclass
class Person:
    """One demo subject before it is written: who, and when it signed up."""

    number: int
    locale: str
    first: str
    last: str
    email: str
    phone: str | None  # as a person types it: national or international
    customer: bool
    created: datetime
    postal_address: str | None = None
    subject: object = field(default=None, repr=False)  # once added
    # Channels kept on until a later journey stops them (the newsletter of an unsubscribe by link, SMS of a STOP).
    keeps: set[str] = field(default_factory=set)
    statuses: dict = field(default_factory=dict, repr=False)  # where the bulk history left each channel

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"


def ascii_part(text: str) -> str:
    """The address form of a name: accents and spaces dropped."""
    flat = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in flat.lower() if ch.isalnum())


def typed_phone(locale: str, number: int) -> str:
    """A mobile number of the person's country, typed with spaces (stored in E.164 by the real code).

    Always with its country code: a national number would be read in ``CONSENT_JURISDICTION``'s country.
    """
    if locale == "fr":
        digits = f"6{12_000_000 + number:08d}"
        return "+33 " + " ".join([digits[0]] + [digits[i:i + 2] for i in range(1, 9, 2)])  # +33 6 12 00 00 17
    if locale == "nl":
        return f"+32 47{number % 10} {300_000 + number:06d}"
    return f"+44 7911 {100_000 + number:06d}"


def draw_people(rng: random.Random, count: int, first_at: datetime, last_at: datetime) -> list[Person]:
    """``count`` people, signed up between the two moments, oldest first."""
    span = (last_at - first_at).total_seconds()
    people = []
    for number in range(1, count + 1):
        locale = rng.choices(("fr", "nl", "en"), weights=(5, 3, 2))[0]
        first, last = rng.choice(FIRST[locale]), rng.choice(LAST[locale])
        email = f"{ascii_part(first)}.{ascii_part(last)}{number}@{rng.choice(DOMAINS)}"
        customer = rng.random() < 0.65
        people.append(Person(
            number=number, locale=locale, first=first, last=last, email=email,
            phone=typed_phone(locale, number) if rng.random() < 0.55 else None,
            customer=customer,
            created=first_at + timedelta(seconds=int(rng.random() * span)),
            postal_address=(f"{rng.randint(1, 180)} {rng.choice(['rue', 'straat', 'avenue'])} "
                            f"{rng.choice(LAST[locale])}, {CITIES[locale]}")
            if customer and rng.random() < 0.4 else None,
        ))
    people.sort(key=lambda p: p.created)
    return people
