"""Hooks: create one for a provider (its secret shown once), list them, revoke one."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from consent_center.clock import utcnow
from consent_center.inbound.providers import provider_for
from consent_center.inbound.registry import KINDS, SecretError
from consent_center.models import InboundHook
from consent_center.urls import hook_url

MAX_NAME = 100


class HookSetupError(ValueError):
    """A hook that cannot be created or found; ``code`` names why (the admin page words it)."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class CreatedHook:
    hook: InboundHook
    url: str


def create_hook(session: Session, kind: str, provider: str, name: str | None = None,
                secret: str | None = None) -> CreatedHook:
    """Create a hook for ``provider``; its secret is made here, or is the provider's own (``secret``)."""
    if kind not in KINDS:
        raise HookSetupError(f"the kind is one of {', '.join(KINDS)}", "kind")
    found = provider_for(kind, provider)
    if found is None:
        raise HookSetupError(f"no {kind} provider named {provider!r}", "provider")
    if found.secret_given and not (secret or "").strip():
        raise HookSetupError(f"{found.title} signs with a secret of its own: give it (--secret)", "secret_needed")
    try:
        stored = found.make_secret((secret or "").strip() or None)
    except SecretError as exc:
        raise HookSetupError(str(exc), "secret") from None
    hook = InboundHook(kind=kind, provider=provider, name=(name or "").strip()[:MAX_NAME] or None, secret=stored)
    session.add(hook)
    session.flush()
    return CreatedHook(hook, url_of(hook))


def url_of(hook: InboundHook) -> str:
    return hook_url(hook.kind, hook.provider, hook.public_id)


def list_hooks(session: Session) -> list[InboundHook]:
    return list(session.scalars(select(InboundHook).order_by(InboundHook.id)))


def find_hook(session: Session, public_id: str) -> InboundHook | None:
    return session.scalars(select(InboundHook).where(InboundHook.public_id == public_id)).first()


def revoke_hook(session: Session, public_id: str) -> tuple[InboundHook, bool]:
    """Refuse every later request to the hook; return it and whether it was active until now."""
    hook = find_hook(session, public_id)
    if hook is None:
        raise HookSetupError(f"no hook {public_id!r} (see `hook list`)", "unknown")
    was_active = hook.active
    if was_active:
        hook.revoked_at = utcnow()
        session.flush()
    return hook, was_active
