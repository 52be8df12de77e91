"""Subjects (contacts) from a CRM."""
from __future__ import annotations

from flask import request, url_for

from consent_center.rights.repermission import period_end
from consent_center.subjects import contact
from consent_center.subjects.consent_changes import api_actor
from consent_center.subjects.crm import (
    SubjectConflict, SubjectErased, SubjectFieldError, create_from_crm, update_from_crm,
)
from consent_center.extensions import db
from consent_center.web.trace import request_trace
from consent_center.api import activity_schemas, schemas
from consent_center.api.endpoints import Reply, endpoint
from consent_center.web.problems import Problem
from consent_center.api.routes.common import field_problem, subject_or_404


def _field_problem(exc: SubjectFieldError) -> Problem:
    if isinstance(exc, SubjectConflict):
        return field_problem(exc.field, str(exc), kind="conflict")
    return field_problem(exc.field, str(exc))


@endpoint("/subjects", "POST", scope="subjects:write", tag="Subjects", summary="Create a subject",
          body=schemas.subject, response=schemas.subject, status=201, errors=(409,))
def create_subject(caller, body):
    """E-mail normalised (email-validator), phone to E.164 (phonenumbers; a national number
    is read in `country`, else the locale's country, else FR). Its channels start at their
    defaults, recorded in the ledger. 409 when the e-mail or external_ref is taken, or when
    the e-mail address or phone number was erased at its owner's request (suppression list)."""
    try:
        subject = create_from_crm(db.session, body, actor=api_actor(caller.id),
                                  trace=request_trace(request, api_client=str(caller.id)))
    except SubjectFieldError as exc:
        raise _field_problem(exc) from None
    location = url_for("api.get_subject", subject_id=subject.public_id)
    return Reply(subject, 201, {"Location": location})


@endpoint("/subjects/<subject_id>", scope="subjects:write", tag="Subjects", summary="Read a subject",
          response=schemas.subject)
def get_subject(caller, subject_id):
    """The subject's contact data (its id is the public id, never a row number)."""
    return subject_or_404(subject_id)


@endpoint("/subjects/<subject_id>", "PATCH", scope="subjects:write", tag="Subjects",
          summary="Change a subject's contact data", body=schemas.subject_patch, response=schemas.subject,
          errors=(409,))
def update_subject(caller, subject_id, body):
    """Only the fields given change; `null` clears one. A subject keeps at least an e-mail
    address, a phone number or a postal address. 409 (`conflict`) for an e-mail address or
    phone number on the suppression list, as on creation; 409 (`erased`) for a subject
    erased at its owner's request, which takes no change."""
    # Locked as read: an erasure committed meanwhile is seen, never written over.
    subject = subject_or_404(subject_id, for_change=True)
    try:
        return update_from_crm(db.session, subject, body)
    except SubjectErased as exc:
        raise Problem("erased", str(exc)) from None
    except SubjectFieldError as exc:
        raise _field_problem(exc) from None


@endpoint("/subjects/<subject_id>/activity", "POST", scope="subjects:write", tag="Subjects",
          summary="Report what the person did (a purchase, a click, a reply, a visit)",
          body=activity_schemas.activity, response=activity_schemas.activity_result, errors=(409,))
def report_activity(caller, subject_id, body):
    """A contact coming from the person restarts their retention clock: the answer says whether
    this one did (`counted`) and when the period now ends. A moment older than their last
    contact is accepted and changes nothing. `open` is refused (422): a mail open is not a
    contact coming from the person (CNIL). A subject whose data is restricted (GDPR art. 18)
    is counted all the same: recording what the person did is not processing them for
    marketing. 409 (`erased`) for a subject erased at its owner's request."""
    # Locked as read: two reports at once keep the later moment, and an erasure is seen.
    subject = subject_or_404(subject_id, for_change=True)
    try:
        reported = contact.report_activity(db.session, subject, body["kind"], body.get("at"))
    except SubjectErased as exc:
        raise Problem("erased", str(exc)) from None
    except contact.ActivityRefused as exc:
        raise field_problem(exc.field, str(exc)) from None
    return {"subject": subject.public_id, "counted": reported.counted, "last_contact_at": subject.last_contact_at,
            "last_contact_kind": subject.last_contact_kind, "retention_ends_at": period_end(reported.clock)}
