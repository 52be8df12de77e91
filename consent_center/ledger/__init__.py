"""THE write path for consent: nothing else writes events or states.

``record_change`` takes one submitted change of one or more channels and,
inside the caller's transaction, appends the events to the subject's hash
chain, moves ConsentState, and writes one signed Receipt — then flushes. The
caller commits once (or rolls back, and none of it exists).
"""
from __future__ import annotations

import uuid
import weakref
from dataclasses import dataclass, field
from collections.abc import Collection, Iterable
from typing import Mapping

from sqlalchemy import Row, and_, bindparam, or_, select
from sqlalchemy.orm import Session, scoped_session

from consent_center.receipts import documents as receipts
from consent_center.ledger.chain import event_hash, hashed_fields
from consent_center.clock import utcnow
from consent_center.models import Channel, ConsentEvent, ConsentState, PolicyText, PolicyVersion, Receipt, Subject
from consent_center.models.vocabulary import ActorType, EventType, Source, Status
from consent_center.models.policy import in_force_id, text_shown_id
from consent_center.signals import consent_recorded
from consent_center.ledger.changes import HeldState, UnknownBasis, change_of
from consent_center.ledger.errors import LedgerError
from consent_center.ledger.partners import SharingWithoutConsent, refuse_sharing_without_consent  # noqa: F401
from consent_center.ledger.writes import expire_held_states, write


class UnknownChannel(LedgerError):
    """A change names a channel the center does not have."""

    def __init__(self, codes: list[str]) -> None:
        super().__init__(f"unknown channel: {', '.join(codes)}")
        self.codes = codes


class RestrictedChannel(LedgerError):
    """A change that would resume processing while the subject's data is restricted (GDPR art. 18).

    While any channel of the subject is ``restricted``, a change may only
    lessen processing (withdrawn, refused, expired, restricted) unless it
    comes from the rights flow (source ``restriction``: restricting and
    lifting through a request). A withdrawal stays possible: consent can be
    withdrawn at any time (art. 7(3)), and the lift then leaves it withdrawn.
    """

    def __init__(self, codes: list[str]) -> None:
        super().__init__(f"the use of this person's data is restricted (GDPR art. 18): "
                         f"{', '.join(codes)} cannot be changed to resume processing until the "
                         f"restriction is lifted through the rights request")
        self.codes = codes


class ErasedSubject(LedgerError):
    """A change of a subject erased at its owner's request (GDPR art. 17).

    Erasure withdrew every channel and left the subject a pseudonym under
    which the ledger stays as proof; nothing may be recorded for it again,
    whoever asks (customer space, API, staff, import, newsletter). Only the
    erasure itself (source ``erasure``) writes; a change that would move no
    channel (an unsubscribe link used again) writes nothing and is not refused.
    """

    def __init__(self, public_id: str) -> None:
        super().__init__(f"subject {public_id} was erased at its owner's request (GDPR art. 17): "
                         f"no consent can be recorded for it")
        self.public_id = public_id


# What a change may set while the subject is restricted: nothing that resumes processing.
WHILE_RESTRICTED = frozenset({Status.WITHDRAWN, Status.REFUSED, Status.EXPIRED, Status.RESTRICTED})


@dataclass(frozen=True)
class Actor:
    """Who made a change: the subject, a staff account, an API client, the system."""

    type: ActorType
    id: str | None = None

    @classmethod
    def system(cls) -> Actor:
        return cls(ActorType.SYSTEM)


@dataclass
class Recorded:
    """What one call wrote: the receipt (None when nothing changed) and events."""

    receipt: Receipt | None
    events: list[ConsentEvent] = field(default_factory=list)


# Built once: composing a statement costs more Python than running it on
# PostgreSQL, and every consent change runs these.
_LOCK_SUBJECT = select(Subject.id).where(Subject.id == bindparam("subject_id")).with_for_update()
_SUBJECT_FOR_CHANGE = select(Subject).where(Subject.public_id == bindparam("public_id"))
_SUBJECT_FOR_CHANGE_LOCKED = _SUBJECT_FOR_CHANGE.with_for_update()
_events = ConsentEvent.__table__
_states = ConsentState.__table__
_AT = bindparam("now")
_POLICY_ID = in_force_id(_AT)
# One query under the subject's lock: the channels asked for; every state of
# the subject with the event it points to (its seq and hash: the newest of them
# is the chain's head); the policy version in force and the text of it the
# receipt names. A channel without a state comes with NULLs.
_BEFORE_CHANGE = (
    select(Channel, _states.c.status, _states.c.basis, _events.c.seq, _events.c.hash, PolicyVersion, PolicyText,
           select(Subject.erased_at).where(Subject.id == bindparam("subject_id")).scalar_subquery()
           .label("erased_at"),
           select(Subject.restricted_at).where(Subject.id == bindparam("subject_id")).scalar_subquery()
           .label("restricted_at"))
    .outerjoin(_states, and_(_states.c.channel_id == Channel.id, _states.c.subject_id == bindparam("subject_id")))
    .outerjoin(_events, _events.c.id == _states.c.event_id)
    .outerjoin(PolicyVersion, PolicyVersion.id == _POLICY_ID)
    .outerjoin(PolicyText, PolicyText.id == text_shown_id(_POLICY_ID, bindparam("locale")))
    .where(or_(Channel.code.in_(bindparam("codes", expanding=True)), _states.c.subject_id.is_not(None)))
)


# In Session.info: (weak reference to the root transaction, ids of the subjects
# it locked). The locks end with that transaction; so does the entry, found
# stale by the next lookup: no session event listener, here or for any other
# session of the process.
_LOCKED = "consent_locked_subjects"


def locked_subjects(session: Session) -> set[int]:
    """The ids of the subjects locked by the session's current transaction (an empty set: none yet)."""
    plain = session.registry() if isinstance(session, scoped_session) else session
    transaction = plain.get_transaction()  # the root one, whatever savepoints are open
    if transaction is None:
        return set()
    held = session.info.get(_LOCKED)
    if held is None or held[0]() is not transaction:
        held = session.info[_LOCKED] = (weakref.ref(transaction), set())
    return held[1]


def lock_subject(session: Session, subject: Subject) -> None:
    """Serialise writers of one subject (row lock on PostgreSQL), once per transaction.

    SQLite needs nothing more: every writing transaction there starts with
    BEGIN IMMEDIATE and holds the database's single write lock.
    """
    if session.get_bind().dialect.name == "sqlite":
        return
    if subject.id not in locked_subjects(session):
        session.execute(_LOCK_SUBJECT, {"subject_id": subject.id})
        locked_subjects(session).add(subject.id)


def find_subject_for_change(session: Session, public_id: str) -> Subject | None:
    """Find a subject and lock it in the same query, for a change about to be recorded."""
    locks = session.get_bind().dialect.name != "sqlite"
    stmt = _SUBJECT_FOR_CHANGE_LOCKED if locks else _SUBJECT_FOR_CHANGE
    subject = session.scalars(stmt, {"public_id": public_id}).first()
    if subject is not None and locks:
        locked_subjects(session).add(subject.id)
    return subject


@dataclass
class _Before:
    """What a change starts from, read under the subject's lock."""

    channels: dict[str, Channel]  # the channels asked for, by code
    states: dict[int, HeldState]  # every state of the subject, by channel id
    seq: int  # the chain's head: its seq (0 for an empty chain) and hash
    head_hash: str | None
    policy: PolicyVersion | None
    policy_text: PolicyText | None
    erased: bool  # read under the lock: an erasure committed meanwhile is seen
    restricted: bool  # likewise for a restriction (GDPR art. 18) in force


def _before_change(session: Session, subject: Subject, codes: list[str], now) -> _Before:
    """Read what a change of ``codes`` starts from, in one query.

    Every event moves its channel's state, so the newest event of the chain
    is the one the most recently moved state points to.
    """
    rows = session.execute(_BEFORE_CHANGE, {
        "subject_id": subject.id, "codes": codes, "now": now, "locale": receipts.language_of(subject),
    }).all()
    wanted = set(codes)
    chained = [row for row in rows if row.seq is not None]
    head = max(chained, key=lambda row: row.seq) if chained else None
    return _Before(
        channels={row.Channel.code: row.Channel for row in rows if row.Channel.code in wanted},
        states={row.Channel.id: HeldState(row.status, row.basis) for row in rows if row.status is not None},
        seq=head.seq if head else 0,
        head_hash=head.hash if head else None,
        policy=rows[0].PolicyVersion if rows else None,
        policy_text=rows[0].PolicyText if rows else None,
        erased=bool(rows) and rows[0].erased_at is not None,
        restricted=bool(rows) and rows[0].restricted_at is not None,
    )


def current_states(session: Session, subject: Subject) -> dict[int, ConsentState]:
    rows = session.scalars(select(ConsentState).where(ConsentState.subject_id == subject.id))
    return {state.channel_id: state for state in rows}


def current_statuses_of(session: Session, subject_ids: Collection[int]) -> dict[int, dict[int, Row]]:
    """The status of every state of many subjects and when it last changed, in one query:
    subject id -> channel id -> (status, changed_at). Plain rows: no state object to load."""
    found: dict[int, dict[int, Row]] = {subject_id: {} for subject_id in subject_ids}
    if found:
        for row in session.execute(
                select(_states.c.subject_id, _states.c.channel_id, _states.c.status, _states.c.changed_at)
                .where(_states.c.subject_id.in_(list(found)))):
            found[row.subject_id][row.channel_id] = row
    return found


def record_change(
    session: Session,
    subject: Subject,
    changes: Mapping[str, str],
    *,
    source: Source,
    actor: Actor,
    basis: Mapping[str, str] | None = None,
    evidence: dict | None = None,
    trace: dict | None = None,
    renew: bool = False,
    event_type: EventType | None = None,
) -> Recorded:
    """Record one submission: ``changes`` maps channel code to new status.

    Channels whose status and legal basis do not change produce no event,
    unless ``renew`` (a confirmation: a new policy version, a consent about
    to lapse) is set; ``ledger.changes.change_of`` decides.
    """
    if not changes:
        return Recorded(None)
    check_statuses(changes)

    session.flush()  # what the caller added (a new subject) exists before the Core statements
    lock_subject(session, subject)
    now = utcnow()
    before = _before_change(session, subject, list(changes), now)
    channels, states, policy = before.channels, before.states, before.policy
    unknown = sorted(set(changes) - channels.keys())
    if unknown:
        raise UnknownChannel(unknown)
    receipt_public_id = str(uuid.uuid4())
    events, rows, _, _ = chain_events(
        subject, changes, channels, states, before.seq, before.head_hash, policy, now, receipt_public_id,
        source=source, actor=actor, basis=basis, evidence=evidence, trace=trace, renew=renew,
        event_type=event_type, erased=before.erased, restricted=before.restricted)
    if not events:
        expire_held_states(session, subject, states)
        return Recorded(None)
    receipt = signed_receipt(receipt_public_id, subject, source, events, channels.values(), policy,
                             before.policy_text, now)
    write(session, subject, receipt, events, rows, states)
    consent_recorded.send(session, subject=subject, receipt=receipt, events=events)
    return Recorded(receipt, events)


def check_statuses(changes: Mapping[str, str]) -> None:
    statuses = {str(s) for s in Status}
    for code, status in changes.items():
        if status not in statuses:
            raise LedgerError(f"unknown status {status!r} for channel {code!r}")


def check_restriction(changes: Mapping[str, str], channels: Mapping[str, Channel], states: Mapping[int, HeldState],
                      source: Source, restricted: bool = False) -> None:
    """Refuse (``RestrictedChannel``) a change that would resume processing of a restricted subject.

    ``restricted`` is the subject's own mark (``Subject.restricted_at``), set
    by the restriction and cleared only by its lift: withdrawing every
    restricted channel does not end it. ``states`` holds every state of the
    subject, read under its lock; a state still ``restricted`` counts too.
    Only the rights flow (source ``restriction``) moves a restricted
    subject's channels freely.
    """
    if source == Source.RESTRICTION or not (restricted or any(s.status == Status.RESTRICTED
                                                               for s in states.values())):
        return
    refused = []
    for code, status in changes.items():
        state = states.get(channels[code].id)
        if status not in WHILE_RESTRICTED and (state is None or state.status != status):
            refused.append(code)
    if refused:
        raise RestrictedChannel(sorted(refused))


def chain_events(
    subject, changes: Mapping[str, str], channels: Mapping[str, Channel], states: Mapping[int, HeldState],
    seq: int, prev_hash: str | None, policy: PolicyVersion | None, now, receipt_public_id: str, *,
    source: Source, actor: Actor, basis: Mapping[str, str] | None, evidence: dict | None, trace: dict | None,
    renew: bool, event_type: EventType | None, erased: bool = False, restricted: bool = False,
) -> tuple[list[ConsentEvent], list[dict], int, str | None]:
    """The events of one submission, chained after ``seq``/``prev_hash``: (events, their rows, new head).

    The one place that decides which channels move, with which event type
    and basis, and what each event's hash covers (``record_change`` and
    ``ledger.bulk.record_many`` both call it). Refuses a restricted subject's
    change that would resume processing (``RestrictedChannel``), any change
    of an ``erased`` subject but the erasure's own (``ErasedSubject``), and a
    grant on a channel that shares with partners on any basis but explicit
    consent (``ledger.partners``).
    """
    check_restriction(changes, channels, states, source, restricted)
    events: list[ConsentEvent] = []
    rows: list[dict] = []
    for code in sorted(changes, key=lambda c: (channels[c].position, c)):
        channel = channels[code]
        try:
            change = change_of(states.get(channel.id), changes[code], (basis or {}).get(code), renew=renew,
                               event_type=event_type)
        except UnknownBasis as exc:
            raise LedgerError(str(exc)) from None
        if change is None:
            continue
        refuse_sharing_without_consent(channel, change.status, change.basis)
        seq += 1
        row = dict(
            public_id=str(uuid.uuid4()),
            subject_id=subject.id,
            seq=seq,
            channel_id=channel.id,
            status=change.status,
            previous_status=change.previous_status,
            basis=change.basis,
            event_type=change.event_type,
            source=source,
            actor_type=actor.type,
            actor_id=actor.id,
            policy_version_id=policy.id if policy else None,
            occurred_at=now,
            evidence=evidence,
            trace=trace,
            prev_hash=prev_hash,
        )
        event = ConsentEvent(**row, channel=channel, policy_version=policy)
        row["hash"] = event.hash = prev_hash = event_hash(hashed_fields(
            event, subject_public_id=subject.public_id, channel_code=code,
            policy_label=policy.label if policy else None, receipt_public_id=receipt_public_id,
        ))
        events.append(event)
        rows.append(row)
    if erased and events and source != Source.ERASURE:
        raise ErasedSubject(subject.public_id)
    return events, rows, seq, prev_hash


def signed_receipt(receipt_public_id: str, subject, source: Source, events: list[ConsentEvent], channels,
                   policy: PolicyVersion | None, policy_text: PolicyText | None, now) -> Receipt:
    """The receipt of one submission: its document, serialised and signed with the active key."""
    document = receipts.build_document(
        receipt_public_id=receipt_public_id, subject=subject, source=source,
        events=events, channels={c.id: c for c in channels}, policy=policy,
        policy_text=policy_text,
    )
    serialised = receipts.serialise(document)
    return Receipt(public_id=receipt_public_id, subject_id=subject.id, issued_at=now, document=serialised,
                   jws=receipts.sign(serialised), language=document["language"])


def default_changes(channels: Iterable[Channel], is_customer: bool) -> tuple[dict[str, str], dict[str, str]]:
    """A new subject's starting state on each of ``channels``: (status by code, basis by code)."""
    changes, bases = {}, {}
    for channel in channels:
        changes[channel.code], bases[channel.code] = channel.default_for(is_customer)
    return changes, bases


def record_defaults(
    session: Session, subject: Subject, *, actor: Actor, trace: dict | None = None,
    source: Source = Source.DEFAULT,
) -> Recorded:
    """Record every active channel's starting state for a new subject."""
    channels = session.scalars(select(Channel).where(Channel.active.is_(True))).all()
    changes, bases = default_changes(channels, subject.is_customer)
    return record_change(
        session, subject, changes, source=source, actor=actor, basis=bases, trace=trace,
        event_type=EventType.DEFAULT,
    )

