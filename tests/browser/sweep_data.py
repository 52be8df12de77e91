"""What the page sweeps open: one of everything a page can show, and every GET page of the app.

Shared by ``test_every_page.py`` and ``scripts/screenshots.py`` (every page at
360 and 1280 px, in each language, for people to look at).
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from flask import current_app, url_for

from consent_center import tokens
from consent_center.accounts.second_factor import new_secret
from consent_center.accounts.service import create_account
from consent_center.clock import utcnow
from consent_center.ledger import Actor, record_change
from consent_center.models import Role, Source
from consent_center.policies.service import publish_policy
from consent_center.rights.repermission import ask, years_after
from consent_center.rights.requests import file_request
from consent_center.subjects.contact import clocks
from consent_center.subjects.service import create_subject
from consent_center.tokens import email_change_token
from consent_center.unsubscribe.newsletter import sign_up

from ..conftest import PASSWORD

# GET routes that are not pages a person reads, or that this sweep cannot reach, and why.
SKIPPED = {
    "static": "files", "branding.brand_css": "a stylesheet", "jwks.jwks": "JSON",
    "health.healthz": "probe", "health.readyz": "probe",
    "consent_log.checkpoint": "plain text", "consent_log.key": "plain text", "consent_log.keys": "plain text",
    "audit.download_checkpoint": "a file download (tests/test_witnesses.py)",
    "audit.download_verifier_key": "a file download (tests/test_witnesses.py)",
    "audit.export_events": "a file download (test_staff_journeys downloads it)",
    "space.my_data_csv": "a file download", "space.my_data_json": "a file download",
    "space.receipt_download": "a file download (test_customer_journey downloads it)",
    "audit.export_inbound_messages": "a file download (JSON Lines)",
    "public.manage_receipt": "a file download (tests/test_confirmations.py)",
    "unsubscribe.receipt": "a file download behind a short-lived nonce (tests/test_confirmations.py)",
    "icons.favicon": "an image (tests/test_layout.py)", "icons.logo": "an image (tests/test_layout.py)",
    "space.reconsent": "shown only when a material version is due (axe runs on it in test_staff_journeys)",
}
ROLES = ["anonymous", "customer", "support", "auditor", "admin"]
QUERIES = {"audit.search": "?q=camille", "admin.people": "?q=camille", "privacy.diff": "?from=v1&to=v2"}


def seed(session) -> dict:
    """One of everything a page can show, and the URL values that name them."""
    publish_policy(session, "v1", {"fr": "Politique un.", "nl": "Beleid een.", "en": "Policy one."},
                   effective_at=datetime(2018, 11, 26, tzinfo=timezone.utc))
    publish_policy(session, "v2", {"fr": "Politique deux.", "nl": "Beleid twee.", "en": "Policy two."},
                   effective_at=datetime(2024, 1, 1, tzinfo=timezone.utc), material=False)
    customer = create_account(session, email="camille@example.com", password=PASSWORD, role=Role.CUSTOMER,
                              actor=Actor.system(), name="Camille Martin", locale="en")
    subject = customer.subject
    record_change(session, subject, {"email": "granted", "sms": "granted"}, source=Source.CUSTOMER_SPACE,
                  actor=Actor.system())
    receipt = record_change(session, subject, {"sms": "withdrawn"}, source=Source.CUSTOMER_SPACE,
                            actor=Actor.system()).receipt
    request = file_request(session, subject, "access")
    for role in (Role.SUPPORT, Role.AUDITOR, Role.ADMIN):
        create_account(session, email=f"{role}@example.com", password=PASSWORD, role=role,
                       actor=Actor.system(), name=f"{role} member", locale="en")
    invited = create_account(session, email="new@example.com", password=None, role=Role.SUPPORT,
                             actor=Actor.system(), locale="en")
    guarded = create_account(session, email="totp@example.com", password=PASSWORD, role=Role.ADMIN,
                             actor=Actor.system(), locale="en")
    guarded.totp_secret = new_secret()
    prospect = create_subject(session, actor=Actor.system(), email="zoe@example.com", locale="en")
    signup = sign_up(session, email="yann@example.com", name=None, locale="en", policy_label="v2", trace={})
    question = ask(session, prospect, None, clocks(session, [prospect.id])[0], "zoe@example.com")
    # A prospect whose period ends in ten days, not asked yet: the re-permission campaign's "who is due next".
    ending = create_subject(session, actor=Actor.system(), email="olga@example.com", locale="en")
    record_change(session, ending, {"email": "granted"}, source=Source.IMPORT, actor=Actor.system())
    ending.created_at = years_after(utcnow() + timedelta(days=10), -current_app.config["RETENTION_PROSPECT_YEARS"])
    session.commit()
    values = {
        "public_id": {"admin.person": subject.public_id, "audit.subject": subject.public_id,
                      "space.receipt": receipt.public_id, "space.request_detail": request.public_id,
                      "requests_desk.detail": request.public_id},
        "label": {"privacy.version": "v1"},
        "token": {
            "auth.accept_invitation": tokens.account_token("invitation", invited),
            "auth.reset_password": tokens.account_token("password_reset", customer),
            "public.manage_preferences": tokens.subject_token("manage_link", prospect.public_id,
                                                              "zoe@example.com"),
            "public.confirm_signup": tokens.sign("double_opt_in", {"p": signup.public_id}),
            "space.confirm_email": email_change_token(subject.public_id, "camille.new@example.com",
                                                "camille@example.com"),
            "unsubscribe.page": tokens.unsubscribe_token(subject.public_id, "email"),
            "still_interested.question": tokens.sign("repermission", {"q": question.public_id}),
        },
    }
    session.rollback()
    return values


def pages(app, values) -> dict[str, str]:
    """endpoint -> path of every GET page to check."""
    found = {}
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in SKIPPED or rule.endpoint.startswith("api."):
            continue
        args = {arg: values[arg][rule.endpoint] for arg in rule.arguments}
        with app.test_request_context():
            found[rule.endpoint] = url_for(rule.endpoint, **args) + QUERIES.get(rule.endpoint, "")
    return found


