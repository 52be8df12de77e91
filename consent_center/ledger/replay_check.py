"""The stored states against a replay of the ledger: what each chain's last event of each
channel says must be what ``consent_states`` holds (the check API reads it)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from consent_center.canonical import format_time
from consent_center.ledger.chain import Chain
from consent_center.ledger.findings import Check, SubjectStream
from consent_center.models import Channel, ConsentState, PolicyVersion, Subject


class StateReplay:
    """Walks beside the chains; ``chain`` for each subject's chain in subject order, then ``finish``."""

    def __init__(self, session: Session, batch: int = 5000):
        self.check = Check("states")
        self._channels = dict(session.execute(select(Channel.id, Channel.code)).all())
        self._policies = dict(session.execute(select(PolicyVersion.id, PolicyVersion.label)).all())
        self._stored = SubjectStream(session.execute(
            select(*ConsentState.__table__.c, Subject.public_id.label("subject_public_id"))
            .join(Subject, Subject.id == ConsentState.subject_id)
            .order_by(ConsentState.subject_id, ConsentState.channel_id)
            .execution_options(yield_per=batch)))

    def chain(self, chain: Chain) -> None:
        chainless, stored = self._stored.take(chain.subject_id)
        self._chainless(chainless)
        implied = {}
        for event in chain.events:  # in id order, as the ledger wrote the states
            implied[event.channel_id] = event
        by_channel = {state.channel_id: state for state in stored}
        for channel_id in sorted(implied.keys() | by_channel.keys()):
            self.check.checked += 1
            difference = self._difference(by_channel.get(channel_id), implied.get(channel_id))
            if difference:
                self.check.found(f"subject {chain.subject_public_id}, channel {self._channels.get(channel_id)}: "
                                 f"{difference}")

    def finish(self) -> None:
        try:
            self._chainless(self._stored.take(None)[0])
        finally:
            self._stored.close()

    def _chainless(self, states) -> None:
        for state in states:
            self.check.checked += 1
            self.check.found(f"subject {state.subject_public_id}, channel {self._channels.get(state.channel_id)}: "
                             f"status {state.status} (event {state.event_id}), the ledger has no event")

    def _difference(self, state, event) -> str | None:
        """Say how the stored state differs from the one the event implies; None when equal."""
        if state is None:
            return f"no stored state, the ledger says {event.status} (event {event.id})"
        if event is None:
            return f"status {state.status} (event {state.event_id}), the ledger has no event"
        differences = []
        for name, stored, replayed in (
            ("status", state.status, event.status),
            ("basis", state.basis, event.basis),
            ("event", state.event_id, event.id),
            ("policy version", self._policies.get(state.policy_version_id),
             self._policies.get(event.policy_version_id)),
            ("changed at", _moment(state.changed_at), _moment(event.occurred_at)),
        ):
            if stored != replayed:
                differences.append(f"{name} {stored}, the ledger says {replayed}")
        return "; ".join(differences) or None


def _moment(value) -> str | None:
    return format_time(value) if value is not None else None
