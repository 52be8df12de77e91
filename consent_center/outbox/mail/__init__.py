"""The e-mails the center sends, through the outbox.

A service queues an e-mail with ``enqueue_email`` in its own transaction;
the outbox worker composes it (templates under ``templates/mail/``, in the
recipient's language, plain text and HTML) and sends it by SMTP, or writes
it as an ``.eml`` file in development (``CONSENT_MAIL_BACKEND``).
"""
from consent_center.outbox.mail.messages import TOPICS, compose, enqueue_email
from consent_center.outbox.mail.transport import deliver_email

__all__ = ["TOPICS", "compose", "deliver_email", "enqueue_email"]
