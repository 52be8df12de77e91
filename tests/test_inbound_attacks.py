"""Attacks on the inbound hooks, each through the real route with real signatures.

- Twilio signs ``URL + name1 + value1 + …`` with no separator: a captured
  request can be cut anew into other names and values that sign the same.
- Failed authentication is throttled per client address, whatever hook id
  it names; a hook's own limit counts only requests correctly signed.
"""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from freezegun import freeze_time
from sqlalchemy import event, func, select

from consent_center.extensions import db
from consent_center.models import ConsentEvent, InboundMessage

from .inbound_fixtures import make_hook, path_of, post_generic, post_twilio, signed_generic, sms, twilio_params, \
    twilio_sid
from .test_inbound_sms import person, policy, states  # noqa: F401  (policy: a fixture)

NOW = datetime(2026, 12, 6, 20, 0, tzinfo=timezone.utc)


def resplit(params: dict, at: int) -> dict:
    """``params`` with MessageSid cut before character ``at``: its tail becomes a name, the rest its value.

    The tail opens with a lowercase letter, so it sorts after every other
    name, and its value is every later name and value run together: the
    text Twilio signed is the same, byte for byte.
    """
    names = sorted(params)
    after = names[names.index("MessageSid") + 1:]
    forged = {name: params[name] for name in names[:names.index("MessageSid")]}
    forged["MessageSid"] = params["MessageSid"][:at]
    forged[params["MessageSid"][at:]] = "".join(name + params[name] for name in after)
    return forged


def _signed_text(params: dict) -> str:
    return "".join(name + params[name] for name in sorted(params))


@freeze_time(NOW)
def test_a_captured_twilio_start_cut_anew_is_refused_after_the_person_s_new_stop(client, session, policy):  # noqa: F811
    public_id = person(session, "a@example.com", "+33612345678", locale="fr")
    _hook, url = make_hook(session, provider="twilio")
    first_stop, start = twilio_params("STOP", sid=twilio_sid(1)), twilio_params("START", sid=twilio_sid(2))
    assert post_twilio(client, url, first_stop).status_code == 200
    assert post_twilio(client, url, start).status_code == 200  # captured by the attacker
    assert post_twilio(client, url, twilio_params("STOP", sid=twilio_sid(3))).status_code == 200
    assert states(session, public_id)["sms"] == ("withdrawn", "sms_keyword")
    sid = start["MessageSid"]
    cut = next(i for i in range(3, len(sid)) if sid[i].isalpha())
    forged = resplit(start, cut)
    assert _signed_text(forged) == _signed_text(start) and forged["MessageSid"] != sid
    answer = post_twilio(client, url, forged)
    assert answer.status_code == 401, answer.get_data(as_text=True)
    assert answer.mimetype == "application/problem+json"
    assert states(session, public_id)["sms"] == ("withdrawn", "sms_keyword")
    session.rollback()
    assert session.scalar(select(func.count()).select_from(InboundMessage)) == 3
    assert session.scalar(select(func.count()).select_from(ConsentEvent).where(
        ConsentEvent.source == "sms_keyword")) == 3


CHANGES = ("short sid", "uppercase hex", "other prefix", "SmsSid differs", "SmsMessageSid differs", "lowercase name",
           "name with a dot", "a name twice")


def _changed(params: dict, change: str) -> dict | list:
    params, sid = dict(params), params["MessageSid"]
    same_sid = {"short sid": sid[:20], "uppercase hex": sid.upper(), "other prefix": "CA" + sid[2:]}
    if change in same_sid:
        params.update(MessageSid=same_sid[change], SmsSid=same_sid[change], SmsMessageSid=same_sid[change])
    elif change in ("SmsSid differs", "SmsMessageSid differs"):
        params[change.split()[0]] = twilio_sid(6)
    elif change == "a name twice":
        return [*params.items(), ("NumMedia", "1")]
    else:
        params["zz" if change == "lowercase name" else "Body.x"] = "1"
    return params


@freeze_time(NOW)
def test_twilio_parameters_not_as_twilio_writes_them_are_refused_though_signed(client, session):
    _hook, url = make_hook(session, provider="twilio")
    for change in CHANGES:
        answer = post_twilio(client, url, _changed(twilio_params("Bonjour", sid=twilio_sid(5)), change))
        assert answer.status_code == 401 and answer.mimetype == "application/problem+json", change
    session.rollback()
    assert session.scalar(select(func.count()).select_from(InboundMessage)) == 0
    # The same message as Twilio writes it (an MMS too) is accepted.
    assert post_twilio(client, url, twilio_params("Bonjour", sid=twilio_sid(7, "MM"))).status_code == 200


class _Queries:
    """Counts the SQL statements run while it is open."""

    def __enter__(self):
        self.count = 0
        event.listen(db.engine, "before_cursor_execute", self._seen)
        return self

    def _seen(self, *args):
        self.count += 1

    def __exit__(self, *exc):
        event.remove(db.engine, "before_cursor_execute", self._seen)


# No frozen clock here: the limiter's memory storage expires its counts by the real one.
@pytest.mark.settings(HOOK_AUTH_FAILURE_LIMIT="3 per minute", HOOK_RATE_LIMIT="100 per minute")
def test_failed_authentication_is_throttled_per_address_whatever_the_hook_id(client, session):
    hook, url = make_hook(session)
    stranger = {"REMOTE_ADDR": "203.0.113.9"}
    bogus = [client.post(f"/hooks/sms/generic/hk_{n:016x}", json=sms("x"), environ_base=stranger).status_code
             for n in range(2)]
    bad = client.post(path_of(url), json=sms("x"), headers={"webhook-signature": "v1,AAAA"}, environ_base=stranger)
    assert bogus == [404, 404] and bad.status_code == 401
    with _Queries() as queries:
        refused = client.post("/hooks/sms/generic/hk_00000000000000ff", json=sms("x"), environ_base=stranger)
    assert refused.status_code == 429 and refused.mimetype == "application/problem+json"
    assert "Retry-After" in refused.headers and queries.count == 0  # not even the hook is looked up
    # The provider, from its own address, is not held back by the stranger's failures.
    data, headers = signed_generic(hook, sms("Bonjour"))
    assert client.post(path_of(url), data=data, headers=headers,
                       environ_base={"REMOTE_ADDR": "198.51.100.7"}).status_code == 200


@pytest.mark.settings(HOOK_AUTH_FAILURE_LIMIT="100 per minute", HOOK_RATE_LIMIT="2 per minute")
def test_a_hook_s_limit_counts_only_requests_signed_for_it(client, session):
    hook, url = make_hook(session)
    garbage = [client.post(path_of(url), json=sms("x")).status_code for _ in range(5)]
    assert garbage == [401] * 5
    answers = [post_generic(client, url, hook, sms("Bonjour", id=f"SM{n}"), delivery=f"msg_{n}").status_code
               for n in range(3)]
    assert answers == [200, 200, 429]
    session.rollback()
    assert session.scalar(select(func.count()).select_from(InboundMessage)) == 2
    other, other_url = make_hook(session)
    assert post_generic(client, other_url, other, sms("Bonjour", id="SM9")).status_code == 200
