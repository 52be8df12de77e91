"""check.answer: the one consent answer, and the shortcuts the bulk query and the export take to it."""
from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from consent_center.check.answer import (
    ChannelRules, State, add_months, allowed_at_own_moment, answer_from_flags, consent_answer, cutoffs,
    event_answer, lapse_of, validity_elapsed, COUNTS, EXPIRED, MAYBE_EXPIRED, STALE,
)
from consent_center.models.vocabulary import Basis, Status

T = datetime(2026, 11, 1, 10, tzinfo=UTC)
V2 = datetime(2026, 12, 1, tzinfo=UTC)


def grant(at=T, basis="consent"):
    return State("granted", basis, at)


def test_only_a_live_grant_on_an_active_channel_is_allowed():
    rules = ChannelRules()
    assert consent_answer(grant(), rules, T).allowed
    unknown = consent_answer(None, rules, T)
    assert (unknown.allowed, unknown.status) == (False, "unknown")
    assert consent_answer(State(None, None, None), rules, T).status == "never_asked"
    for status in Status:
        if status != Status.GRANTED:
            answer = consent_answer(State(status.value, "consent", T), rules, T)
            assert not answer.allowed and answer.status == status.value
    inactive = consent_answer(grant(), ChannelRules(active=False), T)
    assert (inactive.allowed, inactive.reason) == (False, "channel_inactive")


def test_reconsent_counts_from_the_end_of_the_grace_period_and_only_for_consent():
    rules = ChannelRules(requires_reconsent=True, material_dates=(V2,), grace=timedelta(days=30))
    assert consent_answer(grant(), rules, V2 + timedelta(days=29)).allowed
    past = consent_answer(grant(), rules, V2 + timedelta(days=30))
    assert (past.allowed, past.status) == (False, "reconsent_required")
    assert consent_answer(grant(basis="legitimate_interest"), rules, V2 + timedelta(days=60)).allowed
    assert consent_answer(grant(at=V2), rules, V2 + timedelta(days=60)).allowed  # given under v2
    assert consent_answer(grant(), ChannelRules(material_dates=(V2,)), V2 + timedelta(days=60)).allowed


def test_validity_is_the_expiry_jobs_month_arithmetic_whether_or_not_the_job_ran():
    rules = ChannelRules(validity_months=1)
    assert consent_answer(grant(), rules, datetime(2026, 12, 1, 9, 59, tzinfo=UTC)).allowed
    lapsed = consent_answer(grant(), rules, datetime(2026, 12, 1, 10, tzinfo=UTC))
    assert (lapsed.allowed, lapsed.status, lapsed.reason) == (False, "expired", "validity_elapsed")
    assert consent_answer(grant(basis="soft_opt_in"), rules, datetime(2027, 6, 1, tzinfo=UTC)).allowed
    assert add_months(datetime(2027, 1, 31, tzinfo=UTC), 1) == datetime(2027, 2, 28, tzinfo=UTC)


def test_the_lapse_code_the_bulk_query_computes_decides_as_the_answer_does():
    """cutoffs + lapse_of (the bulk query's CASE) then answer_from_flags, exactly consent_answer,
    month ends and times of day included (add_months is not monotonic there)."""
    rng = random.Random(20)
    for _ in range(20000):
        months = rng.choice([None, 1, 2, 6, 12, 24])
        rules = ChannelRules(requires_reconsent=rng.random() < 0.5, validity_months=months,
                             material_dates=(V2,), grace=timedelta(days=rng.choice([0, 30])))
        at = datetime(2027, rng.randint(1, 12), 1, tzinfo=UTC) + timedelta(days=rng.randint(0, 30),
                                                                         seconds=rng.randint(0, 86399))
        changed = at - timedelta(days=rng.randint(0, 800), seconds=rng.randint(0, 86399))
        state = State(rng.choice(["granted", "withdrawn"]), rng.choice(["consent", "soft_opt_in"]), changed)
        lapse = lapse_of(changed, cutoffs(rules, at))
        if lapse == MAYBE_EXPIRED:
            cutoff = cutoffs(rules, at).reconsent
            flags = (cutoff is not None and changed < cutoff, validity_elapsed(changed, months, at))
        else:
            flags = (lapse == STALE, lapse == EXPIRED)
        assert lapse in (COUNTS, STALE, EXPIRED, MAYBE_EXPIRED)
        assert answer_from_flags(state.status, state.basis, *flags) == consent_answer(state, rules, at), \
            (state, rules, at)


def test_where_nothing_lapsed_the_answer_depends_on_the_status_alone():
    """What the bulk check relies on to decide once per status."""
    for status in [s.value for s in Status] + [None]:
        for active in (False, True):
            assert len({answer_from_flags(status, b, False, False, active) for b in [*Basis, None]}) == 1


@pytest.mark.parametrize("status", [s.value for s in Status])
@pytest.mark.parametrize("basis", [b.value for b in Basis])
def test_an_events_answer_at_its_own_moment_is_what_the_export_writes(status, basis):
    for rules in (ChannelRules(), ChannelRules(active=False),
                  ChannelRules(requires_reconsent=True, validity_months=1, material_dates=(V2,),
                               grace=timedelta(0))):
        for moment in (T, V2, V2 + timedelta(days=31), datetime(2027, 1, 31, tzinfo=UTC)):
            assert event_answer(status, basis, moment, rules).allowed is allowed_at_own_moment(status)
