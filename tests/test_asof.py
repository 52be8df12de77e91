"""Consent as of any moment equals the replay of the ledger up to that moment."""
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from consent_center.ledger import asof
from consent_center.ledger import Actor, current_states, record_change
from consent_center.models import Channel, ConsentEvent, Source, Subject
from consent_center.subjects.service import create_subject

UTC = timezone.utc
# (when, person, {channel: status}) — a scripted history over three weeks.
SCRIPT = [
    ("2026-03-01 08:00:00", "a", {"newsletter": "granted"}),
    ("2026-03-01 08:00:00", "b", {"sms": "withdrawn"}),
    ("2026-03-02 12:30:00", "a", {"email": "withdrawn", "sms": "withdrawn"}),
    ("2026-03-03 09:15:00", "c", {"email": "granted"}),
    ("2026-03-03 09:15:00", "a", {"newsletter": "withdrawn"}),
    ("2026-03-05 18:00:00", "b", {"sms": "granted", "newsletter": "refused"}),
    ("2026-03-10 07:45:00", "a", {"email": "granted"}),
    ("2026-03-10 07:45:01", "a", {"email": "withdrawn"}),
    ("2026-03-20 23:59:59", "c", {"post": "withdrawn", "email": "expired"}),
]


@pytest.fixture
def scripted(session):
    people = {}
    with freeze_time("2026-02-27 10:00:00"):
        for name, customer in (("a", True), ("b", True), ("c", False)):
            people[name] = create_subject(session, actor=Actor.system(), email=f"{name}@example.com",
                                          is_customer=customer)
    for when, name, changes in SCRIPT:
        with freeze_time(when):
            record_change(session, people[name], changes, source=Source.API, actor=Actor.system())
    session.commit()
    return people


def replayed(session, subject_id: int, at: datetime) -> dict[int, int]:
    """{channel id: event id} by walking the subject's events in chain order, independently."""
    state = {}
    for event in session.scalars(select(ConsentEvent).where(ConsentEvent.subject_id == subject_id)
                                 .order_by(ConsentEvent.seq)):
        if event.occurred_at <= at:
            state[event.channel_id] = event.id
    return state


def probe_times():
    moments = {datetime.fromisoformat(when).replace(tzinfo=UTC) for when, _, _ in SCRIPT}
    probes = {datetime(2026, 2, 26, tzinfo=UTC), datetime(2026, 2, 27, 10, tzinfo=UTC),
              datetime(2026, 4, 1, tzinfo=UTC)}
    for moment in moments:
        probes |= {moment - timedelta(microseconds=1), moment, moment + timedelta(seconds=1)}
    return sorted(probes)


def test_the_state_as_of_any_moment_is_the_replay_up_to_it(session, scripted):
    for at in probe_times():
        for subject in scripted.values():
            from_sql = {cid: e.id for cid, e in asof.events_as_of(session, subject, at).items()}
            assert from_sql == replayed(session, subject.id, at), (subject.email, at)
            events = session.scalars(select(ConsentEvent).where(ConsentEvent.subject_id == subject.id))
            assert {cid: e.id for cid, e in asof.replay(events, at).items()} == from_sql


def test_one_channel_as_of_a_moment(session, scripted):
    email = session.scalars(select(Channel).where(Channel.code == "email")).one()
    a = scripted["a"]
    status = lambda at: asof.event_as_of(session, a, email, datetime.fromisoformat(at)).status  # noqa: E731
    assert status("2026-03-02T12:29:59+00:00") == "granted"
    assert status("2026-03-02T12:30:00+00:00") == "withdrawn"
    assert status("2026-03-10T07:45:00.5+00:00") == "granted"
    assert status("2026-03-10T07:45:01+00:00") == "withdrawn"
    assert asof.event_as_of(session, a, email, datetime(2026, 2, 1, tzinfo=UTC)) is None


def test_states_as_of_list_every_channel_and_say_when_nothing_was_recorded(session, scripted):
    before = asof.states_as_of(session, scripted["a"], datetime(2026, 1, 1, tzinfo=UTC))
    assert [s.channel.code for s in before] == ["email", "sms", "post", "newsletter"]
    assert all(s.event is None and s.status is None for s in before)
    on_the_third = {s.channel.code: s.status for s in asof.states_as_of(
        session, scripted["a"], datetime(2026, 3, 3, 12, tzinfo=UTC))}
    assert on_the_third == {"email": "withdrawn", "sms": "withdrawn", "post": "granted",
                            "newsletter": "withdrawn"}


def test_the_state_as_of_now_is_the_current_state(session, scripted):
    now = datetime(2030, 1, 1, tzinfo=UTC)
    for subject in scripted.values():
        current = {cid: s.event_id for cid, s in current_states(session, subject).items()}
        assert {cid: e.id for cid, e in asof.events_as_of(session, subject, now).items()} == current


def test_counts_over_the_base_as_of_any_moment_are_the_replay_counted(session, scripted):
    codes = dict(session.execute(select(Channel.id, Channel.code)).all())
    subject_ids = session.scalars(select(Subject.id)).all()
    for at in probe_times():
        expected = Counter()
        for subject_id in subject_ids:
            for channel_id, event_id in replayed(session, subject_id, at).items():
                expected[(codes[channel_id], session.get(ConsentEvent, event_id).status)] += 1
        counted = {(code, status): n for code, by_status in asof.counts_as_of(session, at).items()
                   for status, n in by_status.items()}
        assert counted == dict(expected), at
