"""Every e-mail the center sends, in each language: headers, both parts, a working link."""
import pytest
from sqlalchemy import select

from consent_center.outbox.mail import TOPICS, compose, enqueue_email
from consent_center.models import OutboxMessage

WORDS = {  # a phrase of each e-mail's closing line, per language
    "fr": "Cet e-mail a été envoyé automatiquement",
    "nl": "Deze e-mail werd automatisch verstuurd",
    "en": "This e-mail was sent automatically",
}
LIFETIMES = {"double_opt_in": {"fr": "1 semaine", "nl": "1 week", "en": "1 week"},
             "manage_link": {"fr": "2 jours", "nl": "2 dagen", "en": "2 days"},
             "invitation": {"fr": "2 semaines", "nl": "2 weken", "en": "2 weeks"},
             "password_reset": {"fr": "2 heures", "nl": "2 uur", "en": "2 hours"},
             "expiry_reminder": {"fr": "2 jours", "nl": "2 dagen", "en": "2 days"},
             "email_change": {"fr": "2 jours", "nl": "2 dagen", "en": "2 days"}}


def refs(topic, account):
    return {"double_opt_in": {"signup": "f" * 32},
            "manage_link": {"subject": "a" * 24, "email": account.email},
            "invitation": {"account": account.id},
            "password_reset": {"account": account.id},
            "expiry_reminder": {"subject": "a" * 24, "email": account.email,
                                "channels": [{"names": {"en": "Newsletter"}, "expires_at": "2027-01-10T09:00:00+00:00"}]},
            "email_change": {"subject": "a" * 24, "new": account.email, "old": "old@example.com"},
            "email_change_notice": {"subject": "a" * 24},
            "request_received": {"request": "b" * 24, "kind": "access", "due": "2026-03-31"},
            "repermission": {"question": "c" * 24, "rule": "prospect", "due_at": "2027-01-10T09:00:00+00:00"},
            "request_completed": {"request": "b" * 24, "kind": "access", "due": "2026-03-31"},
            "restriction_lift": {"request": "b" * 24, "kind": "restriction", "due": "2026-03-31",
                                 "lift_at": "2026-04-14T09:00:00+00:00"},
            "checkpoint": {"tree_size": 3, "note": "localhost/consent-log\n3\nAAAA\n\n\u2014 localhost/consent-log x\n",
                           "verifier_key": "localhost/consent-log+00000000+AAAA", "origin": "localhost/consent-log"},
            }[topic]


@pytest.mark.parametrize("locale", ["fr", "nl", "en"])
@pytest.mark.parametrize("topic", sorted(TOPICS))
def test_each_email_speaks_the_recipients_language(app, session, make_account, topic, locale):
    account = make_account(f"{topic}.{locale}@example.com", password=None if topic == "invitation" else
                           "correct horse battery")
    enqueue_email(session, topic=topic, to=account.email, locale=locale, name="Sam", **refs(topic, account))
    session.commit()
    message = session.scalars(select(OutboxMessage)).one()
    email = compose(message)
    assert email["Content-Language"] == locale
    assert email["List-Unsubscribe"] is None
    text = email.get_body(("plain",)).get_content()
    # A witness's mail is plain text alone: it keeps it and reads it with its own tools.
    html = email.get_body(("html",)).get_content() if TOPICS[topic].html else None
    assert (html is None) == (email.get_body(("html",)) is None)
    if TOPICS[topic].greets_by_name:
        assert email["To"] == f"Sam <{account.email}>" and "Sam" in text
    else:  # to an address nobody confirmed: even a name queued with it is not echoed
        assert email["To"] == account.email and "Sam" not in text + (html or "")
    assert WORDS[locale] in text and WORDS[locale] in (html or WORDS[locale])
    if TOPICS[topic].token_purpose:
        assert LIFETIMES[topic][locale] in text.replace("\xa0", " ")  # CLDR puts a no-break space
    links = [line for line in text.splitlines() if line.startswith("http://localhost/")]
    assert len(links) == 1
    if html is not None:
        assert f'<html lang="{locale}">' in html and f'href="{links[0]}"' in html
    # The account links open their page; the others name made-up ids here (their whole
    # journeys are in test_signup and test_manage), so their signed link finds no one.
    # A request's page is behind the login.
    expected = {"invitation": 200, "password_reset": 200, "request_received": 302,
                "request_completed": 302, "restriction_lift": 302, "email_change_notice": 302, "email_change": 410,
                "checkpoint": 200}.get(topic, 404)
    assert app.test_client().get(links[0].removeprefix("http://localhost")).status_code == expected


def test_an_email_in_an_unknown_language_falls_back_to_the_default(app, session):
    enqueue_email(session, topic="double_opt_in", to="x@example.com", locale="de", signup="f" * 32)
    session.commit()
    assert compose(session.scalars(select(OutboxMessage)).one())["Content-Language"] == "fr"


def test_names_cannot_inject_markup_into_the_html_part(app, session):
    enqueue_email(session, topic="manage_link", to="x@example.com", locale="en",
                  name='<a href="https://evil.example">Win</a>', subject="a" * 24, email="x@example.com")
    session.commit()
    html = compose(session.scalars(select(OutboxMessage)).one()).get_body(("html",)).get_content()
    assert '<a href="https://evil.example">' not in html
    assert "&lt;a href=" in html
