"""A number erased at one subject's request, which another subject still has: no surface answers
"allowed" for a message that reaches it (GET /check's own contract for ``suppressed``).

The check by phone said so already (``check.by_phone``); asked by subject id or e-mail address on an
SMS channel, the checks, the bulk checks, a subject's consents and the change feed said "allowed",
since the other subject's own grant stands. A message to that subject goes to the erased number:
the person who asked to be forgotten may well be the one who answers it.
"""
from __future__ import annotations

from sqlalchemy import select

from consent_center.ledger import Actor
from consent_center.models import Subject
from consent_center.rights.effects import erase
from consent_center.subjects.channel_suppression import suppress_on_channel

from .test_api_check_phone import JAN, LEA, check, consent, subject
from .test_api_feed import read_all
from .test_hot_paths import statements  # noqa: F401, F811 (a fixture)

SUPPRESSED = {"allowed": False, "status": "suppressed"}


def _erase(session, public_id: str) -> None:
    erase(session, session.scalars(select(Subject).where(Subject.public_id == public_id)).one(), actor=Actor.system())
    session.commit()


def _two_with_one_number(api, session) -> tuple[str, str]:
    stays = subject(api, email="stays@example.com", phone=JAN, is_customer=True)
    gone = subject(api, email="gone@example.com", phone=JAN)
    for public_id in (stays, gone):
        consent(api, public_id, "granted")
        consent(api, public_id, "granted", channel="newsletter")
    return stays, gone


def _picked(answer: dict) -> dict:
    return {"allowed": answer["allowed"], "status": answer["status"]}


def test_a_subject_whose_number_was_erased_with_someone_else_is_never_allowed_by_sms(api, session):
    stays, gone = _two_with_one_number(api, session)
    by_subject = api.get("/check", query_string={"channel": "sms", "subject": stays}).get_json()
    assert (by_subject["allowed"], by_subject["status"]) == (True, "granted")
    _erase(session, gone)

    single = [api.get("/check", query_string={"channel": "sms", "subject": stays}).get_json(),
              api.get("/check", query_string={"channel": "sms", "email": "stays@example.com"}).get_json()]
    bulk = [api.post("/check", json={"channel": "sms", "subjects": [stays]}).get_json()["results"][0],
            api.post("/check", json={"channel": "sms", "emails": ["stays@example.com"]}).get_json()["results"][0]]
    for answer in single + bulk:
        assert _picked(answer) == SUPPRESSED, (single + bulk).index(answer)
        assert answer["subject"] == stays  # the subject asked about, not the erased one
        assert "list" not in answer and "reason" not in answer  # nothing to name: the erasure list is no list
        assert answer["basis"] == "consent" and answer["changed_at"] is not None  # the ledger's own state
    assert _picked(check(api, JAN).get_json()) == SUPPRESSED  # by phone, as before
    for body in ({"subjects": [stays]}, {"emails": ["stays@example.com"]}):
        assert api.post("/check", json={"channel": "sms", "answer": "allowed", **body}).get_json()["allowed"] == [False]

    # The answers served now beside the checks: a subject's consents, the change feed.
    consents = {c["channel"]: c for c in api.get(f"/subjects/{stays}/consents").get_json()["consents"]}
    assert (consents["sms"]["allowed"], consents["sms"]["status"]) == (False, "suppressed")
    events, _ = read_all(api, limit=1000)
    last_sms = [e for e in events if e["subject"] == stays and e["channel"] == "sms"][-1]
    assert (last_sms["allowed"], last_sms["reason"]) == (False, "suppressed")

    # The number, not the person: e-mail still reaches only the subject's own address.
    for answer in (api.get("/check", query_string={"channel": "newsletter", "subject": stays}).get_json(),
                   api.post("/check", json={"channel": "newsletter", "subjects": [stays]}).get_json()["results"][0]):
        assert _picked(answer) == {"allowed": True, "status": "granted"}
    assert consents["newsletter"]["allowed"] is True


def test_the_erasure_outranks_a_list_and_a_customer_exemption_and_takes_no_withdrawal_back(api, session):
    stays, gone = _two_with_one_number(api, session)
    other = subject(api, email="other@example.com", phone=LEA)
    consent(api, other, "granted")
    suppress_on_channel(session, JAN, "sms", source="sms_keyword")  # a STOP list of the medium exists too
    session.commit()
    _erase(session, gone)
    assert _picked(api.get("/check", query_string={"channel": "sms", "subject": stays}).get_json()) == SUPPRESSED
    results = api.post("/check", json={"channel": "sms", "subjects": [stays, other]}).get_json()["results"]
    assert [_picked(r) for r in results] == [SUPPRESSED, {"allowed": True, "status": "granted"}]
    consent(api, stays, "withdrawn")  # a "no" of the subject's own stays theirs
    for answer in (api.get("/check", query_string={"channel": "sms", "subject": stays}).get_json(),
                   api.post("/check", json={"channel": "sms", "subjects": [stays]}).get_json()["results"][0]):
        assert _picked(answer) == {"allowed": False, "status": "withdrawn"}


def test_until_anything_is_erased_a_check_by_subject_on_sms_asks_no_more_than_before(
        api, session, statements):  # noqa: F811 (the fixture)
    """The erasure list is asked about the subjects' numbers only once it holds something
    (``check.channels``' ``erasures``, read with the channels): before that, one query a check."""
    stays, gone = _two_with_one_number(api, session)
    asked = [lambda: api.get("/check", query_string={"channel": "sms", "subject": stays}),
             lambda: api.post("/check", json={"channel": "sms", "subjects": [stays, gone]}),
             lambda: api.post("/check", json={"channel": "sms", "subjects": [stays], "answer": "allowed"})]
    for ask in asked:
        ask()  # the key and the channels are read and cached
        statements.clear()
        assert ask().status_code == 200
        assert statements == ["SELECT"], statements
    _erase(session, gone)  # the first erasure: this process drops its cached flags at once
    for ask in asked:
        statements.clear()
        answer = ask().get_json()
        assert answer.get("allowed") in (False, [False]) or answer["results"][0]["status"] == "suppressed", answer
        assert statements.count("SELECT") >= 2, statements  # the channels again, then the lookup
