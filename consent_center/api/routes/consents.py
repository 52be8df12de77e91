"""A subject's consents: read them all, record a change of one channel."""
from __future__ import annotations

from flask import request
from sqlalchemy import select

from consent_center.check.answer import State, detail_field
from consent_center.check.blocks import answers_now
from consent_center.check.channels import channel_rules
from consent_center.clock import utcnow
from consent_center.subjects.consent_changes import ConsentChangeError, api_actor, record_from_tool
from consent_center.extensions import db
from consent_center.ledger.serialise import public_event
from consent_center.ledger import ErasedSubject, RestrictedChannel, current_states
from consent_center.models import ConsentEvent
from consent_center.subjects.preferences import active_channels
from consent_center.web.trace import request_trace
from consent_center.api import schemas
from consent_center.api.endpoints import Reply, endpoint
from consent_center.api.routes.common import field_problem, subject_or_404
from consent_center.web.problems import Problem


@endpoint("/subjects/<subject_id>/consents", scope="consent:read", tag="Consents",
          summary="A subject's status on every channel", response=schemas.subject_consents)
def list_consents(caller, subject_id):
    """One entry per active channel; a channel with no state yet is `never_asked`. `allowed`
    and `status` are the check's answer now (e.g. `reconsent_required`, `expired`, `listed`,
    `undeliverable`, or `suppressed` on an sms or phone channel for a number erased with another subject)."""
    subject = subject_or_404(subject_id)
    connection, now = db.session.connection(), utcnow()
    states = current_states(db.session, subject)
    event_ids = [state.event_id for state in states.values()]
    public_ids = dict(db.session.execute(
        select(ConsentEvent.id, ConsentEvent.public_id).where(ConsentEvent.id.in_(event_ids))).all())
    channels = active_channels(db.session)
    asked = [(states.get(channel.id) or State(None, None, None), channel_rules(connection, channel.id), subject)
             for channel in channels]
    consents = []
    for channel, answer in zip(channels, answers_now(connection, now, asked)):
        state = states.get(channel.id)
        consents.append({
            "channel": channel.code,
            "status": answer.status,
            "allowed": answer.allowed,
            "basis": state.basis if state else None,
            "policy_version": state.policy_version.label if state and state.policy_version else None,
            "changed_at": state.changed_at if state else None,
            "event": public_ids.get(state.event_id) if state else None,
            # What blocks it, named as the check names it.
            **({detail_field(answer): answer.detail} if answer.detail else {}),
        })
    return {"subject": subject.public_id, "consents": consents}


@endpoint("/subjects/<subject_id>/consents", "POST", scope="consent:write", tag="Consents",
          summary="Record a consent change", body=schemas.consent_change,
          responses={201: schemas.consent_change_result, 200: schemas.consent_change_result})
def record_consent(caller, subject_id, body):
    """Recorded through the ledger with its receipt: 201 with the event and receipt ids;
    200 with `"changed": false` when the channel already had that status on that legal
    basis: a grant over a soft opt-in or legitimate interest is a consent given (201, an
    event `given` with its evidence and a receipt); a consent is never replaced by a
    weaker basis. Sources
    `staff`, `phone`, `paper`, `shop_counter` need `evidence` (a reference or a note).
    The ledger's time is the server's; an earlier `occurred_at` is kept in the evidence.
    While the subject's data is restricted (GDPR art. 18), a grant answers 409
    (`urn:consent-center:problem:restricted`) and nothing is written. A subject erased at its
    owner's request takes no change: 409 (`urn:consent-center:problem:erased`)."""
    subject = subject_or_404(subject_id, for_change=True)
    try:
        recorded = record_from_tool(
            db.session, subject, channel=body["channel"], status=body["status"], source=body["source"],
            evidence=body.get("evidence"), occurred_at=body.get("occurred_at"), actor=api_actor(caller.id),
            trace=request_trace(request, api_client=str(caller.id)),
        )
    except ConsentChangeError as exc:
        raise field_problem(exc.field, str(exc)) from None
    except RestrictedChannel as exc:
        raise Problem("restricted", f"Not recorded: {exc}. Only a withdrawal or a refusal can be "
                                    "recorded until then.") from None
    except ErasedSubject as exc:
        raise Problem("erased", f"Not recorded: {exc}.") from None
    receipt = recorded.receipt.public_id if recorded.receipt else None
    connection, now = db.session.connection(), utcnow()
    answers = answers_now(connection, now, [(State(e.status, e.basis, e.occurred_at),
                                             channel_rules(connection, e.channel_id), subject)
                                            for e in recorded.events])
    events = [public_event(e, subject=subject.public_id, channel=body["channel"], receipt=receipt,
                           policy_version=e.policy_version.label if e.policy_version else None, answer=answer)
              for e, answer in zip(recorded.events, answers)]
    answer = {"changed": bool(events), "subject": subject.public_id, "events": events, "receipt": receipt}
    return Reply(answer, 201 if events else 200)
