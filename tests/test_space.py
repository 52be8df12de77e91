"""The preference space: one switch per channel, changes through the ledger."""
import re

from sqlalchemy import func, select

from consent_center.models import ConsentEvent, ConsentState, Receipt

from .conftest import account_by_email, form_post


def counts(session):
    session.rollback()
    return tuple(session.scalar(select(func.count()).select_from(m))
                 for m in (ConsentEvent, ConsentState, Receipt))


def switches(html):
    return {m.group(1): bool(m.group(2)) for m in re.finditer(
        r'name="active" value="(\w+)"[^>]*?( checked)?>', html.replace("\n", " "))}


def states(session, email):
    session.rollback()
    subject = account_by_email(session, email).subject
    rows = session.scalars(select(ConsentState).where(ConsentState.subject_id == subject.id))
    return {s.channel.code: s.status for s in rows}


def test_preferences_show_every_channel_with_its_state_and_purpose(client, auth, customer):
    auth.login(customer.email)
    html = client.get("/space/preferences", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert switches(html) == {"email": True, "sms": True, "post": True, "newsletter": False}
    assert 'role="switch"' in html
    assert "Receive our offers by text message" in html
    assert "since" in html


def test_switching_sms_off_records_one_event_and_confirms(client, auth, customer, session):
    auth.login(customer.email)
    before = counts(session)
    response = form_post(client, "/space/preferences", {"active": ["email", "post"]},
                         headers={"Accept-Language": "en"})
    assert response.status_code == 302
    page = client.get(response.location, headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Text messages (SMS) is now Inactive." in page
    assert counts(session) == (before[0] + 1, before[1], before[2] + 1)
    assert states(session, customer.email)["sms"] == "withdrawn"
    event = session.scalars(select(ConsentEvent).order_by(ConsentEvent.id.desc())).first()
    assert (event.source, event.actor_type, event.previous_status) == ("customer_space", "subject", "granted")
    assert event.trace["ip_network"] == "127.0.0.0/24"


def test_rule_withdrawal_as_easy_as_giving(client, auth, customer, session):
    """GDPR art. 7(3): withdrawing is the same switch on the same page as giving, one post each,
    each recorded as one event with its receipt."""
    auth.login(customer.email)
    before = counts(session)
    given = form_post(client, "/space/preferences", {"active": ["email", "sms", "post", "newsletter"]})
    assert given.status_code == 302 and states(session, customer.email)["newsletter"] == "granted"
    after_giving = counts(session)
    assert after_giving == (before[0] + 1, before[1], before[2] + 1)
    withdrawn = form_post(client, "/space/preferences", {"active": ["email", "sms", "post"]})
    assert withdrawn.status_code == 302 and states(session, customer.email)["newsletter"] == "withdrawn"
    assert counts(session) == (after_giving[0] + 1, after_giving[1], after_giving[2] + 1)
    last_two = session.scalars(select(ConsentEvent).order_by(ConsentEvent.id.desc()).limit(2)).all()
    assert [(e.event_type, e.source) for e in reversed(last_two)] == [("given", "customer_space"),
                                                                      ("withdrawn", "customer_space")]


def test_saving_unchanged_choices_records_nothing(client, auth, customer, session):
    auth.login(customer.email)
    before = counts(session)
    response = form_post(client, "/space/preferences", {"active": ["email", "sms", "post"]})
    assert response.status_code == 302
    assert counts(session) == before


def test_a_tampered_form_gets_400_and_writes_nothing(client, auth, customer, session):
    auth.login(customer.email)
    before = counts(session)
    response = form_post(client, "/space/preferences", {"active": ["email", "fax"]})
    assert response.status_code == 400
    assert counts(session) == before


def test_a_form_without_csrf_token_gets_400_and_writes_nothing(client, auth, customer, session):
    auth.login(customer.email)
    before = counts(session)
    response = client.post("/space/preferences", data={"active": ["email"]})
    assert response.status_code == 400
    assert counts(session) == before


def test_a_customer_changes_only_their_own_preferences(client, auth, make_account, session):
    make_account("a@example.com", locale="en")
    make_account("b@example.com", locale="en")
    before_a = states(session, "a@example.com")
    auth.login("b@example.com")
    form_post(client, "/space/preferences", {"active": ["newsletter"]})
    assert states(session, "a@example.com") == before_a
    assert states(session, "b@example.com")["newsletter"] == "granted"


def test_history_shows_only_the_customers_own_changes(client, auth, make_account, session):
    make_account("a@example.com", locale="en")
    make_account("b@example.com", locale="en")
    auth.login("a@example.com")
    form_post(client, "/space/preferences", {"active": ["email"]})
    auth.logout()
    auth.login("b@example.com")
    html = client.get("/space/history", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert html.count("<tr>") == 1 + 4  # header and B's four defaults
    assert "Your personal space" not in html


def test_history_lists_changes_with_source_and_policy(client, auth, customer, session):
    from consent_center.policies.service import publish_policy

    publish_policy(session, "2026-02", {"en": "text"})
    session.commit()
    auth.login(customer.email)
    form_post(client, "/space/preferences", {"active": ["email", "post", "newsletter"]})
    html = client.get("/space/history", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Your personal space" in html and "2026-02" in html
    assert "Default when your account was created" in html
