"""The e-mails about a person, found and forgotten when the person is erased.

An e-mail's row keeps its recipient and what it is about (the subject, the
account, the request, the sign-up, the old and new address of a change),
and the file backend keeps a copy of what it said: erasure removes both.
"""
from __future__ import annotations

from collections.abc import Collection, Container
from dataclasses import dataclass

from sqlalchemy import delete, false, or_, select
from sqlalchemy.orm import Session

from consent_center.after_commit import remove_after_commit
from consent_center.models import OutboxMessage
from consent_center.outbox.mail.transport import written_path

KIND = "email"
# The payload keys of e-mails that hold an address besides the recipient (the e-mail change).
_ADDRESS_KEYS = ("old", "new", "email")


@dataclass(frozen=True)
class Person:
    """What e-mails name a person by: their subject, account, requests, sign-ups and addresses."""

    subject: str  # the subject's public id
    account: int | None
    requests: Collection[str]
    signups: Collection[str]


def emails_about(session: Session, person: Person, addresses: set[str], *,
                 not_theirs: Container[str] = ()) -> tuple[list[OutboxMessage], set[str]]:
    """Every e-mail to or about ``person``, and every address they name.

    An address is learned from the e-mails found (a change's old and new
    address), and the e-mails to it are found in turn; an address in
    ``not_theirs`` (held by someone else now) is never followed.
    """
    payload = OutboxMessage.payload
    about = [payload["subject"].as_string() == person.subject]
    if person.account is not None:
        about.append(payload["account"].as_integer() == person.account)
    if person.requests:
        about.append(payload["request"].as_string().in_(list(person.requests)))
    if person.signups:
        about.append(payload["signup"].as_string().in_(list(person.signups)))
    found: dict[int, OutboxMessage] = {}
    known = {a for a in addresses if a not in not_theirs}
    followed: set[str] = set()
    while True:
        to_follow = known - followed
        query = select(OutboxMessage).where(OutboxMessage.kind == KIND, or_(
            *about, OutboxMessage.recipient.in_(sorted(to_follow)) if to_follow else false()))
        about, followed = [], known.copy()  # what names the person is asked once; new addresses after
        for message in session.scalars(query):
            found[message.id] = message
            for address in (message.recipient, *(message.payload.get(k) for k in _ADDRESS_KEYS)):
                if isinstance(address, str) and address not in known and address not in not_theirs:
                    known.add(address)
        if known == followed:
            return list(found.values()), known


def forget_emails(session: Session, messages: list[OutboxMessage]) -> None:
    """Delete ``messages`` and, once the transaction commits, the files the file backend wrote of them."""
    if not messages:
        return
    remove_after_commit(session, [written_path(m) for m in messages])
    session.execute(delete(OutboxMessage).where(OutboxMessage.id.in_([m.id for m in messages])))
    session.flush()
