"""The one path of every request to a hook: find it, verify, read, keep each new message once, act.

All of it runs in the request's one transaction (the view's boundary
commits): the evidence row and the changes it made are written together
or not at all. A message is new when its provider's id has not been seen
on this hook: the unique constraint (hook, provider message id) decides,
so six copies posted at once record one message and change things once.
"""
from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from consent_center.inbound.providers import provider_for
from consent_center.inbound.registry import (Handled, HookRequest, Inbound, Malformed, Provider, Result,
                                             RevokedHook, UnknownHook)
from consent_center.models import InboundHook, InboundMessage

MAX_MESSAGE_ID = 200
MAX_MESSAGES = 1000  # in one request (an e-mail provider's batch)


def find_provider_and_hook(session: Session, kind: str, provider_name: str, hook_id: str) -> tuple[Provider,
                                                                                                  InboundHook]:
    """The provider and the hook a request's path names, else UnknownHook (404)."""
    provider = provider_for(kind, provider_name)
    hook = session.scalars(select(InboundHook).where(InboundHook.public_id == hook_id)).first() \
        if provider is not None and len(hook_id) <= 32 else None
    if hook is None or (hook.kind, hook.provider) != (kind, provider_name):
        raise UnknownHook("there is no hook at this address: check the URL `hook create` printed")
    return provider, hook


def receive(session: Session, kind: str, provider_name: str, hook_id: str, request: HookRequest,
            on_verified: Callable[[InboundHook], None] | None = None) -> tuple[Provider, Result]:
    """Verify and act on one request to hook ``hook_id``; raise a HookError (nothing written) if refused.

    The signature is checked before anything else is said about the hook,
    so only its provider learns that it was revoked. ``on_verified`` (the
    hook's rate limit) runs once it is, and may refuse in turn.
    """
    provider, hook = find_provider_and_hook(session, kind, provider_name, hook_id)
    provider.verify(hook, request)
    if on_verified is not None:
        on_verified(hook)
    if not hook.active:
        raise RevokedHook(f"this hook was revoked on {hook.revoked_at.isoformat()}: remove it from the provider")
    messages = provider.parse(request)
    _check_messages(messages)
    result = Result()
    for inbound in messages:
        message = _new_message(session, hook, inbound, request)
        if message is None:
            result.duplicates.append(inbound.message_id)
            continue
        handled = provider.handle(session, hook, message, inbound)
        _settle(message, handled)
        result.handled.append((message, handled))
    session.flush()
    return provider, result


def _check_messages(messages: list[Inbound]) -> None:
    if not messages:
        raise Malformed("the request carries no message")
    if len(messages) > MAX_MESSAGES:
        raise Malformed(f"more than {MAX_MESSAGES} messages in one request")
    for inbound in messages:
        if not inbound.message_id or len(inbound.message_id) > MAX_MESSAGE_ID:
            raise Malformed(f"each message needs its provider's id, of at most {MAX_MESSAGE_ID} characters")
    if len({m.message_id for m in messages}) != len(messages):
        raise Malformed("the same message id twice in one request")


def _new_message(session: Session, hook: InboundHook, inbound: Inbound, request: HookRequest) -> InboundMessage | None:
    """Keep the message as evidence, or return None when its id was seen on this hook already.

    The insert runs in a savepoint: a copy being recorded at the same moment
    by another request makes it wait (PostgreSQL) and then fail on the
    unique constraint, which means "seen" here too, and the rest goes on.
    """
    seen = select(InboundMessage.id).where(InboundMessage.hook_id == hook.id,
                                           InboundMessage.provider_message_id == inbound.message_id)
    if session.scalar(seen) is not None:
        return None
    message = InboundMessage(hook_id=hook.id, provider_message_id=inbound.message_id, received_at=request.now,
                             payload=inbound.raw if inbound.raw is not None else request.body.decode("utf-8", "replace"),
                             outcome="received", details={})
    try:
        with session.begin_nested():
            session.add(message)
            session.flush()
    except IntegrityError:
        return None
    return message


def _settle(message: InboundMessage, handled: Handled) -> None:
    message.outcome = handled.outcome
    message.sender = handled.sender
    message.details = handled.details
