"""The answers served now beside the checks: the change feed's ``allowed`` and a change's own answer
say what the check says, suppression lists and undeliverable addresses included (a list is not an
event: the event's status stays the ledger's, its ``allowed`` is the answer now)."""
from __future__ import annotations

from datetime import UTC, datetime

from freezegun import freeze_time

from consent_center.ledger import Actor, record_change
from consent_center.models import Source
from consent_center.subjects.channel_suppression import suppress_on_channel
from consent_center.subjects.deliverability import record_bounce

from .test_api_feed import read_all
from .test_hot_paths import statements  # noqa: F401, F811 (a fixture)

T = datetime(2026, 12, 10, 9, tzinfo=UTC)
PHONES = {"lea": "+33612345678", "max": "+33698765432", "zoe": "+33611223344"}


def _grant(session, subject, *channels):
    record_change(session, subject, dict.fromkeys(channels, "granted"), source=Source.API, actor=Actor.system())
    session.commit()


def _check(api, channel, **query) -> dict:
    response = api.get("/check", query_string={"channel": channel, **query})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def _last_by_subject(events, channel) -> dict:
    return {e["subject"]: e for e in events if e["channel"] == channel}


@freeze_time(T)
def test_the_feed_says_what_the_check_says_of_listed_and_undeliverable_contacts(api, session, make_subject,
                                                                               statements):
    people = {name: make_subject(f"{name}@example.com", phone=phone, is_customer=name == "max")
              for name, phone in PHONES.items()}
    for subject in people.values():
        _grant(session, subject, "newsletter", "sms")
    suppress_on_channel(session, PHONES["lea"], "sms", source="sms_keyword")  # Léa's STOP by SMS
    suppress_on_channel(session, "zoe@example.com", "email", source="complaint")  # Zoé's spam complaint
    record_bounce(session, "Max@Example.com", hard=True, at=T, detail="550 5.1.1 unknown", provider="postmark")
    session.commit()
    session.rollback()

    events, _ = read_all(api, limit=1000)
    for channel in ("sms", "newsletter"):
        last = _last_by_subject(events, channel)
        for name, subject in people.items():
            check = _check(api, channel, subject=subject.public_id)
            event = last[subject.public_id]
            assert (event["allowed"], event["status"]) == (check["allowed"], "granted"), (channel, name, check)
            if not check["allowed"]:
                assert event["reason"] == check["status"], (channel, name)
    # Léa is on SMS STOP, Zoé complained by e-mail, Max's address bounced: one "no" each.
    assert [_last_by_subject(events, "sms")[people[n].public_id]["allowed"] for n in PHONES] == [False, True, True]
    assert [_last_by_subject(events, "newsletter")[people[n].public_id]["reason"] for n in PHONES] == [
        "granted", "undeliverable", "listed"]

    # A subject's consents name what blocks, as the check does.
    consents = {c["channel"]: c for c in api.get(f"/subjects/{people['max'].public_id}/consents")
                .get_json()["consents"]}
    assert (consents["newsletter"]["status"], consents["newsletter"]["reason"]) == ("undeliverable", "hard_bounce")
    # A page of both media asks the lists once a medium, not once an event.
    _check(api, "sms", subject=people["lea"].public_id)  # the key and the channels cached
    statements.clear()
    assert api.get("/events", query_string={"limit": 1000}).status_code == 200
    assert statements.count("SELECT") == 3, statements  # the page, the lists of each medium


@freeze_time(T)
def test_a_change_answers_with_the_check_of_a_listed_contact(api, session, make_subject):
    lea = make_subject("lea@example.com", phone=PHONES["lea"])
    suppress_on_channel(session, PHONES["lea"], "sms", source="sms_keyword")
    session.commit()
    response = api.post(f"/subjects/{lea.public_id}/consents",
                        json={"channel": "sms", "status": "granted", "source": "api"})
    assert response.status_code == 201, response.get_data(as_text=True)
    event = response.get_json()["events"][0]
    check = _check(api, "sms", subject=lea.public_id)
    assert (event["status"], event["allowed"], event["reason"]) == ("granted", False, "listed")
    assert (check["allowed"], check["status"], check["list"]) == (False, "listed", "SMS STOP")
    consents = {c["channel"]: c for c in api.get(f"/subjects/{lea.public_id}/consents").get_json()["consents"]}
    assert (consents["sms"]["allowed"], consents["sms"]["status"], consents["sms"]["list"]) == (
        False, "listed", "SMS STOP")
    assert "list" not in consents["email"] and "reason" not in consents["email"]
