"""Witnesses: every signed checkpoint of the transparency log copied outside the operator's hands.

Each new checkpoint is queued, in the transaction that signs it (a receiver
of ``signals.checkpoint_signed``), as one e-mail to each address of
``CONSENT_WITNESS_EMAILS`` (the DPO, an auditor: the note attached, and the
verifier key) and one ``log.checkpoint`` webhook to each active endpoint that
receives checkpoints. The outbox signs, retries and dead-letters them as any
other message. A witness keeps what it got; ``ledger verify --checkpoint``
later proves today's log still extends it, whatever the operator recomputed.
"""
from __future__ import annotations

import base64

from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from consent_center.addresses import AddressError, normalise_email
from consent_center.canonical import format_time
from consent_center.models import LogCheckpoint, WebhookEndpoint
from consent_center.outbox.mail import enqueue_email
from consent_center.outbox.queue import enqueue_for_each
from consent_center.outbox.webhooks import CHECKPOINT_TOPIC, KIND

MAIL_TOPIC = "checkpoint"

_endpoints = WebhookEndpoint.__table__
_CHECKPOINT_ENDPOINTS = select(_endpoints.c.public_id).where(_endpoints.c.active.is_(True),
                                                             _endpoints.c.receives_checkpoints.is_(True))


def witness_emails(config) -> list[str]:
    """The e-mail witnesses, in stored form, each once; RuntimeError names an address that is none."""
    found: list[str] = []
    for raw in config.get("WITNESS_EMAILS") or []:
        try:
            address = normalise_email(raw)
        except AddressError as exc:
            raise RuntimeError(f"CONSENT_WITNESS_EMAILS lists {raw!r}, which is not an e-mail address: {exc}") from None
        if address not in found:
            found.append(address)
    return found


def check_witness_emails(app: Flask) -> None:
    """Refuse to start with a witness address that no mail could reach."""
    witness_emails(app.config)


def checkpoint_payload(checkpoint: LogCheckpoint, origin: str) -> dict:
    """The ``log.checkpoint`` webhook's body: the signed note, and what it says."""
    return {
        "type": CHECKPOINT_TOPIC,
        "timestamp": format_time(checkpoint.created_at),
        "data": {"origin": origin, "tree_size": checkpoint.tree_size,
                 "root_hash": base64.b64encode(checkpoint.root_hash).decode(), "note": checkpoint.note},
    }


def enqueue_checkpoint(session: Session, *, checkpoint: LogCheckpoint, verifier_key: str) -> None:
    """Receiver of ``checkpoint_signed``: an e-mail to each witness address, a webhook to each witness endpoint."""
    origin = verifier_key.split("+", 1)[0]
    locale = current_app.config["BABEL_DEFAULT_LOCALE"]
    for address in witness_emails(current_app.config):
        enqueue_email(session, topic=MAIL_TOPIC, to=address, locale=locale, tree_size=checkpoint.tree_size,
                      note=checkpoint.note, verifier_key=verifier_key, origin=origin)
    enqueue_for_each(session, kind=KIND, topic=CHECKPOINT_TOPIC, recipients=_CHECKPOINT_ENDPOINTS,
                     payload=checkpoint_payload(checkpoint, origin))
