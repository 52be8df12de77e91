"""Consent changes reported through the API by marketing tools and CRMs.

The sources a tool may name, and what the ledger records:

| API source     | ledger source | evidence  | meaning                                         |
|----------------|---------------|-----------|-------------------------------------------------|
| `api`          | `api`         | optional  | collected by the tool itself (its own form)     |
| `import`       | `import`      | optional* | taken over from another system's records        |
| `staff`        | `staff`       | required  | a staff member acting on the subject's request  |
| `phone`        | `staff`       | required  | told to staff on the phone                      |
| `paper`        | `staff`       | required  | a signed paper form                             |
| `shop_counter` | `staff`       | required  | at a shop counter                               |

Evidence needs a ``reference`` or a ``note``. (*) An ``import`` that turns on a channel
the person withdrew or refused needs it too. The ledger's ``occurred_at``
is always the server clock; a tool that collected the choice earlier says
when in ``occurred_at``, which is kept in the evidence as ``collected_at``
(never in the future). A tool may set ``granted``, ``withdrawn`` or
``refused``; expiry, restriction and defaults belong to the center.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from consent_center.clock import utcnow
from consent_center.ledger import Actor, Recorded, UnknownChannel, record_change
from consent_center.models import Channel, ConsentState
from consent_center.models.vocabulary import ActorType, Source, Status

API_SOURCES = {
    "api": Source.API,
    "import": Source.IMPORT,
    "staff": Source.STAFF,
    "phone": Source.STAFF,
    "paper": Source.STAFF,
    "shop_counter": Source.STAFF,
}
EVIDENCE_REQUIRED = frozenset({"staff", "phone", "paper", "shop_counter"})
SETTABLE_STATUSES = (Status.GRANTED.value, Status.WITHDRAWN.value, Status.REFUSED.value)


class ConsentChangeError(ValueError):
    """A change the API refuses, naming the field at fault; nothing was written."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def api_actor(client_id: int) -> Actor:
    return Actor(ActorType.API_CLIENT, str(client_id))


def _opted_out_at(session: Session, subject, channel: str) -> datetime | None:
    """When the person withdrew or refused ``channel``, if that is its state now."""
    found = session.execute(select(ConsentState.status, ConsentState.changed_at)
                            .join(Channel, Channel.id == ConsentState.channel_id)
                            .where(ConsentState.subject_id == subject.id, Channel.code == channel)).first()
    return found.changed_at if found and found.status in (Status.WITHDRAWN, Status.REFUSED) else None


def record_from_tool(
    session: Session, subject, *, channel: str, status: str, source: str, evidence: dict | None,
    occurred_at: datetime | None, actor: Actor, trace: dict | None = None,
) -> Recorded:
    """Validate a tool's change of one channel and record it through the ledger."""
    if status not in SETTABLE_STATUSES:
        raise ConsentChangeError("status", f"Status {status!r} cannot be set through the API "
                                           f"(use one of: {', '.join(SETTABLE_STATUSES)}).")
    if source not in API_SOURCES:
        raise ConsentChangeError("source", f"Unknown source {source!r} (use one of: {', '.join(API_SOURCES)}).")
    evidence = dict(evidence or {})
    if source in EVIDENCE_REQUIRED and not (evidence.get("reference") or evidence.get("note")):
        raise ConsentChangeError("evidence", f"A change from source {source!r} needs evidence with a "
                                             "reference or a note.")
    opted_out = (_opted_out_at(session, subject, channel)
                 if status == Status.GRANTED and subject.erased_at is None
                 and (occurred_at is not None or source == "import") else None)
    if opted_out is not None and occurred_at is not None and occurred_at <= opted_out:
        # A choice collected before the person's later withdrawal does not undo it (as the import keeps it).
        raise ConsentChangeError("occurred_at", "This person withdrew or refused this channel after this choice "
                                                "was collected: it cannot turn it on again.")
    if opted_out is not None and source == "import" and not (evidence.get("reference") or evidence.get("note")):
        # Another system's records do not undo a withdrawal or an objection made here (GDPR art. 21(3)):
        # only a consent the person gave again, with its evidence, does.
        raise ConsentChangeError("evidence", "This person withdrew or refused this channel: another system's "
                                             "records turn it on again only with evidence of a new consent, "
                                             "with a reference or a note.")
    if occurred_at is not None:
        if occurred_at > utcnow():
            raise ConsentChangeError("occurred_at", "A choice cannot have been collected in the future.")
        evidence["collected_at"] = occurred_at.isoformat()
    if API_SOURCES[source] == Source.STAFF and source != "staff":
        evidence["collected_via"] = source
    try:
        return record_change(session, subject, {channel: status}, source=API_SOURCES[source], actor=actor,
                             evidence=evidence or None, trace=trace)
    except UnknownChannel:
        # Found by the ledger, which loads the channels anyway: one query less per change.
        codes = ", ".join(session.scalars(select(Channel.code).order_by(Channel.position)))
        raise ConsentChangeError("channel", f"Unknown channel {channel!r} (known: {codes}).") from None
