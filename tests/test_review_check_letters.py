"""Hostile review of the single check by e-mail on a channel whose lists also name phone numbers
(``check.service._check_email_with_blocks``, merging with ``Found.merge``): it must answer what the check by
subject, the bulk checks (by e-mail and by subject), the change feed and a subject's consents answer; and an
e-mail channel must still be one query."""
from __future__ import annotations

from datetime import UTC, datetime

from freezegun import freeze_time

from consent_center.ledger import Actor
from consent_center.policies.channels import create_channel
from consent_center.rights.erasure import erase
from consent_center.subjects.channel_suppression import suppress_on_channel

from .test_api_feed import read_all
from .test_feed_blocks import _check, _grant
from .test_hot_paths import statements  # noqa: F401, F811 (a fixture)

T = datetime(2026, 12, 10, 9, tzinfo=UTC)
NAMES = {"fr": "Courrier", "nl": "Post", "en": "Letters"}


def _bulk(api, channel, **body) -> list[dict]:
    response = api.post("/check", json={"channel": channel, **body})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["results"]


def _import(runner, tmp_path, name, text, *args):
    path = tmp_path / f"{name}.txt"
    path.write_text(text, encoding="utf-8")
    result = runner.invoke(args=["suppression", "import", "--list", name, "--channel", "letters",
                                 "--file", str(path), "--region", "fr", *args])
    assert result.exit_code == 0, result.output


@freeze_time(T)
def test_every_check_of_a_letters_channel_agrees_for_exempt_expired_phoneless_and_erased(
        api, session, runner, make_subject, tmp_path):
    create_channel(session, code="letters", names=NAMES, purposes=NAMES, default_status="never_asked",
                   default_basis="consent", validity_months=None, medium="post")
    session.commit()
    people = {
        # a customer whose number is on a register that exempts customers: allowed
        "cus": make_subject("cus@example.com", phone="+33611111111", is_customer=True),
        # a customer whose number is on the exempting register and whose address on one that does not: listed
        "mix": make_subject("mix@example.com", phone="+33622222222", is_customer=True),
        # a number only on a register whose extract has expired: allowed
        "old": make_subject("old@example.com", phone="+33633333333"),
        # no number at all, the address on the register: listed
        "nop": make_subject("nop@example.com"),
        # no number, nothing listed: allowed
        "fre": make_subject("fre@example.com"),
        # a prospect whose number is on the exempting register: listed
        "pro": make_subject("pro@example.com", phone="+33644444444"),
    }
    for subject in people.values():
        _grant(session, subject, "letters")
    _import(runner, tmp_path, "Exempting", "06 11 11 11 11\n06 22 22 22 22\n06 44 44 44 44\n",
            "--customers-exempt")
    _import(runner, tmp_path, "Expired", "06 33 33 33 33\n", "--date", "2026-11-01", "--valid-until", "2026-12-09")
    _import(runner, tmp_path, "Robinson", "mix@example.com\nnop@example.com\ngone@example.com\n")
    gone = make_subject("gone@example.com", phone="+33655555555")
    _grant(session, gone, "letters")
    erase(session, gone, actor=Actor.system())
    session.commit()
    session.rollback()

    expected = {"cus": True, "mix": False, "old": True, "nop": False, "fre": True, "pro": False}
    emails = [f"{name}@example.com" for name in people]
    subjects = [s.public_id for s in people.values()]
    by_email = {n: _check(api, "letters", email=f"{n}@example.com") for n in people}
    by_subject = {n: _check(api, "letters", subject=s.public_id) for n, s in people.items()}
    bulk_e = dict(zip(people, _bulk(api, "letters", emails=emails)))
    bulk_s = dict(zip(people, _bulk(api, "letters", subjects=subjects)))
    events, _ = read_all(api, limit=1000)
    feed = {e["subject"]: e for e in events if e["channel"] == "letters"}
    for name, subject in people.items():
        consents = {c["channel"]: c for c in api.get(f"/subjects/{subject.public_id}/consents")
                    .get_json()["consents"]}
        answers = {"email": by_email[name], "subject": by_subject[name], "bulk emails": bulk_e[name],
                   "bulk subjects": bulk_s[name], "feed": feed[subject.public_id], "consents": consents["letters"]}
        said = {way: a["allowed"] for way, a in answers.items()}
        assert set(said.values()) == {expected[name]}, (name, said)
        if not expected[name]:
            lists = {way: a.get("list") for way, a in answers.items() if way not in ("feed", "consents")}
            assert len(set(lists.values())) == 1, (name, lists)  # the same list named
            assert answers["consents"]["status"] == "listed", (name, answers["consents"])
    # The erased address (also on the register): suppressed, single and bulk alike.
    single = _check(api, "letters", email="gone@example.com")
    [bulk] = _bulk(api, "letters", emails=["gone@example.com"])
    assert (single["allowed"], single["status"]) == (bulk["allowed"], bulk["status"]) == (False, "suppressed"), (
        single, bulk)


@freeze_time(T)
def test_the_check_by_e_mail_on_an_e_mail_channel_is_still_one_query(api, session, make_subject, statements):
    lea = make_subject("lea@example.com", phone="+33612345678")
    max_ = make_subject("max@example.com", phone="+33698765432")
    _grant(session, lea, "newsletter")
    _grant(session, max_, "newsletter")
    suppress_on_channel(session, "+33698765432", "sms", source="sms_keyword")  # a list of another medium
    suppress_on_channel(session, "max@example.com", "email", source="complaint")  # an e-mail list exists
    session.commit()
    session.rollback()
    _check(api, "newsletter", email="nobody@example.com")  # the key and the channels are cached
    for email, allowed in (("lea@example.com", True), ("max@example.com", False)):
        statements.clear()
        answer = _check(api, "newsletter", email=email)
        assert statements.count("SELECT") == 1, (email, statements)
        assert answer["allowed"] is allowed, answer
