"""Erasure (GDPR art. 17): the person is forgotten everywhere; the ledger keeps a pseudonymous proof.

One function, ``erase``, for an erasure request and for retention alike.
Every channel is withdrawn through the ledger (source erasure); then go:
the subject's name, e-mail, phone, postal address and external reference
(the e-mail addresses and the phone number go on the suppression list,
unless retention erases; the subject takes no change any more,
``ledger.ErasedSubject``);
the customer account; every e-mail to or about the person, queued or sent,
and the ``.eml`` copies the file backend wrote (old and new addresses of a
change included); the newsletter sign-ups; the texts of their requests;
their personal values in the staff log; the words they wrote on why they unsubscribed; the sender and text of the messages
inbound hooks received from their number or addresses, or that name them (a stop from a former number); the proof files of changes staff
recorded for them. The consent ledger stays as proof under the
pseudonymous public id: its hash chain and its receipts cover no personal
field (receipts name the subject by public id only), so ``ledger verify``
and receipt verification still pass. Event ``evidence`` is hashed and
append-only, so it cannot be scrubbed: it must never hold direct
identifiers (a staff note says "phone call, ticket 4411", not the caller's
name); ``erase`` returns the events whose evidence still names the person
(or whose proof file another person's change keeps) so staff can deal with them.
"""
from __future__ import annotations

import re
from functools import partial

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from consent_center.accounts.staff_changes import forget_proofs
from consent_center.accounts.staff_log import ERASED, scrub_staff_log
from consent_center.after_commit import run_after_commit
from consent_center.canonical import canonical_json
from consent_center.clock import utcnow
from consent_center.extensions import checkpoint_wal
from consent_center.ledger import Actor, current_states, record_change
from consent_center.models import Account, ConsentEvent, DataRequest, Subject
from consent_center.models.vocabulary import EventType, Source, Status
from consent_center.inbound.evidence import forget_sender
from consent_center.outbox.mail.forget import Person, emails_about, forget_emails
from consent_center.subjects.deliverability import forget_bounce_details
from consent_center.subjects.suppression import suppress
from consent_center.unsubscribe.newsletter import forget_signups, signups_of
from consent_center.unsubscribe.reasons import forget_reasons


def personal_values(subject: Subject) -> list[str]:
    """The subject's direct identifiers, as stored."""
    return [v for v in (subject.name, subject.email, subject.phone, subject.postal_address,
                        subject.external_ref) if v]


def erase(session: Session, subject: Subject, *, actor: Actor, reason: str = "erasure",
          suppress_address: bool = True, objected_at=None) -> list[str]:
    """Forget ``subject`` but for the ledger; return the public ids of events that still name them."""
    account = session.scalars(select(Account).where(Account.subject_id == subject.id)).first()
    current = {a for a in (subject.email, account.email if account else None) if a}
    requests = list(session.scalars(select(DataRequest).where(DataRequest.subject_id == subject.id)))
    # An address the person left may be someone else's now: it is not followed.
    not_theirs = _HeldByOthers(session, subject, account)
    signups = signups_of(session, subject.id, current)
    emails, addresses = emails_about(session, Person(
        subject=subject.public_id, account=account.id if account else None,
        requests=[r.public_id for r in requests], signups=[s.public_id for s in signups],
    ), current, not_theirs=not_theirs)
    signups = signups_of(session, subject.id, addresses)
    values = [*personal_values(subject), *addresses, *(s.name for s in signups if s.name),
              *(m.payload.get("name") for m in emails if isinstance(m.payload.get("name"), str))]

    changes = {state.channel.code: Status.WITHDRAWN for state in current_states(session, subject).values()}
    # renew: a channel already withdrawn still gets its erasure event.
    record_change(session, subject, changes, source=Source.ERASURE, actor=actor, renew=True,
                  event_type=EventType.WITHDRAWN)
    if suppress_address:
        for address in sorted(current):
            suppress(session, address, reason=reason, taken_at=objected_at)
        if subject.phone:
            # The number too (E.164, as stored): it must not bring the person back through a CRM.
            suppress(session, subject.phone, reason=reason, taken_at=objected_at)
    forget_bounce_details(session, sorted(current))
    forget_emails(session, emails)
    forget_signups(session, signups)
    forget_reasons(session, subject)
    # What the person texted or a provider reported about their address: sender and text go, the row stays.
    forget_sender(session, [subject.phone, *addresses], subject.public_id)
    targets = [f"subject:{subject.public_id}"] + ([f"account:{account.id}"] if account else [])
    scrub_staff_log(session, targets, values)
    for request in requests:
        request.details = request.trusted_contact = None
        request.notes = _scrubbed_text(request.notes, values)
        request.extension_reason = _scrubbed_text(request.extension_reason, values)
    kept_proofs = forget_proofs(session, current_app.instance_path, subject)
    if account is not None:
        session.delete(account)
    subject.name = subject.email = subject.phone = subject.postal_address = subject.external_ref = None
    subject.last_contact_at = subject.last_contact_kind = None
    subject.is_customer = False
    subject.erased_at = utcnow()
    session.flush()
    # SQLite's WAL keeps the pages as they were before (secure_delete zeroes the file's own free space).
    run_after_commit(session, partial(checkpoint_wal, session.get_bind()))
    naming = _evidence_naming(session, subject, values)
    return naming + [e for e in kept_proofs if e not in naming]


class _HeldByOthers:
    """Whether another subject or account holds an address now: asked per address, not read whole."""

    def __init__(self, session: Session, subject: Subject, account: Account | None) -> None:
        self.session, self.subject_id = session, subject.id
        self.account_id = account.id if account else None

    def __contains__(self, address: object) -> bool:
        subject = select(Subject.id).where(Subject.email == address, Subject.id != self.subject_id)
        account = select(Account.id).where(Account.email == address, Account.id != self.account_id)
        return (self.session.scalars(subject.limit(1)).first() is not None
                or self.session.scalars(account.limit(1)).first() is not None)


def _scrubbed_text(text: str | None, values: list[str]) -> str | None:
    """``text`` with every occurrence of ``values`` (in any case) replaced."""
    if not text:
        return text
    for value in sorted({v for v in values if v}, key=len, reverse=True):
        text = re.sub(re.escape(value), ERASED, text, flags=re.IGNORECASE)
    return text


def _evidence_naming(session: Session, subject: Subject, values: list[str]) -> list[str]:
    found = []
    lowered = [v.casefold() for v in values if v]
    for event in session.scalars(select(ConsentEvent).where(ConsentEvent.subject_id == subject.id,
                                                            ConsentEvent.evidence.is_not(None))):
        if event.evidence is None:  # stored as JSON null, which IS NOT NULL lets through
            continue
        text = canonical_json(event.evidence).casefold()
        if any(v in text for v in lowered):
            found.append(event.public_id)
    return found
