"""What an inbound SMS does: a stop withdraws SMS for everyone with the number, a start may give it back.

- **stop**: every channel of medium ``sms`` that is active (granted) for
  a subject with the sender's number is withdrawn, through the ledger
  (source ``sms_keyword``, the message as evidence), for every such
  subject. A number no subject has is put on the SMS suppression list, so
  that a later import or API call cannot make it "allowed".
- **start**: consent is given again only where an SMS stop took it away:
  a channel of medium ``sms`` whose state is ``withdrawn`` by an
  ``sms_keyword`` event. A withdrawal made anywhere else (a link, the
  space, staff, an erasure) is never undone by a text message, nor is a
  refusal or a state never granted: a START is an unambiguous act for the
  channel the person had stopped, not consent to anything new; nor to
  passing the number to partners again (``Channel.shares_with_partners``:
  such a consent names them, a keyword does not). A number
  no subject has only leaves the suppression list a stop put it on.
- anything else is kept as evidence (``ignored``, or ``needs_review`` when
  a stop word hides in it) and changes nothing.

A text from a number erased on request (on the suppression list, held by
no subject now) acts as any other, but is kept without its number and text.
"""
from __future__ import annotations

import phonenumbers
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from consent_center.addresses import LOCALES, AddressError, normalise_phone
from consent_center.clock import utcnow
from consent_center.inbound.keywords import REVIEW, STOP, Keyword, classify
from consent_center.inbound.registry import Handled, Inbound
from consent_center.ledger import Actor, LedgerError, lock_subject, record_change
from consent_center.models import Channel, ConsentEvent, ConsentState, InboundHook, InboundMessage, Subject
from consent_center.models.vocabulary import ActorType, Basis, Medium, Source, Status
from consent_center.inbound.withdrawals import channels_of, withdraw_medium
from consent_center.subjects.channel_suppression import lift_on_channel, suppress_on_channel
from consent_center.subjects.suppression import suppressed_among

# The outcomes an inbound SMS is kept with.
OUTCOMES = ("stopped", "suppressed", "already_stopped", "restarted", "lifted", "nothing_to_restart",
            "restricted", "ignored", "needs_review", "unreadable_number")


def region_hint(recipient: str | None, jurisdiction: str) -> str:
    """The country a national ``from`` is read in: the country of the number it was sent to, else the company's.

    A short code (``36180``) names no country; an international ``to``
    (``+32 …``) does, so a reply to a Belgian number reads ``0470 …`` as Belgian.
    """
    if recipient and recipient.strip().startswith("+"):
        try:
            region = phonenumbers.region_code_for_number(phonenumbers.parse(recipient.strip(), None))
        except phonenumbers.NumberParseException:
            region = None
        if region and region != "ZZ":
            return region
    return jurisdiction


def handle_sms(session: Session, hook: InboundHook, message: InboundMessage, inbound: Inbound) -> Handled:
    """Act on one inbound SMS (the ``handle`` of every SMS provider)."""
    try:
        number = normalise_phone(inbound.sender[:64],
                                 region_hint(inbound.recipient, current_app.config["JURISDICTION"]))
    except AddressError:
        return Handled("unreadable_number", None, {"reason": "the sender is not a phone number we can read"})
    handled = _handle(session, hook, message, inbound, number)
    if _erased_number(session, number):
        # Its owner was erased on request: the text still acts, but neither it nor the number is kept again.
        message.payload, message.redacted_at, handled.sender = None, utcnow(), None
    return handled


def _erased_number(session: Session, number: str) -> bool:
    """Whether ``number`` is on the suppression list (erased on request) and no subject holds it now."""
    if not suppressed_among(session, [number]):
        return False
    held = select(Subject.id).where(Subject.phone == number, Subject.erased_at.is_(None)).limit(1)
    return session.scalars(held).first() is None


def _handle(session: Session, hook: InboundHook, message: InboundMessage, inbound: Inbound, number: str) -> Handled:
    config = current_app.config
    keyword = classify(inbound.text, config["SMS_STOP_WORDS"], config["SMS_START_WORDS"],
                       config["SMS_STOP_MAX_WORDS"], config["SMS_STOP_TERMS"])
    if keyword is None:
        return Handled("ignored", number)
    if keyword.action == REVIEW:  # a stop word hides in it: staff read it (/audit/inbound), nothing changes
        return Handled("needs_review", number, {"keyword": keyword.word, "action": REVIEW})
    subjects = list(session.scalars(select(Subject).where(Subject.phone == number, Subject.erased_at.is_(None))
                                    .order_by(Subject.id)))
    evidence = {"inbound_message": message.public_id, "hook": hook.public_id, "keyword": keyword.word}
    act = _stop if keyword.action == STOP else _start
    outcome, details = act(session, number, subjects, evidence)
    details = {"keyword": keyword.word, "action": keyword.action,
               "subjects": [s.public_id for s in subjects]} | details
    return Handled(outcome, number, details, reply=_reply(outcome, _language(subjects, keyword)))


def _sms_channels(session: Session) -> list[Channel]:
    return channels_of(session, Medium.SMS)


def _stop(session: Session, number: str, subjects: list[Subject], evidence: dict) -> tuple[str, dict]:
    if not subjects:
        suppress_on_channel(session, number, Medium.SMS, source=Source.SMS_KEYWORD)
        return "suppressed", {}
    withdrawn = withdraw_medium(session, subjects, Medium.SMS, source=Source.SMS_KEYWORD, evidence=evidence)
    return ("stopped" if withdrawn else "already_stopped"), {"withdrawn": withdrawn}


def _start(session: Session, number: str, subjects: list[Subject], evidence: dict) -> tuple[str, dict]:
    if not subjects:
        lifted = lift_on_channel(session, number, Medium.SMS, source=Source.SMS_KEYWORD)
        return ("lifted" if lifted else "nothing_to_restart"), {}
    # Not a channel passing the number to partners: a keyword names no partner, it is no consent to share.
    channels = {c.id: c for c in _sms_channels(session) if not c.shares_with_partners}
    granted: dict[str, list[str]] = {}
    refused: list[str] = []
    for subject in subjects:
        lock_subject(session, subject)
        codes = [channels[i].code for i in _stopped_by_keyword(session, subject, channels)]
        try:
            recorded = record_change(session, subject, dict.fromkeys(codes, Status.GRANTED),
                                     basis=dict.fromkeys(codes, Basis.CONSENT), source=Source.SMS_KEYWORD,
                                     actor=Actor(ActorType.SUBJECT, subject.public_id), evidence=evidence)
        except LedgerError:  # restricted (GDPR art. 18): nothing resumes until the restriction is lifted
            refused.append(subject.public_id)
            continue
        if recorded.events:
            granted[subject.public_id] = [e.channel.code for e in recorded.events]
    outcome = "restarted" if granted else "restricted" if refused else "nothing_to_restart"
    return outcome, {"granted": granted} | ({"restricted": refused} if refused else {})


def _stopped_by_keyword(session: Session, subject: Subject, channels: dict[int, Channel]) -> list[int]:
    """The SMS channels of ``subject`` whose state is a withdrawal an SMS keyword made (read under its lock)."""
    rows = session.execute(
        select(ConsentState.channel_id).join(ConsentEvent, ConsentEvent.id == ConsentState.event_id)
        .where(ConsentState.subject_id == subject.id, ConsentState.channel_id.in_(list(channels)),
               ConsentState.status == Status.WITHDRAWN, ConsentEvent.source == Source.SMS_KEYWORD))
    return sorted(rows.scalars(), key=lambda i: (channels[i].position, channels[i].code))


def _language(subjects: list[Subject], keyword: Keyword) -> str:
    """The reply's language: the person's, else the keyword's when only one language lists it, else the default."""
    spoken = {s.locale for s in subjects if s.locale in LOCALES}
    if len(spoken) == 1:
        return spoken.pop()
    if len(keyword.languages) == 1:
        return keyword.languages[0]
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def _reply(outcome: str, language: str) -> str | None:
    """The confirmation texted back (Twilio's TwiML answer), in ``language``; None: nothing to say."""
    company = current_app.config["COMPANY_NAME"]
    with force_locale(language):
        if outcome in ("stopped", "suppressed", "already_stopped"):
            return _("%(company)s: you will receive no more marketing SMS. Send START to receive them again.",
                     company=company)
        if outcome == "lifted":
            return _("%(company)s: your earlier STOP is lifted.", company=company)
        if outcome == "restarted":
            return _("%(company)s: you will receive our marketing SMS again. Send STOP to stop them.",
                     company=company)
        if outcome in ("nothing_to_restart", "restricted"):
            return _("%(company)s: nothing was restarted. To receive our SMS, choose them in your preferences.",
                     company=company)
    return None
