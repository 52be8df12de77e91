"""Inbound SMS keywords: STOP withdraws SMS for everyone with the number, START gives back only an SMS stop.

Through the hooks, signed for real (tests/inbound_fixtures.py); keywords in
the three languages with case, accents and surrounding text.
"""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from consent_center.inbound.keywords import REVIEW, START, STOP, classify, fold
from consent_center.config import SMS_START_WORDS, SMS_STOP_TERMS, SMS_STOP_WORDS
from consent_center.ledger import Actor, record_change
from consent_center.models import ConsentEvent, InboundMessage, Subject
from consent_center.models.vocabulary import Source
from consent_center.policies.channels import create_channel
from consent_center.policies.service import publish_policy
from consent_center.subjects.service import create_subject

from .inbound_fixtures import make_hook, post_generic, post_twilio, sms, states, twilio_params, twilio_sid

PARTNER_NAMES = {"fr": "SMS partenaires", "nl": "Partner-sms", "en": "Partners' SMS"}
NOW = datetime(2026, 12, 6, 20, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(("text", "action"), [
    # A stop word opening a short message, as before.
    ("STOP", STOP), ("Stop.", STOP), ("stop svp", STOP), ("ARRÊT merci", STOP), ("arret", STOP), ("Arrêt !", STOP),
    ("ｓｔｏｐ", STOP), ("STOP SMS", STOP), ("  stop\n", STOP), ("Stoppen a.u.b.", STOP), ("AFMELDEN", STOP),
    ("unsubscribe please", STOP), ("Cancel", STOP), ("QUIT!!", STOP), ("end", STOP),
    ("Stop sending me these", STOP),
    # A stop anywhere, however written: the opt-out is free and immediate, a missed one breaks the law.
    ("Please stop texting me, I have asked you many times already", STOP),
    ("Merci de ne plus m'envoyer de SMS. STOP", STOP), ("Merci de ne plus m'envoyer de SMS", STOP),
    ("S T O P", STOP), ("S.T.O.P", STOP), ("s t o p", STOP), ("ST0P", STOP), ("St\u200bop", STOP),
    ("St\u00adop", STOP), ("СТОР", STOP), ("ЅТОР", STOP), ("ΣΤΟΡ", STOP),
    ("Arrêtez", STOP), ("Je veux arrêter", STOP), ("désabonner", STOP), ("Désinscription svp", STOP),
    ("uitschrijven", STOP), ("Ik wil me afmelden voor de sms'jes", STOP), ("Unsubscribing now", STOP),
    ("stopper", STOP), ("please stop", STOP), ("stop stop stop stop stop stop stop", STOP),
    ("I'll be at the bus stop at six tonight then", STOP),  # a false stop costs one marketing SMS
    ("Stop? No, START", STOP), ("don't stop", STOP),
    # A start is a start word and nothing else.
    ("START", START), ("start.", START), ("Unstop", START), ("aanmelden", START), ("Reprendre", START),
    ("S T A R T", START), ("ЅТАRТ", START),
    # Neither: kept as "ignored", or for staff to read when a stop word hides inside ("needs_review").
    ("start please", None), ("don't start", None), ("", None), ("Bonjour", None), ("It ends on Friday", None),
    ("Our nonstop deals are great", REVIEW), ("I will cancel my order tomorrow", REVIEW),
    ("Jusqu'à la fin, quitte à tout arreter", STOP),
])
def test_keywords_in_three_languages_however_written(text, action):
    found = classify(text, SMS_STOP_WORDS, SMS_START_WORDS, 6, SMS_STOP_TERMS)
    assert (found.action if found else None) == action


def test_fold_is_one_form_for_every_spelling():
    assert fold("ARRÊT") == fold("arret") == fold("Arre\u0302t") == fold("ＡＲＲＥＴ") == fold("Ar\u200bret") == "arret"


@freeze_time(NOW)
def test_a_stop_inside_a_sentence_stops_and_a_hidden_one_is_flagged_for_review(client, session, policy):
    public_id = person(session, "a@example.com", "+33612345678")
    hook, url = make_hook(session)
    review = post_generic(client, url, hook, sms("Our nonstop deals are great", id="SM1"), at=NOW)
    assert review.json["accepted"][0]["outcome"] == "needs_review"
    assert states(session, public_id)["sms"][0] == "granted"
    stop = post_generic(client, url, hook, sms("Merci de ne plus m'envoyer de SMS. S.T.O.P", id="SM2"), at=NOW)
    assert stop.json["accepted"][0]["outcome"] == "stopped"
    assert states(session, public_id)["sms"] == ("withdrawn", "sms_keyword")


@pytest.fixture
def policy(session):
    publish_policy(session, "2026-01", {"en": "Policy.", "fr": "Politique.", "nl": "Beleid."},
                   effective_at=datetime(2026, 1, 1, tzinfo=timezone.utc))
    session.commit()


def person(session, email, phone, locale="fr", sms="granted"):
    subject = create_subject(session, actor=Actor.system(), email=email, phone=phone, locale=locale)
    if sms:
        record_change(session, subject, {"sms": sms, "email": "granted"}, source=Source.API, actor=Actor.system())
    session.commit()
    return subject.public_id


@freeze_time(NOW)
def test_stop_withdraws_sms_for_every_subject_with_the_number_national_or_international(client, session, policy):
    a = person(session, "a@example.com", "+33612345678")
    b = person(session, "b@example.com", "+33612345678", locale="nl")
    other = person(session, "c@example.com", "+33699999999")
    hook, url = make_hook(session)
    # A national number, read in France (the short code names no country).
    answer = post_generic(client, url, hook, sms("Arrêt, merci", sender="06 12 34 56 78"), at=NOW)
    assert answer.status_code == 200 and answer.json["accepted"][0]["outcome"] == "stopped"
    for public_id in (a, b):
        assert states(session, public_id)["sms"] == ("withdrawn", "sms_keyword")
        assert states(session, public_id)["email"][0] == "granted"  # only SMS
    assert states(session, other)["sms"][0] == "granted"
    message = session.scalars(select(InboundMessage)).one()
    assert message.sender == "+33612345678" and set(message.details["subjects"]) == {a, b}
    event = session.scalars(select(ConsentEvent).where(ConsentEvent.source == "sms_keyword")).first()
    assert event.evidence == {"inbound_message": message.public_id, "hook": hook.public_id, "keyword": "ARRET"}
    assert "+336" not in str(event.evidence)
    # Again, international form, another message: already stopped, nothing more written.
    again = post_generic(client, url, hook, sms("STOP", sender="+33 6 12 34 56 78", id="SM2"), at=NOW)
    assert again.json["accepted"][0]["outcome"] == "already_stopped"
    session.rollback()
    assert len(session.scalars(select(ConsentEvent).where(ConsentEvent.source == "sms_keyword")).all()) == 2


@freeze_time(NOW)
def test_a_belgian_national_number_is_read_by_the_number_it_was_sent_to(client, session, policy):
    be = person(session, "be@example.com", "+32470123456")
    hook, url = make_hook(session)
    post_generic(client, url, hook, sms("STOPPEN", sender="0470 12 34 56", to="+32 460 20 00 00"), at=NOW)
    assert states(session, be)["sms"][0] == "withdrawn"


@freeze_time(NOW)
def test_start_gives_back_only_what_an_sms_stop_took(client, session, policy):
    stopped = person(session, "a@example.com", "+33612345678", locale="en")
    hook, url = make_hook(session)
    post_generic(client, url, hook, sms("STOP", id="SM1"), at=NOW)
    answer = post_generic(client, url, hook, sms("start", id="SM2"), at=NOW)
    assert answer.json["accepted"][0]["outcome"] == "restarted"
    session.rollback()
    granted = session.scalars(select(ConsentEvent).order_by(ConsentEvent.id.desc())).first()
    assert (granted.status, granted.basis, granted.source) == ("granted", "consent", "sms_keyword")
    # Withdrawn elsewhere (a link, the space): a text never gives it back.
    record_change(session, session.scalars(select(Subject).where(Subject.public_id == stopped)).one(),
                  {"sms": "withdrawn"}, source=Source.UNSUBSCRIBE_LINK, actor=Actor.system())
    session.commit()
    refused = post_generic(client, url, hook, sms("START", id="SM3"), at=NOW)
    assert refused.json["accepted"][0]["outcome"] == "nothing_to_restart"
    assert states(session, stopped)["sms"] == ("withdrawn", "unsubscribe_link")
    # Never asked: a START is no consent to something new.
    never = person(session, "n@example.com", "+33611111111", sms=None)
    post_generic(client, url, hook, sms("START", sender="+33611111111", id="SM4"), at=NOW)
    assert states(session, never)["sms"][0] == "never_asked"


@freeze_time(NOW)
def test_start_does_not_give_back_sharing_with_partners(client, session, policy):
    """A STOP withdraws every SMS channel; a START is no consent to pass the number to partners again
    (a consent to sharing names the partners; a keyword does not): that channel stays withdrawn."""
    create_channel(session, code="partner_sms", names=PARTNER_NAMES, purposes=PARTNER_NAMES,
                   default_status="never_asked", default_basis="consent", validity_months=None, medium="sms",
                   shares_with_partners=True, partners={"fr": ["Lumio"], "nl": ["Lumio"], "en": ["Lumio"]})
    session.commit()
    lea = person(session, "lea@example.com", "+33612345678", locale="en")
    record_change(session, session.scalars(select(Subject).where(Subject.public_id == lea)).one(),
                  {"partner_sms": "granted"}, source=Source.API, actor=Actor.system())
    session.commit()
    hook, url = make_hook(session)
    post_generic(client, url, hook, sms("STOP", id="SM1"), at=NOW)
    assert {c: states(session, lea)[c] for c in ("sms", "partner_sms")} == {
        "sms": ("withdrawn", "sms_keyword"), "partner_sms": ("withdrawn", "sms_keyword")}
    answer = post_generic(client, url, hook, sms("START", id="SM2"), at=NOW).json["accepted"][0]
    assert answer["outcome"] == "restarted"
    session.rollback()
    kept = session.scalars(select(InboundMessage).where(InboundMessage.public_id == answer["message"])).one()
    assert kept.details["granted"] == {lea: ["sms"]}
    assert states(session, lea)["sms"] == ("granted", "sms_keyword")
    assert states(session, lea)["partner_sms"] == ("withdrawn", "sms_keyword")


@freeze_time(NOW)
def test_twilio_stop_is_answered_with_twiml_in_the_subject_s_language_once(client, session, policy):
    nl = person(session, "nl@example.com", "+31612345678", locale="nl")
    hook, url = make_hook(session, provider="twilio")
    params = twilio_params("Stop", sender="+31612345678", to="+3197010000000")
    answer = post_twilio(client, url, params)
    assert answer.status_code == 200 and answer.mimetype == "text/xml"
    body = answer.get_data(as_text=True)
    assert body.startswith('<?xml') and "<Response><Message>" in body and "sms'jes" in body and "START" in body
    assert states(session, nl)["sms"] == ("withdrawn", "sms_keyword")
    # Twilio retries: the same MessageSid changes nothing and texts no second confirmation.
    assert post_twilio(client, url, params).get_data(as_text=True).endswith("<Response></Response>")
    # Signed for another URL, with another token, or a changed body: refused, nothing kept.
    fresh = twilio_params("Stop", sender="+31612345678", to="+3197010000000", sid=twilio_sid(9))
    assert post_twilio(client, url, fresh, signed_url="https://evil.example/x").status_code == 401
    assert post_twilio(client, url, fresh, token="f" * 32).status_code == 401
    session.rollback()
    assert session.scalars(select(InboundMessage.provider_message_id)).all() == [twilio_sid(1)]


@freeze_time(NOW)
def test_a_restricted_subject_is_not_restarted(client, session, policy):
    public_id = person(session, "r@example.com", "+33612345678")
    hook, url = make_hook(session)
    post_generic(client, url, hook, sms("STOP", id="SM1"), at=NOW)
    subject = session.scalars(select(Subject).where(Subject.public_id == public_id)).one()
    subject.restricted_at = NOW
    session.commit()
    answer = post_generic(client, url, hook, sms("START", id="SM2"), at=NOW)
    assert answer.status_code == 200 and answer.json["accepted"][0]["outcome"] == "restricted"
    assert states(session, public_id)["sms"][0] == "withdrawn"


@freeze_time(NOW)
def test_an_unreadable_sender_is_kept_and_changes_nothing(client, session, policy):
    hook, url = make_hook(session)
    answer = post_generic(client, url, hook, sms("STOP", sender="not a number"), at=NOW)
    assert answer.status_code == 200 and answer.json["accepted"][0]["outcome"] == "unreadable_number"


@freeze_time(NOW)
def test_an_unknown_number_is_suppressed_so_an_import_cannot_allow_it_and_start_lifts_it(
        client, session, policy, runner, tmp_path, api):
    from .test_import import good_row, write_csv

    hook, url = make_hook(session)
    answer = post_generic(client, url, hook, sms("STOP SMS", sender="06 12 34 56 78", id="SM1"), at=NOW)
    assert answer.json["accepted"][0]["outcome"] == "suppressed"
    contacts = tmp_path / "contacts.csv"
    write_csv(contacts, [good_row(1, consent_sms="granted")])
    assert runner.invoke(args=["import", "contacts", str(contacts)]).exit_code == 0
    session.rollback()
    # Its id read once: after states()'s rollback, reading it again would open a write transaction on SQLite.
    public_id = session.scalars(select(Subject.public_id).where(Subject.phone == "+33612345678")).one()
    assert states(session, public_id)["sms"][0] == "granted"  # what the file said …
    session.rollback()
    check = api.get(f"/check?channel=sms&subject={public_id}")
    assert check.status_code == 200 and check.json["allowed"] is False  # … but never "allowed"
    assert (check.json["status"], check.json["list"]) == ("listed", "SMS STOP")
    # Asked by the number, in any spelling, alone or in a list: the same answer, naming the list.
    by_phone = api.get("/check", query_string={"channel": "sms", "phone": "06 12 34 56 78"}).json
    assert (by_phone["allowed"], by_phone["status"], by_phone["list"], by_phone["subject"]) == (
        False, "listed", "SMS STOP", public_id)
    bulk = api.post("/check", json={"channel": "sms", "phones": ["+33612345678", "0612345678"]}).json["results"]
    assert bulk == [by_phone, by_phone]
    assert api.post("/check", json={"channel": "sms", "phones": ["+33612345678"], "answer": "allowed"}).json[
        "allowed"] == [False]
    # The number has a subject now, whose SMS no text stopped: a START gives nothing, the suppression stays.
    after = post_generic(client, url, hook, sms("START", sender="+33612345678", id="SM2"), at=NOW)
    assert after.json["accepted"][0]["outcome"] == "nothing_to_restart"
    assert api.get(f"/check?channel=sms&subject={public_id}").json["allowed"] is False


@freeze_time(NOW)
def test_start_from_a_number_still_unknown_lifts_its_own_suppression(client, session, policy, api):
    hook, url = make_hook(session)
    post_generic(client, url, hook, sms("STOP", sender="+33699887766", id="SM1"), at=NOW)
    stopped = api.get("/check", query_string={"channel": "sms", "phone": "+33699887766"}).json
    assert (stopped["allowed"], stopped["status"], stopped["list"], stopped["subject"]) == (
        False, "listed", "SMS STOP", None)  # a number no subject has, stopped: listed, not merely unknown
    lifted = post_generic(client, url, hook, sms("START", sender="+33699887766", id="SM2"), at=NOW)
    assert lifted.json["accepted"][0]["outcome"] == "lifted"
    assert api.get("/check", query_string={"channel": "sms", "phone": "+33699887766"}).json["status"] == "unknown"
    again = post_generic(client, url, hook, sms("START", sender="+33699887766", id="SM3"), at=NOW)
    assert again.json["accepted"][0]["outcome"] == "nothing_to_restart"
