"""A sample marketing e-mail, written where the outbox writes its files, so the unsubscribe journey can be clicked.

What a marketing tool sends through the center's links (docs/demo.md): the
RFC 2369 ``List-Unsubscribe`` header with the one-click link, RFC 8058's
``List-Unsubscribe-Post``, the same link visible in the text and HTML, and
the manage link. Written as a file, never sent: the demo's customer is at
example.com.
"""
from __future__ import annotations

import os
import uuid
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime
from pathlib import Path

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from consent_center import urls
from consent_center.clock import utcnow
from consent_center.models import Subject
from consent_center.outbox.mail.transport import outbox_dir
from consent_center.unsubscribe.links import link_for

CHANNEL = "newsletter"
# A link longer than a folded line would be cut into RFC 2047 encoded words, which no mail client
# reads as a URL: header lines are kept whole, up to RFC 5322's limit of 998 characters.
UNFOLDED = SMTP_POLICY.clone(max_line_length=998)


class SampleMailError(ValueError):
    """No subject to write the sample to."""


def compose_sample(subject: Subject) -> EmailMessage:
    """The newsletter as a marketing tool would send it to ``subject``, in the subject's language."""
    config = current_app.config
    link = link_for(subject.public_id, CHANNEL)
    locale = subject.locale if subject.locale in config["SUPPORTED_LOCALES"] else config["BABEL_DEFAULT_LOCALE"]
    company = config["COMPANY_NAME"]
    with current_app.test_request_context(base_url=config["BASE_URL"]), force_locale(locale):
        title = _("%(company)s newsletter: this month's offers", company=company)
        context = {"name": subject.name, "company": company, "unsubscribe": link["url"], "locale": locale,
                   "manage": urls.manage_url(subject.public_id, subject.email), "subject": title}
        text = render_template("demo/sample_marketing.txt", **context)
        html = render_template("demo/sample_marketing.html", **context)
    email = EmailMessage()
    email.set_content(text)
    email.add_alternative(html, subtype="html")
    email["Subject"] = title
    email["From"] = config["MAIL_FROM"]
    email["To"] = Address(display_name=subject.name or "", addr_spec=subject.email)
    email["Date"] = format_datetime(utcnow())
    email["Message-ID"] = f"<{uuid.uuid4()}@demo.invalid>"
    email["Content-Language"] = locale
    for name, value in link["headers"].items():  # List-Unsubscribe, List-Unsubscribe-Post
        email[name] = value
    return email


def write_sample_mail(session: Session, address: str) -> Path:
    """Write the sample to the subject at ``address`` under instance/outbox/; return the file's path."""
    subject = session.scalars(select(Subject).where(Subject.email == address)).first()
    if subject is None or subject.erased_at is not None:
        raise SampleMailError(f"no subject at {address} to write the sample e-mail to")
    path = outbox_dir() / f"{utcnow():%Y%m%dT%H%M%S}-sample_marketing-{uuid.uuid4()}.eml"
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    partial.write_bytes(compose_sample(subject).as_bytes(policy=UNFOLDED))
    os.replace(partial, path)
    return path
