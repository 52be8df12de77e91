"""Sending composed e-mails: SMTP (with STARTTLS), or .eml files in development."""
from __future__ import annotations

import os
import smtplib
import ssl
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import parseaddr
from pathlib import Path

from flask import current_app

from consent_center.models import OutboxMessage
from consent_center.outbox.queue import PermanentFailure
from consent_center.outbox.mail.messages import compose


def deliver_email(message: OutboxMessage) -> None:
    """The outbox deliverer of kind "email": compose, then send or write."""
    email = compose(message)
    if current_app.config["MAIL_BACKEND"] == "smtp":
        send_smtp(email, message.recipient)
    else:
        write_file(email, message)


def outbox_dir() -> Path:
    return Path(current_app.instance_path) / "outbox"


def written_path(message: OutboxMessage) -> Path:
    """Where ``message`` is (or would be) written as an ``.eml`` file."""
    return outbox_dir() / f"{message.created_at:%Y%m%dT%H%M%S}-{message.topic}-{message.public_id}.eml"


def write_file(email: EmailMessage, message: OutboxMessage) -> Path:
    """Write ``email`` under instance/outbox/; a retry rewrites the same file."""
    path = written_path(message)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    partial.write_bytes(email.as_bytes(policy=SMTP_POLICY))
    os.replace(partial, path)
    return path


def send_smtp(email: EmailMessage, recipient: str) -> None:
    """Send ``email`` to ``recipient``; a 5xx about the recipient or content is permanent."""
    config = current_app.config
    sender = parseaddr(config["MAIL_FROM"])[1]
    try:
        with smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"], timeout=config["SMTP_TIMEOUT"]) as smtp:
            smtp.ehlo()
            if config["SMTP_STARTTLS"]:
                # Refuses to go on in clear text if the server offers no STARTTLS.
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if config["SMTP_USERNAME"]:
                smtp.login(config["SMTP_USERNAME"], config["SMTP_PASSWORD"])
            smtp.send_message(email, from_addr=sender, to_addrs=[recipient])
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        if codes and all(code >= 500 for code in codes):
            raise PermanentFailure(f"recipient refused: {exc.recipients}") from exc
        raise
    except smtplib.SMTPDataError as exc:
        if exc.smtp_code >= 500:
            raise PermanentFailure(f"message refused: {exc.smtp_code} {exc.smtp_error!r}") from exc
        raise
