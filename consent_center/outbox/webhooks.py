"""Webhooks: `consent.changed` events for marketing tools, `log.checkpoint` ones for witnesses
(outbox/witnesses.py), signed per Standard Webhooks.

Every consent change writes one outbox message per active endpoint in the
same transaction (a receiver of ``signals.consent_recorded``); the outbox
worker delivers them with retries and exponential back-off, so nothing is
lost while a receiver is down. Each message keeps its ``webhook-id`` across
retries, so a receiver can drop duplicates.
"""
from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Collection
from urllib.parse import urlsplit, urlunsplit

from flask import current_app, has_app_context
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from standardwebhooks.webhooks import Webhook

from consent_center.canonical import format_time
from consent_center.check.answer import ChannelRules, event_answer
from consent_center.clock import utcnow
from consent_center.extensions import db
from consent_center.ledger.serialise import public_event
from consent_center.models import ConsentEvent, OutboxMessage, Receipt, Subject, WebhookEndpoint
from consent_center.outbox.destinations import (
    PinnedConnection,
    PinnedHTTPSConnection,
    RefusedDestination,
    check_host,
    literal_address,
    parse_networks,
    resolve,
)
from consent_center.outbox.queue import PermanentFailure, enqueue_for_each, enqueue_many

KIND = "webhook"
TOPIC = "consent.changed"
CHECKPOINT_TOPIC = "log.checkpoint"
# What an endpoint may be sent, in the order pages list them.
TOPICS = (TOPIC, CHECKPOINT_TOPIC)
TIMEOUT_SECONDS = 10
MAX_URL = 2000
# The most of a receiver's answer ever read: its status is all that counts.
MAX_ANSWER_BYTES = 64 * 1024


class WebhookError(ValueError):
    """An endpoint that cannot be registered as asked; ``code`` names the reason for pages."""

    def __init__(self, message: str, code: str = "other") -> None:
        super().__init__(message)
        self.code = code


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    address = literal_address(host)
    return address is not None and address.is_loopback


def allowed_networks():
    """The networks CONSENT_WEBHOOK_ALLOWED_NETWORKS lets webhooks reach although not public."""
    return parse_networks(current_app.config.get("WEBHOOK_ALLOWED_NETWORKS")) if has_app_context() else ()


def check_url(url: str) -> str:
    """Accept HTTPS URLs, and plain HTTP only on this machine (development, tests).

    A host known local without resolving it (a literal private address,
    ``localhost``, ``*.internal``…) is refused unless an allowed network
    lists it; delivery resolves the name and checks again.
    """
    if len(url.strip()) > MAX_URL:
        raise WebhookError(f"the URL is longer than {MAX_URL} characters", "length")
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - a port that is not a number raises here
    except ValueError as exc:
        raise WebhookError("the URL must be https://host/path", "url") from exc
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise WebhookError("the URL must be https://host/path", "url")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise WebhookError("webhooks go over HTTPS (plain HTTP only to localhost)", "plain_http")
    if parts.username or parts.password:
        raise WebhookError("put no credentials in the URL: receivers verify the signature", "credentials")
    try:
        check_host(parts.hostname, allowed_networks())
    except RefusedDestination as exc:
        raise WebhookError(f"{exc}: webhooks go to public addresses only "
                           "(unless CONSENT_WEBHOOK_ALLOWED_NETWORKS lists the network)", "local") from exc
    return url.strip()


def logged_url(url: str) -> str:
    """The endpoint's address as a log keeps it: scheme, host, port and path only.

    A receiver's token in the query string, a fragment, or a user name and
    password before the host (an endpoint stored before they were refused)
    are the receiver's secrets: the staff log, shown on /admin/log, never
    holds them. The endpoint keeps its whole address, for delivery.
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return ""  # not an address a webhook was registered with: nothing of it is logged
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"  # an IPv6 address
    return urlunsplit((parts.scheme, host if port is None else f"{host}:{port}", parts.path, "", ""))


def add_endpoint(session: Session, url: str, description: str | None = None,
                 topics: Collection[str] = (TOPIC,)) -> WebhookEndpoint:
    """Register an endpoint that receives ``topics`` (of TOPICS), with a new secret; flush."""
    if not topics or not set(topics) <= set(TOPICS):
        raise WebhookError(f"an endpoint receives one or more of {', '.join(TOPICS)}", "topics")
    endpoint = WebhookEndpoint(url=check_url(url), description=description,
                               receives_consent_changes=TOPIC in topics,
                               receives_checkpoints=CHECKPOINT_TOPIC in topics,
                               secret="whsec_" + base64.b64encode(secrets.token_bytes(32)).decode())
    session.add(endpoint)
    session.flush()
    return endpoint


def topics_of(endpoint: WebhookEndpoint) -> list[str]:
    """What ``endpoint`` is sent, of TOPICS."""
    return [topic for topic, receives in zip(TOPICS, (endpoint.receives_consent_changes,
                                                      endpoint.receives_checkpoints)) if receives]


def disable_endpoint(session: Session, public_id: str) -> WebhookEndpoint:
    endpoint = find_endpoint(session, public_id)
    if endpoint is None:
        raise WebhookError(f"no webhook endpoint {public_id}", "not_found")
    endpoint.active, endpoint.disabled_at = False, utcnow()
    return endpoint


def list_endpoints(session: Session) -> list[WebhookEndpoint]:
    return list(session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)))


def find_endpoint(session: Session, public_id: str) -> WebhookEndpoint | None:
    return session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.public_id == public_id)).first()


def last_messages(session: Session) -> dict[str, OutboxMessage]:
    """The newest outbox message of each endpoint, by endpoint id (one query)."""
    newest = (select(func.max(OutboxMessage.id)).where(OutboxMessage.kind == KIND)
              .group_by(OutboxMessage.recipient))
    return {m.recipient: m for m in session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(newest)))}


def event_payload(subject: Subject, receipt: Receipt, events: list[ConsentEvent]) -> dict:
    """The `consent.changed` body: one submitted change, every channel it moved.

    Each event carries ``allowed`` and ``reason``: the consent answer for the
    state it produced, at its own moment (``answer.event_answer``), as the export's rows.
    No material date can matter at an event's own moment (see event_answer):
    none is read, so a change costs no query more.
    """
    answers = [event_answer(e.status, e.basis, e.occurred_at, ChannelRules.of(e.channel)) for e in events]
    return {
        "type": TOPIC,
        "timestamp": format_time(receipt.issued_at),
        "data": {
            "subject": subject.public_id,
            "receipt": receipt.public_id,
            "events": [
                public_event(e, subject=subject.public_id, channel=e.channel.code, receipt=receipt.public_id,
                             policy_version=e.policy_version.label if e.policy_version else None, answer=answer)
                | {"occurred_at": format_time(e.occurred_at)}
                for e, answer in zip(events, answers)],
        },
    }


_endpoints = WebhookEndpoint.__table__
_ACTIVE_ENDPOINTS = select(_endpoints.c.public_id).where(_endpoints.c.active.is_(True),
                                                          _endpoints.c.receives_consent_changes.is_(True))


def enqueue_consent_changed(session: Session, *, subject, receipt, events) -> None:
    """Receiver of ``consent_recorded``: one outbox message per active endpoint that receives consent changes."""
    enqueue_for_each(session, kind=KIND, topic=TOPIC, recipients=_ACTIVE_ENDPOINTS,
                     payload=event_payload(subject, receipt, events))


def enqueue_consents_changed(session: Session, *, recorded) -> None:
    """Receiver of ``consents_recorded`` (the bulk path): what ``enqueue_consent_changed`` adds for each
    submission, the endpoints read once for the chunk, and no payload built when none receives them."""
    recipients = session.connection().execute(_ACTIVE_ENDPOINTS).scalars().all()
    if recipients:
        enqueue_many(session, kind=KIND, topic=TOPIC, recipients=recipients,
                     payloads=[event_payload(subject, receipt, events) for subject, receipt, events in recorded])


def signed_request(endpoint: WebhookEndpoint, message: OutboxMessage) -> tuple[bytes, dict[str, str]]:
    """Build the POST: body and the three Standard Webhooks headers."""
    body = json.dumps(message.payload, separators=(",", ":"), sort_keys=True)
    sent_at = utcnow()
    signature = Webhook(endpoint.secret).sign(msg_id=message.public_id, timestamp=sent_at, data=body)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "ConsentCenter-Webhooks/1",
        "webhook-id": message.public_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": signature,
    }
    return body.encode(), headers


def _read_capped(answer, deadline: float) -> None:
    """Read at most MAX_ANSWER_BYTES of an answer, and no longer than the deadline."""
    left = MAX_ANSWER_BYTES
    while left > 0 and time.monotonic() < deadline:
        chunk = answer.read1(min(left, 16 * 1024))
        if not chunk:
            return
        left -= len(chunk)


def post(url: str, body: bytes, headers: dict[str, str], *, timeout: float) -> tuple[int, str | None]:
    """POST to ``url`` once; return the status and any Location header. Never follows a redirect.

    The host is resolved here and every address checked (``destinations.resolve``:
    RefusedDestination when one is not public and no allowed network lists it);
    the connection goes to a checked address, the Host header and TLS keep the name.
    No proxy is used: it would connect where the check did not look.
    """
    parts = urlsplit(url)
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    addresses = resolve(parts.hostname, port, allowed_networks())
    deadline = time.monotonic() + 3 * timeout
    failure: OSError | None = None
    for address in addresses:
        kind = PinnedHTTPSConnection if https else PinnedConnection
        connection = kind(parts.hostname, port, address=address, timeout=timeout)
        try:
            try:
                connection.connect()
            except OSError as exc:  # the next address may answer
                failure = exc
                continue
            connection.request("POST", target, body=body, headers=headers)
            answer = connection.getresponse()
            _read_capped(answer, deadline)
            return answer.status, answer.getheader("Location")
        finally:
            connection.close()
    raise failure or OSError(f"no address of {parts.hostname} answered")


def deliver_webhook(message: OutboxMessage) -> None:
    """The outbox deliverer for webhooks: a 2xx answer delivers; anything else is retried.

    A destination that is not public is refused without connecting
    (PermanentFailure: the message is dead, the reason on it); a redirect is
    never followed, it is a failed attempt like any other non-2xx answer.
    """
    endpoint = db.session.scalars(
        select(WebhookEndpoint).where(WebhookEndpoint.public_id == message.recipient)).first()
    db.session.rollback()  # hold no transaction during the HTTP call
    if endpoint is None or not endpoint.active:
        raise PermanentFailure(f"endpoint {message.recipient} is gone or disabled")
    timeout = current_app.config.get("WEBHOOK_TIMEOUT_SECONDS", TIMEOUT_SECONDS)
    body, headers = signed_request(endpoint, message)
    try:
        status, location = post(endpoint.url, body, headers, timeout=timeout)
    except RefusedDestination as exc:
        raise PermanentFailure(f"destination refused: {exc} (not public, and "
                               "CONSENT_WEBHOOK_ALLOWED_NETWORKS does not list it)") from exc
    if 300 <= status < 400:
        raise RuntimeError(f"receiver answered {status}, a redirect (to {(location or '?')[:200]}), "
                           "which webhooks never follow: register the final URL")
    if not 200 <= status < 300:
        raise RuntimeError(f"receiver answered {status}")
