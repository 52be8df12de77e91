"""Every provider a hook may be created for, each registering itself (``registry.register``) when imported."""
from __future__ import annotations

from consent_center.inbound.registry import PROVIDERS, Provider
from consent_center.inbound.providers import sms_generic, sms_twilio  # noqa: F401  (they register)


def provider_for(kind: str, name: str) -> Provider | None:
    """The provider of hooks ``/hooks/<kind>/<name>/…``, or None."""
    return PROVIDERS.get((kind, name))


def all_providers(kind: str | None = None) -> list[Provider]:
    """The providers, of one kind or all, in a stable order."""
    return sorted((p for p in PROVIDERS.values() if kind is None or p.kind == kind), key=lambda p: (p.kind, p.name))
