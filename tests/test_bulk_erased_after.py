"""The bulk check asks the erasure list only about the addresses no subject has (check/bulk.py ``erased_among``).

Where no list's rows ride in the query, the digests of a whole send list were
computed and sent for nothing when every contact is known: an erased address
is kept off every subject. Either way the answers are the same.
"""
from __future__ import annotations

import pytest
from sqlalchemy import select

from consent_center.ledger import Actor
from consent_center.models import Subject
from consent_center.rights.effects import erase
from consent_center.subjects.channel_suppression import suppress_on_channel

from .test_hot_paths import statements  # noqa: F401, F811 (a fixture)


def _erase(session, subject) -> None:
    erase(session, session.scalars(select(Subject).where(Subject.public_id == subject.public_id)).one(),
          actor=Actor.system())
    session.commit()


@pytest.mark.parametrize("a_list", [False, True], ids=["no list of the medium", "a list rides in the query"])
def test_the_erasure_list_is_asked_only_about_contacts_no_subject_has(api, make_subject, session, statements,
                                                                     a_list):
    known = [make_subject(f"known{n}@example.com") for n in range(3)]
    _erase(session, make_subject("gone@example.com"))
    if a_list:
        suppress_on_channel(session, "listed@example.com", "email", source="complaint")
        session.commit()
    api.get("/check?channel=email&email=known0@example.com")  # the key and the channel's rules are cached
    emails = [s.email for s in known]

    statements.clear()
    results = api.post("/check", json={"channel": "email", "emails": emails}).get_json()["results"]
    assert [r["subject"] for r in results] == [s.public_id for s in known]
    assert statements.count("SELECT") == 1, statements  # the states (and any list's rows), nothing more

    asked = ["GONE@example.com", "known1@example.com", "nobody@example.com", "gone@example.com", "bad address"]
    statements.clear()
    results = api.post("/check", json={"channel": "email", "emails": asked}).get_json()["results"]
    assert [r["status"] for r in results] == ["suppressed", results[1]["status"], "unknown", "suppressed", "unknown"]
    assert results[1]["subject"] == known[1].public_id and results[1]["status"] not in ("suppressed", "unknown")
    assert results[4]["invalid"] is True and all(r["allowed"] is False for r in results[::2])
    # With a list, the erasure list's rows rode in the one query; without, one more for the unknown two.
    assert statements.count("SELECT") == (1 if a_list else 2), statements
    single = api.get("/check?channel=email&email=Gone@Example.com").get_json()
    assert single == results[0]
