"""What several views share: finding a subject or a channel, or answering a problem."""
from __future__ import annotations

from contextlib import contextmanager

from flask import after_this_request
from sqlalchemy.orm import Session

from consent_center.check.channels import channel_id
from consent_center.db.replicas import parse_token
from consent_center.subjects.crm import find_subject
from consent_center.extensions import db, quick_read
from consent_center.ledger import find_subject_for_change
from consent_center.models import Subject
from consent_center.web.problems import Problem


def subject_or_404(public_id: str, *, for_change: bool = False) -> Subject:
    """The subject, or a 404 problem; ``for_change`` locks it in the same query (see ledger)."""
    plausible = len(public_id) <= 64 and "\x00" not in public_id
    find = find_subject_for_change if for_change else find_subject
    subject = find(db.session, public_id) if plausible else None
    if subject is None:
        raise Problem("not-found", f"There is no subject {public_id!r}.")
    return subject


def field_problem(field: str, message: str, *, location: str = "body", status: int | None = None,
                  kind: str = "validation-error") -> Problem:
    error = {"pointer": f"/{field}"} if location == "body" else {"parameter": field}
    return Problem(kind, f"{field}: {message}", errors=[{**error, "detail": message}], status=status)


def channel_or_422(code: str, *, location: str = "query", connection=None) -> int:
    if connection is None:
        with quick_read() as connection:
            found = channel_id(connection, code)
    else:
        found = channel_id(connection, code)
    if found is None:
        raise field_problem("channel", f"Unknown channel {code!r}.", location=location)
    return found


READ_FROM_HEADER = "Consent-Read-From"


def _name_the_source(header: str) -> None:
    @after_this_request
    def name_the_source(response):
        response.headers[READ_FROM_HEADER] = header
        return response


@contextmanager
def read_connection(after: str | None = None):
    """A quick read's connection and, with replicas configured, what ``Consent-Read-From`` says:
    a read replica fresh enough (and past ``after``, a consistency token), else the primary."""
    if db.replicas is None:
        with quick_read() as connection:
            yield connection, None
        return
    with db.replicas.reading(parse_token(after) if after else None) as (connection, choice):
        yield connection, choice.header


@contextmanager
def replica_read(after: str | None = None):
    """``read_connection`` for a view: the answer names its source."""
    with read_connection(after) as (connection, source):
        if source is not None:
            _name_the_source(source)
        yield connection


def replica_session() -> Session:
    """A session on a read replica within the lag bound, else the request's own (the export).

    The caller closes a replica's session when done (``close_unless_request_session``)."""
    if db.replicas is None:
        return db.session
    choice = db.replicas.choose()
    _name_the_source(choice.header)
    return db.session if choice.served_by == "primary" else Session(bind=choice.engine)


def close_unless_request_session(session: Session) -> None:
    if session is not db.session:
        session.close()
