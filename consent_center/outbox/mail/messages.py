"""What each e-mail says, composed at delivery in the recipient's language.

The outbox stores what an e-mail is about (ids, language, name), not its
links: tokens are signed when the mail is composed, so no usable token
sits in the database, and an account token carries the account's state at
the moment it leaves.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from flask import current_app, render_template
from flask_babel import force_locale, format_timedelta
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from consent_center import tokens, urls
from consent_center.clock import utcnow
from consent_center.extensions import db
from consent_center.ledger.checkpoints import checkpoint_file_name
from consent_center.models import Account, OutboxMessage
from consent_center.outbox.queue import PermanentFailure, enqueue
from consent_center.safe_text import display_name


@dataclass(frozen=True)
class Topic:
    subject: object  # a lazy string with %(company)s
    token_purpose: str | None  # None: the link carries no token
    link: Callable[[dict], str]
    # What else the templates show, read from the payload in the recipient's language.
    context: Callable[[dict, str], dict] | None = None
    # False for a mail to an address nobody has confirmed yet: anyone may have typed it, so
    # nothing typed with it (a name) is echoed; the mail greets generically.
    greets_by_name: bool = True
    # Files sent with it, read from the payload: (file name, text).
    attachments: Callable[[dict], list[tuple[str, str]]] | None = None
    # False for a mail that is plain text alone (a witness keeps and reads it with its tools).
    html: bool = True


def _expiring_channels(payload: dict, locale: str) -> dict:
    return {"channels": [
        (names.get(locale) or names.get("en") or "", datetime.fromisoformat(at))
        for names, at in ((c["names"], c["expires_at"]) for c in payload.get("channels", []))
    ]}


def _confirmation_link(payload: dict) -> str:
    return urls.signup_confirmation_url(payload["signup"])


def _manage_link(payload: dict) -> str:
    return urls.manage_url(payload["subject"], payload["email"])


def _repermission_link(payload: dict) -> str:
    return urls.repermission_url(payload["question"])


def _repermission_context(payload: dict, locale: str) -> dict:
    return {"account": payload.get("rule") == "account", "due_at": datetime.fromisoformat(payload["due_at"])}


def _request_link(payload: dict) -> str:
    return urls.request_url(payload["request"])


def _lift_context(payload: dict, locale: str) -> dict:
    return {"lift_at": datetime.fromisoformat(payload["lift_at"])}


def _email_change_link(payload: dict) -> str:
    return urls.email_change_url(payload["subject"], payload["new"], payload.get("old"))


def _space_link(payload: dict) -> str:
    return urls.profile_url()


def _log_key_link(payload: dict) -> str:
    return urls.external_url("consent_log.key")


def _checkpoint_file(payload: dict) -> list[tuple[str, str]]:
    return [(checkpoint_file_name(payload["tree_size"]), payload["note"])]


def _account_link(purpose: str) -> Callable[[dict], str]:
    def link(payload: dict) -> str:
        account = db.session.get(Account, payload["account"])
        if account is None or not account.active:
            raise PermanentFailure("the account no longer exists or is inactive")
        if purpose == "invitation" and account.password_hash:
            raise PermanentFailure("the account has set its password since it was invited")
        return urls.account_url(purpose, account)
    return link


TOPICS = {
    "double_opt_in": Topic(_l("Confirm your subscription to the %(company)s newsletter"),
                           "double_opt_in", _confirmation_link, greets_by_name=False),
    "manage_link": Topic(_l("Your link to manage how %(company)s may contact you"),
                         "manage_link", _manage_link),
    "invitation": Topic(_l("Your %(company)s account: choose your password"),
                        "invitation", _account_link("invitation")),
    "password_reset": Topic(_l("Choose a new password for your %(company)s account"),
                            "password_reset", _account_link("password_reset")),
    "expiry_reminder": Topic(_l("Your consent to hear from %(company)s is about to expire"),
                             "manage_link", _manage_link, _expiring_channels),
    # Before a retention period ends (rights/repermission.py): the only time the person is asked.
    "repermission": Topic(_l("Do you still want to hear from %(company)s?"), None, _repermission_link,
                          _repermission_context),
    "email_change": Topic(_l("Confirm your new e-mail address for %(company)s"), "email_change",
                          _email_change_link, greets_by_name=False),
    "email_change_notice": Topic(_l("A change of your e-mail address at %(company)s was asked"), None,
                                 _space_link),
    "request_received": Topic(_l("%(company)s has received your request about your data"),
                              None, _request_link),
    "request_completed": Topic(_l("%(company)s has answered your request about your data"),
                               None, _request_link),
    # Before a restriction is lifted (rights/lifting.py, GDPR art. 18(3)): when, and what follows.
    "restriction_lift": Topic(_l("%(company)s will lift the restriction of your data"), None, _request_link,
                              _lift_context),
    # To a witness (outbox/witnesses.py): the signed checkpoint to keep, and its verifier key.
    "checkpoint": Topic(_l("A signed checkpoint of the %(company)s consent log, to keep"), None,
                        _log_key_link, greets_by_name=False, attachments=_checkpoint_file, html=False),
}


def enqueue_email(session: Session, *, topic: str, to: str, locale: str, name: str | None = None,
                  **refs) -> OutboxMessage:
    """Queue an e-mail about ``topic`` to ``to`` in the caller's transaction."""
    if topic not in TOPICS:
        raise ValueError(f"no e-mail topic {topic!r}")
    return enqueue(session, kind="email", topic=topic, recipient=to,
                   payload={"locale": locale, "name": name, **refs})


def compose(message: OutboxMessage) -> EmailMessage:
    """Return the e-mail ``message`` stands for: headers, plain text and HTML."""
    config = current_app.config
    topic = TOPICS.get(message.topic)
    if topic is None:
        raise PermanentFailure(f"no e-mail topic {message.topic!r}")
    payload = message.payload
    locale = payload.get("locale")
    if locale not in config["SUPPORTED_LOCALES"]:
        locale = config["BABEL_DEFAULT_LOCALE"]
    company = config["COMPANY_NAME"]
    name = display_name(payload.get("name")) if topic.greets_by_name else ""
    try:
        # A request context at BASE_URL, so url_for builds the public links.
        with current_app.test_request_context(base_url=config["BASE_URL"]), force_locale(locale):
            context = {
                "name": name or None, "email": message.recipient, "company": company,
                "link": topic.link(payload),
                "lifetime": (format_timedelta(tokens.max_age(topic.token_purpose), threshold=1)
                             if topic.token_purpose else None),
                "payload": payload,
                "locale": locale,
            }
            if topic.context:
                context |= topic.context(payload, locale)
            subject = str(topic.subject) % {"company": company}
            text = render_template(f"outbox/mail/{message.topic}.txt", **context)
            html = (render_template(f"outbox/mail/{message.topic}.html", subject=subject, **context)
                    if topic.html else None)
    finally:
        db.session.rollback()  # no transaction stays open across the network
    email = EmailMessage()
    email.set_content(text)
    if html is not None:
        email.add_alternative(html, subtype="html")
    for filename, content in topic.attachments(payload) if topic.attachments else ():
        # As bytes (base64): the file arrives byte for byte, its line ends those the signature covers.
        email.add_attachment(content.encode(), maintype="text", subtype="plain", filename=filename,
                             params={"charset": "utf-8"})
    # Headers after the body: making it multipart moves Content-* headers into the parts.
    email["Subject"] = subject
    email["From"] = config["MAIL_FROM"]
    # A name stored before the boundaries refused line breaks and controls (or written by a
    # path that skipped them) is cleaned here: Address raises on CR or LF, which failed the
    # message on every attempt, and other controls would travel raw in the header.
    email["To"] = Address(display_name=name, addr_spec=message.recipient)
    email["Date"] = format_datetime(utcnow())
    email["Message-ID"] = f"<{message.public_id}@{_domain(config['MAIL_FROM'])}>"
    email["Content-Language"] = locale
    # RFC 3834: a message sent by a program; no out-of-office replies, please.
    email["Auto-Submitted"] = "auto-generated"
    email["X-Auto-Response-Suppress"] = "All"
    return email


def _domain(mail_from: str) -> str:
    address = parseaddr(mail_from)[1]
    return address.rpartition("@")[2] or "consent-center.invalid"
